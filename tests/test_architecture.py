"""The package's modules form a one-way flow: no import circle, no private names across modules.

The graph is read from the source (every ``import`` and ``from ... import``,
also those inside functions), so a deferred import cannot hide a circle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "analysis"


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in PACKAGE.rglob("*.py")}


def _imports(module: str) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) for every import of ``analysis``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "analysis":
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.append((full if full in MODULES else node.module,
                            "" if full in MODULES else alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names
                    if a.name.split(".")[0] == "analysis"]
    return out


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for module in MODULES:
        graph.add_node(module)
        for target, _, _ in _imports(module):
            # A package's own __init__ re-exporting its submodules is not a dependency of theirs.
            if target == "analysis" or module.startswith(target + ".") or target == module:
                continue
            graph.add_edge(module, target)
    return graph


def test_no_import_circle():
    circles = [sorted(c) for c in nx.strongly_connected_components(_graph()) if len(c) > 1]
    assert circles == [], f"import circles: {circles}"


def test_no_module_imports_the_top_level_package():
    offenders = [f"{m}:{line}" for m in MODULES for target, _, line in _imports(m)
                 if target == "analysis"]
    assert offenders == [], f"import from the named module, not from 'analysis': {offenders}"


def test_no_private_name_crosses_a_module():
    offenders = []
    for module in MODULES:
        package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
        for target, name, line in _imports(module):
            if name.startswith("_"):
                offenders.append(f"{module}:{line} imports {target}.{name}")
            private = [p for p in target.split(".") if p.startswith("_")]
            # A private module (models/_prepare.py) serves its own package only.
            if private and not target.startswith(package + "."):
                offenders.append(f"{module}:{line} imports private module {target}")
    assert offenders == [], "\n".join(offenders)


def test_the_graph_sees_deferred_imports():
    # load_survey dispatches to the DuckDB engine; that edge must be in the graph.
    graph = _graph()
    assert graph.has_edge("analysis.load", "analysis.scale.lazy")
    assert graph.has_edge("analysis.models.logistic", "analysis.models.lr")
    assert len(graph) >= 100


def test_module_map_names_every_module():
    text = (SRC.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    # Names in backticks, up to a space or parenthesis: `models.rows`, `describe` (`table_one`).
    tokens = {m.group(0) for t in re.findall(r"`([^`]+)`", text)
              if (m := re.match(r"[\w.]+", t))}
    missing = []
    for module, path in MODULES.items():
        parts = module.split(".")[1:]
        if not parts or parts[-1] == "__main__":
            continue
        dotted = ".".join(parts)
        # Listed itself, inside a package listed as a whole (`figures`), or as a package
        # whose modules are listed (`aggregate.events`).
        listed = (dotted in tokens
                  or any(".".join(parts[:i]) in tokens for i in range(1, len(parts)))
                  or (path.name == "__init__.py"
                  and any(t.startswith(dotted + ".") for t in tokens)))
        if not listed:
            missing.append(module)
    assert missing == [], f"docs/architecture.md does not name: {missing}"
