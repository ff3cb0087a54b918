"""Sandwich covariance matrices: heteroskedasticity-robust, cluster-robust, design-based.

All three are ``A^-1 M A^-1`` with ``A`` the (negative) Hessian of the
log-likelihood -- the "bread", whose inverse is the model-based covariance --
and ``M`` the "meat" built from per-row score contributions ``s_i``:

* ``HC0``: ``M = sum_i s_i s_i'`` (White 1980; Huber 1967).
* ``HC1``: HC0 times ``n / (n - k)``.
* ``cluster``: scores summed within clusters ``g``, ``M = sum_g S_g S_g'``,
  times ``G/(G-1) (n-1)/(n-k)`` (the small-sample factor Stata and
  statsmodels' ``cov_type="cluster"`` use).
* design-based (Taylor linearisation; Binder 1983): the scores, already
  multiplied by the sampling weights, are summed within PSUs; within each
  stratum ``h`` with ``n_h`` PSUs, ``M = sum_h n_h/(n_h-1) sum_i (z_hi -
  zbar_h)(z_hi - zbar_h)'`` -- PSUs taken as sampled with replacement, the
  default of R's ``survey::svydesign`` without ``fpc``.

Tested against statsmodels' ``cov_type="HC0"``, ``"HC1"`` and ``"cluster"``
fits of the same models, and (design) against the ``svy`` package and a
hand computation for a weighted mean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import ModelError

COV_TYPES = ("model", "robust", "HC0", "HC1", "cluster")


def check_cov_type(cov_type: str) -> str:
    """Normalise ``cov_type``: ``"robust"`` means HC0."""
    if cov_type not in COV_TYPES:
        raise ModelError(f"Unknown cov_type {cov_type!r}; use one of {', '.join(COV_TYPES)}.")
    return "HC0" if cov_type == "robust" else cov_type


def sandwich(bread: np.ndarray, scores: np.ndarray, cov_type: str,
             groups: np.ndarray | None = None) -> np.ndarray:
    """Robust covariance ``bread @ meat @ bread``.

    Parameters
    ----------
    bread : (k, k) model-based covariance (inverse negative Hessian).
    scores : (n, k) per-row contributions to the score at the estimate.
    cov_type : "HC0", "HC1" or "cluster".
    groups : (n,) cluster labels, for ``"cluster"``.

    Examples
    --------
    >>> cov = sandwich(fit.cov_params(), X * (y - p)[:, None], "HC0")  # doctest: +SKIP
    """
    n, k = scores.shape
    cov_type = check_cov_type(cov_type)
    if cov_type == "cluster":
        if groups is None:
            raise ModelError("cov_type='cluster' needs a cluster column.")
        codes, uniques = pd.factorize(pd.Series(groups), sort=True)
        g = len(uniques)
        if g < 2:
            raise ModelError(f"cov_type='cluster' needs 2 or more clusters; the data have {g}.")
        summed = np.zeros((g, k))
        np.add.at(summed, codes, scores)
        meat = summed.T @ summed * (g / (g - 1)) * ((n - 1) / (n - k))
    else:
        meat = scores.T @ scores
        if cov_type == "HC1":
            meat = meat * n / (n - k)
    return bread @ meat @ bread


_UNITS: list = []  # (strata, psu, n, result) of the last designs coded: arrays kept, not ids


def design_units(n: int, strata: np.ndarray | None, psu: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's PSU number and each PSU's stratum number, both 0-based and sorted.

    PSUs are numbered within strata in the order of (stratum, PSU label), as
    sorting the pairs would. A design's columns are coded once: the last two
    codings are kept with the very arrays they came from, since a report asks
    for dozens of estimates on one design. Each model takes the design's
    columns afresh from the survey (new arrays of the same values), so arrays
    that are not the kept ones are compared by value: the comparison costs a
    fifteenth of the coding (object columns of 10^6 rows: 0.06 s against 0.9 s).
    """
    for i, (kept_strata, kept_psu, kept_n, result) in enumerate(_UNITS):
        if kept_n != n:
            continue
        if kept_strata is strata and kept_psu is psu:
            return result
        if _same(kept_strata, strata) and _same(kept_psu, psu):
            # the new arrays too, so that their next call is found by identity
            _UNITS.insert(0, (strata, psu, n, result))
            del _UNITS[i + 1]
            del _UNITS[2:]
            return result
    result = _code_units(n, strata, psu)
    _UNITS.insert(0, (strata, psu, n, result))
    del _UNITS[2:]
    return result


def _code_units(n: int, strata: np.ndarray | None, psu: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:
    strata_codes = np.zeros(n, dtype=np.int64) if strata is None else pd.factorize(
        pd.Series(strata), sort=True)[0].astype(np.int64)
    if psu is None:
        units = np.arange(n)
    else:
        psu_codes = pd.factorize(pd.Series(psu), sort=True)[0].astype(np.int64)
        # (stratum, PSU) pairs as one integer in the pairs' sorted order
        units = pd.factorize(strata_codes * (int(psu_codes.max(initial=0)) + 1) + psu_codes,
                             sort=True)[0].astype(np.int64)
    unit_stratum = np.zeros(int(units.max(initial=-1)) + 1, dtype=np.int64)
    unit_stratum[units] = strata_codes
    return units, unit_stratum


def _same(kept: np.ndarray | None, given: np.ndarray | None) -> bool:
    """Do two design columns hold the same values in the same order (None: the same absence)?

    Element by element, as ``==`` compares labels; a label that is not equal to itself
    (NaN) makes the columns differ, and the design is coded again.
    """
    if kept is None or given is None:
        return kept is given
    if kept.shape != given.shape or kept.dtype != given.dtype:
        return False
    try:
        return bool(np.array_equal(kept, given))
    except TypeError:  # pd.NA among the labels: no answer, so not the same
        return False


def psu_totals(values: np.ndarray, units: np.ndarray, n_units: int,
               r: np.ndarray | None = None) -> np.ndarray:
    """Per PSU, the totals of the rows of ``values`` (n x k) times ``r`` (n,): (PSUs x k).

    One product of a sparse PSU-by-row indicator (holding ``r``) with
    row-major ``values``, or one weighted bincount per column of column-major
    ones: no n x k temporary is made (the scores ``X * r[:, None]`` of a
    10^6 x 35 design were a 280 MB copy).
    """
    from scipy import sparse

    n = values.shape[0]
    data = np.ones(n) if r is None else np.asarray(r, dtype=np.float64)
    if not values.flags.c_contiguous:
        # A column-major design (models.design builds them so): one bincount per column reads
        # each column in place, where the sparse product would first copy it to row-major.
        return np.column_stack([np.bincount(units, weights=values[:, j] * data,
                                            minlength=n_units)
                                for j in range(values.shape[1])])
    indicator = sparse.csr_matrix((data, (units, np.arange(n))), shape=(n_units, n))
    return np.asarray(indicator @ values)


def meat_of_totals(totals: np.ndarray, unit_stratum: np.ndarray) -> tuple[np.ndarray, int]:
    """Between-PSU variance within strata of PSU totals (PSUs x k), with replacement.

    Returns the meat and the design degrees of freedom (PSUs minus strata);
    see :func:`design_meat`. A stratum with a single PSU raises.
    """
    k = totals.shape[1]
    meat = np.zeros((k, k))
    n_strata = int(unit_stratum.max()) + 1
    per_stratum = np.bincount(unit_stratum, minlength=n_strata)
    lonely = np.flatnonzero(per_stratum == 1)
    if lonely.size:
        raise ModelError(f"{lonely.size} sampling strata have a single PSU (e.g. stratum number "
                         f"{int(lonely[0]) + 1}); a design-based variance needs 2 or more PSUs "
                         "per stratum. Collapse such strata with a neighbour.")
    for h in range(n_strata):
        z = totals[unit_stratum == h]
        if z.shape[0] == 0:
            continue
        centred = z - z.mean(axis=0)
        meat += centred.T @ centred * z.shape[0] / (z.shape[0] - 1)
    return meat, unit_stratum.size - int((per_stratum > 0).sum())


def design_meat(scores: np.ndarray, strata: np.ndarray | None, psu: np.ndarray | None,
                *, rows: np.ndarray | None = None, n: int | None = None,
                r: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Between-PSU variance of weighted score totals, within strata (with replacement).

    Returns the meat and the design degrees of freedom (PSUs minus strata).
    Without ``psu`` each row is its own PSU; without ``strata`` there is one
    stratum. A stratum with a single PSU cannot give a variance: that raises.
    With ``rows`` (positions among the design's ``n`` rows), ``scores`` are
    those rows' and every other row scores zero (a domain of the design).
    With ``r``, the scores are ``scores * r[:, None]`` (not formed: see
    :func:`psu_totals`). Rows may also be cells, aggregates of rows within one
    PSU, each placed at one of its rows: the PSU totals are the same sums.
    """
    k = scores.shape[1]
    n = scores.shape[0] if n is None else n
    units, unit_stratum = design_units(n, strata, psu)
    if rows is not None:
        units = units[rows]
    totals = psu_totals(scores, units, unit_stratum.size, r) if k \
        else np.zeros((unit_stratum.size, 0))
    return meat_of_totals(totals, unit_stratum)


def design_covariance(bread: np.ndarray, weighted_scores: np.ndarray,
                      strata: np.ndarray | None, psu: np.ndarray | None
                      ) -> tuple[np.ndarray, int]:
    """Taylor-linearised covariance (Binder 1983) and the design degrees of freedom."""
    meat, df = design_meat(weighted_scores, strata, psu)
    return bread @ meat @ bread, df


def robust_logistic_fit(fit, cov_type: str, groups: np.ndarray | None = None) -> None:
    """Replace a row-level logistic fit's covariance by a sandwich (scores ``x (y - p)``).

    The bread is the fit's model-based covariance (inverse information); the
    fit's ``cov_type`` becomes ``"HC0"``, ``"HC1"`` or ``"cluster"``; a cluster
    sandwich also sets ``fit.df_resid = G - 1`` (G clusters), so intervals use
    t and tests F on those df. Tested
    against R's ``sandwich::vcovHC(type = "HC0"/"HC1")`` and
    ``vcovCL(cluster = ~id, type = "HC1", cadjust = TRUE)`` (the R fixture
    ``logistic``; standard errors to 1e-7). ``vcovCL``'s default for a glm
    (type HC0) lacks the factor ``(n-1)/(n-k)`` and is smaller by that much.
    """
    from scipy.special import expit

    X = fit.design.X
    scores = X * (fit.y - expit(X @ fit.params))[:, None]
    cov_type = check_cov_type(cov_type)
    fit.cov = sandwich(fit.cov, scores, cov_type, groups)
    fit.cov_type = cov_type
    if cov_type == "cluster":
        # With few clusters the sandwich is estimated from G cluster sums: intervals use t
        # and tests F on G - 1 df (as Stata's vce(cluster)); z and chi-square are liberal
        # (10.8% for a 5% test of a 2-df term with 40 clusters, benchmarks/size_coverage.md).
        fit.df_resid = float(len(np.unique(groups)) - 1)


def cluster_column(survey, cov_type: str, cluster: str | None
                   ) -> tuple[str | None, np.ndarray | None]:
    """The column grouping rows for cluster-robust errors, and its value on every row.

    ``(None, None)`` unless ``cov_type == "cluster"``. The column is ``cluster``
    or else the codebook's variable with role cluster.
    """
    if cov_type != "cluster":
        return None, None
    cluster = cluster or survey.codebook.role("cluster")
    if cluster is None or cluster not in survey.data.columns:
        raise ModelError("cov_type='cluster' needs cluster= (a column) or a codebook "
                         "variable with role cluster.")
    return cluster, survey.data[cluster].astype(object).to_numpy()
