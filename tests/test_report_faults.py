"""Reports under load and faults: runs at once, killed runs, interrupts, planted cache files.

The slow tests start real kernels; they use a 300-row survey, one report
notebook (01_data_quality) and tiny notebooks of their own, so together they
take about a minute and a half on two cores.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from _notebooks import write_notebook
from analysis import load_survey
from analysis.errors import ReportError
from analysis.report import build, open_report, render_reports, run_folder, run_notebook
from analysis.report.cache import (
    DATA,
    FOLDER,
    MANIFEST,
    SECRET_ENV,
    read_cached_survey,
    survey_key,
    write_cached_survey,
)
from analysis.report.run import LocalKernelManager
from analysis.report.run_folder import check_report_folder, remove_stale_runs
from analysis.simulate import CODEBOOK_PATH, simulate_survey, write_survey

ROOT = Path(__file__).resolve().parents[1]
QUALITY = build.NOTEBOOKS / "01_data_quality.ipynb"
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg"}
RENDER = ("import sys\nfrom analysis.report import render_reports\n"
          "render_reports(sys.argv[1], sys.argv[2], sys.argv[3], notebooks=sys.argv[4:], "
          "progress=False)\n")


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> Path:
    return write_survey(simulate_survey(300, seed=7), tmp_path_factory.mktemp("f") / "s.csv")


@pytest.fixture(scope="module")
def lone(survey, tmp_path_factory) -> Path:
    """A report made by a run alone on the machine."""
    out = tmp_path_factory.mktemp("lone") / "reports"
    render_reports(survey, CODEBOOK_PATH, out, notebooks=[QUALITY], progress=False)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def _kernels(parent: int) -> list[psutil.Process]:
    """The kernels started by process ``parent`` (jupyter_client sets JPY_PARENT_PID)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("JPY_PARENT_PID") == str(parent):
                found.append(process)
        except psutil.Error:
            continue
    return found


def _wait_for(predicate, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def _notebook(path: Path, *sources: str) -> Path:
    return write_notebook(path, "out_dir = 'reports'", *sources)


WRITE = ("import pathlib\np = pathlib.Path(out_dir) / 'tables'\np.mkdir(exist_ok=True)\n"
         "(p / 'tiny_x.csv').write_text('a\\n1\\n')")


# ---- nothing executable from disk --------------------------------------------------------
class _Planted:
    """Unpickling this creates ``flag``: proof that a pickle was loaded."""

    def __init__(self, flag: Path):
        self.flag = flag

    def __reduce__(self):
        return (open, (str(self.flag), "w"))


def test_a_planted_cache_is_rejected_not_read(survey, tmp_path, monkeypatch):
    key = survey_key(survey, CODEBOOK_PATH, "exclude")
    flag = tmp_path / "code-ran"
    cache = tmp_path / FOLDER
    cache.mkdir()
    # the cache of an older version, or of someone who can write the output folder
    (cache / "survey.pickle").write_bytes(pickle.dumps(_Planted(flag)))
    (cache / MANIFEST).write_text(f'{{"key": "{key}"}}\n', encoding="utf-8")
    monkeypatch.setenv(SECRET_ENV, "secret of the run")
    assert read_cached_survey(tmp_path, key, CODEBOOK_PATH) is None
    session = open_report("x", survey, CODEBOOK_PATH, out_dir=tmp_path)
    assert len(session.survey.data) == len(load_survey(survey, CODEBOOK_PATH, on_invalid="exclude").data)
    assert not flag.exists()

    # a cache signed with another secret (its file hashes are right)
    small = load_survey(survey, CODEBOOK_PATH, on_invalid="exclude")
    small = type(small)(data=small.data.iloc[:10], codebook=small.codebook,
                        accounts=small.accounts, source=small.source)
    write_cached_survey(small, tmp_path, key, secret="someone else's")
    assert read_cached_survey(tmp_path, key, CODEBOOK_PATH) is None
    assert len(open_report("x", survey, CODEBOOK_PATH, out_dir=tmp_path).survey.data) > 10
    # a signed cache whose data were swapped afterwards
    write_cached_survey(small, tmp_path, key)
    assert len(read_cached_survey(tmp_path, key, CODEBOOK_PATH).data) == 10
    small.data.iloc[:5].to_parquet(cache / DATA)
    assert read_cached_survey(tmp_path, key, CODEBOOK_PATH) is None
    # outside a report run (no secret) no cache is read at all
    write_cached_survey(small, tmp_path, key)
    monkeypatch.delenv(SECRET_ENV)
    assert read_cached_survey(tmp_path, key, CODEBOOK_PATH) is None


def test_no_pickle_is_loaded_anywhere_in_the_package():
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in (ROOT / "src").rglob("*.py")
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if "pickle" in line]
    assert offenders == []


# ---- the output folder ----------------------------------------------------------------
def test_a_folder_holding_other_files_is_refused_before_anything_runs(tmp_path):
    check_report_folder(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_report_folder(tmp_path / "empty")
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.docx").write_text("years of work")
    with pytest.raises(ReportError, match=r"holds files that are not a report \(thesis.docx\)"):
        render_reports(CODEBOOK_PATH, CODEBOOK_PATH, home, notebooks=[QUALITY], progress=False)
    assert sorted(p.name for p in home.iterdir()) == ["thesis.docx"]
    assert _siblings(home) == []


def test_stale_folders_of_killed_runs_are_removed_and_no_other(tmp_path):
    out = tmp_path / "reports"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    me = run_folder._me()

    def plant(token: str, owner: dict | None, suffix: str = "") -> Path:
        folder = tmp_path / f".reports.backpain-{token}{suffix}"
        folder.mkdir()
        (folder / "page.html").write_text("x")
        if owner is not None:
            (tmp_path / f".reports.backpain-{token}.pid").write_text(
                json.dumps(owner))
        return folder

    killed = plant("a" * 12, {**me, "pid": dead.pid})
    reused = plant("b" * 12, {**me, "started": (me["started"] or 0) + 1})  # our pid, reused
    running = plant("c" * 12, me)
    foreign = plant("d" * 12, None)
    elsewhere = plant("e" * 12, {**me, "host": "another-machine", "pid": dead.pid})
    aside = plant("f" * 12, {**me, "pid": dead.pid}, ".old")
    removed = remove_stale_runs(out)
    if me["started"] is None:  # no /proc: a reused pid cannot be told apart
        reused = None
    assert sorted(removed) == sorted(p for p in (killed, reused, aside) if p is not None)
    for kept in (running, foreign, elsewhere):
        assert kept.is_dir()
    assert not (tmp_path / f".reports.backpain-{'a' * 12}.pid").exists()


# ---- kernels ----------------------------------------------------------------------------
@pytest.mark.slow
def test_a_kernel_that_fails_to_start_is_started_once_more(tmp_path, monkeypatch, caplog):
    launch = LocalKernelManager._async_launch_kernel
    calls = []

    async def flaky(self, kernel_cmd, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel didn't respond in 180 seconds")
        return await launch(self, kernel_cmd, **kw)

    monkeypatch.setattr(LocalKernelManager, "_async_launch_kernel", flaky)
    path = _notebook(tmp_path / "tiny.ipynb", "print(6 * 7)")
    with caplog.at_level("WARNING", logger="analysis.report"):
        executed = run_notebook(path, {})
    assert executed.cells[-1].outputs[0]["text"] == "42\n"
    assert len(calls) == 2
    assert "tiny.ipynb: the kernel did not start (RuntimeError: Kernel didn't respond in 180 " \
           "seconds); starting it once more." in caplog.text


@pytest.mark.slow
def test_a_dead_kernel_is_reported_and_the_previous_report_kept(tmp_path):
    out = tmp_path / "reports"
    render_reports(CODEBOOK_PATH, CODEBOOK_PATH, out, progress=False,
                   notebooks=[_notebook(tmp_path / "tiny.ipynb", WRITE)])
    before = _files(out)
    assert "tables/tiny_x.csv" in before and "index.html" in before
    dies = _notebook(tmp_path / "dies.ipynb", WRITE,
                     "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "print('never')")
    with pytest.raises(ReportError) as info:
        render_reports(CODEBOOK_PATH, CODEBOOK_PATH, out, progress=False, notebooks=[dies])
    assert str(info.value).startswith(
        "Notebook dies.ipynb, cell 3 (import os, signal): DeadKernelError: Kernel died; the "
        "kernel was killed by SIGKILL: most likely it ran out of memory")
    assert _files(out) == before
    assert _siblings(out) == []


@pytest.mark.slow
def test_four_runs_at_once_under_load_all_succeed_with_identical_results(survey, lone, tmp_path):
    # two busy loops take the machine's two cores; bounded, and killed at the end
    load = [subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 150\n"
                              "while time.time() < end: pass"]) for _ in range(2)]
    outs = [tmp_path / "a", tmp_path / "b", tmp_path / "shared", tmp_path / "shared"]
    try:
        start = time.monotonic()
        runs = [subprocess.Popen([sys.executable, "-c", RENDER, str(survey), str(CODEBOOK_PATH),
                                  str(out), str(QUALITY)], env=ENV, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for out in outs]
        done = [run.communicate(timeout=240) for run in runs]
        seconds = time.monotonic() - start
    finally:
        for process in load:
            process.kill()
            process.wait()
    assert [run.returncode for run in runs] == [0, 0, 0, 0], [err[-2000:] for _, err in done]
    expected = (lone / "results.json").read_bytes()
    for out in outs:
        assert (out / "results.json").read_bytes() == expected
        assert (out / "01_data_quality.html").read_bytes() == \
            (lone / "01_data_quality.html").read_bytes()
        assert _siblings(out) == []
    print(f"four runs at once under load: {seconds:.1f} s")


@pytest.mark.slow
def test_a_run_killed_after_its_first_notebook_started_leaves_the_report(lone, tmp_path):
    out = tmp_path / "reports"
    shutil.copytree(lone, out)
    before = _files(out)
    sleeper = _notebook(tmp_path / "sleeps.ipynb", WRITE, "import time\ntime.sleep(60)")
    run = subprocess.Popen([sys.executable, "-c", RENDER, str(CODEBOOK_PATH),
                            str(CODEBOOK_PATH), str(out), str(sleeper)], env=ENV)
    try:
        assert _wait_for(lambda: _kernels(run.pid), 60), "no kernel started"
        assert _wait_for(lambda: any(
            (p / "tables" / "tiny_x.csv").exists() for p in tmp_path.glob(".reports.*")), 30)
        run.send_signal(signal.SIGKILL)
        run.wait()
        kernels = _kernels(run.pid)
        # ipykernel polls its parent every second and exits when it is gone
        assert _wait_for(lambda: not any(k.is_running() and k.status() != "zombie"
                                         for k in kernels), 10), kernels
    finally:
        run.kill()
    assert _files(out) == before
    left = _siblings(out)
    assert left  # the killed run's folder and owner file: removed by the next run
    assert remove_stale_runs(out) and _siblings(out) == []
    assert _files(out) == before


@pytest.mark.slow
def test_ctrl_c_stops_the_kernels_and_exits_130(survey, tmp_path):
    out = tmp_path / "reports"
    run = subprocess.Popen([sys.executable, "-m", "analysis.cli", "report", str(survey),
                            "--codebook", str(CODEBOOK_PATH), "--out", str(out)], env=ENV,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: _kernels(run.pid), 60), "no kernel started"
        kernels = _kernels(run.pid)
        time.sleep(0.5)
        stopped = time.monotonic()
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=30)
        seconds = time.monotonic() - stopped
    finally:
        run.kill()
    assert run.returncode == 130
    assert seconds < 15
    assert err.strip().splitlines()[-1] == f"interrupted: kernels stopped, {out} left as it was"
    assert "Traceback" not in err
    assert not any(k.is_running() and k.status() != "zombie" for k in kernels)
    assert not out.exists() and _siblings(out) == []


def test_the_cache_keeps_every_column_type(survey, tmp_path):
    survey_ = load_survey(survey, CODEBOOK_PATH, on_invalid="exclude")
    key = survey_key(survey, CODEBOOK_PATH, "exclude")
    write_cached_survey(survey_, tmp_path, key, secret="s")
    back = read_cached_survey(tmp_path, key, CODEBOOK_PATH, secret="s")
    pd.testing.assert_frame_equal(back.data, survey_.data, check_exact=True)
    assert [str(t) for t in back.data.dtypes] == [str(t) for t in survey_.data.dtypes]
    assert all(back.data[c].cat.categories.dtype == survey_.data[c].cat.categories.dtype
               and back.data[c].cat.ordered == survey_.data[c].cat.ordered
               for c in survey_.data.select_dtypes("category"))
    pd.testing.assert_frame_equal(back.ledger, survey_.ledger)


@pytest.mark.slow
def test_ctrl_c_stops_notebooks_running_side_by_side(tmp_path):
    # with --jobs the notebooks run in threads: the interrupt reaches the main thread only
    sleepers = [str(_notebook(tmp_path / f"s{i}.ipynb", "import time\ntime.sleep(60)"))
                for i in range(2)]
    code = ("import sys\nfrom analysis.report import render_reports\ntry:\n"
            "    render_reports(sys.argv[1], sys.argv[1], sys.argv[2], notebooks=sys.argv[3:],"
            " progress=False, jobs=2)\nexcept KeyboardInterrupt:\n    sys.exit(130)\n")
    out = tmp_path / "reports"
    run = subprocess.Popen([sys.executable, "-c", code, str(CODEBOOK_PATH), str(out), *sleepers],
                           env=ENV, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: len(_kernels(run.pid)) == 2, 60), "the kernels did not start"
        kernels = _kernels(run.pid)
        stopped = time.monotonic()
        run.send_signal(signal.SIGINT)
        run.wait(timeout=30)
        seconds = time.monotonic() - stopped
    finally:
        run.kill()
    assert run.returncode == 130 and seconds < 15
    assert not any(k.is_running() and k.status() != "zombie" for k in kernels)
    assert not out.exists() and _siblings(out) == []
