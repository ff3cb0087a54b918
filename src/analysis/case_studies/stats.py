"""The statistics the case studies need beyond the models: matched pairs, collinearity, overlap.

Each function takes a :class:`~analysis.survey.Survey` (or a tidy table) and
returns a tidy DataFrame; the notebooks in ``notebooks/case_studies`` show them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.aggregate import event_indicator
from analysis.errors import ModelError

Z95 = stats.norm.ppf(0.975)


# ---- matched pairs --------------------------------------------------------------
def _matched(survey, outcome: str | None, strata: str | None) -> tuple[str, str]:
    cb = survey.codebook
    strata = strata or cb.role("stratum")
    if outcome is None:
        outcomes = [v for v in survey.variables("outcome") if cb[v].type == "binary"]
        outcome = outcomes[0] if len(outcomes) == 1 else None
    for what, name in (("strata", strata), ("outcome", outcome)):
        if name is None or name not in survey.data.columns:
            where = f"column {name!r} is not in the survey" if name else "none is named"
            raise ModelError(f"Matched pairs need the {what} column: {where}; name it with "
                             f"{what}= or give a codebook variable that role.")
    return outcome, strata


def matched_sets(survey, exposure: str, outcome: str | None = None,
                 strata: str | None = None) -> pd.DataFrame:
    """Flow of matched sets: read, informative (a case and a control), discordant for ``exposure``.

    A set carries information to conditional logistic regression only when it
    holds both a case and a control; for a single binary exposure in 1:1
    pairs only the pairs discordant for the exposure do (Breslow & Day 1980,
    ch. 7). Rows missing the outcome, the exposure or the set leave first.

    Returns
    -------
    DataFrame
        ``stage, sets, rows``: one line per stage, each a subset of the one above.

    Examples
    --------
    >>> matched_sets(backpain, "driver")  # doctest: +SKIP
    """
    outcome, strata = _matched(survey, outcome, strata)
    data = survey.data
    complete = data[[strata, outcome, exposure]].notna().all(axis=1)
    frame = data.loc[complete, [strata, exposure]].copy()
    frame["y"] = event_indicator(data.loc[complete, outcome], outcome)
    by_set = frame.groupby(strata, observed=True, sort=True)
    cases, size = by_set["y"].sum(), by_set["y"].size()
    informative = cases.index[(cases > 0) & (cases < size)]
    levels = by_set[exposure].nunique()
    discordant = informative.intersection(levels.index[levels > 1])
    n_rows = frame.groupby(strata, observed=True)["y"].size()
    return pd.DataFrame({
        "stage": ["Matched sets read", "Sets complete for the model variables",
                  "Sets with a case and a control",
                  f"Sets discordant for {survey.label(exposure).lower()}"],
        "sets": [int(data[strata].nunique()), int(size.size), int(informative.size),
                 int(discordant.size)],
        "rows": [int(data[strata].notna().sum()), int(size.sum()),
                 int(n_rows[informative].sum()), int(n_rows[discordant].sum())]})


def discordant_pairs(survey, exposure: str, outcome: str | None = None,
                     strata: str | None = None) -> pd.DataFrame:
    """The 2x2 table of 1:1 matched pairs: exposure of the case against that of its control.

    Pairs without both a case and a control, or missing the exposure, are
    left out. A set that is not one case and one control is a
    :class:`ModelError` (the table is defined for pairs only).

    Returns
    -------
    DataFrame
        ``case`` (the case's exposure level), one column per control exposure
        level, and ``total``; a last row ``Total``. ``attrs["levels"]`` holds
        the levels (reference first).
    """
    outcome, strata = _matched(survey, outcome, strata)
    data = survey.data
    column = data[exposure]
    levels = [str(c) for c in column.cat.categories] if column.dtype == "category" \
        else sorted(map(str, column.dropna().unique()))
    if len(levels) != 2:
        raise ModelError(f"discordant_pairs: {exposure!r} has {len(levels)} levels; the table "
                         "needs a binary exposure.")
    keep = data[[strata, outcome, exposure]].notna().all(axis=1)
    frame = pd.DataFrame({"set": data.loc[keep, strata].astype(str),
                          "y": event_indicator(data.loc[keep, outcome], outcome),
                          "x": data.loc[keep, exposure].astype(str)})
    by_set = frame.groupby("set")["y"].agg(["sum", "size"])
    pairs = by_set.index[(by_set["sum"] == 1) & (by_set["size"] == 2)]
    other = by_set[(by_set["sum"] > 0) & (by_set["sum"] < by_set["size"])
                   & ~by_set.index.isin(pairs)]
    if len(other):
        raise ModelError(f"discordant_pairs: {len(other)} informative matched set(s) in "
                         f"{strata!r} are not one case and one control (first: "
                         f"{', '.join(map(str, other.index[:5]))}); use conditional_logistic.")
    frame = frame[frame["set"].isin(pairs)]
    wide = frame.pivot(index="set", columns="y", values="x")
    counts = pd.crosstab(pd.Categorical(wide[1.0], levels), pd.Categorical(wide[0.0], levels),
                         dropna=False)
    out = pd.DataFrame({"case": levels, **{lv: counts[lv].to_numpy() for lv in levels}})
    out["total"] = out[levels].sum(axis=1)
    out.loc[len(out)] = ["Total", *out[levels].sum().tolist(), int(out["total"].sum())]
    out.attrs["levels"] = levels
    return out


def mcnemar(pairs: pd.DataFrame) -> pd.DataFrame:
    """Matched-pair odds ratio and McNemar's test from a :func:`discordant_pairs` table.

    With ``b`` pairs whose case alone is exposed and ``c`` pairs whose control
    alone is: OR = ``b / c`` with the interval ``exp(log(b/c) ± 1.96
    sqrt(1/b + 1/c))`` -- exactly the conditional maximum-likelihood estimate
    and Wald interval for one binary exposure in 1:1 pairs (Breslow & Day
    1980, sec. 7.2); McNemar's chi-square ``(b - c)^2 / (b + c)`` on 1 df
    (no continuity correction) and the exact binomial p-value of ``b`` out
    of ``b + c`` at 1/2. Tested against
    ``statsmodels.stats.contingency_tables.mcnemar`` and
    :func:`analysis.models.conditional_logistic`.

    Examples
    --------
    >>> mcnemar(discordant_pairs(backpain, "driver"))["odds_ratio"]  # doctest: +SKIP
    """
    exposed, unexposed = pairs.attrs.get("levels", list(pairs.columns[1:3]))[::-1]
    row = pairs.set_index("case")
    b, c = float(row.loc[exposed, unexposed]), float(row.loc[unexposed, exposed])
    if b == 0 or c == 0:
        raise ModelError(f"mcnemar: {int(b)} and {int(c)} discordant pairs; the odds ratio is "
                         "not finite when either is 0.")
    log_or, se = np.log(b / c), np.sqrt(1 / b + 1 / c)
    chi2 = (b - c) ** 2 / (b + c)
    return pd.DataFrame({
        "case_only_exposed": [int(b)], "control_only_exposed": [int(c)],
        "odds_ratio": [b / c], "ci_low": [np.exp(log_or - Z95 * se)],
        "ci_high": [np.exp(log_or + Z95 * se)], "chi2": [chi2],
        "p_value": [float(stats.chi2.sf(chi2, 1))],
        "p_exact": [float(stats.binomtest(int(b), int(b + c), 0.5).pvalue)]})


# ---- collinearity ---------------------------------------------------------------
def collinearity(survey, total: str, parts: Sequence[str]) -> pd.DataFrame:
    """How exactly ``total`` = sum of ``parts`` holds, and what it does to a design.

    Reports the largest ``|total - sum(parts)|`` and the largest value of
    ``total`` (the identity holds to the precision of the file), the rank of
    the design ``[1, total, parts]`` and its condition number after scaling
    each column to unit length (Belsley, Kuh & Welsch 1980: above ~30 the
    estimates are unstable; here it is bounded only by the rounding of the
    file), with the rank counted at numpy's default tolerance and at the
    tolerance of the data's precision, and the variance inflation factors of
    the three columns (:func:`analysis.diagnostics.vif`).

    Returns
    -------
    DataFrame
        ``quantity, value, meaning``.
    """
    from analysis.diagnostics import vif

    names = [total, *parts]
    frame = survey.data[names].dropna()
    residual = float((frame[total] - frame[list(parts)].sum(axis=1)).abs().max())
    X = np.column_stack([np.ones(len(frame)), frame.to_numpy(float)])
    scaled = X / np.linalg.norm(X, axis=0)
    sv = np.linalg.svd(scaled, compute_uv=False)
    # a column that differs from a combination of the others by rounding error alone
    precision = max(residual, np.finfo(float).eps) / float(frame[total].abs().max())
    rank_data = int((sv > 10 * precision * sv[0]).sum())
    try:
        vifs = [(r.column, r.vif) for r in vif(frame).itertuples()]
    except np.linalg.LinAlgError:  # a singular correlation matrix: every R² is 1
        vifs = [(c, np.inf) for c in names]
    label = " + ".join(survey.label(p).lower() for p in parts)
    rows = [
        ("largest |difference|", residual,
         f"{survey.label(total)} minus ({label}), over {len(frame)} rows"),
        ("columns of the design", X.shape[1], "intercept and the three angles"),
        ("rank (numpy default tolerance)", int(np.linalg.matrix_rank(X)),
         "full rank only because the identity is broken by rounding"),
        ("rank (at the precision of the data)", rank_data,
         "one column is a linear combination of the others"),
        ("condition number (unit-length columns)", float(sv[0] / sv[-1]),
         "above about 30 estimates are unstable (Belsley, Kuh & Welsch)"),
    ]
    rows += [(f"VIF of {survey.label(c).lower()}", v, "1 / (1 - R²) against the other two")
             for c, v in vifs]
    return pd.DataFrame(rows, columns=["quantity", "value", "meaning"])


def rank_deficient_fit(survey, outcome: str, columns: Sequence[str]) -> pd.DataFrame:
    """What :func:`analysis.models.logistic` says when asked to fit ``columns`` together.

    Returns ``outcome, message``: ``"error"`` with the package's
    :class:`ModelError` message when it refuses the design, ``"warning"``
    with each warning it gave (and the estimates it returned) otherwise.
    """
    from analysis.models import logistic

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = logistic(survey, outcome, list(columns), adjust_for=[])
        except ModelError as exc:
            return pd.DataFrame({"outcome": ["error"], "message": [str(exc)]})
    messages = list(dict.fromkeys(str(w.message) for w in caught
                                  if issubclass(w.category, UserWarning)))
    table = result.table
    estimates = "; ".join(f"{lab}: OR {v:.3g}" for lab, v in zip(table["label"],
                                                                 table["or_adjusted"],
                                                                 strict=True))
    return pd.DataFrame({"outcome": ["warning"] * len(messages) + ["estimates"],
                         "message": [*messages, estimates]})


# ---- near separation --------------------------------------------------------------
def overlap(survey, variable: str, by: str) -> pd.DataFrame:
    """Distribution of ``variable`` in each group of ``by`` and how far the groups overlap.

    Columns ``group, n, min, q1, median, q3, max, beyond_reference``: the last counts
    the members of each group outside the range of the reference group (the
    first level of ``by``). A group lying entirely beyond it would be
    completely separated by ``variable``: an infinite maximum-likelihood OR.
    """
    data = survey.data[[variable, by]].dropna()
    groups = data[by].cat.categories if data[by].dtype == "category" else sorted(data[by].unique())
    ref = data.loc[data[by] == groups[0], variable]
    rows = []
    for g in groups:
        x = data.loc[data[by] == g, variable]
        if x.empty:
            continue
        beyond = int(((x > ref.max()) | (x < ref.min())).sum())
        rows.append({"group": str(g), "n": int(x.size), "min": float(x.min()),
                     "q1": float(x.quantile(0.25)), "median": float(x.median()),
                     "q3": float(x.quantile(0.75)), "max": float(x.max()),
                     "beyond_reference": beyond})
    return pd.DataFrame(rows)


# ---- rescaled odds ratios and published results -----------------------------------------
def per_increment(table: pd.DataFrame, variable: str, increment: float) -> pd.DataFrame:
    """The OR of a numeric variable per ``increment`` units instead of per 1 unit.

    From a tidy row (``estimate, ci_low, ci_high``: OR per unit with a Wald
    interval) the OR per ``k`` units is ``OR^k`` with interval ``(low^k,
    high^k)``: the Wald interval of ``k b`` is ``k`` times that of ``b``.
    Tested against ``smf.logit`` on the rescaled variable.
    """
    rows = table[table["term"] == variable]
    if len(rows) != 1:
        raise ModelError(f"per_increment: the table has no single row for {variable!r} "
                         f"(terms: {', '.join(map(str, table['term']))}).")
    out = rows[["term", "label", "estimate", "ci_low", "ci_high", "p_value", "n",
                "events"]].copy()
    out[["estimate", "ci_low", "ci_high"]] = out[["estimate", "ci_low", "ci_high"]] ** increment
    out["increment"] = increment
    return out.reset_index(drop=True)


def published_comparison(entries: Sequence[dict]) -> pd.DataFrame:
    """This analysis beside a published result, saying whether they agree.

    Each entry: ``source, reports, published`` (a number; ``None`` when the
    published value could not be verified; ``"none"`` when the source
    publishes no such value), ``decimals`` (its published precision) and
    ``ours``. ``agreement`` is ``"agrees to the published precision"`` when
    ``ours`` rounds to ``published``, ``"differs"`` otherwise, ``"not
    verified"`` when there is no verified number, ``"nothing published"``
    and ``"not comparable"`` when ``ours`` is ``None``.
    """
    rows = []
    for e in entries:
        pub, ours, dec = e.get("published"), e.get("ours"), e.get("decimals", 2)
        if isinstance(pub, str):
            if pub != "none":
                raise ModelError(f"published_comparison: published={pub!r}; give a number, "
                                 "None (not verified) or 'none' (nothing published).")
            rows.append({"source": e["source"], "reports": e["reports"],
                         "published": "none published",
                         "this analysis": "" if ours is None else f"{ours:.{max(dec, 2)}f}",
                         "agreement": "nothing published"})
            continue
        if ours is None:
            agreement = "not comparable"
        elif pub is None:
            agreement = "not verified"
        else:
            agreement = ("agrees to the published precision"
                         if round(float(ours), dec) == round(float(pub), dec) else "differs")
        rows.append({"source": e["source"], "reports": e["reports"],
                     "published": "not verified" if pub is None else f"{pub:.{dec}f}",
                     "this analysis": "" if ours is None else f"{ours:.{max(dec, 2)}f}",
                     "agreement": agreement})
    return pd.DataFrame(rows, columns=["source", "reports", "published", "this analysis",
                                       "agreement"])


def two_of_three(survey, outcome: str, total: str, parts: Sequence[str]) -> pd.DataFrame:
    """Fit the outcome on each pair of ``total`` and ``parts``: the same model, reparametrised.

    With ``total = a + b`` exactly, the designs ``[a, b]``, ``[total, a]``
    and ``[total, b]`` span the same space: the log-likelihoods agree and the
    coefficients translate (e.g. ``b_a`` of ``[total, a]`` equals ``b_a -
    b_b`` of ``[a, b]``). Returns one row per model and term:
    ``model, term, label, estimate, ci_low, ci_high, p_value, loglik``.
    """
    from analysis.models import logistic

    a, b = parts
    rows = []
    for pair in ([a, b], [total, a], [total, b]):
        result = logistic(survey, outcome, pair, adjust_for=[])
        tidy = result.tidy("adjusted")
        tidy.insert(0, "model", " + ".join(survey.label(v).lower() for v in pair))
        tidy["loglik"] = float(result.models["adjusted"].llf)
        rows.append(tidy.drop(columns=["n", "events"]))
    return pd.concat(rows, ignore_index=True)


def firth_comparison(survey, outcome: str, exposures: Sequence[str]) -> pd.DataFrame:
    """Maximum-likelihood and Firth-penalised odds ratios of the same model, side by side.

    Firth's penalty (Firth 1993, *Biometrika* 80:27) keeps estimates finite
    under separation and removes the O(1/n) bias of ML; where the data are
    not separated the two agree closely, and a large gap is itself a sign of
    sparse data. Columns ``term, label, or_ml, ci_low_ml, ci_high_ml,
    or_firth, ci_low_firth, ci_high_firth``.
    """
    from analysis.models import logistic

    fits = {}
    for name, firth in (("ml", False), ("firth", True)):
        tidy = logistic(survey, outcome, list(exposures), adjust_for=[], firth=firth).tidy()
        fits[name] = tidy.set_index(["term", "label"])[["estimate", "ci_low", "ci_high"]]
    out = fits["ml"].reset_index().merge(fits["firth"].reset_index(), on=["term", "label"],
                                         suffixes=("_ml", "_firth"))
    return out.rename(columns={"estimate_ml": "or_ml", "estimate_firth": "or_firth"})


def headline(result, term: str, which: str = "adjusted") -> dict:
    """One row of a model's tidy table as a dict (``estimate, ci_low, ci_high, p_value, ...``)."""
    tidy = result.tidy(which)
    rows = tidy[tidy["term"] == term]
    if len(rows) != 1:
        raise ModelError(f"No term {term!r} in the {which} model; terms: "
                         f"{', '.join(map(str, tidy['term']))}.")
    return rows.iloc[0].to_dict()


def lr_drop(survey, result, variable: str) -> pd.DataFrame:
    """Likelihood-ratio test of ``variable`` in a conditional logistic model: drop it and refit.

    ``2 (l_full - l_without)`` on as many df as the variable has columns
    (Breslow & Day 1980, sec. 7.2). Both models must be fitted to the same
    rows: the model without ``variable`` is refitted on the rows the full
    model used (complete for every variable of the full model, its outcome,
    matched sets and clusters, in sets with both a case and a control), not
    on the rows that happen to be complete for the smaller model, which
    would compare likelihoods of different data. Tested against
    ``ConditionalLogit`` fitted by hand on those rows, with the dropped
    variable missing for some respondents.

    Returns
    -------
    DataFrame
        ``variable, label, statistic, df, p_value, n, sets``: ``n`` and
        ``sets`` are the rows and matched sets both models used.
    """
    from analysis.ledger import Ledger
    from analysis.models import conditional_logistic
    from analysis.survey import Survey

    info = result.info
    variables = [*info["exposures"], *info["adjust_for"]]
    if variable not in variables:
        raise ModelError(f"lr_drop: {variable!r} is not in the model ({', '.join(variables)}).")
    rest = [v for v in variables if v != variable]
    if not rest:
        raise ModelError("lr_drop: the model has no other variable; use result.tests.")
    data = survey.data
    needed = [info["outcome"], info["strata"], *variables]
    if info.get("cluster"):
        needed.append(info["cluster"])
    rows = data[needed].notna().all(axis=1).to_numpy()
    # The full model's rows, in a survey of their own, so that the refit neither uses other
    # rows nor records its (already recorded) exclusions in the survey's ledger again.
    same = Survey(data.loc[rows], survey.codebook, Ledger(n_read=int(rows.sum())),
                  source=survey.source)
    reduced = conditional_logistic(same, info["outcome"], rest, adjust_for=[],
                                   strata=info["strata"])
    n, sets = int(info["n"]), int(info["n_sets"])
    if (int(reduced.info["n"]), int(reduced.info["n_sets"])) != (n, sets):
        raise ModelError(f"lr_drop: the model without {variable!r} used {reduced.info['n']} "
                         f"rows in {reduced.info['n_sets']} sets, the full model {n} rows in "
                         f"{sets} sets; the likelihoods are not comparable. Refit the full "
                         "model on complete cases of all its variables.")
    full_fit, reduced_fit = result.fits["adjusted"], reduced.fits["adjusted"]
    stat = max(2 * (float(full_fit.llf) - float(reduced_fit.llf)), 0.0)
    df = len(full_fit.params) - len(reduced_fit.params)
    return pd.DataFrame({"variable": [variable], "label": [survey.label(variable)],
                         "statistic": [stat], "df": [df],
                         "p_value": [float(stats.chi2.sf(stat, df))], "n": [n],
                         "sets": [sets]})
