"""``render_reports``: every report notebook → reader and analyst HTML, tables, results, index."""

from __future__ import annotations

import ast
import html
import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from analysis.errors import BackpainError, ReportError
from analysis.privacy import DEFAULT_THRESHOLD
from analysis.report.cache import clear_cache, survey_key, write_cached_survey
from analysis.report.html import export_html, page, toc, write_text
from analysis.report.run import CELL_TIMEOUT, notebook_parameters, run_notebook

LOG = logging.getLogger("analysis.report")
NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"
RUNNER_PARAMETERS = ("data", "codebook", "out_dir", "threshold")


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
            LOG.info("skipped %s: %s", path.stem, why)
    return kept


def render_reports(data: str | Path, codebook: str | Path, out: str | Path = "reports", *,
                   threshold: int = DEFAULT_THRESHOLD,
                   parameters: Mapping[str, Any] | None = None,
                   notebooks: Sequence[str | Path] | None = None,
                   timeout: int = CELL_TIMEOUT, progress: bool = True) -> pd.DataFrame:
    """Run every report notebook on ``data`` and write the reports into ``out``.

    Writes ``<name>.html`` (reader: no code, small counts suppressed),
    ``analyst/<name>.html`` (with the code), ``tables/<name>_<key>.csv``,
    ``figures/<name>_<key>.png``, ``results/<name>.json``, ``results.json``
    (every table shown, sorted keys) and ``index.html``. ``parameters`` go
    to the notebooks that declare them; a parameter no notebook declares is
    an error. Returns one row per notebook: ``notebook, title, seconds``.

    The survey is validated once for the run and shared with the notebooks
    through ``out/.cache`` (:mod:`analysis.report.cache`), which is removed
    when the run ends.
    """
    data, codebook, out = Path(data).resolve(), Path(codebook).resolve(), Path(out).resolve()
    for what, path in (("Data file", data), ("Codebook", codebook)):
        if not path.is_file():
            raise ReportError(f"{what} {str(path)!r} does not exist.")
    try:  # before any notebook runs: a place that cannot be written is said at once
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".backpain-write-test"
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
                          "(DATA, --codebook, --out, --threshold), not with --param.")
    known = set().union(*(set(d) for d in declared.values()))
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise ReportError(f"Unknown parameter(s) {', '.join(unknown)}: no report notebook "
                          f"declares them; they declare {', '.join(sorted(known))}.")

    out.mkdir(parents=True, exist_ok=True)
    _validate_once(data, codebook, out, paths, declared, parameters)
    try:
        summary = _run_all(paths, declared, parameters, data, codebook, out, threshold,
                           timeout, progress)
    finally:
        clear_cache(out)
    _write_results(out, [p.stem for p in paths])
    write_text(out / "index.html", index_page(out, summary))
    return summary


def _validate_once(data: Path, codebook: Path, out: Path, paths: list[Path],
                   declared: dict[Path, dict[str, Any]], parameters: Mapping[str, Any]) -> None:
    """Validate the survey once for every notebook and cache it in ``out/.cache``.

    Only when every notebook that opens the survey asks for the same
    ``on_invalid``; a survey that fails validation is not cached, so each
    notebook raises its own error as before.
    """
    from analysis.load import load_survey

    modes = set()
    for path in paths:
        if "on_invalid" in parameters:
            modes.add(parameters["on_invalid"])
        elif "on_invalid" in declared[path]:
            try:
                modes.add(ast.literal_eval(str(declared[path]["on_invalid"])))
            except (ValueError, SyntaxError):
                return
    clear_cache(out)
    if len(modes) != 1 or not isinstance(mode := modes.pop(), str):
        return
    try:
        survey = load_survey(data, codebook, on_invalid=mode, keep_identifiers=False)
    except BackpainError:
        return
    write_cached_survey(survey, out, survey_key(data, codebook, mode))


def _run_all(paths, declared, parameters, data, codebook, out, threshold, timeout,
             progress) -> pd.DataFrame:
    rows = []
    for path in tqdm(paths, desc="reports", unit="notebook", disable=not progress):
        name = path.stem
        _clear(out, name)
        given = {"data": str(data), "codebook": str(codebook), "out_dir": str(out),
                 "threshold": int(threshold)}
        given = {k: v for k, v in given.items() if k in declared[path]}
        given |= {k: v for k, v in parameters.items() if k in declared[path]}
        start = time.perf_counter()
        executed = run_notebook(path, given, cwd=path.parent, timeout=timeout)
        reader = export_html(executed, reader=True, nav=_back_link("index.html"))
        write_text(out / f"{name}.html", reader)
        write_text(out / "analyst" / f"{name}.html",
                   export_html(executed, reader=False, nav=_back_link("../index.html")))
        rows.append({"notebook": name, "title": toc(reader)[0],
                     "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def _back_link(href: str) -> str:
    return f'<p><a href="{href}">&larr; All reports</a></p>'


def _clear(out: Path, name: str) -> None:
    """Remove what an earlier run of notebook ``name`` wrote, so nothing stale remains."""
    for folder, pattern in (("tables", f"{name}_*.csv"), ("figures", f"{name}_*.png"),
                            ("results", f"{name}.json")):
        for old in (out / folder).glob(pattern):
            old.unlink()


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
    body = ('<h1 id="Reports">Reports</h1>\n'
            f'<h2 id="Contents-of-the-reports">Reports</h2><ol>{items}</ol>\n'
            '<h2 id="Tables">Tables (CSV, as shown in the reports)</h2>'
            f"<ul>{tables}</ul>\n"
            '<h2 id="Results">Machine-readable results</h2>'
            '<p><a href="results.json">results.json</a>: every table of every report, '
            "keyed by notebook and table.</p>")
    return page(body, title="Reports")
