"""Dose-response curve of a continuous exposure: restricted cubic spline logistic model."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from scipy import stats
from statsmodels.discrete.discrete_model import Logit
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from analysis.aggregate import event_indicator
from analysis.errors import ModelError
from analysis.figures._oraxis import log_axis, reference_line
from analysis.figures._rows import require
from analysis.figures.theme import COLOURS, add_legend, describe, new_axes, set_title, themed, wrap
from analysis.models.design import (
    build_design,
    encode,
    factor_term,
    numeric_term,
    rcs_basis,
    spline_term,
)
from analysis.style import count, significant

Z95 = stats.norm.ppf(0.975)


def dose_response(survey, exposure: str, outcome: str | None = None,
                  adjust_for: Sequence[str] = (), n_knots: int = 4, grid: int = 100,
                  reference: float | None = None) -> pd.DataFrame:
    """Odds ratio of the outcome across a continuous exposure, against a reference value.

    Method: logistic regression (``statsmodels.api.Logit``, maximum
    likelihood) of the binary outcome on a restricted cubic spline of the
    exposure (Harrell's basis, :func:`analysis.models.design.rcs_basis`;
    ``n_knots`` knots at Harrell's default centiles, e.g. 5/35/65/95 for 4)
    plus ``adjust_for`` (factors treatment coded, numbers linear), on complete
    cases. The log odds ratio at x against the reference r is
    ``c'b`` with ``c = B(x) - B(r)`` over the spline coefficients; its 95% CI
    is ``exp(c'b ± 1.96 sqrt(c'Vc))`` (delta method, exact for this linear
    contrast). The reference defaults to the median exposure; the ``grid``
    points run from the 1st to the 99th centile of the exposure, where the
    data support the curve.

    Tested against the same model fitted with ``statsmodels.formula.api.logit``
    and patsy's natural cubic spline ``cr()`` with the same knots (the same
    function space, so the same curve and band) to 1e-6.

    Returns
    -------
    DataFrame
        ``x, estimate, ci_low, ci_high`` (odds ratios) and ``band`` (the
        spline segment of ``x``, :func:`segment`). ``attrs`` hold
        ``exposure, label, unit, outcome, outcome_label, reference, knots, n,
        events, adjust_for`` for :func:`dose_response_plot`, and ``bands``
        (:func:`band_counts`) and ``reference_band`` for a report that
        withholds the segments resting on small counts.

    Examples
    --------
    >>> curve = dose_response(survey, "hours_sitting", adjust_for=["age", "sex"])  # doctest: +SKIP
    >>> dose_response_plot(curve)  # doctest: +SKIP
    """
    data, cb = survey.data, survey.codebook
    outcome = outcome or _outcome(survey)
    adjust_for = [v for v in dict.fromkeys(adjust_for) if v not in (exposure, outcome)]
    if outcome not in data.columns:
        raise ModelError(f"dose_response: the survey has no outcome column {outcome!r}.")
    y_all = event_indicator(data[outcome], outcome)
    enc = {v: encode(data, cb, v) for v in [exposure, *adjust_for]}
    if enc[exposure].kind != "numeric":
        raise ModelError(f"dose_response: {exposure!r} ({enc[exposure].label}) is not numeric; "
                         "a dose-response curve needs a continuous exposure.")
    keep = ~np.isnan(y_all)
    for e in enc.values():
        keep &= ~e.missing
    rows = np.flatnonzero(keep)
    y = y_all[rows]
    if y.size == 0 or y.min() == y.max():
        raise ModelError(f"dose_response of {outcome!r} on {exposure!r}: {y.size} complete rows "
                         f"with {int(y.sum())} events; the model needs events and non-events.")
    enc = {v: e.take(rows) for v, e in enc.items()}
    spline = spline_term(enc[exposure], n_knots)
    terms = [spline] + [factor_term(enc[v]) if enc[v].kind == "factor" else numeric_term(enc[v])
                        for v in adjust_for]
    design = build_design(terms, enc)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            fit = Logit(y, design.X).fit(disp=0, maxiter=100)
        except (PerfectSeparationWarning, np.linalg.LinAlgError) as err:
            raise ModelError(f"dose_response of {outcome!r} on {exposure!r} cannot be fitted: "
                             f"{err}") from err
    if not fit.mle_retvals.get("converged", True):
        raise ModelError(f"dose_response of {outcome!r} on {exposure!r}: the model did not "
                         "converge in 100 iterations.")
    idx = design.index(spline)
    beta = np.asarray(fit.params)[idx]
    cov = np.asarray(fit.cov_params())[np.ix_(idx, idx)]
    x_obs = enc[exposure].values
    ref = float(np.median(x_obs)) if reference is None else float(reference)
    lo, hi = np.percentile(x_obs, [1, 99])
    xs = np.union1d(np.linspace(lo, hi, grid), [ref]) if lo <= ref <= hi else np.linspace(
        lo, hi, grid)
    contrast = rcs_basis(xs, spline.knots) - rcs_basis(np.array([ref]), spline.knots)
    log_or = contrast @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", contrast, cov, contrast))
    curve = pd.DataFrame({"x": xs, "estimate": np.exp(log_or),
                          "ci_low": np.exp(log_or - Z95 * se),
                          "ci_high": np.exp(log_or + Z95 * se),
                          "band": segment(xs, spline.knots)})
    var = cb.variables.get(exposure) if cb is not None else None
    curve.attrs.update({
        "exposure": exposure, "label": enc[exposure].label,
        "unit": var.unit if var is not None else None,
        "outcome": outcome, "outcome_label": cb.label(outcome) if cb is not None else outcome,
        "reference": ref, "knots": tuple(float(k) for k in spline.knots),
        "n": int(y.size), "events": int(y.sum()),
        "adjust_for": [enc[v].label for v in adjust_for],
        "bands": band_counts(x_obs, y, spline.knots),
        "reference_band": int(segment(np.array([ref]), spline.knots)[0])})
    return curve


def segment(x: np.ndarray, knots: Sequence[float]) -> np.ndarray:
    """The spline segment of each ``x``: 0 up to the first knot, i for (knot i, knot i+1]."""
    return np.searchsorted(np.asarray(knots, dtype=float), np.asarray(x, dtype=float),
                           side="left")


def band_counts(x: np.ndarray, y: np.ndarray, knots: Sequence[float]) -> tuple[dict, ...]:
    """Respondents and events of the complete cases in each spline segment (:func:`segment`).

    The spline is one cubic on each segment, fitted from the respondents in
    it: the curve there rests on their events and non-events, as a factor's
    odds ratio rests on its level's (a report withholds the segment when one
    of them is small). ``low``/``high``: the segment's ends (None: open).
    """
    seg = segment(x, knots)
    ends = [None, *(float(k) for k in knots), None]
    return tuple({"band": i, "low": ends[i], "high": ends[i + 1],
                  "n": int(np.sum(seg == i)), "events": int(np.sum(y[seg == i]))}
                 for i in range(len(knots) + 1))


def _outcome(survey) -> str:
    outcomes = [v for v in survey.variables("outcome")
                if survey.codebook[v].type == "binary"]
    if len(outcomes) != 1:
        raise ModelError("dose_response: name the outcome; the codebook declares "
                         f"{len(outcomes)} binary outcomes ({', '.join(outcomes) or 'none'}).")
    return outcomes[0]


def dose_response_plot(curve: pd.DataFrame, *, ax: Axes | None = None, xlabel: str | None = None,
                       reference: float | None = None, title: str | None = None) -> Axes:
    """The odds-ratio curve with its 95% confidence band, log y axis, OR 1 at the reference.

    ``curve`` has columns ``x, estimate, ci_low, ci_high`` (odds ratios
    against a reference value), e.g. from :func:`dose_response`, whose
    ``attrs`` supply the axis label, reference, knots (a rug along the x
    axis) and the adjustment set for the caption when not given. Rows may be
    missing (a report withholds a segment resting on small counts): where the
    ``band`` column skips a segment the curve and its band are drawn in two
    pieces with a gap, never joined across it.

    Returns
    -------
    matplotlib.axes.Axes
    """
    require(curve, ["x", "estimate", "ci_low", "ci_high"], "dose_response_plot")
    attrs = curve.attrs
    curve = curve.sort_values("x")
    runs = _runs(curve)
    reference = attrs.get("reference") if reference is None else reference
    unit = attrs.get("unit")
    label = attrs.get("label", "exposure")
    with themed():
        own = ax is None
        ax = new_axes(ax, 5.0)
        for i, run in enumerate(runs):  # a withheld segment leaves a gap, not a straight line
            ax.fill_between(run["x"], run["ci_low"], run["ci_high"], color=COLOURS["band"],
                            alpha=0.35, linewidth=0,
                            label="95% confidence band" if i == 0 else None)
            ax.plot(run["x"], run["estimate"], color=COLOURS["estimate"],
                    label="odds ratio" if i == 0 else None, gid="dose-response-curve")
        log_axis(ax, curve[["estimate", "ci_low", "ci_high"]].to_numpy().ravel(), axis="y")
        reference_line(ax, axis="y")
        if reference is not None:
            ref_text = f"{significant(reference, 3)}{' ' + unit if unit else ''}"
            ax.plot([reference], [1.0], marker="o", markersize=7, markerfacecolor="white",
                    markeredgecolor=COLOURS["reference"], linestyle="none", zorder=4,
                    label=f"reference: {ref_text} (OR = 1)", gid="reference-value")
        knots = attrs.get("knots")
        if knots:
            ax.plot(knots, np.zeros(len(knots)), linestyle="none", marker="|", markersize=12,
                    color=COLOURS["reference"], transform=ax.get_xaxis_transform(),
                    label="spline knots", clip_on=False)
        ax.set_xlabel(xlabel or (f"{label} ({unit})" if unit else label))
        outcome = attrs.get("outcome_label", "the outcome")
        ax.set_ylabel("Odds ratio against the reference\n(95% CI, log scale)")
        ax.grid(axis="y")
        add_legend(ax, own_figure=own, ncol=2)
        if "n" in attrs:
            adj = attrs.get("adjust_for") or []
            caption = (f"Restricted cubic spline logistic model, n = {count(attrs['n'])} "
                       f"({count(attrs['events'])} events)"
                       + (f", adjusted for {', '.join(_lower(a) for a in adj)}" if adj else ""))
            caption = wrap(caption, 100)
            # below the x-axis label; constrained layout makes room for it
            ax.annotate(caption, (0, 0), xycoords="axes fraction", xytext=(0, -46),
                        textcoords="offset points", fontsize=9, color=COLOURS["reference"],
                        va="top", annotation_clip=False)
        set_title(ax, title or f"Odds of {_lower(outcome)} by {_lower(label)}", own_figure=own)
        describe(ax, f"The curve is the odds ratio of {_lower(outcome)} at each value of "
                 f"{_lower(label)} against the reference value, with its 95% confidence band, "
                 "on a log scale; the horizontal line at 1 is the reference's odds.")
    return ax


def _runs(curve: pd.DataFrame) -> list[pd.DataFrame]:
    """The curve in pieces that are drawn joined: split where a segment's rows are missing."""
    if "band" not in curve.columns or curve.empty:
        return [curve] if not curve.empty else []
    band = curve["band"].to_numpy()
    breaks = np.flatnonzero(np.diff(band) > 1) + 1
    return [curve.iloc[a:b] for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(curve)],
                                            strict=True)]


def _lower(text: str) -> str:
    """Lower-case the first letter unless the word is an acronym ("BMI")."""
    text = str(text)
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]
