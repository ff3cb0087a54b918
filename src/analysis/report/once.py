"""The work a report run does once for all its notebooks, before they start.

Validate the survey (or a Parquet dataset: validate, sample and count it in
DuckDB), decide the analysis plan, fit it and decide disclosure, once; the
results go into the run's signed cache, and each notebook reads them
instead of doing the same work again (one disclosure decision per run).
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import nbformat

from analysis.errors import BackpainError
from analysis.report.cache import clear_cache, survey_key, write_cached_survey
from analysis.report.shared_fits import fits_key, plan_text, write_shared_fits


def validate_once(data: Path, codebook: Path, out: Path, paths: list[Path],
                   declared: dict[Path, dict[str, Any]], parameters: Mapping[str, Any],
                   secret: str):
    """Validate the survey once for every notebook and cache it in ``out/.cache``; return it.

    Only when every notebook that opens the survey asks for the same
    ``on_invalid``; a survey that fails validation is not cached, so each
    notebook raises its own error as before.
    """
    from analysis.load import load_survey

    clear_cache(out)
    if (mode := run_mode(paths, declared, parameters)) is None:
        return None
    sheet = parameters.get("sheet")
    options = {} if sheet is None else {"sheet": sheet}
    try:
        survey = load_survey(data, codebook, on_invalid=mode, keep_identifiers=False, **options)
    except BackpainError:
        return None
    key = survey_key(data, codebook, mode, sheet)
    planned, shared = shared_plan(survey, parameters)
    write_cached_survey(survey, out, key, secret, plan=shared)
    return survey, key, planned


def run_mode(paths: list[Path], declared: dict[Path, dict[str, Any]],
              parameters: Mapping[str, Any]) -> str | None:
    """The ``on_invalid`` every notebook opens the survey with, or None when they differ."""
    modes = set()
    for path in paths:
        if "on_invalid" in parameters:
            modes.add(parameters["on_invalid"])
        elif "on_invalid" in declared[path]:
            try:
                modes.add(ast.literal_eval(str(declared[path]["on_invalid"])))
            except (ValueError, SyntaxError):
                return None
    if len(modes) != 1 or not isinstance(mode := modes.pop(), str):
        return None
    return mode


def dataset_once(data: Path, codebook: Path, out: Path, paths: list[Path],
                  declared: dict[Path, dict[str, Any]], parameters: Mapping[str, Any],
                  threshold: int | None, rounding: int | None, secret: str) -> None:
    """A Parquet dataset's validation, sample, release and fits, once for the run's notebooks.

    Each notebook would otherwise validate the dataset and draw its sample again (a scan
    of every row each) and count Table 1, missing values and prevalence for its release;
    the counts, the sample and the aggregates go into the signed cache
    (:func:`analysis.scale.shared.lazy_state`), and DuckDB's memory is freed before the
    notebooks run.
    """
    from analysis.load import load_survey
    from analysis.report.session import SAMPLE_ROWS, ReportSession
    from analysis.scale.planned import lazy_fitter
    from analysis.scale.shared import lazy_state

    clear_cache(out)
    if (mode := run_mode(paths, declared, parameters)) is None:
        return
    try:
        lazy = load_survey(data, codebook, on_invalid=mode, keep_identifiers=False)
    except BackpainError:
        return  # each notebook raises its own error
    try:
        sample = lazy.sample(SAMPLE_ROWS)
        key = survey_key(data, codebook, mode)
        planned, shared = shared_plan(sample, parameters)
        if planned is not None:
            source = ReportSession(name="run", survey=sample, data=data, codebook=codebook,
                                   out_dir=out, lazy=lazy)
            release_once(sample, key, planned, out, parameters, threshold, rounding, secret,
                          paths, source=source, fitter=lazy_fitter(lazy, SAMPLE_ROWS))
        write_cached_survey(sample, out, key, secret, plan=shared, lazy=lazy_state(lazy))
    finally:
        lazy.close()


def give_back_memory() -> None:
    """Return freed memory to the system: this process waits while the kernels run, and the
    run's peak is its resident size plus theirs."""
    import gc

    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: freed memory stays ours
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def shared_plan(survey, parameters: Mapping[str, Any]):
    """The analysis plan with the run's options, decided once for every notebook that
    plans with them (the others, and a plan that fails, are planned in the notebook),
    and as the cache stores it; (None, None) when planning fails."""
    from analysis.plan import plan
    from analysis.report.session import plan_options

    options = plan_options(dict(parameters))
    try:
        planned = plan(survey, **options)
    except Exception:  # the notebook plans again and shows the error there
        return None, None
    return planned, {"options": json.loads(json.dumps(options, sort_keys=True)),
                     # as text: the manifest sorts its keys, and the plan's order is its
                     # meaning (the order of the design's roles and of the continuous variables)
                     "plan": json.dumps(planned.to_dict(), ensure_ascii=False)}


def release_once(survey, data_key: str, planned, out: Path, parameters: Mapping[str, Any],
                  threshold: int | None, rounding: int | None, secret: str,
                  paths: Sequence[Path] = (), source=None, fitter=None) -> None:
    """Decide disclosure for every notebook of the run at once; save it and its log.

    The notebooks read the saved release (:func:`analysis.report.disclosure.read_release`)
    when their survey, rule and plan options are the run's; a notebook with other
    options decides its own and writes its own log. ``source`` and ``fitter`` (a
    Parquet dataset: ``survey`` is its sample) count and fit on every row.
    """
    from analysis.plan import fit_plan, plan
    from analysis.report.disclosure import (
        characteristics_grouping,
        notebook_parts,
        release_key,
        report_release,
        write_log,
        write_release,
    )
    from analysis.report.session import plan_options, release_options
    from analysis.report.survey_counts import SurveyCounts, write_shared_counts

    sources = [c.source for p in paths for c in nbformat.read(p, as_version=4).cells
               if c.cell_type == "code"]
    if planned is None:
        planned = plan(survey, **plan_options(dict(parameters)))
    fitted: list | None = None  # fitted on first use: by fit_while_counting or the release

    def fits() -> list:
        nonlocal fitted
        if fitted is None:
            fitted = fit_plan(survey, planned, fitter)
        return fitted

    parts = notebook_parts(sources) if paths else None
    counts = SurveyCounts(survey) if source is None else None
    if counts is not None and (parts is None or "models" in parts):
        fit_while_counting(fits, counts, characteristics_grouping(survey, planned), parts)
    release = report_release(survey, planned, fits,
                             threshold=threshold, rounding=rounding,
                             factors=parameters.get("factors"), scores=parameters.get("scores"),
                             parts=parts, source=source if source is not None else counts)
    write_log(release, out)
    key = release_key(data_key, threshold, rounding, release_options(parameters))
    write_release(release, out, key, secret)
    if counts is not None:  # Table 1 and the missing values: read by the notebooks
        write_shared_counts(counts, out, data_key, secret)
    if fitted:  # fitted once: the regression notebook reads them (analysis.report.shared_fits)
        write_shared_fits(fitted, out, fits_key(data_key, plan_text(planned)), secret)


def fit_while_counting(fits: Callable[[], list], counts, by: str | None,
                       parts: set[str] | None) -> None:
    """Fit the plan (``fits()``) while a second thread counts Table 1 and the missing values.

    The fits are most of a run's work before its notebooks (about 15 s at 10^6
    respondents), spent largely in BLAS, which lets go of the interpreter's
    lock; the counts (about 4 s of pandas, into ``counts``, a
    :class:`~analysis.report.survey_counts.SurveyCounts`) take the other core
    meanwhile. Neither count reads the ledger the fits write to, and the release
    registers both afterwards in its own order, so it decides as before. A count
    that fails on the thread is counted again in the release, and fails there.
    """
    def count() -> None:
        with contextlib.suppress(Exception):
            if parts is None or "table one" in parts:
                counts.table_one(by)
            if parts is None or "missing" in parts:
                counts.missingness()

    ahead = threading.Thread(target=count, name="backpain-counts", daemon=True)
    ahead.start()
    try:
        fits()
    finally:
        ahead.join()
