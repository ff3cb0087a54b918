"""Comparisons of models: a variable's likelihood-ratio test, ML against Firth, reparametrisations.

Each function fits the models it compares through the package's own model
functions and returns a tidy DataFrame.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd
from scipy import stats

from analysis.errors import ModelError
from analysis.ledger import Ledger
from analysis.models.conditional import conditional_logistic
from analysis.models.logistic import logistic
from analysis.style import significant
from analysis.survey import Survey


def lr_drop(survey, result, variable: str) -> pd.DataFrame:
    """Likelihood-ratio test of ``variable`` in a conditional logistic model: drop it and refit.

    Method: ``2 (l_full - l_without)`` referred to chi-square on as many df
    as the variable has columns (Breslow & Day 1980, *Statistical Methods in
    Cancer Research I*, sec. 7.2). Both models are fitted to the same rows:
    the model without ``variable`` is refitted on the rows the full model
    used (complete for every variable of the full model, its outcome,
    matched sets and clusters, in sets with both a case and a control), not
    on the rows that happen to be complete for the smaller model, which
    would compare likelihoods of different data. The refit records nothing
    in the survey's ledger.

    Tested against statsmodels' ``ConditionalLogit`` fitted by hand on those
    rows, with the dropped variable missing for about 15% of respondents
    (statistic and p-value to 1e-6), and on the HSAUR3 ``backpain`` pairs
    (tests/test_models_compare.py, tests/test_models_conditional.py).

    Returns
    -------
    DataFrame
        ``variable, label, statistic, df, p_value, n, sets``: ``n`` and
        ``sets`` are the rows and matched sets both models used.

    Examples
    --------
    >>> full = conditional_logistic(backpain, "status", ["driver", "suburban"], adjust_for=[])
    >>> lr_drop(backpain, full, "driver")[["statistic", "df"]]  # doctest: +SKIP
       statistic  df
    0      5.258   1
    """
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


def firth_comparison(survey, outcome: str, exposures: Sequence[str]) -> pd.DataFrame:
    """Maximum-likelihood and Firth-penalised odds ratios of the same model, side by side.

    Method: :func:`~analysis.models.logistic` of ``outcome`` on ``exposures``
    (mutually adjusted, nothing else) twice, by maximum likelihood and with
    Firth's penalty (Firth 1993, *Biometrika* 80:27), which keeps estimates
    finite under separation and removes the O(1/n) bias of ML; where the
    data are not separated the two agree closely, and a large gap is itself
    a sign of sparse data. Wald 95% intervals for both. Tested against
    ``smf.logit`` (the ML columns, to 1e-6) on the vertebral-column data,
    where Firth moves no log odds ratio by more than 0.01
    (tests/test_models_compare.py).

    Returns
    -------
    DataFrame
        ``term, label, or_ml, ci_low_ml, ci_high_ml, or_firth,
        ci_low_firth, ci_high_firth``.

    Examples
    --------
    >>> firth_comparison(survey, "abnormal",
    ...                  ["pelvic_tilt", "lumbar_lordosis_angle"])  # doctest: +SKIP
    """
    fits = {}
    for name, firth in (("ml", False), ("firth", True)):
        tidy = logistic(survey, outcome, list(exposures), adjust_for=[], firth=firth).tidy()
        fits[name] = tidy.set_index(["term", "label"])[["estimate", "ci_low", "ci_high"]]
    out = fits["ml"].reset_index().merge(fits["firth"].reset_index(), on=["term", "label"],
                                         suffixes=("_ml", "_firth"))
    return out.rename(columns={"estimate_ml": "or_ml", "estimate_firth": "or_firth"})


def two_of_three(survey, outcome: str, total: str, parts: Sequence[str]) -> pd.DataFrame:
    """Fit the outcome on each pair of ``total`` and ``parts``: one model, three parametrisations.

    Method: with ``total = a + b`` exactly, the designs ``[a, b]``, ``[total,
    a]`` and ``[total, b]`` span the same column space, so the maximum
    log-likelihoods agree and the coefficients translate (``b_a`` of
    ``[total, a]`` equals ``b_a - b_b`` of ``[a, b]``). Each model is a
    :func:`~analysis.models.logistic` fit with nothing else adjusted for.
    Tested on the vertebral-column angles (pelvic incidence = pelvic tilt +
    sacral slope): log-likelihoods equal to 1e-6 and the coefficient
    identity to 1e-6 (tests/test_models_compare.py).

    Returns
    -------
    DataFrame
        One row per model and term: ``model, term, label, estimate, ci_low,
        ci_high, p_value, loglik``.

    Examples
    --------
    >>> two_of_three(survey, "abnormal", "pelvic_incidence",
    ...              ["pelvic_tilt", "sacral_slope"])  # doctest: +SKIP
    """
    if len(parts) != 2:
        raise ModelError(f"two_of_three: give the two parts of {total!r}, not {len(parts)}.")
    a, b = parts
    rows = []
    for pair in ([a, b], [total, a], [total, b]):
        result = logistic(survey, outcome, pair, adjust_for=[])
        tidy = result.tidy("adjusted")
        tidy.insert(0, "model", " + ".join(survey.label(v).lower() for v in pair))
        tidy["loglik"] = float(result.models["adjusted"].llf)
        rows.append(tidy.drop(columns=["n", "events"]))
    return pd.concat(rows, ignore_index=True)


def rank_deficient_fit(survey, outcome: str, columns: Sequence[str]) -> pd.DataFrame:
    """What :func:`~analysis.models.logistic` says when asked to fit ``columns`` together.

    Method: none of its own; it records the package's behaviour on a design
    whose columns may be linearly dependent: the
    :class:`~analysis.errors.ModelError` message when the fit is refused,
    otherwise each warning the fit gave and the odds ratios it returned (the
    reader sees that they mean nothing). Tested on the three vertebral-column
    angles, which satisfy an exact identity (tests/test_models_compare.py).

    Returns
    -------
    DataFrame
        ``outcome, message``: ``"error"`` with the message, or ``"warning"``
        rows then one ``"estimates"`` row.

    Examples
    --------
    >>> rank_deficient_fit(survey, "abnormal", ["pelvic_incidence", "pelvic_tilt",
    ...                                         "sacral_slope"])  # doctest: +SKIP
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = logistic(survey, outcome, list(columns), adjust_for=[])
        except ModelError as exc:
            return pd.DataFrame({"outcome": ["error"], "message": [str(exc)]})
    messages = list(dict.fromkeys(str(w.message) for w in caught
                                  if issubclass(w.category, UserWarning)))
    table = result.table
    estimates = "; ".join(f"{lab}: OR {significant(v, 3)}" for lab, v in zip(table["label"],
                                                                 table["or_adjusted"],
                                                                 strict=True))
    return pd.DataFrame({"outcome": ["warning"] * len(messages) + ["estimates"],
                         "message": [*messages, estimates]})


__all__ = ["firth_comparison", "lr_drop", "rank_deficient_fit", "two_of_three"]
