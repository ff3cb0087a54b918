"""Kernels made ready while a report run validates and fits.

A report notebook's first cell imports the package and opens the run's
cached survey: about 4 s of a kernel's time at 10^6 respondents (the
imports, the Parquet read, the figure theme), and twice that when two
kernels start at once. While the run validates, plans and fits, a core is
mostly idle. :class:`WarmKernel` starts a notebook's kernel then, runs the
report notebooks' imports in it (:data:`IMPORTS`) and, once the survey is
cached, reads it (:func:`analysis.report.cache.prefetch_survey`); the
notebook's first cell then finds both done. The notebook runs in that kernel
as in any other (papermill is handed its manager), so its cells and outputs
are the same: what ran before is imports and a read whose result the
notebook's own read returns, once. Anything that goes wrong here only costs
the head start: the notebook starts a kernel of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import threading
from pathlib import Path

from analysis.report.run import KERNEL, START_TIMEOUT, kernel_manager_class

log = logging.getLogger("analysis.report")

#: What every report notebook imports first (``analysis.figures`` for its theme).
IMPORTS = ("import analysis.report.opening, analysis.report.planned, "
           "analysis.report.sections, analysis.figures")
#: nbclient starts its kernels with an in-memory history (no SQLite file shared by kernels)
HISTORY = "--HistoryManager.hist_file=:memory:"


class WarmKernel:
    """One notebook's kernel, started with the report's imports before the notebook runs.

    ``cwd``, ``env`` and ``group`` are those the notebook's kernel would get
    (:func:`~analysis.report.run.run_notebook`). The kernel starts at once,
    on a thread of its own. :meth:`prefetch` gives it code to run next (the
    survey read); :meth:`take` waits until it is ready and returns its
    manager for papermill, or None when it failed (then it is shut down and
    the notebook starts its own kernel).
    """

    def __init__(self, cwd: str | Path, env: dict[str, str], group: list | None = None,
                 start_timeout: int = START_TIMEOUT) -> None:
        self._folder = tempfile.mkdtemp(prefix="backpain-warm-")
        self.kernel_log = str(Path(self._folder) / "kernel.log")
        self.started: list = []
        manager_class = kernel_manager_class(str(cwd), env, self.kernel_log, self.started,
                                             group)
        self.manager = manager_class(kernel_name=KERNEL)
        self.failure: str | None = None
        self._start_timeout = start_timeout
        self._code: str | None = None  # what runs after the imports (the survey read)
        self._no_more = threading.Event()  # no more code comes: finish what was given
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._prepare, name="backpain-warm-kernel",
                                        daemon=True)
        self._thread.start()

    def prefetch(self, code: str) -> None:
        """Run ``code`` in the kernel after the imports (it must not raise)."""
        if not self._no_more.is_set():
            self._code = code
            self._no_more.set()

    def take(self):
        """The kernel's manager once its code has run, or None (it failed: shut down)."""
        self._no_more.set()
        if not self._ready.wait(self._start_timeout) and self.failure is None:
            self.failure = f"not ready in {self._start_timeout} s"
        if self.failure is not None:
            log.info("a kernel made ready ahead failed (%s); the notebook starts its own",
                     self.failure)
            self.discard()
            return None
        return self.manager

    def discard(self) -> None:
        """Shut the kernel down (when it is not taken, or after its notebook)."""
        self._no_more.set()
        with contextlib.suppress(Exception):  # already dead, or never started
            for client in getattr(self.manager, "clients", []):
                client.stop_channels()
            if self.manager.has_kernel:
                asyncio.run(self.manager.shutdown_kernel(now=True))
        with contextlib.suppress(Exception):
            self.manager.remove_private_folder()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _prepare(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self.manager.start_kernel(extra_arguments=[HISTORY]))
            client = self.manager.blocking_client()
            client.start_channels()
            try:
                client.wait_for_ready(timeout=self._start_timeout)
                _execute(client, IMPORTS, self._start_timeout)
                self._no_more.wait()
                if self._code is not None:
                    _execute(client, self._code, self._start_timeout)
            finally:
                client.stop_channels()
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
        finally:
            loop.close()
            self._ready.set()


def _execute(client, code: str, timeout: float) -> None:
    """Run ``code`` silently in the kernel; raise RuntimeError when it fails."""
    reply = client.execute_interactive(code, silent=True, store_history=False,
                                       timeout=timeout, output_hook=lambda message: None)
    content = reply.get("content", {})
    if content.get("status") != "ok":
        raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")


def survey_prefetch(out_dir: str | Path, key: str, codebook: str | Path) -> str:
    """The code a warm kernel runs to read the run's cached survey ahead of its notebook."""
    return ("from analysis.report.cache import prefetch_survey\n"
            f"prefetch_survey({str(out_dir)!r}, {key!r}, {str(codebook)!r})")


__all__ = ["HISTORY", "IMPORTS", "WarmKernel", "survey_prefetch"]
