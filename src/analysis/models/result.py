"""The result shape every model shares: a tidy table, the fits, notices, tests, a summary.

``.table`` is the side-by-side table users read (one row per level, reference
rows included); :meth:`ModelResult.tidy` gives the package-wide convention
``term, label, estimate, ci_low, ci_high, p_value, n, events`` for one of the
models (``"crude"`` or ``"adjusted"``), which figures and reports consume.

Underneath, :attr:`ModelResult.models` keeps each fit
(:class:`~analysis.models.fitting.Fit`); :meth:`ModelResult.coefficients`
shows them on the log scale with standard errors and the intercept,
:attr:`ModelResult.fit_statistics` gives the log-likelihood, deviance,
AIC/BIC, rows and events used and the covariance type of each, and
:attr:`ModelResult.notices` says what went wrong or was changed: a model
that did not converge, separated data, aliased terms dropped, rows left out.
A failed fit is a notice on the result, never a row of estimates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ModelError
from analysis.style import significant

TIDY_COLUMNS = ["term", "label", "estimate", "ci_low", "ci_high", "p_value", "n", "events"]
COEFFICIENT_COLUMNS = ["model", "term", "estimate", "se", "statistic", "p_value", "ci_low",
                       "ci_high"]
FIT_COLUMNS = ["model", "family", "n", "events", "parameters", "llf", "deviance", "aic", "bic",
               "cov_type", "df_resid", "converged", "method"]
NOTICE_KINDS = ("non-convergence", "separation", "aliased", "dropped rows", "adjustment set",
                "sparse level", "method", "test", "not estimable")


@dataclass(frozen=True)
class Notice:
    """Something a reader of the result must know: what happened, to which model, what to do."""

    kind: str
    message: str
    model: str | None = None

    def __post_init__(self):
        if self.kind not in NOTICE_KINDS:
            raise ModelError(f"Unknown notice kind {self.kind!r}; use one of {NOTICE_KINDS}.")

    def __str__(self) -> str:
        where = f" [{self.model}]" if self.model else ""
        return f"{self.kind}{where}: {self.message}"


@dataclass
class ModelResult:
    """A fitted model family (crude and adjusted) with its tidy tables.

    Attributes
    ----------
    table : side-by-side table, one row per level.
    fits : the underlying statsmodels (or other) results, ``{"adjusted": ..., "crude: x": ...}``.
    info : n used, rows dropped, formula, method, ...
    estimate : name of the reported estimate (``"or"``, ``"irr"``).
    notices : what a reader must know (non-convergence, separation, dropped rows, ...).
    """

    table: pd.DataFrame
    fits: dict[str, Any]
    info: dict[str, Any]
    estimate: str = "or"
    _tidy: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    _tests: Callable[[], pd.DataFrame] | None = field(default=None, repr=False)
    notices: list[Notice] = field(default_factory=list)
    _fits: dict[str, Any] = field(default_factory=dict, repr=False)
    # results this one was assembled from, by exposure (each exposure's own model of a
    # causal diagram's adjustment set); empty for a single model
    parts: dict[str, ModelResult] = field(default_factory=dict, repr=False)

    @property
    def models(self) -> dict[str, Any]:
        """Our fit of each model (:class:`~analysis.models.fitting.Fit`), by model name."""
        return self._fits

    def notify(self, kind: str, message: str, model: str | None = None) -> None:
        """Add a notice once (the same notice twice is one notice)."""
        notice = Notice(kind, message, model)
        if notice not in self.notices:
            self.notices.append(notice)

    def tidy(self, which: str = "adjusted") -> pd.DataFrame:
        """Rows of one model as ``term, label, estimate, ci_low, ci_high, p_value, n, events``."""
        if which not in self._tidy:
            raise ModelError(f"No {which!r} model here; choose one of {sorted(self._tidy)}.")
        frame = self._tidy[which]
        # Multinomial models say which outcome category each row compares with the reference.
        front = ["outcome_level"] if "outcome_level" in frame.columns else []
        return frame.loc[:, front + TIDY_COLUMNS].copy()

    def coefficients(self, which: str | None = None) -> pd.DataFrame:
        """Coefficients on the model's own (log) scale, intercept and cut-points included.

        ``statistic`` is ``estimate / se``; its p-value and the 95% interval
        use the normal distribution, or t on ``Fit.df_resid`` when the fit has
        them (design-based fits: PSUs minus strata).
        """
        names = [which] if which is not None else list(self._fits)
        missing = [n for n in names if n not in self._fits]
        if missing:
            raise ModelError(f"No {missing[0]!r} model here; choose one of {sorted(self._fits)}.")
        frames = [coefficient_table(n, self._fits[n]) for n in names]
        if not frames:
            return pd.DataFrame(columns=COEFFICIENT_COLUMNS)
        return pd.concat(frames, ignore_index=True)

    @property
    def fit_statistics(self) -> pd.DataFrame:
        """One row per model: n, events, parameters, llf, deviance, AIC, BIC, covariance."""
        rows = [fit_statistics_row(name, fit) for name, fit in self._fits.items()]
        return pd.DataFrame(rows, columns=FIT_COLUMNS)

    @cached_property
    def tests(self) -> pd.DataFrame:
        """Likelihood-ratio and trend tests, computed on first use (they need refits)."""
        if self._tests is None:
            return pd.DataFrame(columns=["variable", "label", "test", "model", "statistic",
                                         "df", "p_value"])
        return self._tests()

    def summary(self) -> str:
        """A plain-text summary a statistician recognises: fits, coefficients, tests, notices."""
        info = self.info
        lines = [f"{type(self).__name__}: {info.get('outcome')}"
                 + (f" (event: {info['event']})" if info.get("event") else ""),
                 f"method: {info.get('method')}; covariance: {info.get('cov_type', 'model')}; "
                 f"intervals: {info.get('ci', 'Wald 95%')}",
                 f"rows read {info.get('n_read')}, used {info.get('n')}, "
                 f"left out {info.get('n_dropped')}"]
        if info.get("adjust_for") is not None:
            lines.append("adjusted for: " + (", ".join(info["adjust_for"]) or "nothing"))
        stats_frame = self.fit_statistics
        if len(stats_frame):
            lines += ["", "Fit statistics", _text(stats_frame.drop(columns=["family"]))]
        coefs = self.coefficients()
        for name, block in coefs.groupby("model", sort=False):
            lines += ["", f"Coefficients ({name}, log scale)",
                      _text(block.drop(columns=["model"]))]
        tests = self.tests
        if len(tests):
            lines += ["", "Tests", _text(tests)]
        if self.notices:
            lines += ["", "Notices"] + [f"  - {n}" for n in self.notices]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """Jupyter shows the notices above the table, so a failed fit is never read as a result."""
        from analysis.display import html_block

        notes = pd.DataFrame({"notice": [str(n) for n in self.notices]})
        facts = [f"{k}: {self.info[k]}" for k in ("outcome", "n", "events", "method")
                 if self.info.get(k) is not None]
        tables = [("Notices", notes)] if len(notes) else []
        return html_block(type(self).__name__, facts, [*tables, (None, self.table)],
                          max_rows=max(len(self.table), len(notes)))

    def __repr__(self) -> str:
        notes = f", {len(self.notices)} notice(s)" if self.notices else ""
        return (f"{type(self).__name__}({self.info.get('outcome')}: n={self.info.get('n')}, "
                f"{len(self.table)} rows, method={self.info.get('method')}{notes})")


class LogisticResult(ModelResult):
    """Crude and adjusted odds ratios from :func:`analysis.models.logistic`."""


def coefficient_table(name: str, fit) -> pd.DataFrame:
    """The coefficients of one fit on its own scale, with SE, z (or t) and 95% interval."""
    params = np.asarray(fit.params, dtype=float)
    se = np.sqrt(np.clip(np.diag(np.asarray(fit.cov, dtype=float)), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = params / se
    df = getattr(fit, "df_resid", None)
    dist = stats.t(df) if df else stats.norm
    crit = dist.ppf(0.975)
    return pd.DataFrame({"model": name, "term": list(fit.design.names), "estimate": params,
                         "se": se, "statistic": statistic,
                         "p_value": 2 * dist.sf(np.abs(statistic)),
                         "ci_low": params - crit * se, "ci_high": params + crit * se},
                        columns=COEFFICIENT_COLUMNS)


def fit_statistics_row(name: str, fit) -> dict:
    """n, events, parameters, log-likelihood, deviance, AIC and BIC of one fit.

    Binary fits are summarised at respondent level, also when fitted on
    covariate patterns: ``llf = sum w [y log p + (1 - y) log(1 - p)]`` and the
    deviance ``-2 llf`` (the saturated model of 0/1 data has likelihood 1),
    so a pattern fit and a row fit of the same model report the same numbers.
    Other families report their own log-likelihood and deviance (``raw``).
    AIC ``= -2 llf + 2k`` and BIC ``= -2 llf + k log n`` with ``k`` the
    estimated parameters (the NB dispersion included).
    """
    family = getattr(fit, "family", "binomial")
    k = int(np.asarray(fit.params).size) + int(getattr(fit, "n_extra", 0))
    events = np.nan
    if family == "binomial" and fit.method in ("rows", "patterns"):
        y, p, w = fit.outcome_weights()
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(y == 1, np.log(p), np.log1p(-p))
        llf = float(np.sum(w * terms))
        n, events, deviance = float(w.sum()), float(np.sum(w * y)), -2.0 * llf
        if getattr(fit, "firth", False):
            llf = float(fit.llf)  # penalised: the log-likelihood plus half log|I|
    else:
        llf = float(fit.llf)
        n = float(fit.nobs) if hasattr(fit, "nobs") else np.nan
        raw_dev = getattr(fit.raw, "deviance", None)
        deviance = float(raw_dev) if isinstance(raw_dev, int | float | np.floating) else -2 * llf
        if fit.y is not None and family in ("poisson", "negative binomial", "conditional"):
            events = float(np.nansum(fit.y))
    return {"model": name, "family": family, "n": n, "events": events, "parameters": k,
            "llf": llf, "deviance": deviance, "aic": -2 * llf + 2 * k,
            "bic": -2 * llf + k * np.log(n) if n and n > 0 else np.nan,
            "cov_type": getattr(fit, "cov_type", "model"),
            "df_resid": getattr(fit, "df_resid", None),
            "converged": bool(getattr(fit, "converged", True)), "method": fit.method}


def _text(frame: pd.DataFrame) -> str:
    return frame.to_string(index=False, float_format=lambda v: significant(v, 4))


__all__ = ["COEFFICIENT_COLUMNS", "FIT_COLUMNS", "NOTICE_KINDS", "TIDY_COLUMNS", "LogisticResult",
           "ModelResult", "Notice", "coefficient_table", "fit_statistics_row"]
