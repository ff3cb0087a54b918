"""What a report notebook talks to: the survey, and the tables and figures it shows.

A notebook opens one :class:`ReportSession` with its parameters
(:func:`analysis.report.opening.open_report`); every table it shows goes
through :meth:`ReportSession.table`, which renders it as escaped HTML
(:func:`analysis.report.fragments.html_table`), writes it to
``tables/<notebook>_<key>.csv`` and records it in ``results/<notebook>.json``
(the runner merges those into ``results.json``); every figure goes through
:meth:`ReportSession.figure`, which embeds it as a PNG data URI
(self-contained, same bytes on every run) and writes
``figures/<notebook>_<key>.png``.
"""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.errors import ReportError
from analysis.privacy import DEFAULT_THRESHOLD, drop_identifiers, suppressed_label
from analysis.report.fragments import NUMBER, Html, html_table, table_key
from analysis.report.parameters import (
    PLAN_PARAMETERS,
    check_rule,
    plan_options,
    release_options,
    scratch_folder,
)
from analysis.report.provenance import provenance_table
from analysis.survey import Survey

# Names of the fragments and parameters modules, kept here for the callers that import them
# from the session (case studies, the run, the tests).
__all__ = ["DPI", "NUMBER", "PLAN_PARAMETERS", "SAMPLE_ROWS", "Html", "ReportSession",
           "check_rule", "html_table", "out_of_core_words", "plan_options", "release_options",
           "scratch_folder", "table_key"]

KEY = re.compile(r"^[a-z0-9][a-z0-9_]*$")
SPARSE = re.compile(r"sparse, \d[\d,]* (?:non-)?events among \d[\d,]* respondents")
WHOLE = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})*(?![\w%]|[.,]\d)")
DPI = 110


@dataclass
class ReportSession:
    """One notebook's survey, output folder, threshold and record of what it showed."""

    name: str
    survey: Survey
    data: Path
    codebook: Path
    out_dir: Path
    threshold: int | None = DEFAULT_THRESHOLD
    parameters: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    rounding: int | None = None
    # registers the tables a notebook shows beyond the report's (a case study's), before
    # the release decides (report_release(extra=))
    extra_release: Any = None
    release_parts: Any = None  # the parts of report_release its notebook shows (None: all)

    # ---- disclosure control: one release for the whole report run ----------------
    @cached_property
    def release(self):
        """Every count the report shows, suppressed once (:mod:`analysis.report.disclosure`).

        The run's saved release when it was made for this survey, rule and
        plan (so every notebook of the run shows each cell alike); otherwise
        built here from the same function, and its suppression log written
        to ``analyst/suppression_log.csv`` (``suppression_log_<notebook>.csv``
        when another notebook's log there differs).
        """
        from analysis.report.cache import FOLDER
        from analysis.report.disclosure import (
            RELEASE_FILE,
            read_release,
            release_key,
            report_release,
        )

        if (self.out_dir / FOLDER / RELEASE_FILE).is_file() \
                and (self.data.is_file() or self.lazy is not None):
            key = release_key(self.data_key, self.threshold, self.rounding,
                              release_options(self.parameters))
            saved = read_release(self.out_dir, key)
            if saved is not None:
                return saved
        built = report_release(self.survey, self.plan, lambda: self.fits, source=self,
                               threshold=self.threshold, rounding=self.rounding,
                               factors=self.parameters.get("factors"),
                               scores=self.parameters.get("scores"),
                               extra=self.extra_release, parts=self.release_parts)
        self._own_release = True
        return built

    @cached_property
    def data_key(self) -> str:
        """The survey's cache key (:func:`analysis.report.cache.survey_key`)."""
        from analysis.report.cache import survey_key

        return survey_key(self.data, self.codebook, self.parameters.get("on_invalid", "exclude"),
                          self.parameters.get("sheet"))

    def rule(self) -> str:
        """The disclosure rule in one sentence, for a table's note."""
        return self.release.sentence()

    def write_log(self) -> None:
        """Write the suppression log when this notebook decided its own release."""
        if getattr(self, "_own_release", False) and not getattr(self, "_log_written", False):
            from analysis.report.disclosure import LOG_FILE, write_log

            # the run's name when no other notebook wrote a different log there (notebooks
            # of one survey and plan decide alike), else this notebook's own
            path = write_log(self.release, self.out_dir, f"suppression_log_{self.name}.csv")
            shared = path.with_name(LOG_FILE)
            if not shared.exists() or shared.read_bytes() == path.read_bytes():
                path.replace(shared)
            self._log_written = True
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

        fitter = None
        if self.lazy is not None:
            from analysis.scale.planned import lazy_fitter

            fitter = lazy_fitter(self.lazy, SAMPLE_ROWS)
        shared = self._shared_fits(fitter)
        return shared if shared is not None else fit_plan(self.survey, self.plan, fitter)

    def _shared_fits(self, fitter=None):
        """The run's fits of this survey and plan (:mod:`analysis.report.shared_fits`), or None."""
        from analysis.plan import fit_model
        from analysis.report.cache import FOLDER
        from analysis.report.shared_fits import FILE, fits_key, plan_text, read_shared_fits

        if not (self.out_dir / FOLDER / FILE).is_file() \
                or not (self.data.is_file() or self.lazy is not None):
            return None
        key = fits_key(self.data_key, plan_text(self.plan))
        return read_shared_fits(self.out_dir, key, self.plan,
                                lambda model: fit_model(self.survey, model, fitter))

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
        return self.lazy.ledger_counts if self.lazy is not None else self._counts.change_counts()

    def missingness(self) -> pd.DataFrame:
        """Missing values per variable (:func:`analysis.figures.missingness`)."""
        if self.lazy is not None:
            from analysis.scale.describe import lazy_missingness

            return lazy_missingness(self.lazy)
        return self._counts.missingness()

    def table_one(self, by: str | None = None, columns=None) -> pd.DataFrame:
        """Table 1 (:func:`analysis.describe.table_one`), in DuckDB for a Parquet dataset."""
        if self.lazy is not None:
            from analysis.scale.describe import lazy_table_one

            return lazy_table_one(self.lazy, by=by, columns=columns)
        return self._counts.table_one(by, columns)

    def prevalence(self, outcome: str | None, by: list[str], design: bool) -> pd.DataFrame:
        """Prevalence overall and by factor (:func:`analysis.describe.prevalence`)."""
        if self.lazy is not None and not design:
            return self.lazy.prevalence(outcome, by=by, weighted=False)
        return self._counts.prevalence(outcome, by, design)

    @property
    def _counts(self):
        """An in-memory survey's counts: their one home (:class:`~.survey_counts.SurveyCounts`)."""
        from analysis.report.survey_counts import SurveyCounts

        return SurveyCounts(self.survey, self._shared_counts)

    @cached_property
    def _shared_counts(self) -> dict:
        """The tables the run counted on this survey (:mod:`analysis.report.survey_counts`),
        and those counted here since (each is used only on the rows and columns it counted)."""
        from analysis.report.cache import FOLDER
        from analysis.report.survey_counts import FILE, read_shared_counts

        if not (self.out_dir / FOLDER / FILE).is_file() or not self.data.is_file():
            return {}
        return read_shared_counts(self.out_dir, self.data_key)

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
        if "release" in self.__dict__:
            self.write_log()
        labels = ([suppressed_label(self.threshold)] if self.threshold else []) + ["suppressed"]
        return Html(html_table(frame, title=title, note=note, suppressed=labels))

    def notices(self, result, key: str, model=None) -> Html:
        """The notices of a model result (non-convergence, separation, rows left out, ...).

        Shown above the model's table and kept in the results record under
        ``<key>_notices``, so a reader of either sees what the numbers rest on.
        Nothing when the result has no notices. ``model``: the plan's model
        the result is of (its counts may stay in the words, :meth:`safe_words`).
        """
        notices = list(getattr(result, "notices", []) or [])
        if not notices:
            return Html("")
        record = f"{key}_notices"
        texts = [self.safe_words(n.message, model) for n in notices]
        self.results[record] = {"title": "Notices", "columns": ["kind", "model", "message"],
                                "rows": [[n.kind, n.model or "", t]
                                         for n, t in zip(notices, texts, strict=True)]}
        self.write_results()
        items = "".join(f"<li><strong>{html.escape(n.kind.capitalize())}</strong>"
                        f"{' (' + html.escape(n.model) + ')' if n.model else ''}: "
                        f"{html.escape(t)}</li>" for n, t in zip(notices, texts, strict=True))
        return Html(f'<div class="backpain-notice" role="note"><p>Notes on this model</p>'
                    f"<ul>{items}</ul></div>")

    def safe_words(self, text: str, model=None) -> str:
        """A model's notice without the counts that would undo suppression.

        A sparse-level notice ("sparse, 2 events among 11 respondents") loses
        its counts; any other whole number of 1 to ``threshold - 1`` reads
        ``"<threshold"``, and with rounding every whole number of 1,000 or
        fewer is rounded (counts of rows in a notice are the model's, which
        the release does not hold). ``model``: the plan's model the words are
        about; only its own released counts may stay (none without it).
        """
        text = SPARSE.sub("sparse", text)
        if "release" in self.__dict__:  # the plan's counts (Firth's events) as released
            from analysis.report.estimate_cells import released_words

            text = released_words(self.release, text, model)

        def one(match: re.Match) -> str:
            value = int(match.group(0).replace(",", ""))
            if self.threshold and 0 < value < self.threshold:
                return suppressed_label(self.threshold)
            if self.rounding and value > 0:
                from analysis.privacy import round_count

                return f"{round_count(value, self.rounding):,}"
            return match.group(0)

        return WHOLE.sub(one, text)

    def figure(self, figure_or_axes, key: str, *, caption: str) -> Html:
        """Embed a matplotlib figure as a PNG data URI and write ``figures/<name>_<key>.png``.

        The PNG is palette-quantised (:func:`analysis.figures.save.png_bytes`)
        and carries no software or time metadata, so its bytes depend only on
        the drawing; its ``alt`` says what it shows
        (:func:`analysis.figures.save.alt_text`). On a narrow screen a tap on
        the figure shows it at full size in its own scrolling box. The figure
        is closed, so Jupyter does not show it a second time.
        """
        import matplotlib.pyplot as plt

        from analysis.figures.save import alt_text, png_bytes

        fig = figure_or_axes.figure if hasattr(figure_or_axes, "figure") else figure_or_axes
        fig = getattr(fig, "figure", fig)  # a SubFigure's parent
        alt = alt_text(fig, caption)
        png = png_bytes(fig, dpi=DPI, bbox_inches="tight")
        plt.close(fig)
        figures = self.out_dir / "figures"
        figures.mkdir(parents=True, exist_ok=True)
        (figures / f"{self.name}_{key}.png").write_bytes(png)
        data = base64.b64encode(png).decode("ascii")
        # On a phone the figure is scaled to the screen; tapping it (a checkbox, no script)
        # shows it at its drawn size in a box that scrolls sideways (report/html.py CSS).
        zoom = f"zoom-{key}"
        return Html(f'<figure class="backpain-figure"><input type="checkbox" class="zoom" '
                    f'id="{zoom}" aria-label="Show the figure at full size"/>'
                    f'<label for="{zoom}"><img alt="{html.escape(alt)}" '
                    f'src="data:image/png;base64,{data}"/></label>'
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    def provenance(self) -> Html:
        """Data and codebook sha256, git commit, package versions and parameters, as a table."""
        params = {"data": self.data, "codebook": self.codebook, "threshold": self.threshold,
                  **({"rounding": self.rounding} if self.rounding else {}), **self.parameters}
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
