"""``render_reports``: every report notebook -> reader and analyst HTML, tables, results, index.

A run renders into a folder of its own and swaps it in at the end
(:mod:`analysis.report.run_folder`), so a failed or killed run leaves the
previous report as it was.
"""

from __future__ import annotations

import html
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
from tqdm import tqdm

from analysis.errors import ReportError
from analysis.privacy import DEFAULT_THRESHOLD
from analysis.report.cache import SECRET_ENV, clear_cache
from analysis.report.exports import check_formats, export_report
from analysis.report.html import export_html, page, toc, write_text
from analysis.report.once import dataset_once, give_back_memory, release_once, validate_once
from analysis.report.run import (
    CELL_TIMEOUT,
    KernelGroup,
    notebook_parameters,
    run_notebook,
    stop_kernels,
)
from analysis.report.run_folder import (
    REPORT_MARKER,
    check_report_folder,
    put_in_place,
    remove_stale_runs,
    stage_run,
)
from analysis.report.warm import WarmKernel, survey_prefetch
from analysis.style import ENV as STYLE_ENV
from analysis.style import NumberStyle, current_style, get_style, style_to_text, use_style

NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"
RUNNER_PARAMETERS = ("data", "codebook", "out_dir", "threshold", "rounding")
JOBS = 2  # notebooks of one run at a time, at most (see _jobs): each kernel holds the survey
WARM_KERNELS = 4  # notebooks whose kernels start while the run validates and fits, at most
KERNEL_COPIES = 4  # a kernel's peak memory, in copies of the in-memory survey (10^6: ~1 GiB)

log = logging.getLogger("analysis.report")


def report_notebooks(folder: str | Path | None = None) -> list[Path]:
    """The report notebooks (``NN_name.ipynb``) of ``folder``, in order."""
    folder = Path(folder) if folder else NOTEBOOKS
    found = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise ReportError(f"No report notebooks (NN_name.ipynb) in {folder}.")
    return found


REQUIREMENTS = {"questionnaires": "the codebook declares no questionnaire (instrument items)"}


def skipped_because(path: Path, codebook) -> str | None:
    """Why notebook ``path`` does not apply to a survey with ``codebook`` (None: it applies).

    A notebook says what it needs in its metadata, ``{"backpain": {"requires":
    "questionnaires"}}``; a report never renders a page with nothing to show.
    """
    import nbformat

    from analysis.codebook import load_codebook

    needs = nbformat.read(path, as_version=4).metadata.get("backpain", {}).get("requires")
    if needs is None:
        return None
    if needs not in REQUIREMENTS:
        raise ReportError(f"Notebook {path.name} requires {needs!r}, which this version does "
                          f"not know ({', '.join(REQUIREMENTS)}).")
    cb = load_codebook(codebook)
    if needs == "questionnaires" and not cb.instruments:
        return REQUIREMENTS[needs]
    return None


def applicable(paths: Sequence[Path], codebook) -> list[Path]:
    """The notebooks that apply to the codebook's survey, with a log line for each skipped."""
    kept = []
    for path in paths:
        why = skipped_because(path, codebook)
        if why is None:
            kept.append(path)
        else:
            log.info("skipped %s: %s", path.stem, why)
    return kept


def render_reports(data: str | Path, codebook: str | Path, out: str | Path = "reports", *,
                   threshold: int | None = DEFAULT_THRESHOLD, rounding: int | None = None,
                   parameters: Mapping[str, Any] | None = None,
                   notebooks: Sequence[str | Path] | None = None,
                   timeout: int = CELL_TIMEOUT, progress: bool = True,
                   jobs: int = JOBS, formats: Sequence[str] | str = ("html",),
                   style: str | NumberStyle | None = None) -> pd.DataFrame:
    """Run every report notebook on ``data`` and write the reports into ``out``.

    Writes ``<name>.html`` (reader: no code, small counts suppressed),
    ``analyst/<name>.html`` (with the code), ``tables/<name>_<key>.csv``,
    ``figures/<name>_<key>.png``, ``results/<name>.json``, ``results.json``
    (every table shown, sorted keys) and ``index.html``. ``parameters`` go
    to the notebooks that declare them; a parameter no notebook declares is
    an error. Up to ``jobs`` notebooks run at once (default 2), each in its
    own kernel: fewer when the machine has fewer cores, or when that many
    kernels, each holding the survey, would not fit in half the memory
    available (and one at a time for a Parquet dataset, whose kernels each
    give DuckDB its memory limit). Every file written is the same whatever
    the number. Returns one row per notebook: ``notebook, title, seconds``.

    ``formats`` beyond ``html`` (``docx``, ``xlsx``, ``tex``) also write
    ``exports/<name>.docx`` (the whole reader page), ``.xlsx`` (a sheet per
    table) and ``.tex`` (booktabs), from the same released tables
    (:mod:`analysis.report.export`). ``style`` is the number style of every
    table and text (:mod:`analysis.style`; default: the current one).

    ``out`` is replaced as a whole, and only when the run has finished
    (see the module's docstring); it must be new, empty or a report folder.

    Disclosure control is decided once for the run: counts of 1 to
    ``threshold - 1`` respondents are suppressed, with complements chosen
    across every table of every notebook, and with ``rounding`` every shown
    count is rounded to that base (:mod:`analysis.report.disclosure`). The
    suppression log (true counts: for the analyst, never in a reader page)
    is ``analyst/suppression_log.csv``.
    The survey is validated once for the run and shared with the notebooks
    through a signed cache in the run's folder (:mod:`analysis.report.cache`),
    deleted before the report is put in place. Any number of runs may
    render at once on one machine, into the same folder or others.
    """
    from analysis.load import is_dataset

    dataset = is_dataset(data)  # a folder or glob of Parquet files: the out-of-core report
    data, codebook, out = Path(data).resolve(), Path(codebook).resolve(), Path(out).resolve()
    formats = check_formats(formats)
    number_style = current_style() if style is None else get_style(style)
    for what, path in (("Data file", data), ("Codebook", codebook)):
        if not (path.is_file() or (dataset and path == data)):
            raise ReportError(f"{what} {str(path)!r} does not exist.")
    try:  # before any notebook runs: a place that cannot be written is said at once
        # The run renders beside ``out`` and swaps it in, so it is ``out``'s parent that
        # must be writable; ``out`` itself is not created before the report is whole.
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = out.parent / f".{out.name}.backpain-write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ReportError(f"Output folder {str(out)!r} cannot be written ({exc.strerror}). "
                          "To fix: choose a folder you can write to with --out.") from None
    paths = [Path(p).resolve() for p in notebooks] if notebooks else report_notebooks()
    paths = applicable(paths, codebook)
    parameters = dict(parameters or {})
    declared = {p: notebook_parameters(p) for p in paths}
    clash = sorted(set(parameters) & set(RUNNER_PARAMETERS))
    if clash:
        raise ReportError(f"Parameter(s) {', '.join(clash)} are set by the command itself "
                          "(DATA, --codebook, --out, --threshold, --rounding), not with "
                          "--param.")
    known = set().union(*(set(d) for d in declared.values()))
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise ReportError(f"Unknown parameter(s) {', '.join(unknown)}: no report notebook "
                          f"declares them; they declare {', '.join(sorted(known))}.")
    from analysis.report.session import check_rule

    threshold, rounding = check_rule(threshold, rounding)
    if int(jobs) < 1:
        raise ReportError(f"jobs must be 1 or more, not {jobs}.")
    check_report_folder(out)

    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_runs(out)
    staging, owner = stage_run(out)
    warm: list[WarmKernel] = []
    kernels = KernelGroup()  # every kernel manager this run starts
    try:
        secret = secrets.token_hex(32)  # signs the survey cache; only this run's kernels get it
        env = {SECRET_ENV: secret, STYLE_ENV: style_to_text(number_style)}
        at_once = _jobs(int(jobs), len(paths), dataset, None)
        # the notebooks' kernels start now and import while the run validates and fits (a
        # Parquet dataset's run keeps to one kernel at a time, for DuckDB's memory)
        warm = [WarmKernel(path.parent, env, kernels)
                for path in paths[:at_once if dataset else WARM_KERNELS]]
        survey_bytes = None
        # the plan's reasons and the release's labels are text the notebooks show: in
        # the run's number style, as the notebooks write theirs
        with use_style(number_style):
            if dataset:  # validated, sampled and counted in DuckDB once for the notebooks
                dataset_once(data, codebook, staging, paths, declared, parameters,
                              threshold, rounding, secret)
                give_back_memory()  # the sample and DuckDB's buffers, before the kernels
            else:
                validated = validate_once(data, codebook, staging, paths, declared,
                                           parameters, secret)
                if validated is not None:
                    survey_bytes = int(validated[0].data.memory_usage(deep=True).sum())
                    unlimited, at_once = at_once, _jobs(int(jobs), len(paths), dataset,
                                                        survey_bytes)
                    _prefetch(warm, unlimited, at_once, survey_bytes, staging, validated[1],
                              codebook)
                    release_once(*validated, staging, parameters, threshold, rounding,
                                  secret, paths)
                    del validated  # the run's fits and survey: not held while kernels run
        rule = {"threshold": threshold or 0, "rounding": rounding}
        summary = _run_all(paths, declared, parameters, data, codebook, staging, out,
                           rule, timeout, progress, at_once, env, (formats, number_style),
                           kernels, warm)
        clear_cache(staging)
        _write_results(staging, [p.stem for p in paths])
        write_text(staging / "index.html", index_page(staging, summary))
        write_text(staging / REPORT_MARKER, "A report made by backpain; a report run may "
                   "replace this folder as a whole.\n")
        put_in_place(staging, out)
    finally:
        for kernel in warm:  # those not taken: a failure before their notebooks ran
            kernel.discard()
        shutil.rmtree(staging, ignore_errors=True)  # this run's folder, or the old report
        owner.unlink(missing_ok=True)
    return summary


def _prefetch(warm: list[WarmKernel], unlimited: int, at_once: int, survey_bytes: int,
              staging: Path, key: str, codebook: Path) -> None:
    """Have the warm kernels read the cached survey while the run fits (see
    :mod:`analysis.report.warm`).

    Only when the memory test of :func:`_jobs` passes for all of them at once.
    ``at_once`` is the notebooks at a time that test allows: when it is fewer
    than the kernels that would run at once without it (``unlimited``), the
    kernels beyond ``at_once`` are shut down (each holds the imports, ~200 MB).
    """
    if at_once < unlimited:
        for kernel in warm[at_once:]:
            kernel.discard()
        del warm[at_once:]
    free = _available_memory()
    if free is not None and len(warm) * KERNEL_COPIES * survey_bytes > free / 2:
        return
    for kernel in warm:
        kernel.prefetch(survey_prefetch(staging, key, codebook))


def _jobs(jobs: int, notebooks: int, dataset: bool, survey_bytes: int | None) -> int:
    """How many notebooks run at once: ``jobs``, at most one per core and per notebook.

    One for a Parquet dataset, or when ``jobs`` kernels of
    :data:`KERNEL_COPIES` copies of the survey (``survey_bytes``) each would
    take more than half the memory available now (Linux ``MemAvailable``).
    """
    at_once = max(1, min(jobs, notebooks, len(os.sched_getaffinity(0))
                         if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
    if at_once > 1 and dataset:
        return 1
    if at_once > 1 and survey_bytes is not None:
        free = _available_memory()
        if free is not None and at_once * KERNEL_COPIES * survey_bytes > free / 2:
            log.info("notebooks run one at a time: %d kernels holding the survey would "
                     "need more than half the memory available", at_once)
            return 1
    return at_once


def _available_memory() -> int | None:
    """Bytes of memory available (``MemAvailable`` of /proc/meminfo), or None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _run_all(paths, declared, parameters, data, codebook, staging, out, rule, timeout,
             progress, jobs, env, exports=(("html",), None), kernels=None,
             warm=()) -> pd.DataFrame:
    formats, number_style = exports
    kernels = KernelGroup() if kernels is None else kernels
    ready = dict(zip(paths[:len(warm)], warm, strict=True))  # their kernels, made ready ahead
    running: list[str] = []  # the notebooks under way, shown beside the bar
    exporting = threading.Lock()

    def one(path: Path) -> dict[str, Any]:
        name = path.stem
        given = {"data": str(data), "codebook": str(codebook), "out_dir": str(staging), **rule}
        if rule["rounding"] and "rounding" not in declared[path]:
            raise ReportError(f"Notebook {path.name} declares no 'rounding' parameter, so it "
                              "cannot round its counts; add rounding = None to its "
                              "parameters cell.")
        given = {k: v for k, v in given.items() if k in declared[path]}
        given |= {k: v for k, v in parameters.items() if k in declared[path]}
        start = time.perf_counter()
        running.append(name)
        bar.set_postfix_str(", ".join(running), refresh=True)  # which kernels are at work
        try:
            executed = _relocated(run_notebook(path, given, cwd=path.parent, timeout=timeout,
                                               env=env, kernels=kernels,
                                               warm=ready.pop(path, None)), staging, out)
        finally:
            running.remove(name)
        with exporting:  # nbconvert's exporters share state: one page at a time
            reader = export_html(executed, reader=True, nav=_back_link("index.html"))
            write_text(staging / f"{name}.html", reader)
            write_text(staging / "analyst" / f"{name}.html",
                       export_html(executed, reader=False, nav=_back_link("../index.html")))
            export_report(staging, name, formats, style=number_style)
        return {"notebook": name, "title": toc(reader)[0],
                "seconds": time.perf_counter() - start}

    bar = tqdm(total=len(paths), desc="reports", unit="notebook", disable=not progress)
    if jobs > 1:
        log.info("running %d notebooks at once", jobs)
    try:
        if jobs == 1:
            rows = []
            for path in paths:
                rows.append(one(path))
                bar.update()
            return pd.DataFrame(rows)
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="report")
        futures = []
        try:
            futures = [pool.submit(one, path) for path in paths]
            for future in futures:
                future.add_done_callback(lambda _: bar.update())
            # in short waits: a signal may land on a worker thread, and the main thread
            # would not see Ctrl-C until a blocking wait ended
            while wait(futures, timeout=0.2, return_when=FIRST_EXCEPTION).not_done \
                    and not any(f.done() and f.exception() for f in futures):
                pass
            failed = [f for f in futures if f.done() and f.exception() is not None]
            if failed:
                raise failed[0].exception()
            return pd.DataFrame([f.result() for f in futures])
        except BaseException:
            # an interrupt reaches this thread only: stop the others' kernels, so no
            # notebook runs on after the run has ended
            for future in futures:
                future.cancel()
            stop_kernels(kernels)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()


def _relocated(nb: nbformat.NotebookNode, staging: Path, out: Path) -> nbformat.NotebookNode:
    """The notebook with the run's folder named as the report folder (the analyst page shows it)."""
    text = nbformat.writes(nb)
    old, new = (json.dumps(str(p), ensure_ascii=False)[1:-1] for p in (staging, out))
    return nbformat.reads(text.replace(old, new), as_version=4) if old in text else nb


def _back_link(href: str) -> str:
    return f'<p><a href="{href}">&larr; All reports</a></p>'


def _write_results(out: Path, names: list[str]) -> Path:
    """Merge each notebook's record into ``results.json``: ``{notebook: {table: ...}}``."""
    merged = {}
    for name in names:
        fragment = out / "results" / f"{name}.json"
        merged[name] = json.loads(fragment.read_text(encoding="utf-8")) if fragment.exists() \
            else {}
    text = json.dumps(merged, sort_keys=True, indent=1, ensure_ascii=False)
    return write_text(out / "results.json", text + "\n")


def index_page(out: Path, summary: pd.DataFrame) -> str:
    """The page linking every report, its analyst version, the tables and results.json."""
    esc = html.escape
    items = "".join(
        f'<li><a href="{esc(r.notebook)}.html">{esc(r.title)}</a> '
        f'(<a href="analyst/{esc(r.notebook)}.html">analyst version with code</a>)</li>'
        for r in summary.itertuples())
    tables = "".join(f'<li><a href="tables/{esc(p.name)}">{esc(p.name)}</a></li>'
                     for p in sorted((out / "tables").glob("*.csv")))
    exports = "".join(f'<li><a href="exports/{esc(p.name)}">{esc(p.name)}</a></li>'
                      for p in sorted((out / "exports").glob("*.*")))
    body = ('<h1 id="Reports">Reports</h1>\n'
            f'<h2 id="Contents-of-the-reports">Reports</h2><ol>{items}</ol>\n'
            '<h2 id="Tables">Tables (CSV, as shown in the reports)</h2>'
            f"<ul>{tables}</ul>\n"
            + (f'<h2 id="Exports">Word, Excel and LaTeX</h2><ul>{exports}</ul>\n'
               if exports else "")
            + '<h2 id="Results">Machine-readable results</h2>'
            '<p><a href="results.json">results.json</a>: every table of every report, '
            "keyed by notebook and table.</p>")
    return page(body, title="Reports")
