"""Running one report notebook with papermill: strict parameters, clear failures.

Papermill only warns about a parameter the notebook does not declare
(nteract/papermill#818); here it is an error. A failing cell, a timeout or a
dead kernel becomes a :class:`~analysis.errors.ReportError` that names the
notebook, the cell (its number in the notebook as committed and its first
line) and the error, instead of a kernel traceback.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from analysis.errors import ReportError

KERNEL = "python3"
CELL_TIMEOUT = 600  # seconds for any one cell
START_TIMEOUT = 60


def notebook_parameters(path: str | Path) -> dict[str, Any]:
    """The parameters a notebook declares in its ``parameters`` cell, with their defaults.

    Raises :class:`ReportError` when the notebook has no ``parameters`` cell,
    or more than one.
    """
    import papermill

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    if len(tagged) != 1:
        raise ReportError(f"Notebook {path.name}: needs exactly one cell tagged 'parameters', "
                          f"found {len(tagged)}.")
    declared = papermill.inspect_notebook(str(path))
    return {name: spec["default"] for name, spec in declared.items()}


def check_parameters(path: str | Path, parameters: Mapping[str, Any]) -> None:
    """Raise :class:`ReportError` for a parameter the notebook does not declare."""
    declared = notebook_parameters(path)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ReportError(
            f"Notebook {Path(path).name}: unknown parameter(s) {', '.join(unknown)}; "
            f"it declares {', '.join(sorted(declared))}.")


def run_notebook(path: str | Path, parameters: Mapping[str, Any], *, cwd: str | Path | None = None,
                 timeout: int = CELL_TIMEOUT, kernel_name: str = KERNEL) -> nbformat.NotebookNode:
    """Execute a notebook with papermill and return the executed notebook.

    The kernel is ``kernel_name`` (``python3``); jupyter_client starts the
    ``python`` of a kernel spec as :data:`sys.executable`, so the kernel
    runs in the same environment as this process. Each cell may run for
    ``timeout`` seconds.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    path = Path(path)
    check_parameters(path, parameters)
    _ensure_kernel(kernel_name)
    with tempfile.TemporaryDirectory(prefix="backpain-report-") as tmp:
        output = Path(tmp) / path.name
        try:
            papermill.execute_notebook(
                str(path), str(output), parameters=dict(parameters), kernel_name=kernel_name,
                progress_bar=False, log_output=False, cwd=str(cwd or path.parent),
                start_timeout=START_TIMEOUT, execution_timeout=timeout,
                kernel_manager_class=LocalKernelManager)
        except PapermillExecutionError as exc:
            executed = nbformat.read(output, as_version=4) if output.exists() else None
            number = _cell_number(executed, exc.source)
            first = (exc.source or "").strip().splitlines()[:1]
            raise ReportError(
                f"Notebook {path.name}, cell {number} ({first[0] if first else 'empty'!s}): "
                f"{exc.ename}: {exc.evalue}") from None
        except Exception as exc:  # dead kernel, timeout, kernel that would not start
            executed = nbformat.read(output, as_version=4) if output.exists() else None
            where = _running_cell(executed)
            raise ReportError(f"Notebook {path.name}{where}: {type(exc).__name__}: "
                              f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                              ) from None
        return nbformat.read(output, as_version=4)


class LocalKernelManager(AsyncKernelManager):
    """A kernel that talks over Unix sockets instead of TCP ports.

    The kernel is on the same machine, so no network port is needed; over
    TCP, ipykernel prints a warning about unencrypted traffic on every run.
    """

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"


def _original_cells(nb: nbformat.NotebookNode) -> list[tuple[int, Any]]:
    """(executed index, cell) of the cells that are in the committed notebook."""
    out = []
    for i, cell in enumerate(nb.cells):
        tags = set(cell.metadata.get("tags", []))
        if "injected-parameters" in tags or "papermill-error-cell-tag" in tags:
            continue
        out.append((i, cell))
    return out


def _cell_number(nb: nbformat.NotebookNode | None, source: str | None) -> str:
    """1-based number, in the notebook as committed, of the failed cell with ``source``.

    Papermill's ``cell_index`` counts its own injected and error cells, so
    the cell is found by its source instead.
    """
    if nb is None or source is None:
        return "?"
    for number, (_, cell) in enumerate(_original_cells(nb), start=1):
        if cell.cell_type == "code" and cell.source == source \
                and cell.get("outputs") and any(o.get("output_type") == "error"
                                                for o in cell.outputs):
            return str(number)
    return "?"


def _running_cell(nb: nbformat.NotebookNode | None) -> str:
    """', cell N (first line)' for the last cell papermill started: the one the kernel died in.

    Papermill stamps a cell's ``start_time`` when it starts it; after a dead
    kernel it marks every cell "completed", but those never started keep no
    start time.
    """
    if nb is None:
        return ""
    started = [(number, cell) for number, (_, cell) in enumerate(_original_cells(nb), start=1)
               if cell.cell_type == "code"
               and cell.metadata.get("papermill", {}).get("start_time")]
    if not started:
        return ""
    number, cell = started[-1]
    first = cell.source.strip().splitlines()[:1]
    return f", cell {number} ({first[0] if first else 'empty'})"


def _ensure_kernel(name: str) -> None:
    """Make sure the kernel spec exists; install one for this Python into its prefix if not."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
        return
    except NoSuchKernel:
        pass
    try:
        from ipykernel.kernelspec import install
    except ImportError:
        raise ReportError(f"No Jupyter kernel {name!r} and ipykernel is not installed in "
                          f"{sys.prefix}; run: pip install ipykernel") from None
    install(kernel_name=name, prefix=sys.prefix)
