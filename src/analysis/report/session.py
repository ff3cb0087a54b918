"""What a report notebook talks to: the survey, and the tables and figures it shows.

A notebook opens one :class:`ReportSession` with its parameters; every table
it shows goes through :meth:`ReportSession.table`, which renders it as
escaped HTML, writes it to ``tables/<notebook>_<key>.csv`` and records it in
``results/<notebook>.json`` (the runner merges those into ``results.json``);
every figure goes through :meth:`ReportSession.figure`, which embeds it as a
PNG data URI (self-contained, same bytes on every run) and writes
``figures/<notebook>_<key>.png``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd

from analysis.errors import ReportError
from analysis.privacy import DEFAULT_THRESHOLD, drop_identifiers, suppressed_label
from analysis.report.provenance import provenance_table
from analysis.survey import Survey

KEY = re.compile(r"^[a-z0-9][a-z0-9_]*$")
DPI = 110


class Html:
    """An HTML fragment that Jupyter shows as HTML and prints as its text."""

    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def table_key(*parts: str) -> str:
    """A table or figure key from names of the user's survey: ``BackProblems`` -> ``backproblems``.

    Keys name files (``tables/<notebook>_<key>.csv``), so they are lower-case
    letters, digits and underscores, whatever the codebook's variable names are.
    """
    key = re.sub(r"[^a-z0-9_]+", "_", "_".join(parts).lower()).strip("_")
    return key if key and key[0].isalnum() else f"k_{key}"


def html_table(frame: pd.DataFrame, *, title: str | None = None, note: str | None = None,
               suppressed: str | None = None) -> str:
    """``frame`` as an HTML table; every header, cell, title and note is escaped."""
    esc = html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) \
                else str(value)
            classes = []
            if text.startswith("    "):
                classes.append("level")
                text = text.strip()
            if suppressed and text == suppressed:
                classes.append("suppressed")
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{esc(title)}</caption>" if title else ""
    foot = (f'<tfoot><tr><td colspan="{frame.shape[1]}">{esc(note)}</td></tr></tfoot>'
            if note else "")
    return (f'<table class="backpain-table">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody>{foot}</table>")


@dataclass
class ReportSession:
    """One notebook's survey, output folder, threshold and record of what it showed."""

    name: str
    survey: Survey
    data: Path
    codebook: Path
    out_dir: Path
    threshold: int = DEFAULT_THRESHOLD
    parameters: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    # A Parquet dataset: the LazySurvey every aggregate comes from; ``survey`` is then
    # its random sample of SAMPLE_ROWS, for what has no aggregate form.
    lazy: Any = None

    # ---- the analysis ------------------------------------------------------
    @cached_property
    def plan(self):
        """The analysis plan (:func:`analysis.plan.plan`), with the notebook's parameters."""
        from analysis.plan import plan

        return plan(self.survey, **plan_options(self.parameters))

    @cached_property
    def fits(self):
        """Every planned model, fitted (or failed with its reason); computed on first use."""
        from analysis.plan import fit_plan

        if self.lazy is not None:
            from analysis.scale.planned import lazy_fitter

            return fit_plan(self.survey, self.plan, lazy_fitter(self.lazy, SAMPLE_ROWS))
        return fit_plan(self.survey, self.plan)

    # ---- aggregates: from DuckDB for a Parquet dataset, else from the survey ----------
    @property
    def flow(self) -> pd.DataFrame:
        """The participant flow of every row read."""
        return self.lazy.flow if self.lazy is not None else self.survey.flow

    @property
    def n_read(self) -> int:
        return self.lazy.n_read if self.lazy is not None else self.survey.accounts.n_read

    @property
    def n(self) -> int:
        """Respondents analysed (all of them, not the sample)."""
        return self.lazy.n_analysed if self.lazy is not None else len(self.survey.data)

    def change_counts(self) -> pd.DataFrame:
        """Ledger counts: ``step, column, rule, action, n``."""
        return self.lazy.ledger_counts if self.lazy is not None else self.survey.accounts.counts()

    def missingness(self) -> pd.DataFrame:
        """Missing values per variable (:func:`analysis.figures.missingness`)."""
        if self.lazy is not None:
            from analysis.scale.describe import lazy_missingness

            return lazy_missingness(self.lazy)
        from analysis.figures import missingness

        return missingness(self.survey)

    def table_one(self, by: str | None = None, columns=None) -> pd.DataFrame:
        """Table 1 (:func:`analysis.describe.table_one`), in DuckDB for a Parquet dataset."""
        if self.lazy is not None:
            from analysis.scale.describe import lazy_table_one

            return lazy_table_one(self.lazy, by=by, columns=columns)
        from analysis.describe import table_one

        return table_one(self.survey, by=by, columns=columns)

    def prevalence(self, outcome: str | None, by: list[str], design: bool) -> pd.DataFrame:
        """Prevalence overall and by factor (:func:`analysis.describe.prevalence`)."""
        if self.lazy is not None and not design:
            return self.lazy.prevalence(outcome, by=by, weighted=False)
        from analysis.describe import prevalence

        return prevalence(self.survey, outcome, by=by, weighted=False, design=design)

    @property
    def has_fits(self) -> bool:
        return "fits" in self.__dict__

    # ---- what the reader sees -------------------------------------------
    def banner(self) -> Html:
        """A banner saying the data are SIMULATED when the codebook says so (else nothing)."""
        out = ""
        if self.survey.codebook.simulated:
            out = ('<div class="backpain-banner" role="note"><strong>SIMULATED DATA.</strong> '
                   "The codebook declares these data simulated: they describe no real person, "
                   "and their results say nothing about real people.</div>")
        if self.lazy is not None and self.lazy.n_analysed > len(self.survey.data):
            out += ('<div class="backpain-notice" role="note"><p>Computed out of core</p><ul>'
                    f"<li>{html.escape(out_of_core_words(self))}</li></ul></div>")
        return Html(out)

    def table(self, frame: pd.DataFrame, key: str, *, title: str, note: str | None = None) -> Html:
        """Show a reader-safe text table; write it to CSV and to the results record.

        ``frame`` is what the reader sees (strings, small counts already
        suppressed, e.g. by :mod:`analysis.report.tables`); identifier columns
        of the codebook are dropped whatever the caller passed.
        """
        if not KEY.match(key):
            raise ReportError(f"Table key {key!r} in {self.name}: use lower-case letters, "
                              "digits and underscores.")
        if key in self.results:
            raise ReportError(f"Table key {key!r} used twice in {self.name}.")
        frame = drop_identifiers(frame, self.survey.codebook).reset_index(drop=True)
        frame = frame.astype(object).where(frame.notna(), "").astype(str)
        tables = self.out_dir / "tables"
        tables.mkdir(parents=True, exist_ok=True)
        frame.to_csv(tables / f"{self.name}_{key}.csv", index=False, lineterminator="\n")
        self.results[key] = {"title": title, "columns": [str(c) for c in frame.columns],
                             "rows": frame.to_numpy().tolist()}
        self.write_results()
        return Html(html_table(frame, title=title, note=note,
                               suppressed=suppressed_label(self.threshold)))

    def notices(self, result, key: str) -> Html:
        """The notices of a model result (non-convergence, separation, rows left out, ...).

        Shown above the model's table and kept in the results record under
        ``<key>_notices``, so a reader of either sees what the numbers rest on.
        Nothing when the result has no notices.
        """
        notices = list(getattr(result, "notices", []) or [])
        if not notices:
            return Html("")
        record = f"{key}_notices"
        self.results[record] = {"title": "Notices", "columns": ["kind", "model", "message"],
                                "rows": [[n.kind, n.model or "", n.message] for n in notices]}
        self.write_results()
        items = "".join(f"<li><strong>{html.escape(n.kind.capitalize())}</strong>"
                        f"{' (' + html.escape(n.model) + ')' if n.model else ''}: "
                        f"{html.escape(n.message)}</li>" for n in notices)
        return Html(f'<div class="backpain-notice" role="note"><p>Notes on this model</p>'
                    f"<ul>{items}</ul></div>")

    def figure(self, figure_or_axes, key: str, *, caption: str) -> Html:
        """Embed a matplotlib figure as a PNG data URI and write ``figures/<name>_<key>.png``.

        The PNG carries no software or time metadata, so its bytes depend
        only on the drawing. The figure is closed, so Jupyter does not show
        it a second time.
        """
        import matplotlib.pyplot as plt

        fig = figure_or_axes.figure if hasattr(figure_or_axes, "figure") else figure_or_axes
        fig = getattr(fig, "figure", fig)  # a SubFigure's parent
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight",
                    metadata={"Software": None})
        plt.close(fig)
        png = buffer.getvalue()
        figures = self.out_dir / "figures"
        figures.mkdir(parents=True, exist_ok=True)
        (figures / f"{self.name}_{key}.png").write_bytes(png)
        data = base64.b64encode(png).decode("ascii")
        cap = html.escape(caption)
        return Html(f'<figure class="backpain-figure"><img alt="{cap}" '
                    f'src="data:image/png;base64,{data}"/><figcaption>{cap}</figcaption></figure>')

    def provenance(self) -> Html:
        """Data and codebook sha256, git commit, package versions and parameters, as a table."""
        params = {"data": self.data, "codebook": self.codebook, "threshold": self.threshold,
                  **self.parameters}
        table = provenance_table(self.data, self.codebook, params)
        return self.table(table.rename(columns={"item": "Item", "value": "Value"}),
                          "provenance", title="Provenance of this report")

    # ---- record ----------------------------------------------------------
    def write_results(self) -> None:
        """Write the record of every table shown so far to ``results/<name>.json``."""
        folder = self.out_dir / "results"
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.results, sort_keys=True, indent=1, ensure_ascii=False)
        (folder / f"{self.name}.json").write_text(text + "\n", encoding="utf-8")


PLAN_PARAMETERS = {"outcome": "outcomes", "exposures": "exposures",
                   "confounders": "adjust_for", "interactions": "interactions",
                   "continuous": "continuous", "missing": "missing", "firth": "firth"}


SAMPLE_ROWS = 1_000_000  # the sample of a Parquet dataset, as the in-memory report's


def out_of_core_words(report: ReportSession) -> str:
    """What a report of a Parquet dataset computed on all rows, and what on its sample."""
    return (f"The data are a Parquet dataset of {report.lazy.n_read:,} rows, read by DuckDB "
            "without loading them: the participant flow, changes by rule, missing values, "
            "Table 1, prevalence and the logistic models without a survey design, "
            f"interactions or imputation use all {report.lazy.n_analysed:,} respondents "
            "analysed. The analysis plan, dose-response curves, model performance "
            "(discrimination, calibration), questionnaire scores and any other model use a "
            f"random sample of {len(report.survey.data):,} respondents, and say so.")


def plan_options(parameters: dict[str, Any]) -> dict[str, Any]:
    """Notebook parameters that override the plan (None: leave it to the codebook)."""
    return {PLAN_PARAMETERS[k]: v for k, v in parameters.items()
            if k in PLAN_PARAMETERS and v is not None}


def open_report(name: str, data: str | Path, codebook: str | Path, *,
                out_dir: str | Path = "../reports", threshold: int = DEFAULT_THRESHOLD,
                on_invalid: str = "exclude", sheet: str | int | None = None,
                **parameters: Any) -> ReportSession:
    """Load the survey of a report notebook and start its record.

    Identifier columns are never loaded (``keep_identifiers=False``). Other
    ``parameters`` are kept for the provenance section. When
    :func:`~analysis.report.render_reports` has validated this data file with
    this codebook and ``on_invalid`` for the run, the survey comes from its
    cache in ``out_dir`` (:mod:`analysis.report.cache`) instead of being
    validated again.
    """
    from analysis.load import load_survey

    if int(threshold) < 1:
        raise ReportError(f"Small-cell threshold must be a positive whole number, not {threshold}.")
    data, codebook, out_dir = Path(data), Path(codebook), Path(out_dir)
    from analysis.load import is_dataset

    dataset = is_dataset(data)
    for what, path in (("data file", data), ("codebook", codebook)):
        if not (path.is_file() or (dataset and path == data)):
            raise ReportError(f"Report {name}: {what} {str(path)!r} does not exist.")
    matplotlib.rcParams["svg.hashsalt"] = "backpain"  # stable ids should anyone save SVG
    _theme()
    lazy = None
    if dataset:  # a folder or glob of Parquet files: counted in DuckDB, sampled for the rest
        lazy = load_survey(data, codebook, on_invalid=on_invalid, keep_identifiers=False)
        survey = lazy.sample(SAMPLE_ROWS)
    else:
        survey = _cached_survey(data, codebook, out_dir, on_invalid, sheet)
    if survey is None:
        options = {} if sheet is None else {"sheet": sheet}
        survey = load_survey(data, codebook, on_invalid=on_invalid, keep_identifiers=False,
                             **options)
    given = {"on_invalid": on_invalid, **({"sheet": sheet} if sheet is not None else {})}
    session = ReportSession(name=name, survey=survey, data=data, codebook=codebook,
                            out_dir=out_dir, threshold=int(threshold),
                            parameters={**given, **parameters}, lazy=lazy)
    session.write_results()
    return session


def _cached_survey(data: Path, codebook: Path, out_dir: Path, on_invalid: str,
                   sheet: str | int | None = None) -> Survey | None:
    from analysis.report.cache import FOLDER, MANIFEST, read_cached_survey, survey_key

    if not (out_dir / FOLDER / MANIFEST).is_file():
        return None  # no report run under way: skip hashing the data
    return read_cached_survey(out_dir, survey_key(data, codebook, on_invalid, sheet), codebook)


def _theme() -> None:
    try:
        from analysis.figures import set_theme
    except ImportError:  # the figures module is optional for tables-only reports
        return
    set_theme()
