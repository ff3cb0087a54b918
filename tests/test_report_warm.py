"""Kernels made ready while the run validates and fits (analysis.report.warm)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import nbformat
import pytest

from _notebooks import write_notebook
from analysis import load_survey
from analysis.report import build, render_reports, run_notebook
from analysis.report import warm as warm_module
from analysis.report.cache import (
    FOLDER,
    MANIFEST,
    prefetch_survey,
    read_cached_survey,
    survey_key,
    write_cached_survey,
)
from analysis.report.run import KernelGroup, LocalKernelManager
from analysis.report.warm import WarmKernel
from analysis.simulate import CODEBOOK_PATH, simulate_survey, write_survey

# what a notebook's kernel held before its first cell, and whether open_report took the
# survey read ahead (the prefetched survey is handed over once: none is left after)
PROBE = """\
import json, pathlib, sys
imported = "analysis.report.planned" in sys.modules
from analysis.report import cache, open_report
held = len(cache._PREFETCHED)
report = open_report(NAME, data, codebook, out_dir=out_dir, threshold=threshold)
folder = pathlib.Path(out_dir) / "tables"
folder.mkdir(exist_ok=True)
(folder / (NAME + ".json")).write_text(json.dumps(
    {"imported": imported, "held": held, "left": len(cache._PREFETCHED),
     "rows": len(report.survey.data)}))
"""


def _probe(path: Path) -> Path:
    return write_notebook(path, "data = None\ncodebook = None\nout_dir = None\nthreshold = 5\n"
                          "rounding = None\non_invalid = \"exclude\"",
                          PROBE.replace("NAME", repr(path.stem)))


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> Path:
    return write_survey(simulate_survey(400, seed=11), tmp_path_factory.mktemp("w") / "s.csv")


@pytest.mark.slow
def test_every_notebook_starts_with_imports_done_and_the_survey_read(survey, tmp_path):
    probes = [_probe(tmp_path / f"probe{i}.ipynb") for i in range(3)]
    out = tmp_path / "reports"
    render_reports(survey, CODEBOOK_PATH, out, notebooks=probes, progress=False, jobs=2)
    seen = {p.stem: json.loads((out / "tables" / f"{p.stem}.json").read_text()) for p in probes}
    n = len(load_survey(survey, CODEBOOK_PATH, on_invalid="exclude").data)
    assert seen == {p.stem: {"imported": True, "held": 1, "left": 0, "rows": n} for p in probes}


@pytest.mark.slow
def test_beyond_four_notebooks_kernels_start_as_before(survey, tmp_path):
    probes = [_probe(tmp_path / f"p{i}.ipynb") for i in range(build.WARM_KERNELS + 1)]
    out = tmp_path / "reports"
    render_reports(survey, CODEBOOK_PATH, out, notebooks=probes, progress=False, jobs=2)
    seen = [json.loads((out / "tables" / f"{p.stem}.json").read_text()) for p in probes]
    assert [s["held"] for s in seen] == [1] * build.WARM_KERNELS + [0]
    assert [s["imported"] for s in seen] == [True] * build.WARM_KERNELS + [False]
    assert len({s["rows"] for s in seen}) == 1  # the last read the cache itself


@pytest.mark.slow
def test_a_warm_kernel_that_fails_leaves_the_notebook_its_own(survey, tmp_path, monkeypatch,
                                                             caplog):
    launch = LocalKernelManager._async_launch_kernel
    calls = []

    async def flaky(self, kernel_cmd, **kw):
        calls.append(1)
        if len(calls) == 1:  # the warm kernel's start
            raise RuntimeError("no kernel today")
        return await launch(self, kernel_cmd, **kw)

    monkeypatch.setattr(LocalKernelManager, "_async_launch_kernel", flaky)
    probe = _probe(tmp_path / "probe.ipynb")
    out = tmp_path / "reports"
    with caplog.at_level(logging.INFO, logger="analysis.report"):
        render_reports(survey, CODEBOOK_PATH, out, notebooks=[probe], progress=False)
    seen = json.loads((out / "tables" / "probe.json").read_text())
    assert seen["imported"] is False and seen["held"] == 0 and seen["rows"] > 0
    assert len(calls) == 2
    assert "a kernel made ready ahead failed (RuntimeError: no kernel today); the notebook " \
           "starts its own" in caplog.text


@pytest.mark.slow
def test_a_warm_kernel_runs_the_notebook_and_is_shut_down_after(tmp_path):
    group = KernelGroup()
    kernel = WarmKernel(tmp_path, {"WARM_TEST": "yes"}, group)
    path = _probe(tmp_path / "probe.ipynb")
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = "import os, sys\nprint(os.environ['WARM_TEST'], " \
                         "'analysis.figures' in sys.modules, os.getcwd())"
    nbformat.write(nb, path)
    executed = run_notebook(path, {}, cwd=tmp_path, kernels=group, warm=kernel)
    assert executed.cells[-1].outputs[0]["text"] == f"yes True {tmp_path}\n"
    assert len(group) == 1 and group[0] is kernel.manager
    assert group[0].exit_status() is not None  # not left running
    assert not Path(kernel.kernel_log).parent.exists()


def test_a_prefetched_survey_is_handed_over_once_and_only_under_its_manifest(survey,
                                                                             tmp_path,
                                                                             monkeypatch):
    monkeypatch.setenv("BACKPAIN_REPORT_SECRET", "secret of the run")
    validated = load_survey(survey, CODEBOOK_PATH, on_invalid="exclude")
    key = survey_key(survey, CODEBOOK_PATH, "exclude")
    write_cached_survey(validated, tmp_path, key)
    assert prefetch_survey(tmp_path, key, CODEBOOK_PATH) is True
    first = read_cached_survey(tmp_path, key, CODEBOOK_PATH)
    second = read_cached_survey(tmp_path, key, CODEBOOK_PATH)
    assert first is not second and first.data.equals(second.data)
    assert first.data.equals(validated.data)
    # the cache rewritten after the read ahead (a new manifest): read from the files
    assert prefetch_survey(tmp_path, key, CODEBOOK_PATH) is True
    fewer = validated.__class__(data=validated.data.iloc[:7], codebook=validated.codebook,
                                accounts=validated.accounts, source=validated.source)
    write_cached_survey(fewer, tmp_path, key)
    assert len(read_cached_survey(tmp_path, key, CODEBOOK_PATH).data) == 7
    # another key, no secret, no cache: nothing read, nothing raised
    assert prefetch_survey(tmp_path, "another key", CODEBOOK_PATH) is False
    (tmp_path / FOLDER / MANIFEST).unlink()
    assert prefetch_survey(tmp_path, key, CODEBOOK_PATH) is False


def test_the_prefetch_code_names_the_run_folder_key_and_codebook(tmp_path):
    code = warm_module.survey_prefetch(tmp_path, "k3y", CODEBOOK_PATH)
    assert code == ("from analysis.report.cache import prefetch_survey\n"
                    f"prefetch_survey({str(tmp_path)!r}, 'k3y', {str(CODEBOOK_PATH)!r})")
