"""Opening a report notebook's session: its survey loaded, or taken from the run's cache.

:func:`open_report` is what a report notebook calls first; it checks the
rule, loads the survey (a Parquet dataset through DuckDB, with a sample for
what has no aggregate form) or takes it from the run's validation cache
(:mod:`analysis.report.cache`), and returns the
:class:`~analysis.report.session.ReportSession` the notebook shows everything
through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

from analysis.errors import ReportError
from analysis.privacy import DEFAULT_THRESHOLD
from analysis.report import session as sessions
from analysis.report.parameters import check_rule, plan_options, scratch_folder
from analysis.report.session import ReportSession


def open_report(name: str, data: str | Path, codebook: str | Path, *,
                out_dir: str | Path | None = None, threshold: int | None = DEFAULT_THRESHOLD,
                on_invalid: str = "exclude", sheet: str | int | None = None,
                rounding: int | None = None, **parameters: Any) -> ReportSession:
    """Load the survey of a report notebook and start its record.

    ``out_dir`` None (a notebook run by hand) writes into :func:`scratch_folder`.
    Identifier columns are never loaded (``keep_identifiers=False``). Other
    ``parameters`` are kept for the provenance section. When
    :func:`~analysis.report.render_reports` has validated this data file with
    this codebook and ``on_invalid`` for the run, the survey comes from its
    cache in ``out_dir`` (:mod:`analysis.report.cache`) instead of being
    validated again.
    """
    from analysis.load import load_survey

    threshold, rounding = check_rule(threshold, rounding)
    data, codebook, out_dir = Path(data), Path(codebook), scratch_folder(out_dir)
    from analysis.load import is_dataset

    dataset = is_dataset(data)
    for what, path in (("data file", data), ("codebook", codebook)):
        if not (path.is_file() or (dataset and path == data)):
            raise ReportError(f"Report {name}: {what} {str(path)!r} does not exist.")
    matplotlib.rcParams["svg.hashsalt"] = "backpain"  # stable ids should anyone save SVG
    _theme()
    lazy, shared_plan = None, None
    if dataset:  # a folder or glob of Parquet files: counted in DuckDB, sampled for the rest
        lazy, survey, shared_plan = _cached_dataset(data, codebook, out_dir, on_invalid,
                                                   plan_options(parameters))
        if lazy is None:  # not validated by a report run: here
            lazy = load_survey(data, codebook, on_invalid=on_invalid, keep_identifiers=False)
            # the session module's SAMPLE_ROWS, read now (not imported as a value), so the
            # run, the session and this module sample alike when it is set there
            survey = lazy.sample(sessions.SAMPLE_ROWS)
    else:
        survey, shared_plan = _cached_survey(data, codebook, out_dir, on_invalid, sheet,
                                             plan_options(parameters))
    if survey is None:
        options = {} if sheet is None else {"sheet": sheet}
        survey = load_survey(data, codebook, on_invalid=on_invalid, keep_identifiers=False,
                             **options)
    given = {"on_invalid": on_invalid, **({"sheet": sheet} if sheet is not None else {})}
    session = ReportSession(name=name, survey=survey, data=data, codebook=codebook,
                            out_dir=out_dir, threshold=threshold, rounding=rounding,
                            parameters={**given, **parameters}, lazy=lazy)
    if shared_plan is not None:  # planned once by the run, with this notebook's options
        session.__dict__["plan"] = shared_plan
    session.write_results()
    return session


def _cached_survey(data: Path, codebook: Path, out_dir: Path, on_invalid: str,
                   sheet: str | int | None, options: dict[str, Any]):
    """(survey, plan) from the run's cache, or None for what it does not hold."""
    from analysis.plan import AnalysisPlan
    from analysis.report.cache import (
        FOLDER,
        MANIFEST,
        read_cached_plan,
        read_cached_survey,
        survey_key,
    )

    if not (out_dir / FOLDER / MANIFEST).is_file():
        return None, None  # no report run under way: skip hashing the data
    key = survey_key(data, codebook, on_invalid, sheet)
    survey = read_cached_survey(out_dir, key, codebook)
    if survey is None:
        return None, None
    cached = read_cached_plan(out_dir, key, options)
    try:
        return survey, None if cached is None else AnalysisPlan.from_dict(cached)
    except (TypeError, KeyError, ValueError):  # a plan of another version: plan again
        return survey, None


def _cached_dataset(data: Path, codebook: Path, out_dir: Path, on_invalid: str,
                    options: dict[str, Any]):
    """(LazySurvey, its sample, plan) as the report run validated them, or Nones.

    The dataset is reopened in DuckDB from the run's counts (no scan), with the
    aggregates the run computed for its release (:mod:`analysis.scale.shared`).
    """
    from analysis.errors import BackpainError
    from analysis.report.cache import FOLDER, MANIFEST, read_cached_lazy, survey_key
    from analysis.scale import load_parquet_survey

    if not (out_dir / FOLDER / MANIFEST).is_file():
        return None, None, None
    survey, plan = _cached_survey(data, codebook, out_dir, on_invalid, None, options)
    state = (read_cached_lazy(out_dir, survey_key(data, codebook, on_invalid))
             if survey is not None else None)
    if state is None:
        return None, None, None
    try:
        lazy = load_parquet_survey(data, codebook, on_invalid=on_invalid,
                                   keep_identifiers=False, state=state)
    except BackpainError:  # other files or rules than the run's: validated here
        return None, None, None
    return lazy, survey, plan


def _theme() -> None:
    try:
        from analysis.figures import set_theme
    except ImportError:  # the figures module is optional for tables-only reports
        return
    set_theme()
