"""Validate once per report run: the checked survey shared by every report notebook.

Each report notebook runs in its own kernel and opens the survey with
:func:`analysis.report.open_report`. Without a cache every kernel reads and
validates the whole file again: four times the same work, about 20 s each
at 10^7 respondents. :func:`analysis.report.render_reports` therefore
validates once, writes the :class:`~analysis.survey.Survey` to
``<run folder>/.cache/``, lets the notebooks read it, and removes it before
the report is put in place, so no copy outlives the run.

What is stored holds data only, nothing that runs code when read:

- ``survey.arrow``: the typed data (ordered categoricals, datetimes,
  floats, the ``line`` index), an uncompressed Arrow IPC (Feather 2) file
  with pandas' metadata: at 10^6 respondents it is written in 0.1 s and read
  in 0.5 s, where Parquet took 1.9 s and 1.4 s, for about the survey's size
  in memory on disk, until the run ends;
- ``ledger.arrow``: one row per ledger entry (its line, and its value in
  a column of its kind, so ints, floats, strings and missing values come
  back as they were);
- ``survey.json``: the cache key, the source, the ledger's blocks, the
  dtypes and categories of every column, the sha256 of both files
  and an HMAC-SHA256 signature of all of it.

The cache key is the sha256 over the data file's sha256, the codebook's
sha256 and ``on_invalid``: a notebook run on other data, another codebook or
another mode does not match it and validates the file itself. The signature
key is a random secret of the run, given to its kernels in the environment
variable :data:`SECRET_ENV` and never written to disk, so a file planted in
the cache location (by anyone who can write the output folder) is rejected
before it is read; so are a manifest whose file hashes do not match and a
survey whose columns do not come back with the dtypes recorded. A rejected
cache is logged and the notebook validates the data file itself. The
codebook is always loaded from its file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.codebook import Codebook, load_codebook
from analysis.ledger import Ledger
from analysis.report.provenance import sha256
from analysis.survey import Survey

FOLDER = ".cache"
MANIFEST = "survey.json"
DATA = "survey.arrow"
LEDGER = "ledger.arrow"
FORMAT = "backpain-survey-cache/3"
SECRET_ENV = "BACKPAIN_REPORT_SECRET"

log = logging.getLogger("analysis.report")


def survey_key(data: str | Path, codebook: str | Path, on_invalid: str,
               sheet: str | int | None = None) -> str:
    """The cache key: sha256 over the data file's and codebook's sha256, ``on_invalid`` and
    the Excel ``sheet`` read (when one is named)."""
    text = f"data={sha256(data)}\ncodebook={sha256(codebook)}\non_invalid={on_invalid}\n"
    if sheet is not None:
        text += f"sheet={sheet}\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_cached_survey(survey: Survey, out_dir: str | Path, key: str,
                        secret: str | None = None, plan: dict[str, Any] | None = None,
                        lazy: tuple[dict, dict[str, pd.DataFrame]] | None = None) -> Path:
    """Store ``survey`` under ``<out_dir>/.cache`` with its key; return the folder.

    ``secret`` (default: the environment variable :data:`SECRET_ENV`) signs
    the manifest; without one nothing is written, since nothing could read it.
    ``plan`` (``{"options": ..., "plan": json.dumps(AnalysisPlan.to_dict())}``) is the
    analysis plan of the survey, decided once for the notebooks that plan
    with those options (:func:`read_cached_plan`); it goes into the signed
    manifest as plain JSON. ``lazy`` (a Parquet dataset: ``survey`` is then its
    sample) is :func:`analysis.scale.shared.lazy_state` of the run's validation:
    its JSON goes into the manifest, its tables into ``lazy_<name>.parquet``
    (hashed like the others), read back by :func:`read_cached_lazy`.
    """
    secret = secret if secret is not None else os.environ.get(SECRET_ENV)
    if not secret:
        raise ValueError(f"write_cached_survey needs the run's secret ({SECRET_ENV}).")
    folder = Path(out_dir) / FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_arrow(survey.data, folder / DATA, index=True)
    blocks, entries = _ledger_tables(survey.accounts)
    _write_arrow(entries, folder / LEDGER, index=False)
    names = [DATA, LEDGER]
    for name, table in (lazy[1] if lazy else {}).items():
        table.to_parquet(folder / f"lazy_{name}.parquet", engine="pyarrow", index=True)
        names.append(f"lazy_{name}.parquet")
    manifest = {
        "format": FORMAT, "key": key, "source": survey.source,
        "ledger": {"n_read": int(survey.accounts.n_read), "source": survey.accounts.source,
                   "blocks": blocks},
        "columns": _column_types(survey.data),
        "files": {name: sha256(folder / name) for name in names},
    }
    if lazy is not None:
        manifest["lazy"] = {"state": lazy[0], "tables": sorted(lazy[1])}
    if plan is not None:
        manifest["plan"] = plan
    manifest["signature"] = _sign(manifest, secret)
    # the manifest is written last and renamed into place: a half-written cache is never matched
    partial = folder / (MANIFEST + ".part")
    partial.write_text(json.dumps(manifest, sort_keys=True) + "\n", encoding="utf-8")
    partial.replace(folder / MANIFEST)
    return folder


def read_cached_survey(out_dir: str | Path, key: str, codebook: Codebook | str | Path,
                       secret: str | None = None) -> Survey | None:
    """The survey cached in ``<out_dir>/.cache`` if valid and made with ``key``, else ``None``.

    ``codebook`` is the codebook (or its file) the key was made with;
    ``secret`` defaults to the environment variable :data:`SECRET_ENV`
    (set by the report runner for its kernels). Nothing is read from the
    Parquet files before the manifest's signature and both files' sha256
    have been checked.
    """
    secret = secret if secret is not None else os.environ.get(SECRET_ENV)
    folder = Path(out_dir) / FOLDER
    if not secret:
        return None  # not under a report run: there is no cache of ours to read
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("signature"), str) \
            or not hmac.compare_digest(manifest["signature"], _sign(manifest, secret)):
        log.warning("Survey cache in %s is not signed by this run: ignored; validating the "
                    "data file instead.", folder)
        return None
    if manifest.get("format") != FORMAT or manifest.get("key") != key:
        return None
    read_before = _PREFETCHED.pop((str(folder.resolve()), key), None)
    if read_before is not None and hmac.compare_digest(read_before[0], manifest["signature"]):
        return read_before[1]  # read from these very files, as this manifest signs them
    for name in (DATA, LEDGER):
        if not (folder / name).is_file() or sha256(folder / name) != manifest["files"].get(name):
            log.warning("Survey cache file %s does not match its recorded sha256: ignored; "
                        "validating the data file instead.", folder / name)
            return None
    try:
        data = _restore_types(_read_arrow(folder / DATA), manifest["columns"])
        if _column_types(data) != manifest["columns"]:
            raise ValueError("the columns did not keep their types")
        accounts = _ledger_from_tables(manifest["ledger"],
                                       _read_arrow(folder / LEDGER))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("Survey cache in %s cannot be used (%s): validating the data file "
                    "instead.", folder, exc)
        return None
    return Survey(data=data, codebook=load_codebook(codebook), accounts=accounts,
                  source=manifest["source"])


def prefetch_survey(out_dir: str | Path, key: str, codebook: str | Path) -> bool:
    """Read the run's cached survey now, for the notebook that will open it in this kernel.

    A report run calls this in a kernel it made ready while it fits
    (:mod:`analysis.report.warm`): the next :func:`read_cached_survey` of the
    same folder and key returns that survey, once, when the signed manifest
    is still the one it was read under, instead of reading the files again.
    Returns whether the survey was read; never raises (the notebook then
    reads the cache, or the data file, itself).
    """
    folder = Path(out_dir) / FOLDER
    try:
        # the signature first: a manifest replaced during the read then fails to match
        signature = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["signature"]
        survey = read_cached_survey(out_dir, key, codebook)
    except Exception:
        return False
    if survey is None or not isinstance(signature, str):
        return False
    _PREFETCHED[(str(folder.resolve()), key)] = (signature, survey)
    return True


# surveys read by prefetch_survey, by (cache folder, key): (manifest signature, survey)
_PREFETCHED: dict[tuple[str, str], tuple[str, Survey]] = {}


def read_cached_lazy(out_dir: str | Path, key: str, secret: str | None = None
                     ) -> tuple[dict, dict[str, pd.DataFrame]] | None:
    """The run's validation of a Parquet dataset (``lazy`` of :func:`write_cached_survey`).

    ``(state, tables)`` for ``load_parquet_survey(..., state=...)``, or None
    unless the manifest is signed by this run, made with ``key``, and every
    table's sha256 is the recorded one.
    """
    secret = secret if secret is not None else os.environ.get(SECRET_ENV)
    folder = Path(out_dir) / FOLDER
    if not secret:
        return None
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("signature"), str) \
            or not hmac.compare_digest(manifest["signature"], _sign(manifest, secret)) \
            or manifest.get("format") != FORMAT or manifest.get("key") != key \
            or not isinstance(manifest.get("lazy"), dict):
        return None
    tables = {}
    for name in manifest["lazy"]["tables"]:
        path = folder / f"lazy_{name}.parquet"
        if not path.is_file() or sha256(path) != manifest["files"].get(path.name):
            log.warning("Cache file %s does not match its recorded sha256: ignored; "
                        "validating the dataset instead.", path)
            return None
        tables[name] = _read_parquet(path)
    return manifest["lazy"]["state"], tables


def read_cached_plan(out_dir: str | Path, key: str, options: dict[str, Any],
                     secret: str | None = None) -> dict[str, Any] | None:
    """The cached plan (as ``AnalysisPlan.to_dict()`` gave it), or ``None``.

    Only if the manifest is signed by this run, made with ``key`` and the
    plan decided with ``options`` (compared as JSON).

    Planning takes seconds at 10^6 rows (the aliasing checks); each notebook
    would repeat it on the same survey with the same options.
    """
    secret = secret if secret is not None else os.environ.get(SECRET_ENV)
    if not secret:
        return None
    try:
        manifest = json.loads((Path(out_dir) / FOLDER / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("signature"), str) \
            or not hmac.compare_digest(manifest["signature"], _sign(manifest, secret)) \
            or manifest.get("format") != FORMAT or manifest.get("key") != key:
        return None
    cached = manifest.get("plan")
    if not isinstance(cached, dict) or cached.get("options") != _as_json(options) \
            or not isinstance(cached.get("plan"), str):
        return None
    try:
        return json.loads(cached["plan"])  # text, so the order of its keys is kept
    except ValueError:
        return None


def _as_json(value: Any) -> Any:
    """``value`` as it comes back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value, sort_keys=True))


def clear_cache(out_dir: str | Path) -> None:
    """Remove ``<out_dir>/.cache`` (at the end of a report run)."""
    shutil.rmtree(Path(out_dir) / FOLDER, ignore_errors=True)


def _write_arrow(frame: pd.DataFrame, path: Path, index: bool) -> None:
    import pyarrow as pa
    import pyarrow.feather as feather

    feather.write_feather(pa.Table.from_pandas(frame, preserve_index=index), path,
                          compression="uncompressed")


def _read_arrow(path: Path) -> pd.DataFrame:
    import pyarrow.feather as feather

    return feather.read_table(path, memory_map=True).to_pandas()


def _read_parquet(path: Path) -> pd.DataFrame:
    # pyarrow's own reader: about half the time of pandas.read_parquet on a survey
    import pyarrow.parquet as pq

    return pq.read_table(path, memory_map=True).to_pandas()


# ---- signed JSON files of the run (its release and its fits) -----------------------------
def write_signed(path: str | Path, key: str, body: str, secret: str, field: str = "body") -> Path:
    """Write ``{"key", "signature", field: body}``: ``body`` signed with the run's secret.

    HMAC-SHA256 over ``key + body``; written beside and renamed into place,
    so a reader never meets half a file.
    """
    path = Path(path)
    sign = hmac.new(secret.encode(), (key + body).encode("utf-8"), hashlib.sha256).hexdigest()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps({"key": key, "signature": sign, field: body}),
                       encoding="utf-8")
    partial.replace(path)
    return path


def read_signed(path: str | Path, key: str, what: str, then: str,
                field: str = "body") -> str | None:
    """The body of a :func:`write_signed` file signed by this run for ``key``, else None.

    The secret is :data:`SECRET_ENV` (none: not under a report run). A file
    that cannot be read or fails its signature is logged ("The run's
    {what} ...; {then}."); one made for another key is passed over quietly.
    """
    path = Path(path)
    secret = os.environ.get(SECRET_ENV)
    if not secret or not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        body = saved[field]
        sign = hmac.new(secret.encode(), (saved["key"] + body).encode("utf-8"),
                        hashlib.sha256).hexdigest()
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("The run's %s %s cannot be read; %s.", what, path, then)
        return None
    if not hmac.compare_digest(sign, str(saved.get("signature"))):
        verb = "fail their" if what.endswith("s") else "fails its"
        log.warning("The run's %s %s %s signature; %s.", what, path, verb, then)
        return None
    return body if saved["key"] == key else None


# ---- signature ---------------------------------------------------------------
def _sign(manifest: dict[str, Any], secret: str) -> str:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=True)
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def _column_types(frame: pd.DataFrame) -> dict[str, Any]:
    """Each column's dtype (with categories and order) and the index's: what must come back."""
    out: dict[str, Any] = {"__index__": [str(frame.index.name), str(frame.index.dtype)]}
    for name in frame.columns:
        dtype = frame[name].dtype
        entry: dict[str, Any] = {"dtype": str(dtype)}
        if isinstance(dtype, pd.CategoricalDtype):
            entry["categories"] = [_jsonable(c) for c in dtype.categories.tolist()]
            entry["categories_dtype"] = str(dtype.categories.dtype)
            entry["ordered"] = bool(dtype.ordered)
        out[str(name)] = entry
    return out


def _restore_types(frame: pd.DataFrame, columns: dict[str, Any]) -> pd.DataFrame:
    """Give back what Parquet changes: object (not ``str``) categories and text columns.

    pandas 3 reads strings as its ``str`` dtype; the validated survey holds
    categories as ``object``. Categoricals are rebuilt from their codes, so
    no value is re-parsed.
    """
    for name in frame.columns:
        want, dtype = columns.get(str(name), {}), frame[name].dtype
        if want.get("dtype") == str(dtype) == "category" \
                and want.get("categories_dtype") != str(dtype.categories.dtype):
            categories = dtype.categories.astype(want["categories_dtype"])
            frame[name] = pd.Categorical.from_codes(
                frame[name].cat.codes.to_numpy(), dtype=pd.CategoricalDtype(
                    categories, ordered=dtype.ordered))
        elif want.get("dtype") == "object" and str(dtype) != "object":
            frame[name] = frame[name].astype(object)
    return frame


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value.hex()
    return str(value)


# ---- the ledger as a table --------------------------------------------------------------
# One row per entry: its line and its value in the column of its kind, so every value
# comes back with its type and reading needs no loop over the entries: "-" none, "i" int,
# "f" float (exact, nan and inf included), "b" bool, "s" str, "t" timestamp (ISO), "r"
# anything else (its str, which is how the ledger shows it).
INT64 = (-(2**63), 2**63 - 1)


def _encode(value: Any) -> tuple[str, int, float, str]:
    if value is None or value is pd.NA or value is pd.NaT:
        return "-", 0, math.nan, ""
    if isinstance(value, bool | np.bool_):
        return "b", int(bool(value)), math.nan, ""
    if isinstance(value, int | np.integer) and INT64[0] <= int(value) <= INT64[1]:
        return "i", int(value), math.nan, ""
    if isinstance(value, float | np.floating):
        return "f", 0, float(value), ""
    if isinstance(value, str):
        return "s", 0, math.nan, value
    if isinstance(value, pd.Timestamp):
        return "t", 0, math.nan, value.isoformat()
    return "r", 0, math.nan, str(value)


def _ledger_tables(ledger: Ledger) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    blocks, lines, kinds, ints, floats, texts = [], [], [], [], [], []
    for step, column, rule, action, block_lines, values in ledger.blocks():
        size = int(block_lines.size)
        blocks.append({"step": step, "column": column, "rule": rule, "action": action,
                       "size": size, "values": values is not None})
        lines.append(np.asarray(block_lines, dtype=np.int64))
        kind, whole, real, text = _encode_block(values, size)
        kinds.append(kind)
        ints.append(whole)
        floats.append(real)
        texts.append(text)

    def joined(parts: list[np.ndarray], dtype) -> np.ndarray:
        return np.concatenate(parts) if parts else np.array([], dtype=dtype)

    entries = pd.DataFrame({
        "line": joined(lines, np.int64),
        "kind": pd.Series(joined(kinds, object), dtype=object), "int": joined(ints, np.int64),
        "float": joined(floats, np.float64), "text": pd.Series(joined(texts, object),
                                                               dtype=object)})
    return blocks, entries


def _encode_block(values, size: int) -> tuple[np.ndarray, ...]:
    """A block's (kind, int, float, text) columns: :func:`_encode` of each value.

    A block of Python ints only (most of them: the lines' original values of a
    rule) is encoded at once; any other value by value.
    """
    if values is None:
        return (np.full(size, "-", dtype=object), np.zeros(size, dtype=np.int64),
                np.full(size, math.nan), np.full(size, "", dtype=object))
    items = list(values)
    if items and set(map(type, items)) == {int}:
        try:
            whole = np.array(items, dtype=np.int64)
        except OverflowError:  # beyond int64: each by its own kind
            pass
        else:
            return (np.full(size, "i", dtype=object), whole, np.full(size, math.nan),
                    np.full(size, "", dtype=object))
    rows = [_encode(v) for v in items]
    kind, whole, real, text = zip(*rows, strict=True) if rows else ((), (), (), ())
    out_kind, out_text = np.empty(len(rows), dtype=object), np.empty(len(rows), dtype=object)
    out_kind[:], out_text[:] = kind, text
    return (out_kind, np.array(whole, dtype=np.int64), np.array(real, dtype=np.float64),
            out_text)


def _ledger_values(entries: pd.DataFrame) -> np.ndarray:
    kind = entries["kind"].to_numpy(dtype=object)
    texts = entries["text"].to_numpy(dtype=object)
    ints = entries["int"].to_numpy(dtype=np.int64)
    values = np.full(len(kind), None, dtype=object)
    for code, column in (("i", ints), ("f", entries["float"].to_numpy(dtype=np.float64)),
                         ("b", ints.astype(bool)), ("s", texts), ("r", texts)):
        where = kind == code
        values[where] = column[where].astype(object)  # Python ints, floats, bools, strs
    where = kind == "t"
    values[where] = [pd.Timestamp(t) for t in texts[where]]
    return values


def _ledger_from_tables(meta: dict[str, Any], entries: pd.DataFrame) -> Ledger:
    ledger = Ledger(n_read=int(meta["n_read"]), source=meta["source"])
    lines = entries["line"].to_numpy(dtype=np.int64)
    values = _ledger_values(entries)
    if sum(int(b["size"]) for b in meta["blocks"]) != len(lines):
        raise ValueError("the cached ledger's entries do not add up to its blocks")
    start = 0
    for block in meta["blocks"]:
        stop = start + int(block["size"])
        ledger.record(step=block["step"], rule=block["rule"], action=block["action"],
                      lines=lines[start:stop].copy(), column=block["column"],
                      values=values[start:stop].copy() if block["values"] else None)
        start = stop
    return ledger
