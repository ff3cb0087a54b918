"""Validate once per report run: the checked survey shared by every report notebook.

Each report notebook runs in its own kernel and opens the survey with
:func:`analysis.report.open_report`. Without a cache every kernel reads and
validates the whole file again: four times the same work, about 20 s each
at 10^7 respondents. :func:`analysis.report.render_reports` therefore
validates once, writes the :class:`~analysis.survey.Survey` (typed data,
codebook, ledger, source) to ``<out>/.cache/``, lets the notebooks read it,
and removes it when the run ends, so no stale copy outlives the run.

The cache is keyed by the sha256 of the data file, the sha256 of the
codebook and ``on_invalid``: a notebook run on other data, another codebook
or another mode does not match it and validates the file itself. The
provenance section still hashes the original data file.

The typed data, the ledger and the source are stored with :mod:`pickle`
(protocol 5): it keeps every dtype exactly (ordered categoricals, datetime
units, string arrays, the ledger's object values), so a report made from the
cache is byte-identical to one made by validating the file, and reading it
costs a copy of the arrays (1.7 s for the 2.3 GiB of 10^7 respondents). The
codebook is loaded from its file. Only a cache this module wrote, in the
run's own output folder, is read.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

from analysis.codebook import Codebook, load_codebook
from analysis.report.provenance import sha256
from analysis.survey import Survey

FOLDER = ".cache"
MANIFEST = "survey.json"
PAYLOAD = "survey.pickle"


def survey_key(data: str | Path, codebook: str | Path, on_invalid: str) -> str:
    """The cache key: sha256 over the data file's and codebook's sha256 and ``on_invalid``."""
    text = f"data={sha256(data)}\ncodebook={sha256(codebook)}\non_invalid={on_invalid}\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_cached_survey(survey: Survey, out_dir: str | Path, key: str) -> Path:
    """Store ``survey`` under ``<out_dir>/.cache`` with its key; return the folder."""
    folder = Path(out_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    payload = folder / PAYLOAD
    # the codebook is not stored: the key holds its sha256, and the reader loads it from
    # its file, so a cached survey never carries a codebook object of another version
    with open(payload, "wb") as handle:
        pickle.dump({"data": survey.data, "accounts": survey.accounts, "source": survey.source},
                    handle, protocol=5)
    # the manifest is written last: a half-written payload is never matched
    (folder / MANIFEST).write_text(json.dumps({"key": key}) + "\n", encoding="utf-8")
    return folder


def read_cached_survey(out_dir: str | Path, key: str, codebook: Codebook | str | Path
                       ) -> Survey | None:
    """The cached survey when ``<out_dir>/.cache`` holds one with this ``key``, else ``None``.

    ``codebook`` is the codebook (or its file) the key was made with.
    """
    folder = Path(out_dir) / FOLDER
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("key") != key:
        return None
    try:
        with open(folder / PAYLOAD, "rb") as handle:
            stored = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None  # a cache from another version of the package: validate instead
    return Survey(data=stored["data"], codebook=load_codebook(codebook),
                  accounts=stored["accounts"], source=stored["source"])


def clear_cache(out_dir: str | Path) -> None:
    """Remove ``<out_dir>/.cache`` (at the end of a report run)."""
    shutil.rmtree(Path(out_dir) / FOLDER, ignore_errors=True)
