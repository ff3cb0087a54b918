"""`backpain --help` stays light: no pandas, DuckDB or statsmodels before a command runs."""

import subprocess
import sys

import pytest

COMMANDS = [[], ["init"], ["validate"], ["simulate"], ["score"], ["describe"], ["fit"],
            ["report"], ["datasets"], ["datasets", "list"]]
HEAVY = ("pandas", "numpy", "duckdb", "statsmodels", "matplotlib", "pyarrow", "pydantic")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "backpain")
def test_help_imports_nothing_heavy_and_fits_80_columns(command):
    probe = (
        "import sys\n"
        "from analysis.cli import main\n"
        f"status = main({[*command, '--help']!r})\n"
        f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "sys.exit(status)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={"COLUMNS": "80", "PATH": "/usr/bin:/bin",
                              "PYTHONPATH": ":".join(sys.path)}, timeout=120)
    assert run.returncode == 0, run.stderr
    *text, heavy = run.stdout.rstrip("\n").splitlines()
    assert heavy == "HEAVY []"
    assert text[0].startswith("Usage: backpain")
    assert max(len(line) for line in text) <= 80


def test_the_cli_defaults_repeat_the_librarys():
    from analysis.cli import report, simulate
    from analysis.privacy import DEFAULT_THRESHOLD
    from analysis.report.build import JOBS
    from analysis.report.run import CELL_TIMEOUT
    from analysis.simulate import EXAMPLE_SEED

    assert (report.DEFAULT_THRESHOLD, report.JOBS, report.CELL_TIMEOUT) == (
        DEFAULT_THRESHOLD, JOBS, CELL_TIMEOUT)
    assert simulate.EXAMPLE_SEED == EXAMPLE_SEED


def test_every_command_reading_a_survey_defaults_to_exclude():
    import inspect

    from analysis.cli import describe, fit, report, score, validate
    from analysis.cli.common import ON_INVALID

    assert ON_INVALID == "exclude"
    for module, name in ((describe, "describe"), (fit, "fit"), (report, "report"),
                         (score, "score"), (validate, "validate")):
        default = inspect.signature(getattr(module, name)).parameters["on_invalid"].default
        assert default == "exclude", name


def test_library_hints_name_flags():
    from analysis.cli import as_flags

    assert as_flags("Or load with on_invalid='exclude' to set these rows aside.") == (
        "Or run with --on-invalid exclude to set these rows aside.")
    assert as_flags("remove the repeated rows, or use on_invalid='exclude' to keep the first") \
        == "remove the repeated rows, or run with --on-invalid exclude to keep the first"
    assert as_flags("sheet= (--sheet) applies to Excel") == "sheet= (--sheet) applies to Excel"
    assert as_flags("refit with firth=True or merge levels") == "refit with --firth or merge levels"


def test_fit_turns_library_warnings_into_short_lines():
    import warnings

    from analysis.cli.fit import short_warnings
    from analysis.errors import BackpainWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("Maximum Likelihood optimization failed to converge. Check mle_retvals",
                      UserWarning, stacklevel=1)
        warnings.warn("Maximum Likelihood optimization failed to converge. Check mle_retvals",
                      UserWarning, stacklevel=1)
        warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=1)
        warnings.warn("Model 'adjusted': separation in posture", BackpainWarning, stacklevel=1)
    assert short_warnings(caught) == [
        "a model did not converge: its odds ratios are unreliable (try --firth)",
        "a model's estimates diverge (separation?): try --firth",
        "Model 'adjusted': separation in posture",
    ]


def test_progress_shows_only_for_large_files_on_a_terminal(tmp_path, monkeypatch):
    import contextlib

    from analysis.cli import common

    small = tmp_path / "s.csv"
    small.write_text("a\n1\n")
    assert isinstance(common.working(small, "validating"), contextlib.nullcontext)
    monkeypatch.setattr(common, "LARGE_FILE", 1)
    # Not a terminal (pytest captures): still nothing, so logs hold no spinner frames.
    assert isinstance(common.working(small, "validating"), contextlib.nullcontext)
    monkeypatch.setattr(common, "console", lambda **o: __import__("rich.console").console
                        .Console(force_terminal=True, **o))
    progress = common.working(small, "validating")
    assert type(progress).__name__ == "Progress"
