"""The folder a report run renders into, and putting it in place.

A run never writes into the report folder it makes. It renders into a
sibling folder of its own (``.<name>.backpain-<token>``, beside it a
``.pid`` file naming the process that owns it) and, once every page, table,
``results.json`` and the index are written, swaps that folder with the target
in one step (``renameat2(RENAME_EXCHANGE)`` on Linux; two renames elsewhere),
then deletes the previous report. A run that fails, is interrupted or
killed leaves the previous report as it was; the next run into the same
folder deletes what a killed one left behind (sibling folders whose owner,
by process id and start time on this machine, is gone).
"""

from __future__ import annotations

import ctypes
import errno
import glob
import json
import logging
import os
import re
import secrets
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from analysis.errors import ReportError

REPORT_MARKER = ".backpain-report"  # in every finished report: the folder may be replaced
STAGING = ".backpain-"  # .<name>.backpain-<token>: a run under way, or a report set aside
LAYOUT = {"index.html", "results.json", "analyst", "tables", "figures", "results", ".cache",
          "exports", REPORT_MARKER}

log = logging.getLogger("analysis.report")


def check_report_folder(out: str | Path) -> None:
    """Raise :class:`ReportError` unless ``out`` is new, empty or a report folder.

    A run replaces the folder as a whole, so a folder holding anything else
    (a home folder, a project) is refused before anything runs. A report
    folder holds the marker file :data:`REPORT_MARKER`, or (made before the
    marker) only the files a report run writes.
    """
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise ReportError(f"Output folder {str(out)!r} is a file; choose a folder for the "
                          "reports.")
    entries = sorted(p.name for p in out.iterdir())
    if not entries or REPORT_MARKER in entries:
        return
    other = [e for e in entries if e not in LAYOUT and not e.endswith(".html")]
    if other or "index.html" not in entries:
        shown = ", ".join(other[:3] or entries[:3]) + (", ..." if len(other) > 3 else "")
        raise ReportError(
            f"Output folder {str(out)!r} holds files that are not a report ({shown}); a "
            "report run replaces the whole folder, so choose a new or empty folder.")


def stage_run(out: Path) -> tuple[Path, Path]:
    """Make this run's sibling folder of ``out``; return it and its owner file.

    The owner file (``<folder>.pid``: host, process id and start time) is
    created first, exclusively, so a folder of this pattern without one is
    never a run under way.
    """
    for _ in range(100):
        token = secrets.token_hex(6)
        folder = out.parent / f".{out.name}{STAGING}{token}"
        owner = folder.with_name(folder.name + ".pid")
        try:
            with open(owner, "x", encoding="utf-8") as handle:
                json.dump(_me(), handle)
        except FileExistsError:
            continue
        except OSError as exc:
            raise ReportError(
                f"Cannot write in {str(out.parent)!r} ({exc.strerror}): a report run renders "
                f"into a folder beside {out.name!r} and then swaps it in; choose an output "
                "folder whose parent folder you can write.") from None
        try:
            folder.mkdir()
        except FileExistsError:
            owner.unlink(missing_ok=True)
            continue
        return folder, owner
    raise ReportError(f"Cannot make a folder for the run beside {str(out)!r}.")


def _me() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "started": _process_start(os.getpid())}


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), so a reused pid is told apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _alive(owner: dict[str, Any]) -> bool:
    """Whether the process named in an owner file still runs (True when that cannot be told)."""
    if owner.get("host") != socket.gethostname():
        return True  # another machine's run on a shared folder: leave it to that machine
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process with this pid: alive, but maybe not the owner
    started = _process_start(pid)
    return owner.get("started") is None or started is None or started == owner["started"]


def remove_stale_runs(out: str | Path) -> list[Path]:
    """Delete what killed runs into ``out`` left beside it; return what was deleted.

    A sibling ``.<name>.backpain-<token>`` folder (a run's folder, or a
    previous report set aside by a swap) is deleted only when its owner file
    names a process of this machine that no longer runs; a folder without an
    owner file, or of a run on another machine, is left alone.
    """
    out = Path(out).resolve()
    pattern = re.compile(re.escape(f".{out.name}{STAGING}") + r"([0-9a-f]{12})\.pid")
    removed = []
    for owner in sorted(out.parent.glob(glob.escape(f".{out.name}{STAGING}") + "*.pid")):
        if not pattern.fullmatch(owner.name) or not owner.is_file():
            continue
        try:
            info = json.loads(owner.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # an owner file being written this instant, or a torn one: only when old
            if time.time() - owner.stat().st_mtime < 3600:
                continue
            info = {}
        if isinstance(info, dict) and info and _alive(info):
            continue
        folder = owner.with_name(owner.name[:-len(".pid")])
        for path in (folder, folder.with_name(folder.name + ".old")):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        owner.unlink(missing_ok=True)
    if removed:
        log.warning("Removed %d folder(s) left by report runs that were killed: %s",
                    len(removed), ", ".join(p.name for p in removed))
    return removed


def put_in_place(staging: Path, out: Path) -> None:
    """Make ``staging`` the report at ``out``; the old report ends up at ``staging``."""
    for _ in range(20):
        if out.is_dir() and not out.is_symlink():
            if _exchange(staging, out):
                return
            aside = staging.with_name(staging.name + ".old")
            try:  # no atomic exchange here: move the old report aside, then this one in
                os.rename(out, aside)
            except FileNotFoundError:
                continue
            os.rename(staging, out)
            os.rename(aside, staging)
            return
        try:
            os.rename(staging, out)
            return
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR):
                raise
            # another run put its report there first: swap with it
    raise ReportError(f"Cannot put the report in place at {str(out)!r}: other runs keep "
                      "replacing it.")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2``); False where that is not possible."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.ENOENT):
        return False
    raise OSError(code, os.strerror(code), str(b))
