"""Running one report notebook with papermill: strict parameters, clear failures.

Papermill only warns about a parameter the notebook does not declare
(nteract/papermill#818); here it is an error. A failing cell, a timeout or a
dead kernel becomes a :class:`~analysis.errors.ReportError` that names the
notebook, the cell (its number in the notebook as committed and its first
line) and the error, instead of a kernel traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import nbformat
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from analysis.errors import ReportError

KERNEL = "python3"
CELL_TIMEOUT = 600  # seconds for any one cell
START_TIMEOUT = 180  # seconds for a kernel to answer: ~3 s alone, tens on a loaded machine

log = logging.getLogger("analysis.report")


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
                 timeout: int = CELL_TIMEOUT, kernel_name: str = KERNEL,
                 start_timeout: int = START_TIMEOUT,
                 env: Mapping[str, str] | None = None,
                 kernels: list | None = None, warm=None) -> nbformat.NotebookNode:
    """Execute a notebook with papermill and return the executed notebook.

    The kernel is ``kernel_name`` (``python3``); jupyter_client starts the
    ``python`` of a kernel spec as :data:`sys.executable`, so the kernel
    runs in the same environment as this process, in ``cwd`` (default: the
    notebook's folder) with ``env`` added to its environment. Each cell may
    run for ``timeout`` seconds; the kernel has ``start_timeout`` seconds to
    answer (a loaded machine can need tens). The kernel talks over Unix
    sockets in a private folder of its own (:class:`LocalKernelManager`),
    so any number of runs at once cannot meet each other's channels. A
    kernel that fails to start is started once more, and the log says so.
    Each kernel manager started is appended to ``kernels`` when given (see
    :func:`stop_kernels`). ``warm`` is a :class:`~analysis.report.warm.WarmKernel`
    made for this notebook: its kernel, already started, runs the notebook
    (and is shut down after it), unless it failed; then the notebook starts
    its own.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    path = Path(path)
    check_parameters(path, parameters)
    _ensure_kernel(kernel_name)
    with tempfile.TemporaryDirectory(prefix="backpain-report-") as tmp:
        for attempt in (1, 2):
            output = Path(tmp) / f"{attempt}-{path.name}"
            ready = warm.take() if warm is not None and attempt == 1 else None
            if ready is not None:
                started, kernel_log = warm.started, Path(warm.kernel_log)
                given = {"km": ready}
            else:
                started = []  # this notebook's kernel(s)
                kernel_log = Path(tmp) / f"{attempt}-kernel.log"
                given = {"kernel_manager_class": kernel_manager_class(
                    str(cwd or path.parent), dict(env or {}), str(kernel_log), started,
                    kernels)}
            try:
                # papermill's own ``cwd`` changes this whole process's folder (a race
                # when runs share a process); the kernel manager starts the kernel there
                papermill.execute_notebook(
                    str(path), str(output), parameters=dict(parameters),
                    kernel_name=kernel_name, progress_bar=False, log_output=False,
                    start_timeout=start_timeout, execution_timeout=timeout, **given)
            except PapermillExecutionError as exc:
                executed = _read(output)
                number = _cell_number(executed, exc.source)
                first = (exc.source or "").strip().splitlines()[:1]
                raise ReportError(
                    f"Notebook {path.name}, cell {number} ({first[0] if first else 'empty'!s}): "
                    f"{exc.ename}: {exc.evalue}") from None
            except Exception as exc:  # dead kernel, timeout, kernel that would not start
                executed = _read(output)
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                if attempt == 1 and not _running_cell(executed) \
                        and not getattr(kernels, "stopped", False):
                    log.warning("Notebook %s: the kernel did not start (%s: %s); "
                                "starting it once more.", path.name, type(exc).__name__,
                                message)
                    continue
                raise ReportError(f"Notebook {path.name}{_running_cell(executed)}: "
                                  f"{type(exc).__name__}: {message}{_death(started)}"
                                  f"{_last_words(kernel_log)}") from None
            finally:
                if ready is not None:  # handed over: papermill leaves it running
                    warm.discard()
                for started_manager in started:  # also after an interrupt, which skips cleanup
                    started_manager.remove_private_folder()
            return nbformat.read(output, as_version=4)
    raise AssertionError("unreachable")  # pragma: no cover


class KernelGroup(list):
    """The kernel managers of one run (give it to :func:`run_notebook` as ``kernels``).

    Once :func:`stop_kernels` has stopped it, a kernel of the group that
    starts after is killed at once, and none is started again.
    """

    stopped = False


def stop_kernels(kernels: list) -> None:
    """Kill the process group of every kernel in ``kernels`` that still runs.

    For notebooks run in threads: an interrupt reaches only the main thread,
    and a killed kernel ends its thread's notebook at once.
    """
    kernels.stopped = True
    for manager in list(kernels):
        if manager.exit_status() is None:
            with contextlib.suppress(OSError, AttributeError):
                os.killpg(manager._process.pid, signal.SIGKILL)


def _read(output: Path) -> nbformat.NotebookNode | None:
    try:
        return nbformat.read(output, as_version=4) if output.exists() else None
    except (OSError, ValueError):
        return None


def _last_words(kernel_log: Path) -> str:
    """'; the kernel's last message: ...' from what the kernel process wrote to stderr."""
    try:
        lines = [x.strip() for x in kernel_log.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [x for x in lines if x]
    return f"; the kernel's last message: {lines[-1][:200]}" if lines else ""


def _death(started: list[LocalKernelManager]) -> str:
    """Why the kernel ended, from its exit status: '; the kernel was killed by SIGKILL ...'."""
    codes = [c for c in (m.exit_status() for m in started) if c is not None]
    if not codes or codes[-1] == 0:
        return ""
    code = codes[-1]
    if code > 0:
        return f"; the kernel process exited with status {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    if code == -signal.SIGKILL:
        why = ("most likely it ran out of memory (the system's out-of-memory killer sends "
               "SIGKILL): use a machine with more memory or a smaller survey, or stop other work")
    elif code in (-signal.SIGSEGV, -signal.SIGBUS, -signal.SIGABRT):
        why = "a crash in compiled code"
    else:
        why = "stopped from outside"
    return f"; the kernel was killed by {name}: {why}"


def kernel_manager_class(cwd: str, env: dict[str, str], kernel_log: str, started: list,
                         group: list | None) -> type[LocalKernelManager]:
    """The :class:`LocalKernelManager` of one notebook's kernel: its folder, environment,
    stderr log, the list it adds itself to and the run's :class:`KernelGroup`."""
    return type("RunKernelManager", (LocalKernelManager,), {
        "kernel_cwd": cwd, "kernel_env": env, "kernel_log": kernel_log, "started": started,
        "group": group})


class LocalKernelManager(AsyncKernelManager):
    """A kernel that talks over Unix sockets in a private folder of its own.

    The kernel is on the same machine, so no network port is needed (over
    TCP ipykernel warns about unencrypted traffic on every run). jupyter_client
    would put the sockets in the current folder under names chosen by probing
    for the next free one (``kernel-ipc-1``, ...), so two runs at once could be
    handed the same sockets and read each other's messages (``Invalid
    Signature``). Here each kernel gets a fresh folder from
    :func:`tempfile.mkdtemp` (mode 0700) for its connection file and sockets,
    removed when the kernel is cleaned up.

    A run makes a subclass with ``kernel_cwd`` (the kernel's working folder),
    ``kernel_env`` (added to its environment), ``started`` (a list each
    manager adds itself to, so the runner can read a dead kernel's exit status)
    and ``group`` (the run's :class:`KernelGroup`, or None).
    """

    kernel_cwd: ClassVar[str | None] = None
    kernel_log: ClassVar[str | None] = None  # the kernel process's stderr goes here
    kernel_env: ClassVar[dict[str, str]] = {}
    started: ClassVar[list | None] = None
    group: ClassVar[list | None] = None  # the run's KernelGroup

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    async def _async_pre_start_kernel(self, **kw: Any):
        if getattr(self.group, "stopped", False):
            raise RuntimeError("the run was stopped")
        if getattr(self, "_private", None) is None:
            # short: a Unix socket's path may hold ~100 bytes
            self._private = tempfile.mkdtemp(prefix="bpk-")
            self.connection_file = os.path.join(self._private, "kernel.json")
            self.ip = os.path.join(self._private, "k")
        if self.kernel_cwd:
            kw["cwd"] = self.kernel_cwd
        if self.kernel_env:
            kw["env"] = {**(kw.get("env") or os.environ), **self.kernel_env}
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        if self.kernel_log:
            # not the terminal: a kernel shut down mid-cell prints tracebacks there
            with open(self.kernel_log, "ab") as stderr:
                await super()._async_launch_kernel(kernel_cmd, **{**kw, "stderr": stderr})
        else:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        self._process = getattr(self.provisioner, "process", None)
        if self.started is not None:
            self.started.append(self)
        if self.group is not None:
            self.group.append(self)
            if getattr(self.group, "stopped", False):  # its run was stopped meanwhile
                stop_kernels(self.group)

    def client(self, **kwargs: Any):
        # kept: a kernel handed to papermill is not shut down by it, nor its client's
        # channels closed; whoever shuts the kernel down closes them
        made = super().client(**kwargs)
        self.__dict__.setdefault("clients", []).append(made)
        return made

    def exit_status(self) -> int | None:
        """The kernel process's exit status (negative: killed by that signal), or None."""
        process = getattr(self, "_process", None)
        return None if process is None else process.poll()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self.remove_private_folder()

    def remove_private_folder(self) -> None:
        """Remove the folder of the kernel's connection file and sockets."""
        if getattr(self, "_private", None):
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None


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
