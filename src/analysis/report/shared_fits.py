"""Fit once per report run: the run's fitted models shared with the report notebooks.

:func:`analysis.report.render_reports` fits every planned model before the
notebooks run, since the release decision (:mod:`analysis.report.disclosure`)
needs each model's table. The regression notebook would fit the same models
again in its kernel: at 10^6 respondents about half of the run. The run
therefore writes what the notebooks read of its fits into its cache folder
(``<run folder>/.cache/fits.json``), and :attr:`ReportSession.fits` takes it
from there when it was made for the notebook's survey and plan.

Held as tagged JSON, never as serialised Python objects: tables as typed columns (floats as exact
hex, numeric arrays as their bytes with dtype and shape), notices, model
terms, and of each fit its parameters, covariance, fit statistics and
(for the main logistic models) the outcome, prediction and weight of each
row that the performance section reads. The file is signed with the run's
secret (HMAC-SHA256 over the key and the text, as the survey cache); a file
not signed by the run, or made for another survey or plan, is ignored and
the notebook fits. Reading builds no object but these data types.

What is not stored (a fit's design matrix, the statsmodels objects, tests
not yet computed) is fitted in the notebook on first use, so a reader of
the shared results gets the same numbers either way. A model whose result
holds anything this encoding does not know is not shared at all: the
notebook fits it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.report.tagged_json import (
    UnshareableError,
    decode_array,
    decode_frame,
    encode_array,
    encode_frame,
)

FILE = "fits.json"
FORMAT = "backpain-fits/1"
log = logging.getLogger("analysis.report")


def fits_key(data_key: str, plan_text: str) -> str:
    """What shared fits were made for: the survey's cache key and the plan (as JSON text)."""
    return hashlib.sha256(f"{data_key}\n{plan_text}".encode()).hexdigest()


def plan_text(plan) -> str:
    """The plan as the text its key is made of (its order is its meaning: not sorted)."""
    return json.dumps(plan.to_dict(), ensure_ascii=False)


def write_shared_fits(fits: list, folder: str | Path, key: str, secret: str) -> Path:
    """Save ``fits`` (:func:`analysis.plan.fit_plan`) for the notebooks, signed; return the file."""
    from analysis.report.cache import FOLDER, write_signed

    body = json.dumps({"format": FORMAT, "models": [_encode_planned(f) for f in fits]},
                      ensure_ascii=True, allow_nan=False)
    return write_signed(Path(folder) / FOLDER / FILE, key, body, secret)


def read_shared_fits(folder: str | Path, key: str, plan, refit: Callable[[Any], Any]
                     ) -> list | None:
    """The run's fits of ``plan`` when signed by this run and made for ``key``, else None.

    ``refit(model_plan)`` fits one model in the notebook
    (:func:`analysis.plan.fit_model`); it is called only for a model that
    was not shared, or when something not stored is asked for.
    """
    from analysis.plan import PlannedFit
    from analysis.report.cache import FOLDER, read_signed

    path = Path(folder) / FOLDER / FILE
    body = read_signed(path, key, "shared fits", "fitting here")
    if body is None:
        return None  # not under a report run, not signed by it, or for another survey or plan
    try:
        data = json.loads(body)
        if data.get("format") != FORMAT or len(data["models"]) != len(plan.models):
            return None
        out = []
        for model, entry in zip(plan.models, data["models"], strict=True):
            if entry["key"] != model.key:
                return None
            real = functools.cache(lambda m=model: refit(m))
            if entry.get("refit"):
                out.append(real())
                continue
            decoder = _Decoder(entry["fits"], real)
            out.append(PlannedFit(model, decoder.value(entry["result"]), entry["failure"],
                                  decoder.value(entry["effects"])))
        return out
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        log.warning("The run's shared fits %s cannot be used (%s); fitting here.", path, exc)
        return None


# ---- encoding ---------------------------------------------------------------------------
def _encode_planned(fitted) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": fitted.plan.key, "failure": fitted.failure}
    try:
        encoder = _Encoder(main=fitted.plan.model in ("logistic", "Firth logistic")
                           and not fitted.plan.subsample)
        entry["result"] = encoder.value(fitted.result, (("attr", "result"),))
        entry["effects"] = encoder.value(fitted.effects, (("attr", "effects"),))
        entry["fits"] = encoder.fits
    except UnshareableError as exc:
        log.info("model %s not shared with the notebooks (%s): fitted there", fitted.plan.key,
                 exc)
        return {"key": fitted.plan.key, "refit": True}
    return entry


class _Encoder:
    """Tagged JSON of results; each fit once (by identity), with the path to find it again."""

    def __init__(self, main: bool) -> None:
        self.main = main  # the main logistic model: its rows' predictions are stored
        self.fits: list[dict[str, Any]] = []
        self._seen: dict[int, int] = {}

    def value(self, v: Any, path: tuple) -> Any:
        from analysis.models.design import Term
        from analysis.models.result import ModelResult, Notice

        if v is None or isinstance(v, bool | str) or type(v) is int:
            return v
        if type(v) is float:
            return {"f": v.hex()}
        if isinstance(v, np.generic) and v.dtype.kind in "biuf":
            return {"np": encode_array(np.asarray(v))}
        if isinstance(v, np.ndarray):
            return {"a": encode_array(v)}
        if isinstance(v, list | tuple):
            return {"l" if isinstance(v, list) else "t":
                    [self.value(x, (*path, ("key", i))) for i, x in enumerate(v)]}
        if type(v) is dict:
            return {"d": [[self.value(k, path), self.value(x, (*path, ("key", k)))]
                          for k, x in v.items()]}
        if isinstance(v, pd.DataFrame):
            return {"df": encode_frame(v)}
        if isinstance(v, Notice):
            return {"notice": [v.kind, v.message, v.model]}
        if isinstance(v, Term):
            return {"term": [self.value(getattr(v, f.name), path)
                             for f in dataclasses.fields(v)]}
        if isinstance(v, ModelResult):
            return {"result": self._result(v, path)}
        if hasattr(v, "design") and hasattr(v, "params") and hasattr(v, "cov"):
            return {"fit": self._fit(v, path)}
        raise UnshareableError(f"a {type(v).__name__} at {path}")

    def _result(self, result, path: tuple) -> dict[str, Any]:
        fields = {}
        for f in dataclasses.fields(result):
            value = getattr(result, f.name)
            where = (*path, ("attr", f.name))
            if f.name == "_tests":
                if value is not None and "tests" not in result.__dict__:
                    fields[f.name] = {"deferred": "tests"}
                    continue
                value = None
            elif f.name == "fits":  # the statsmodels objects: fitted again if asked for
                fields[f.name] = {"deferred": [self.value(k, path) for k in value]}
                continue
            fields[f.name] = self.value(value, where)
        extra = {k: v for k, v in result.__dict__.items() if k not in fields}
        if set(extra) - {"tests"}:
            raise UnshareableError(f"attributes {sorted(extra)} of a {type(result).__name__}")
        return {"class": type(result).__name__, "fields": fields,
                "path": [list(step) for step in path],
                "tests": self.value(extra["tests"], path) if "tests" in extra else None}

    def _fit(self, fit, path: tuple) -> int:
        from analysis.models.result import fit_statistics_row

        if id(fit) in self._seen:
            return self._seen[id(fit)]
        names = list(fit.design.names)
        stats = fit_statistics_row("", fit)
        del stats["model"]
        entry = {"path": [list(step) for step in path], "names": names,
                 "terms": self.value(list(fit.design.terms), path),
                 "statistics": self.value(stats, path),
                 **{name: self.value(getattr(fit, name, None), path)
                    for name in FIT_ATTRIBUTES}}
        from analysis.report.estimate_cells import interaction_pairs, pair_counts

        # the cells of each additive contrast (the release registers them; rows not stored)
        pairs = {pair: pair_counts(fit, *pair) for pair in interaction_pairs(fit)}
        entry["pairs"] = self.value({k: v for k, v in pairs.items() if v is not None}, path)
        if self.main and path[-1] == ("key", "adjusted") and len(path) == 3:
            entry["outcome_weights"] = self.value(tuple(fit.outcome_weights()), path)
        self._seen[id(fit)] = len(self.fits)
        self.fits.append(entry)
        return self._seen[id(fit)]


FIT_ATTRIBUTES = ("name", "params", "cov", "llf", "method", "firth", "converged", "family",
                  "cov_type", "df_resid", "n_extra")


# ---- decoding ---------------------------------------------------------------------------
def _walk(obj: Any, path: list) -> Any:
    for kind, name in path:
        obj = getattr(obj, name) if kind == "attr" else obj[name]
    return obj


class _Decoder:
    """Builds results back from their tagged JSON; ``real()`` is the notebook's own fit."""

    def __init__(self, fits: list[dict[str, Any]], real: Callable[[], Any]) -> None:
        self.entries, self.real = fits, real
        self.fits: dict[int, SharedFit] = {}

    def value(self, v: Any) -> Any:
        from analysis.models.design import Term
        from analysis.models.result import Notice

        if not isinstance(v, dict):
            return v
        (tag, body), = v.items()
        if tag == "f":
            return float.fromhex(body)
        if tag == "np":
            return decode_array(body)[()]
        if tag == "a":
            return decode_array(body)
        if tag in ("l", "t"):
            items = [self.value(x) for x in body]
            return items if tag == "l" else tuple(items)
        if tag == "d":
            return {self.value(k): self.value(x) for k, x in body}
        if tag == "df":
            return decode_frame(body)
        if tag == "notice":
            return Notice(*body)
        if tag == "term":
            return Term(*[self.value(x) for x in body])
        if tag == "result":
            return self._result(body)
        if tag == "fit":
            return self._fit(body)
        raise ValueError(f"unknown tag {tag!r} in the shared fits")

    def _result(self, body: dict[str, Any]):
        cls = _shared_class(_result_classes()[body["class"]])
        own = functools.cache(lambda: _walk(self.real(), body["path"]))
        values = {}
        for name, raw in body["fields"].items():
            if isinstance(raw, dict) and "deferred" in raw:
                values[name] = (_Later(own) if name == "_tests" else
                                _DeferredMapping([self.value(k) for k in raw["deferred"]], own))
            else:
                values[name] = self.value(raw)
        init = {f.name for f in dataclasses.fields(cls) if f.init}
        result = cls(**{k: v for k, v in values.items() if k in init})
        for name, value in values.items():
            if name not in init:
                setattr(result, name, value)
        if body.get("tests") is not None:
            result.__dict__["tests"] = self.value(body["tests"])
        return result

    def _fit(self, index: int) -> SharedFit:
        if index not in self.fits:
            entry = self.entries[index]
            self.fits[index] = SharedFit(entry, self, lambda: _walk(self.real(), entry["path"]))
        return self.fits[index]


class _Later:
    """A result's deferred tests, from the notebook's own fit of the model if asked for."""

    def __init__(self, real: Callable[[], Any]) -> None:
        self.real = real

    def __call__(self) -> pd.DataFrame:
        return self.real().tests


class _DeferredMapping(Mapping):
    """``result.fits`` (the statsmodels objects), from the notebook's own fit if asked for."""

    def __init__(self, keys: list, real: Callable[[], Any]) -> None:
        self._keys, self.real = keys, real

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        return self.real().fits[key]

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class SharedFit:
    """A fit as the run stored it: parameters, covariance, design names and terms, statistics.

    Anything else (the design matrix, the rows, ``raw``) comes from the
    notebook's own fit of the model, made on first use.
    """

    def __init__(self, entry: dict[str, Any], decoder: _Decoder,
                 real: Callable[[], Any]) -> None:
        from analysis.models.design import Design

        self._real = functools.cache(real)
        for name in FIT_ATTRIBUTES:
            setattr(self, name, decoder.value(entry[name]))
        self.statistics = decoder.value(entry["statistics"])
        self.design = _SharedDesign(Design(None, list(entry["names"]),
                                           decoder.value(entry["terms"])), self._real)
        if "pairs" in entry:  # {(a, b): estimate_cells.pair_counts}
            self.pair_counts = decoder.value(entry["pairs"])
        weights = entry.get("outcome_weights")
        self._weights = None if weights is None else decoder.value(weights)

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def coef(self, column: str) -> tuple[float, float]:
        j = self.design.names.index(column)
        return float(self.params[j]), float(self.bse[j])

    def outcome_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(y, p, weight) in row form, as stored by the run (else from the notebook's fit)."""
        if self._weights is not None:
            return tuple(a.copy() for a in self._weights)
        return self._real().outcome_weights()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_real", "_weights"):
            raise AttributeError(name)
        return getattr(self._real(), name)


class _SharedDesign:
    """A fit's design names and terms; its matrix from the notebook's own fit if asked for."""

    def __init__(self, design, real: Callable[[], Any]) -> None:
        self._design, self._real = design, real
        self.names, self.terms = design.names, design.terms

    def index(self, term) -> list[int]:
        return self._design.index(term)

    @property
    def X(self) -> np.ndarray:  # noqa: N802 - the design's own name
        return self._real().design.X


class _SharedStatistics:
    """Fit statistics from the stored rows (the outcome and predictions are not stored)."""

    @property
    def fit_statistics(self) -> pd.DataFrame:
        from analysis.models.result import FIT_COLUMNS, fit_statistics_row

        rows = [{"model": name, **fit.statistics} if isinstance(fit, SharedFit)
                else fit_statistics_row(name, fit) for name, fit in self._fits.items()]
        return pd.DataFrame(rows, columns=FIT_COLUMNS)


@functools.cache
def _shared_class(cls: type) -> type:
    return type(cls.__name__, (_SharedStatistics, cls), {"__module__": cls.__module__,
                                                         "__qualname__": cls.__qualname__})


def _result_classes() -> dict[str, type]:
    import analysis.models  # noqa: F401 - every result class, registered by its import
    from analysis.models.result import ModelResult

    out, todo = {}, [ModelResult]
    while todo:
        cls = todo.pop()
        if cls is not _SharedStatistics and not issubclass(cls, _SharedStatistics):
            out[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return out


__all__ = ["FILE", "SharedFit", "UnshareableError", "fits_key", "plan_text", "read_shared_fits",
           "write_shared_fits"]
