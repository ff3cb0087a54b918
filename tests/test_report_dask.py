"""The report of a Parquet folder with its model aggregates and IRLS scans on a Dask cluster.

A 2-worker ``LocalCluster`` (processes) stands for a real scheduler: the
report's notebook kernels find its address in ``BACKPAIN_DASK_SCHEDULER`` (as
``backpain report --scheduler tcp://...`` sets it) and send the covariate
patterns of factor-only models and every Newton scan, standardisation and
count of the models with continuous covariates to it. Every number of
``results.json`` and of the tables is compared with the in-memory report of
the same 2,000 respondents (numpy Newton on the rows: an independent
computation), and the scheduler's task names show the work ran there.
"""

from __future__ import annotations

import json

import distributed
import pandas as pd
import pytest

from _parquet_cohort import parquet_cohort
from analysis.report import render_reports
from analysis.report.build import report_notebooks
from analysis.scale.planned import SCHEDULER

N, FILES = 2_000, 4
DIFFERENT = ("Data file", "Data sha256", "Parameter data")  # the two inputs' names


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dask_report")
    whole, folder, codebook = parquet_cohort(tmp, N, seed=11, files=FILES)
    notebooks = report_notebooks()[:3]
    render_reports(whole, codebook, tmp / "memory", notebooks=notebooks, progress=False)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SCHEDULER, cluster.scheduler_address)
        render_reports(folder, codebook, tmp / "dask", notebooks=notebooks, progress=False)
    tasks = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    client.close()
    cluster.close()
    return tmp / "memory", tmp / "dask", tasks


def _without_inputs(record: dict) -> dict:
    for notebook in record.values():
        rows = notebook["provenance"]["rows"]
        notebook["provenance"]["rows"] = [r for r in rows if r[0] not in DIFFERENT]
    return record


def test_the_models_ran_on_the_cluster(reports):
    *_, tasks = reports
    # files validated on the workers, Newton scans, standardisation, predictions for the
    # model's performance and the patterns of the factor-only models (Dask names a task by
    # its function, without the leading underscore)
    assert {"decode", "scan", "margins", "accounts", "levels", "predictions",
            "pattern_counts"} <= set(tasks)


def test_every_number_of_results_json_is_the_in_memory_one(reports):
    memory, dask, _ = reports
    memory, dask = (_without_inputs(json.loads((d / "results.json").read_text(encoding="utf-8")))
                    for d in (memory, dask))
    assert set(memory) == {"01_data_quality", "02_descriptives", "03_risk_factors"}
    for notebook in memory:
        assert sorted(dask[notebook]) == sorted(memory[notebook]), notebook
        for key in memory[notebook]:
            assert dask[notebook][key] == memory[notebook][key], (notebook, key)
    models = [k for k in memory["03_risk_factors"] if k.startswith("model_")]
    assert models and any(len(memory["03_risk_factors"][k]["rows"]) > 10 for k in models)


def test_rendered_tables_are_the_in_memory_ones(reports):
    memory, dask, _ = reports
    names = sorted(p.name for p in (memory / "tables").glob("*.csv"))
    assert names == sorted(p.name for p in (dask / "tables").glob("*.csv")) and len(names) > 10
    for name in names:
        a = pd.read_csv(memory / "tables" / name, dtype=str, keep_default_na=False)
        b = pd.read_csv(dask / "tables" / name, dtype=str, keep_default_na=False)
        if name.endswith("_provenance.csv"):
            a, b = (t[~t["Item"].isin(DIFFERENT)].reset_index(drop=True) for t in (a, b))
        pd.testing.assert_frame_equal(a, b, obj=name)
