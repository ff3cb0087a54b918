"""Finding a dataset's file: a local folder, the cache, or a checked download.

Order of search:

1. the folder named by the environment variable ``BACKPAIN_DATA_DIR``
   (tests and machines without network point it at already-fetched files);
2. the cache folder (``BACKPAIN_CACHE_DIR``, else the user cache of ``backpain``);
3. a download from the pinned upstream URL into the cache, with pooch.

A file found anywhere is checked against the registry's sha256; a file that
differs is never used.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pooch
import requests

from analysis.datasets.registry import Dataset, get
from analysis.errors import DatasetError

DATA_DIR_VAR = "BACKPAIN_DATA_DIR"
CACHE_DIR_VAR = "BACKPAIN_CACHE_DIR"
# Seconds to wait for the server; a machine without network fails at once anyway.
DOWNLOAD_TIMEOUT = 30


def cache_dir() -> Path:
    """Where downloaded files are kept: ``$BACKPAIN_CACHE_DIR`` or the user cache."""
    override = os.environ.get(CACHE_DIR_VAR)
    return Path(override).expanduser() if override else Path(pooch.os_cache("backpain"))


def data_dir() -> Path | None:
    """The folder of already-fetched files named by ``$BACKPAIN_DATA_DIR``, if set."""
    value = os.environ.get(DATA_DIR_VAR)
    return Path(value).expanduser() if value else None


def sha256sum(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, dataset: Dataset) -> Path:
    """``path`` if its sha256 is the registry's; otherwise a DatasetError saying what to do."""
    actual = sha256sum(path)
    if actual != dataset.sha256:
        raise DatasetError(
            f"{path}: checksum mismatch for dataset {dataset.name!r}: expected sha256 "
            f"{dataset.sha256}, actual {actual}. The file is damaged or another version; "
            f"replace it with the file served at {dataset.url}, or remove it so that "
            f"`backpain datasets fetch {dataset.name}` downloads it again."
        )
    return path


def local_path(name: str) -> Path | None:
    """The checked local copy of dataset ``name`` (data folder or cache), without downloading.

    ``None`` when there is none; a copy with the wrong checksum is a DatasetError.
    """
    dataset = get(name)
    for folder in (data_dir(), cache_dir()):
        if folder is not None and (folder / dataset.file_name).is_file():
            return verify(folder / dataset.file_name, dataset)
    return None


def fetch(name: str) -> Path:
    """Path to the verified file of dataset ``name``, downloading it into the cache if needed.

    Raises
    ------
    DatasetError
        For an unknown name; a file whose sha256 differs from the registry's
        (naming the file, the expected and the actual checksum, and the URL);
        a file that is not available locally and cannot be downloaded (naming
        the URL and how to set ``BACKPAIN_DATA_DIR``).

    Examples
    --------
    >>> path = fetch("stat2data-backpack")  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'Rdatasets_Stat2Data_Backpack.csv'
    """
    dataset = get(name)
    found = local_path(name)
    if found is not None:
        return found
    try:
        downloaded = pooch.retrieve(
            url=dataset.url,
            known_hash=f"sha256:{dataset.sha256}",
            fname=dataset.file_name,
            path=cache_dir(),
            downloader=pooch.HTTPDownloader(progressbar=False, timeout=DOWNLOAD_TIMEOUT),
        )
    except ValueError as exc:  # pooch: the downloaded file's hash differs
        actual = re.search(r"but got (\w+)", str(exc))
        raise DatasetError(
            f"The file downloaded from {dataset.url} for dataset {dataset.name!r} failed its "
            f"checksum: expected sha256 {dataset.sha256}, actual "
            f"{actual.group(1) if actual else 'unknown'}. The download was discarded; the "
            f"server may be serving another version. Fetch the file by hand and compare, or "
            f"report the new checksum to the maintainers."
        ) from None
    except (requests.RequestException, OSError) as exc:
        raise DatasetError(_unavailable(dataset, exc)) from None
    return Path(downloaded)


def _unavailable(dataset: Dataset, exc: Exception) -> str:
    folder = data_dir()
    looked = f"{folder} ({DATA_DIR_VAR}) and " if folder is not None else ""
    return (
        f"Dataset {dataset.name!r} ({dataset.file_name}) is not available: it is not in "
        f"{looked}the cache {cache_dir()}, and the download from {dataset.url} failed "
        f"({type(exc).__name__}: {_first_line(exc)}). Either connect to the network and run "
        f"`backpain datasets fetch {dataset.name}`, or download that URL on another machine, "
        f"put the file {dataset.file_name} in a folder and set the environment variable "
        f"{DATA_DIR_VAR} to that folder (export {DATA_DIR_VAR}=/path/to/folder)."
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no detail"
