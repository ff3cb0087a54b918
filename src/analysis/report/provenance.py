"""Where a report's numbers come from: file hashes, package versions, git commit, parameters."""

from __future__ import annotations

import functools
import hashlib
import platform
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

import pandas as pd

PACKAGES = ("backpain", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "papermill",
            "nbconvert")


def sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, in hex.

    Remembered per file, size and modification time within a process, so a
    report that hashes its data file for the cache key and again for the
    provenance reads a large file once.
    """
    if not Path(path).is_file():  # a Parquet dataset: a folder or a glob
        return dataset_sha256(path)
    stat = Path(path).stat()
    return _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def dataset_sha256(source: str | Path) -> str:
    """The sha256 of a Parquet dataset: of each file's path (relative) and sha256, in order."""
    import glob

    root = Path(source)
    files = (sorted(root.rglob("*.parquet")) if root.is_dir()
             else sorted(Path(p) for p in glob.glob(str(source), recursive=True)))
    base = root if root.is_dir() else Path(glob.escape(str(source))).parent
    digest = hashlib.sha256()
    for file in files:
        name = file.relative_to(base) if file.is_relative_to(base) else file.name
        digest.update(f"{name}\0{sha256(file)}\n".encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed version of each package ("not installed" when absent), and Python's."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(where: str | Path | None = None) -> str:
    """The commit of the checkout holding the package code, or ``"not a git checkout"``."""
    where = Path(where) if where else Path(__file__).resolve().parent
    try:
        done = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else "not a git checkout"


def provenance_table(data: str | Path, codebook: str | Path,
                     parameters: Mapping[str, object]) -> pd.DataFrame:
    """One row per fact: ``item, value`` (file names and hashes, commit, versions, parameters).

    Holds no date or time, so two runs on the same inputs give the same table.
    """
    rows = [
        ("Data file", Path(data).name),
        ("Data sha256", sha256(data)),
        ("Codebook file", Path(codebook).name),
        ("Codebook sha256", sha256(codebook)),
        ("Git commit", git_commit()),
    ]
    rows += [(f"Version of {k}", v) for k, v in package_versions().items()]
    rows += [(f"Parameter {k}", _text(v)) for k, v in sorted(parameters.items())]
    return pd.DataFrame(rows, columns=["item", "value"])


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) if value else "(none)"
    if isinstance(value, str | Path) and Path(str(value)).is_absolute():
        return Path(str(value)).name  # an absolute path would differ from machine to machine
    return str(value)
