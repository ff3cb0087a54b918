"""Tiny notebooks for the report runner's tests: a parameters cell, then code cells."""

from __future__ import annotations

from pathlib import Path

import nbformat


def write_notebook(path: Path, parameters: str, *sources: str) -> Path:
    """A notebook at ``path``: the ``parameters`` cell (tagged), then one cell per source."""
    cells = [nbformat.v4.new_code_cell(parameters)]
    cells[0].metadata["tags"] = ["parameters"]
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    for i, cell in enumerate(cells):
        cell["id"] = f"c{i}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    nbformat.write(nb, path)
    return path
