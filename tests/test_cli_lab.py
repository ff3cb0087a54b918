"""JupyterLab is part of the environment that `make test` builds, and it starts."""

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_jupyterlab_is_installed_with_the_package():
    lab = importlib.import_module("jupyterlab")
    major = int(lab.__version__.split(".")[0])
    assert major >= 4
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "jupyterlab>=4.2" in deps


def test_jupyter_lab_version_runs():
    jupyter = Path(sys.executable).with_name("jupyter")
    run = subprocess.run([str(jupyter), "lab", "--version"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == importlib.import_module("jupyterlab").__version__


def test_make_lab_opens_the_notebooks():
    makefile = (ROOT / "Makefile").read_text()
    assert "lab: $(STAMP)\n\t$(BIN)/jupyter lab notebooks/\n" in makefile
    # Installation talks: no --quiet on the pip lines.
    assert "--quiet" not in makefile


def test_licence_is_an_spdx_string():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]
