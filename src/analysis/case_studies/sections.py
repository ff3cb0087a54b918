"""The sections of the case-study notebooks: each shows a table or figure and records it.

Every function takes the :class:`~analysis.report.ReportSession` of the
notebook (from :func:`analysis.case_studies.open_case_study`) and returns
HTML for one output cell; tables pass through ``report.table`` (CSV and
``results.json``) and figures through ``report.figure``. The numbers come
from :mod:`analysis.models` and :mod:`analysis.diagnostics`; this module only
lays them out (and, in :func:`published_comparison`, sets them beside
published values).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.case_studies.released import (  # noqa: F401 - the notebooks' sections
    data_flow,
    discordant_table,
    matched_flow,
    register_tables,
    released_overlap,
    withheld_value,
    withheld_variables,
)
from analysis.describe.render import format_p
from analysis.diagnostics import collinearity, discrimination
from analysis.errors import ReportError
from analysis.models import (
    firth_comparison,
    lr_drop,
    rank_deficient_fit,
    two_of_three,
)
from analysis.privacy import COMPLEMENT_LABEL
from analysis.report.session import Html, ReportSession
from analysis.style import ci, number, significant


def _ci(est: float, low: float, high: float, digits: int = 2) -> str:
    return ci(est, low, high, decimals=digits)


def about(report: ReportSession) -> Html:
    """Where the data come from: title, citation, licence, upstream URL and checksum."""
    from analysis import datasets

    info = datasets.info(report.parameters["dataset"])
    table = pd.DataFrame({"Item": ["Dataset", "Citation", "Licence", "Upstream file",
                                   "sha256", "Rows"],
                          "Value": [info["title"], info["citation"], info["licence"],
                                    info["url"], info["sha256"], str(info["rows"])]})
    return report.table(table, "source", title="Source of the data")


def planned_fit(report: ReportSession, outcome: str | None = None):
    """The fitted model of the report's plan (of ``outcome``, else the first): its result.

    The case study is a configuration of the plan (:mod:`analysis.plan`): its
    codebook's ``analysis:`` section and the notebook's parameters say what is
    fitted, and ``report.fits`` fits it once. A model that failed is a
    :class:`~analysis.errors.ReportError` with the plan's reason, since the
    sections after it need the numbers.
    """
    fits = [f for f in report.fits if outcome is None or f.plan.outcome == outcome]
    if not fits:
        raise ReportError(f"The plan has no model of {outcome!r}.")
    fitted = fits[0]
    if fitted.failure is not None:
        raise ReportError(f"The planned model of {fitted.plan.outcome!r} failed: "
                          f"{fitted.failure}")
    return fitted.result


def lr_tests(report: ReportSession, result, drop: Sequence[str] = ()) -> Html:
    """Likelihood-ratio tests of a conditional logistic model.

    Each model against all coefficients 0 (``result.tests``), and for each
    variable of ``drop`` the full model against the model without it
    (:func:`analysis.models.lr_drop`).
    """
    tests = result.tests
    names = [f"{m} model: {lab.lower()}" for m, lab in zip(tests["model"], tests["label"],
                                                          strict=True)]
    names = [n[:1].upper() + n[1:] for n in names]
    rows = list(zip(names, tests["statistic"], tests["df"], tests["p_value"], strict=True))
    for variable in drop:
        r = lr_drop(report.survey, result, variable).iloc[0]
        others = [report.survey.label(v).lower() for v in
                  [*result.info["exposures"], *result.info["adjust_for"]] if v != variable]
        rows.append((f"{r.label}, adjusted for {', '.join(others)}", r.statistic, r.df,
                     r.p_value))
    # a test of a variable whose odds ratio the release withholds would give its cells back
    # (in 1:1 pairs the crude LR statistic and the discordant sets solve for b and c)
    hidden = withheld_variables(report)
    model_vars = {*result.info["exposures"], *result.info["adjust_for"]}
    involved = [{v} if v in model_vars else model_vars for v in tests["variable"]]
    involved += [{v} for v in drop]
    withheld = [bool(vs & hidden) for vs in involved]
    table = pd.DataFrame({"Test": [r[0] for r in rows],
                          "LR chi-square": [COMPLEMENT_LABEL if w else number(r[1], 2)
                                            for r, w in zip(rows, withheld, strict=True)],
                          "df": [str(int(r[2])) for r in rows],
                          "p": [COMPLEMENT_LABEL if w else format_p(r[3])
                                for r, w in zip(rows, withheld, strict=True)]})
    return report.table(table, "lr_tests", title="Likelihood-ratio tests",
                        note="A model against all its coefficients 0: twice its gain in "
                             "conditional log-likelihood, on as many df as coefficients. "
                             "A variable given the others: the full model against the model "
                             "without it, on the same matched sets. A test of a variable "
                             "whose odds ratio is withheld is withheld with it.")


PUBLISHED_COLUMNS = ["source", "reports", "this analysis", "published", "difference",
                     "tolerance", "agreement"]


def published_comparison(entries: Sequence[dict]) -> pd.DataFrame:
    """This analysis beside published results: both numbers, their difference, the verdict.

    Each entry has ``source``, ``reports`` (what the number is), ``ours``
    (this analysis; ``None`` when it has no counterpart) and ``published``:
    a number, ``None`` when the published value could not be verified, or
    ``"none"`` when the source publishes no such value. The tolerance is
    ``tolerance`` when given (an absolute difference, e.g. for a value the
    source gives in words), else half a unit of the published precision,
    ``0.5 * 10**-decimals`` (``decimals``, default 2): a published 1.93
    agrees with any value that rounds to it.

    ``agreement`` is ``"agrees"`` when ``|ours - published| <= tolerance``,
    ``"differs"`` otherwise, ``"not verified"`` (and no number in
    ``published``, ``difference`` or ``tolerance``) when no published value
    could be verified, ``"nothing published"`` when the source has none, and
    ``"not comparable"`` when this analysis has no counterpart. Tested in
    tests/test_case_studies.py.

    Returns
    -------
    DataFrame
        ``source, reports, this analysis, published, difference, tolerance,
        agreement``, all text.

    Examples
    --------
    >>> published_comparison([{"source": "A", "reports": "OR", "ours": 1.9307,
    ...                        "published": 1.93}])["agreement"].tolist()
    ['agrees']
    """
    rows = []
    for e in entries:
        pub, ours, dec = e.get("published"), e.get("ours"), int(e.get("decimals", 2))
        if isinstance(pub, str) and pub != "none":
            raise ReportError(f"published_comparison: published={pub!r}; give a number, "
                              "None (not verified) or 'none' (nothing published).")
        shown = "" if ours is None else number(float(ours), dec + 1)
        row = {"source": e["source"], "reports": e["reports"], "this analysis": shown,
               "published": "", "difference": "", "tolerance": ""}
        if isinstance(pub, str):
            row.update(published="none published", agreement="nothing published")
        elif pub is None:
            row.update(published="not verified", agreement="not verified")
        else:
            tol = float(e["tolerance"]) if e.get("tolerance") is not None else 0.5 * 10 ** -dec
            row.update(published=number(float(pub), dec), tolerance=f"±{tol:g}")
            if ours is None:
                row["agreement"] = "not comparable"
            else:
                diff = float(ours) - float(pub)
                row["difference"] = f"{diff:+.{dec + 1}f}"
                # a hair of slack: a value that rounds to the published one is on the boundary
                row["agreement"] = "agrees" if abs(diff) <= tol * (1 + 1e-9) else "differs"
        rows.append(row)
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)


def comparison(report: ReportSession, entries: Sequence[dict], *, note: str) -> Html:
    """This analysis beside the published results (:func:`published_comparison`)."""
    table = published_comparison(entries)
    # an odds ratio the release withholds is not shown here either
    hide = [withheld_value(report, e.get("ours")) for e in entries]
    table.loc[hide, "this analysis"] = COMPLEMENT_LABEL
    table.loc[hide, "difference"] = ""
    table.loc[hide, "agreement"] = "withheld"
    table.columns = [c[:1].upper() + c[1:] for c in table.columns]
    return report.table(table, "published", title="Comparison with published results",
                        note=note)


def numbers(report: ReportSession, frame: pd.DataFrame, key: str, *, title: str,
                note: str | None = None, digits: int = 3) -> Html:
    """Any small tidy table with its floats rounded to ``digits`` significant figures."""
    shown = frame.copy()
    shown.columns = [str(c).replace("_", " ").capitalize() for c in shown.columns]
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else significant(v, digits))
    return report.table(shown, key, title=title, note=note)


def overlap_table(report: ReportSession, variable: str, by: str, *, key: str, title: str,
                  note: str | None = None, beyond: bool = True) -> Html:
    """The distribution of ``variable`` by group (:func:`analysis.diagnostics.overlap`).

    Its counts come from the report's release (:func:`released_overlap`): pass
    ``overlaps=[[variable, by]]`` to :func:`~analysis.case_studies.open_case_study`.
    """
    from analysis.case_studies.distributions import EXTREMES_NOTE

    table = released_overlap(report, variable, by, beyond=beyond)
    return report.table(table, key, title=title, note=" ".join(
        t for t in (note, EXTREMES_NOTE, report.rule()) if t))


def collinearity_table(report: ReportSession, total: str, parts: Sequence[str]) -> Html:
    """How exactly ``total`` = sum of ``parts`` holds (:func:`~analysis.diagnostics.collinearity`).
    """
    return numbers(report, collinearity(report.survey, total, parts), "collinearity",
                   title="How exactly the identity holds, and the rank of the design")


def all_together(report: ReportSession, outcome: str, columns: Sequence[str]) -> Html:
    """What the package says when asked to fit ``columns`` together
    (:func:`analysis.models.rank_deficient_fit`)."""
    return numbers(report, rank_deficient_fit(report.survey, outcome, columns), "all_three",
                   title=f"Fitting all {len(columns)} together")


def separation_check(report: ReportSession, exposures: Sequence[str], outcome: str) -> Html:
    """Konis's linear-programming check for separation, per design column."""
    import warnings

    from analysis import diagnostics
    from analysis.models import logistic

    result = logistic(report.survey, outcome, list(exposures), adjust_for=[])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the verdict is in the table
        sep = diagnostics.separation(result, warn=False)
    labels = {v: report.survey.label(v) for v in exposures}
    table = pd.DataFrame({
        "Column": [labels.get(c, c) for c in sep["column"]],
        "Separation": sep["direction"].map({0: "none: the ML estimate is finite",
                                            1: "yes: the ML estimate is +infinite",
                                            -1: "yes: the ML estimate is -infinite"})})
    return report.table(table, "separation", title="Separation check (linear programming)",
                        note="Konis (2007) via firthmodels.detect_separation, on the distinct "
                             "covariate patterns; finds separation by any combination of "
                             "the variables.")


def firth_table(report: ReportSession, exposures: Sequence[str], outcome: str) -> Html:
    """ML and Firth odds ratios side by side."""
    table = firth_comparison(report.survey, outcome, exposures)
    shown = pd.DataFrame({
        "Factor": table["label"],
        "OR, maximum likelihood (95% CI)": [_ci(*r, 3) for r in table[
            ["or_ml", "ci_low_ml", "ci_high_ml"]].to_numpy()],
        "OR, Firth (95% CI)": [_ci(*r, 3) for r in table[
            ["or_firth", "ci_low_firth", "ci_high_firth"]].to_numpy()]})
    return report.table(shown, "firth", title="Maximum likelihood against Firth's penalised "
                                              "likelihood",
                        note="Mutually adjusted; Wald 95% intervals.")


def dose_response(report: ReportSession, exposure: str, outcome: str,
                  adjust_for: Sequence[str], n_knots: int) -> Html:
    """The spline dose-response curve of ``exposure``, against its median.

    What the report's release withholds is not drawn, as in the report
    notebooks (:func:`analysis.report.dose_response.drawn_curve`): a spline
    segment resting on a small count leaves a gap, named in the caption
    without its counts; a curve with nothing left, or whose model's odds
    ratio of the exposure is withheld, is one sentence saying why.
    """
    import html

    from analysis import figures
    from analysis.report.dose_response import drawn_curve, model_withholds

    curve = figures.dose_response(report.survey, exposure, outcome,
                                  adjust_for=tuple(adjust_for), n_knots=n_knots)
    fitted = next((f for f in report.fits if f.plan.outcome == outcome and f.failure is None
                   and exposure in f.plan.exposures), None)
    drawn, gaps = drawn_curve(report.release, curve,
                              model_withheld=model_withholds(report, fitted, exposure))
    if drawn is None:
        return Html(f"<p>{html.escape(gaps[0], quote=False)}</p>")
    counts = _curve_counts(report, outcome, curve)
    ax = figures.dose_response_plot(drawn)
    knots = ", ".join(significant(k, 3) for k in curve.attrs["knots"])
    adjusted = ("; adjusted for " + ", ".join(report.survey.label(v).lower() for v in adjust_for)
                if adjust_for else "")
    return report.figure(ax, f"dose_{exposure}",
                         caption=f"{report.survey.label(exposure)}: odds ratio against the "
                                 f"median ({significant(curve.attrs['reference'], 3)}), "
                                 f"restricted cubic spline with {n_knots} knots ({knots}), "
                                 "95% band; " + counts + adjusted
                                 + "".join(f". {g}" for g in gaps))


def _curve_counts(report: ReportSession, outcome: str, curve) -> str:
    """"n = ..., ... events" of a curve, from the planned model of ``outcome`` it was fitted on.

    As in the report notebooks (:func:`analysis.report.dose_response.curve_counts`):
    the counts are that model's released cells when the curve has its n and events.
    """
    from analysis.report.dose_response import curve_counts

    for fitted in report.fits:
        if fitted.plan.outcome == outcome and fitted.failure is None \
                and (counts := curve_counts(report, fitted, curve)):
            return counts
    return "the counts are those of the model's complete cases"


def estimate(result, variable: str, *, which: str = "adjusted", increment: float = 1.0
             ) -> float:
    """The odds ratio of ``variable`` (its non-reference level, or per ``increment`` units)."""
    tidy = result.tidy(which)
    rows = tidy[(tidy["term"] == variable) | (tidy["term"].str.startswith(f"{variable}[")
                                              & tidy["ci_low"].notna())]
    if len(rows) != 1:
        raise ReportError(f"estimate: {variable!r} has {len(rows)} non-reference rows in the "
                          f"{which} model; name a binary or numeric variable.")
    return float(rows["estimate"].iloc[0]) ** increment


def auc(result) -> float:
    """The in-sample AUC (c-statistic) of the adjusted model."""
    return float(discrimination(result)["estimate"].iloc[0])


def two_of_three_table(report: ReportSession, outcome: str, total: str,
                       parts: Sequence[str]) -> Html:
    """The three models of :func:`analysis.models.two_of_three`, with their log-likelihoods."""
    table = two_of_three(report.survey, outcome, total, parts)
    shown = pd.DataFrame({
        "Model": table["model"].str.capitalize(), "Factor": table["label"],
        "OR (95% CI)": [_ci(*r, 3) for r in table[["estimate", "ci_low", "ci_high"]].to_numpy()],
        "p": table["p_value"].map(format_p),
        "Log-likelihood": table["loglik"].map(lambda v: number(v, 4))})
    return report.table(shown, "two_of_three", title="Two of the three angles at a time",
                        note="Each model mutually adjusted; Wald 95% intervals.")
