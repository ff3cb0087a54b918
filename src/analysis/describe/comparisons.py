"""Tests and effect sizes behind Table 1, computed from counts and group summaries.

Everything here works on small arrays (a contingency table, per-group means)
so that Table 1 on a million rows costs one pass over the data, not one
Python call per row.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy import stats

Z_95 = float(stats.norm.ppf(0.975))

CHI_SQUARED = "Chi-squared"
CHI_SQUARED_SMALL = "Chi-squared (expected count < 5)"
FISHER = "Fisher's exact"
WELCH = "Welch's t-test"
ANOVA = "One-way ANOVA"
MANN_WHITNEY = "Mann-Whitney U"
KRUSKAL = "Kruskal-Wallis"
NOT_TESTED = "Not tested"


def categorical_test(counts: np.ndarray) -> tuple[float, str]:
    """P-value of no association in a groups x levels table of counts.

    Pearson's chi-squared test (``scipy.stats.chi2_contingency``, with Yates'
    continuity correction when the table is 2x2, as in ``tableone`` and R's
    ``chisq.test``). When an expected count is below 5, a 2x2 table gets
    Fisher's exact test instead; a larger table keeps the chi-squared p-value
    and the test is named "Chi-squared (expected count < 5)" so the reader
    knows the approximation is rough. Empty rows and columns are dropped
    first; fewer than two of either leaves nothing to test.
    """
    counts = np.asarray(counts, dtype=float)
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if counts.shape[0] < 2 or counts.shape[1] < 2:
        return np.nan, NOT_TESTED
    _, p_value, _, expected = stats.chi2_contingency(counts)
    if expected.min() >= 5:
        return float(p_value), CHI_SQUARED
    if counts.shape == (2, 2):
        return float(stats.fisher_exact(counts).pvalue), FISHER
    return float(p_value), CHI_SQUARED_SMALL


def continuous_test(
    groups: list[np.ndarray], n: np.ndarray, mean: np.ndarray, sd: np.ndarray, *, normal: bool
) -> tuple[float, str]:
    """P-value of equal location across groups.

    Roughly normal variables: Welch's t-test for two groups, one-way ANOVA
    for more (both from the group means and SDs). Skewed variables: the
    Mann-Whitney U test for two groups (normal approximation with tie
    correction and no continuity correction, which makes it identical to the
    Kruskal-Wallis test on two groups, as ``tableone`` reports), Kruskal-Wallis
    for more. Groups without observations are left out; a test needs two
    groups, each with two observations for the parametric tests.
    """
    keep = n > 0
    groups = [g for g, k in zip(groups, keep, strict=True) if k]
    n, mean, sd = n[keep], mean[keep], sd[keep]
    if len(n) < 2 or (normal and n.min() < 2):
        return np.nan, NOT_TESTED
    if normal and len(n) == 2:
        result = stats.ttest_ind_from_stats(
            mean[0], sd[0], n[0], mean[1], sd[1], n[1], equal_var=False
        )
        return float(result.pvalue), WELCH
    if normal:
        return one_way_anova(n, mean, sd), ANOVA
    if len(groups) == 2:
        result = stats.mannwhitneyu(
            groups[0], groups[1], use_continuity=False, method="asymptotic"
        )
        return float(result.pvalue), MANN_WHITNEY
    return float(stats.kruskal(*groups).pvalue), KRUSKAL


def one_way_anova(n: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> float:
    """P-value of the one-way ANOVA F test from group sizes, means and SDs.

    F = [sum n_k (m_k - m)^2 / (k - 1)] / [sum (n_k - 1) s_k^2 / (N - k)],
    with m the grand mean; equal to ``scipy.stats.f_oneway`` on the raw data.
    """
    n, mean, sd = (np.asarray(a, dtype=float) for a in (n, mean, sd))
    k, total = len(n), n.sum()
    grand = (n * mean).sum() / total
    between = (n * (mean - grand) ** 2).sum() / (k - 1)
    within = ((n - 1) * sd**2).sum() / (total - k)
    if within == 0:
        return np.nan
    return float(stats.f.sf(between / within, k - 1, total - k))


# Why an SMD is not given (the display shows a dash and this reason in a footnote).
SMD_ONE_GROUP = "fewer than two groups have values to compare"
SMD_NO_SPREAD = "no spread within the groups compared, so there is nothing to standardise by"
# A pooled variance this small relative to the values' scale is zero up to rounding.
SPREAD_TOLERANCE = 1e-10


def continuous_smd(mean: np.ndarray, sd: np.ndarray) -> float:
    """Absolute standardised mean difference (Cohen's d with the average variance).

    For groups a and b, ``|m_b - m_a| / sqrt((s_a^2 + s_b^2) / 2)`` (Austin
    2009; the definition of ``tableone`` and R's ``tableone``). With more than
    two groups, the mean of all pairwise SMDs (as R's ``tableone`` prints).
    NaN where it is not defined; :func:`continuous_smd_checked` says why.
    """
    return continuous_smd_checked(mean, sd)[0]


def continuous_smd_checked(mean: np.ndarray, sd: np.ndarray) -> tuple[float, str]:
    """:func:`continuous_smd` and, when it is not defined, the reason (else ``""``).

    Not defined with fewer than two groups (:data:`SMD_ONE_GROUP`), or when a
    pair of groups has no spread at all: both SDs zero, where the formula
    divides by zero (:data:`SMD_NO_SPREAD`; "zero" is below
    :data:`SPREAD_TOLERANCE` times the larger absolute mean, so that rounding
    in an SD of constant values cannot give an SMD of 1e8). One group without
    spread and another with some is defined: the average variance is then
    half the other group's.

    Tested by hand (one group constant: ``|m_b - m_a| / sqrt(s_b^2 / 2)``;
    both constant; SDs of 1e-17) and against ``tableone`` where defined
    (``tests/test_table_one_honest.py``, 1e-9).

    Reference: Austin PC. Balance diagnostics for comparing the distribution
    of baseline covariates between treatment groups in propensity-score
    matched samples. Stat Med 2009;28:3083-3107.

    Examples
    --------
    >>> continuous_smd_checked(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    (1.0, '')
    >>> continuous_smd_checked(np.array([1.0, 2.0]), np.array([0.0, 0.0]))[1] == SMD_NO_SPREAD
    True
    """
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    if len(mean) < 2:
        return np.nan, SMD_ONE_GROUP
    pairs = []
    for a, b in combinations(range(len(mean)), 2):
        pooled = np.sqrt((sd[a] ** 2 + sd[b] ** 2) / 2)
        scale = max(abs(mean[a]), abs(mean[b]))
        if not np.isfinite(pooled) or pooled == 0 or pooled <= SPREAD_TOLERANCE * scale:
            return np.nan, SMD_NO_SPREAD
        pairs.append(abs(mean[b] - mean[a]) / pooled)
    return float(np.mean(pairs)), ""


def categorical_smd(proportions: np.ndarray) -> float:
    """Standardised mean difference of a categorical variable (Yang & Dalton 2012).

    For groups a and b with level proportions p_a, p_b (first level dropped),
    ``sqrt((p_b - p_a)' S^-1 (p_b - p_a))`` with ``S = (S_a + S_b) / 2`` and
    ``S_g = diag(p_g) - p_g p_g'``. For a binary variable this is
    ``|p_b - p_a| / sqrt((p_a(1-p_a) + p_b(1-p_b)) / 2)``. Levels absent from
    both groups carry no information and are dropped (they would make S
    singular). With more than two groups, the mean of the pairwise SMDs.
    NaN where it is not defined; :func:`categorical_smd_checked` says why.

    Reference: Yang D, Dalton JE. A unified approach to measuring the effect
    size between two groups using SAS. SAS Global Forum 2012, paper 335.
    """
    return categorical_smd_checked(proportions)[0]


def categorical_smd_checked(proportions: np.ndarray) -> tuple[float, str]:
    """:func:`categorical_smd` and, when it is not defined, the reason (else ``""``).

    ``proportions`` is groups x levels, one row per group with known values.
    Not defined with fewer than two groups (:data:`SMD_ONE_GROUP`), or when
    the average covariance ``S`` of a pair is singular
    (:data:`SMD_NO_SPREAD`): both groups have all their respondents in one
    and the same level, or the levels of one group do not overlap the other's
    (all of group a in level 1, group b spread over levels 2 and 3), where
    ``S^-1`` does not exist and a solver returns 1e8 from rounding. "Singular"
    is a smallest eigenvalue below :data:`SPREAD_TOLERANCE` times the largest.
    A level empty in one group and not in the other is fine: ``S`` stays
    invertible.

    Tested by hand (binary with all of one group in a level; an empty
    level; disjoint levels with inexact proportions) and against
    ``tableone`` where defined (``tests/test_table_one_honest.py``, 1e-9).

    Examples
    --------
    >>> categorical_smd_checked(np.array([[0.5, 0.5], [0.2, 0.8]]))[0]  # doctest: +ELLIPSIS
    0.6625...
    >>> categorical_smd_checked(np.array([[1.0, 0, 0], [0, 0.5, 0.5]]))[1] == SMD_NO_SPREAD
    True
    """
    proportions = np.asarray(proportions, dtype=float)
    if proportions.shape[0] < 2:
        return np.nan, SMD_ONE_GROUP
    pairs = []
    for a, b in combinations(range(proportions.shape[0]), 2):
        pa, pb = proportions[a], proportions[b]
        present = (pa > 0) | (pb > 0)
        pa, pb = pa[present][1:], pb[present][1:]
        if pa.size == 0:
            return np.nan, SMD_NO_SPREAD
        cov = (_multinomial_cov(pa) + _multinomial_cov(pb)) / 2
        eigen = np.linalg.eigvalsh(cov)
        if eigen.max() <= 0 or eigen.min() <= SPREAD_TOLERANCE * eigen.max():
            return np.nan, SMD_NO_SPREAD
        diff = pb - pa
        pairs.append(float(np.sqrt(max(diff @ np.linalg.solve(cov, diff), 0.0))))
    return float(np.mean(pairs)), ""


def _multinomial_cov(p: np.ndarray) -> np.ndarray:
    return np.diag(p) - np.outer(p, p)


def wilson_interval(
    events: np.ndarray | float, n: np.ndarray | float, z: float = Z_95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion.

    With p = events / n: centre ``(p + z^2/2n) / (1 + z^2/n)``, half-width
    ``z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2)``. ``n`` may be a Kish
    effective sample size and ``events`` then ``p * n``. NaN where n = 0.

    Reference: Wilson EB. Probable inference, the law of succession, and
    statistical inference. J Am Stat Assoc 1927;22:209-212.
    """
    events = np.asarray(events, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = events / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)
