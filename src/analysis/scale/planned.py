"""The models of an analysis plan fitted on a :class:`~analysis.scale.lazy.LazySurvey`.

A logistic model without a survey design, interactions, imputation or
Firth's penalty is fitted exactly on all rows: on DuckDB covariate patterns
when its variables are all coded, and by one aggregate scan per Newton
iteration (:func:`analysis.scale.scanfit.logistic_scans`) when one is
continuous (which makes nearly every row a pattern). With a Dask scheduler
(:func:`scheduler`: the ``BACKPAIN_DASK_SCHEDULER`` environment variable,
``backpain report --scheduler``) both the patterns and the scans are summed on
the cluster. Any other model (design-based, Firth, with interactions,
multiply imputed, counts, ordinal) is fitted in memory on the report's
stated random sample, and its result carries a notice that says so.
"""

from __future__ import annotations

import os

import numpy as np

from analysis.errors import BackpainError
from analysis.plan import ModelPlan, fit_in_memory
from analysis.scale.sql import CODED

SCHEDULER = "BACKPAIN_DASK_SCHEDULER"  # "tcp://host:8786", or "local" for a LocalCluster


def aggregate_form(model: ModelPlan, impute: str | None) -> bool:
    """Whether the planned model is fitted on DuckDB aggregates (else on the sample)."""
    # Firth's profile intervals and penalised LR tests need the rows; Firth is for
    # small samples anyway
    return (model.model == "logistic" and not model.design
            and not model.interactions and impute is None)


def lazy_fitter(lazy, sample_size: int):
    """A ``fitter`` for :func:`analysis.plan.fit_plan`: aggregates where they exist, else a sample.

    ``survey`` given to the fitter is the report's sample, with the plan's
    ``per`` steps in its codebook, which the aggregate fits use too.
    """

    def fit(survey, model: ModelPlan, impute: str | None = None):
        if model.adjustment_sets:  # a causal diagram: each exposure in a model of its own
            from analysis.plan.causal import fit_by_adjustment_set

            # out of core the crude models are fitted anyway (aggregates are cheap)
            return fit_by_adjustment_set(model, lambda m, crude=True: fit(survey, m, impute))
        variables = [*model.exposures, *model.adjust_for]
        continuous = [v for v in variables if survey.codebook[v].type not in CODED]
        client = cluster()
        if aggregate_form(model, impute) and not continuous:
            if client is not None:
                from analysis.scale.fit import logistic_from_patterns

                patterns = _dask_rows(lazy, model, client).patterns(lazy.codebook)
                return logistic_from_patterns(patterns, survey.codebook, model.outcome,
                                              model.exposures, model.adjust_for,
                                              n_read=lazy.n_analysed)
            return lazy.logistic(model.outcome, model.exposures, model.adjust_for,
                                 codebook=survey.codebook)
        if aggregate_form(model, impute):
            # With a continuous covariate nearly every row is its own pattern: exact
            # Newton-Raphson, one aggregate scan per iteration, started on the sample.
            return _scans(lazy, survey, model, client, sample_size)
        result = fit_in_memory(survey, model, impute)
        if lazy.n_analysed > len(survey.data):
            result.notify("method", f"Fitted on a random sample of {len(survey.data):,} of "
                          f"the {lazy.n_analysed:,} respondents analysed: this model has no "
                          "aggregate form in the out-of-core report.")
        return result

    return fit


def _dask_rows(lazy, model: ModelPlan, client):
    from analysis.scale.rows import DaskRows

    return DaskRows(lazy, model.outcome, [*model.exposures, *model.adjust_for], client)


def _scans(lazy, survey, model: ModelPlan, client, sample_size: int):
    from analysis.scale.irls import reported_step
    from analysis.scale.rows import DuckRows
    from analysis.scale.scanfit import logistic_scans

    variables = list(dict.fromkeys([*model.exposures, *model.adjust_for]))
    cb = survey.codebook
    steps = {v: reported_step(lazy, v, cb[v]) for v in variables
             if cb[v].type not in CODED and cb[v].per in ("sd", "iqr")}
    rows = (_dask_rows(lazy, model, client) if client is not None
            else DuckRows(lazy, model.outcome, variables))
    start = None
    if lazy.n_analysed > len(survey.data):  # the sample's estimate: two or three scans
        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = fit_in_memory(survey, model, None)
        except (BackpainError, np.linalg.LinAlgError):  # a start only; the scans stand alone
            start = None
    return logistic_scans(rows, survey, model.outcome, model.exposures, model.adjust_for,
                          n_read=lazy.n_analysed, steps=steps, start=start)


_CLIENTS: dict[str, object] = {}


def cluster():
    """The ``distributed.Client`` of :data:`SCHEDULER` (one per process), or None when unset.

    ``"local"`` starts a ``LocalCluster`` on this machine (processes, one
    thread each); any other value is a scheduler address.
    """
    address = os.environ.get(SCHEDULER, "").strip()
    if not address:
        return None
    if address not in _CLIENTS:
        from distributed import Client

        _CLIENTS[address] = Client(local_cluster() if address == "local" else address)
    return _CLIENTS[address]


def local_cluster(workers: int = 2):
    """A ``distributed.LocalCluster`` of ``workers`` processes, one thread each, no dashboard."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                        dashboard_address=None)


def close_clients() -> None:
    """Close the clients :func:`cluster` opened in this process."""
    for client in _CLIENTS.values():
        client.close()
    _CLIENTS.clear()
