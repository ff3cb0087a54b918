"""The counts of an in-memory survey that a report shows, computed once per run.

:class:`SurveyCounts` is their one home: the run's release
(:func:`analysis.report.disclosure.report_release`) counts through it, and
so does every notebook's :class:`~analysis.report.session.ReportSession`.
Table 1 and the missing values take seconds at 10^6 respondents, and the
release has computed them before any notebook starts; the run saves what it
computed (:func:`write_shared_counts`, signed like the survey cache), and a
notebook's session that opens the same survey reads them back
(:func:`read_shared_counts`) instead of counting again. The tables come back
exactly (:mod:`analysis.report.tagged_json`), and only for a survey with the
same rows and columns as the one they were counted on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.report.cache import FOLDER, read_signed, write_signed
from analysis.report.tagged_json import decode_frame, encode_frame

FILE = "counts.json"


class SurveyCounts:
    """The counts of an in-memory survey, under the names a report session gives them.

    ``computed`` holds tables already counted (:func:`read_shared_counts`);
    each table counted here is added to it. A table is taken from it only
    while the survey has the rows and columns it was counted on.
    """

    def __init__(self, survey, computed: dict[str, dict[str, Any]] | None = None) -> None:
        self.survey = survey
        self.flow = survey.flow
        self.computed = {} if computed is None else computed

    def change_counts(self) -> pd.DataFrame:
        return self.survey.accounts.counts()

    def table_one(self, by: str | None = None, columns=None) -> pd.DataFrame:
        from analysis.describe import table_one

        return self._counted(["table one", by, None if columns is None else list(columns)],
                             lambda: table_one(self.survey, by=by, columns=columns))

    def missingness(self) -> pd.DataFrame:
        from analysis.figures import missingness

        return self._counted(["missing values"], lambda: missingness(self.survey))

    def prevalence(self, outcome: str, by: list[str], design: bool) -> pd.DataFrame:
        from analysis.describe import prevalence

        return prevalence(self.survey, outcome, by=by, weighted=False, design=design)

    def _counted(self, what: list, count: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        key = json.dumps(what)
        shape = _shape(self.survey)
        saved = self.computed.get(key)
        if saved is None or saved["shape"] != shape:
            saved = self.computed[key] = {"shape": shape, "table": count()}
        return saved["table"].copy()


def _shape(survey) -> dict[str, Any]:
    return {"rows": len(survey.data), "columns": [str(c) for c in survey.data.columns]}


def write_shared_counts(counts: SurveyCounts, out_dir: str | Path, key: str,
                        secret: str) -> Path | None:
    """Save the tables ``counts`` computed into the run's cache (None: it computed none)."""
    if not counts.computed:
        return None
    body = json.dumps({what: {"shape": saved["shape"], "table": encode_frame(saved["table"])}
                       for what, saved in counts.computed.items()}, sort_keys=True)
    return write_signed(Path(out_dir) / FOLDER / FILE, key, body, secret)


def read_shared_counts(out_dir: str | Path, key: str) -> dict[str, dict[str, Any]]:
    """The tables the run counted on the survey of ``key``, or {} (none, or not this run's)."""
    body = read_signed(Path(out_dir) / FOLDER / FILE, key, "counts", "counting them again")
    if body is None:
        return {}
    return {what: {"shape": saved["shape"], "table": decode_frame(saved["table"])}
            for what, saved in json.loads(body).items()}


__all__ = ["FILE", "SurveyCounts", "read_shared_counts", "write_shared_counts"]
