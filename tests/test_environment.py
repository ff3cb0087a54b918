"""pyproject.toml and environment.yml declare the same dependencies with the same lower bounds."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _parse(spec: str) -> tuple[str, str]:
    name, _extras, _, bound = re.match(
        r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(>=\s*([^,;\s]+))?", spec).groups()
    name = name.lower().replace("_", "-")
    return name, (bound or "").replace(">=", "").strip()


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(_parse(s) for s in specs)


def _conda() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs: list[str] = []
    for item in env["dependencies"]:
        if isinstance(item, dict):
            specs += item["pip"]
        else:
            specs.append(item)
    parsed = dict(_parse(s) for s in specs)
    parsed.pop("python")
    parsed.pop("pip")
    return parsed


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    pyproject, conda = _pyproject(), _conda()
    assert sorted(set(pyproject) - set(conda)) == [], "in pyproject.toml only"
    assert sorted(set(conda) - set(pyproject)) == [], "in environment.yml only"
    differing = {n: (pyproject[n], conda[n]) for n in pyproject if pyproject[n] != conda[n]}
    assert differing == {}


def test_every_dependency_has_a_lower_bound_and_no_pin():
    text = (ROOT / "pyproject.toml").read_text()
    project = tomllib.loads(text)["project"]
    for spec in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert ">=" in spec and "==" not in spec, spec
