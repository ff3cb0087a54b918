"""Tables and arrays as tagged JSON that comes back exactly (the shared fits' encoding).

A table (:func:`encode_frame`) is held as typed columns: numeric and
datetime columns as their bytes with dtype and shape, categoricals as
categories and codes, object columns cell by cell (floats as exact hex,
``pd.NA`` and ``pd.NaT`` tagged), its index and its ``attrs``. Encoding
checks that the table decodes equal (``assert_frame_equal``, exact); a value
it cannot hold exactly raises :class:`UnshareableError`, so the caller
computes it again instead of reading something near it. Reading builds
nothing but these data types: no serialised Python objects.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pandas as pd


class UnshareableError(Exception):
    """A value the encoding does not hold exactly: its model is fitted in the notebook."""


def encode_array(a: np.ndarray) -> list:
    if a.dtype.kind not in "biufmM" or a.dtype.hasobject:
        raise UnshareableError(f"an array of {a.dtype}")
    a = np.array(a, order="C", copy=True)  # ascontiguousarray would make a 0-d array 1-d
    return [a.dtype.str, list(a.shape), base64.b64encode(a.tobytes()).decode("ascii")]


def decode_array(entry: list) -> np.ndarray:
    dtype, shape, data = entry
    return np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype)).reshape(shape).copy()


def encode_frame(frame: pd.DataFrame) -> dict[str, Any]:
    """A table as typed columns; checked to come back equal, else :class:`UnshareableError`."""
    if isinstance(frame.index, pd.MultiIndex) or isinstance(frame.columns, pd.MultiIndex):
        raise UnshareableError("a table with a MultiIndex")
    out = {"columns": _column(pd.Series(frame.columns, dtype=frame.columns.dtype)),
           "values": [_column(frame.iloc[:, i]) for i in range(frame.shape[1])],
           "index": _index(frame.index), "attrs": _plain(frame.attrs)}
    try:
        back = decode_frame(json.loads(json.dumps(out, allow_nan=False)))
        pd.testing.assert_frame_equal(frame, back, check_exact=True, check_flags=True)
        if back.attrs != frame.attrs:
            raise AssertionError("attrs differ")
    except (AssertionError, TypeError, ValueError) as exc:
        raise UnshareableError(f"a table that does not come back equal ({exc})") from exc
    return out


def _column(series: pd.Series) -> dict[str, Any]:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return {"category": _column(pd.Series(dtype.categories, dtype=dtype.categories.dtype)),
                "codes": encode_array(series.cat.codes.to_numpy()), "ordered": bool(dtype.ordered)}
    if isinstance(dtype, np.dtype) and dtype.kind in "biufmM":
        return {"a": encode_array(series.to_numpy())}
    return {"dtype": str(dtype), "items": [_item(v) for v in series.tolist()]}


def _uncolumn(entry: dict[str, Any]) -> pd.Series:
    if "category" in entry:
        categories = _uncolumn(entry["category"])
        return pd.Series(pd.Categorical.from_codes(
            decode_array(entry["codes"]), dtype=pd.CategoricalDtype(
                pd.Index(categories, dtype=categories.dtype), ordered=entry["ordered"])))
    if "a" in entry:
        return pd.Series(decode_array(entry["a"]))
    items = [_unitem(v) for v in entry["items"]]
    if entry["dtype"] == "object":
        out = pd.Series(np.empty(len(items), dtype=object))
        out[:] = items if items else out
        return out.astype(object)
    return pd.Series(pd.array(items, dtype=entry["dtype"]))


def _index(index: pd.Index) -> dict[str, Any]:
    name = _item(index.name)
    if isinstance(index, pd.RangeIndex):
        return {"range": [index.start, index.stop, index.step], "name": name}
    return {"values": _column(pd.Series(index, dtype=index.dtype)), "name": name}


def _unindex(entry: dict[str, Any]) -> pd.Index:
    name = _unitem(entry["name"])
    if "range" in entry:
        return pd.RangeIndex(*entry["range"], name=name)
    values = _uncolumn(entry["values"])
    return pd.Index(values.array if values.dtype != object else values.to_numpy(dtype=object),
                    dtype=values.dtype, name=name)


def decode_frame(entry: dict[str, Any]) -> pd.DataFrame:
    columns = _uncolumn(entry["columns"])
    index = _unindex(entry["index"])
    data = {i: _uncolumn(c).set_axis(index) for i, c in enumerate(entry["values"])}
    frame = pd.DataFrame(data, index=index) if data else pd.DataFrame(index=index)
    frame.columns = pd.Index(columns.to_numpy(dtype=object) if columns.dtype == object
                             else columns.array, dtype=columns.dtype)
    frame.attrs = _unplain(entry["attrs"])
    return frame


def _item(v: Any) -> Any:
    """One cell of an object column: JSON types, exact floats, missing values tagged."""
    if v is None or isinstance(v, bool | str) or type(v) is int:
        return v
    if isinstance(v, float | np.floating) and type(v) in (float, np.float64):
        return {"f": float(v).hex(), "np": type(v) is np.float64}
    if isinstance(v, np.integer | np.bool_):
        return {"np": encode_array(np.asarray(v))}
    if v is pd.NA:
        return {"na": "NA"}
    if v is pd.NaT:
        return {"na": "NaT"}
    if isinstance(v, tuple):
        return {"t": [_item(x) for x in v]}
    raise UnshareableError(f"a cell of type {type(v).__name__}")


def _unitem(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    if "f" in v:
        number = float.fromhex(v["f"])
        return np.float64(number) if v.get("np") else number
    if "np" in v:
        return decode_array(v["np"])[()]
    if "t" in v:
        return tuple(_unitem(x) for x in v["t"])
    return pd.NA if v["na"] == "NA" else pd.NaT


def _plain(v: Any) -> Any:
    """Attributes of a table (notes, variables): lists, tuples, dicts and cells."""
    if isinstance(v, list):
        return {"l": [_plain(x) for x in v]}
    if isinstance(v, tuple):
        return {"t": [_plain(x) for x in v]}
    if type(v) is dict:
        return {"d": [[_plain(k), _plain(x)] for k, x in v.items()]}
    return {"i": _item(v)}


def _unplain(v: dict[str, Any]) -> Any:
    if "l" in v:
        return [_unplain(x) for x in v["l"]]
    if "t" in v:
        return tuple(_unplain(x) for x in v["t"])
    if "d" in v:
        return {_unplain(k): _unplain(x) for k, x in v["d"]}
    return _unitem(v["i"])


__all__ = ["UnshareableError", "decode_array", "decode_frame", "encode_array", "encode_frame"]
