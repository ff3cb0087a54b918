"""The run's release shared with its notebooks (signed JSON) and the analyst's suppression log."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.privacy import Release

log = logging.getLogger("analysis.report")

RELEASE_FILE = "release.json"
LOG_FILE = "suppression_log.csv"


def release_key(data_key: str, threshold, rounding, options: dict[str, Any]) -> str:
    """What a saved release was made for: the survey, the rule and the plan's options."""
    text = json.dumps({"data": data_key, "threshold": threshold, "rounding": rounding,
                       "options": options}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_release(release: Release, folder: Path, key: str, secret: str) -> Path:
    """Save the registration, signed with the run's secret, in the run's cache folder."""
    from analysis.report.cache import FOLDER, write_signed

    return write_signed(Path(folder) / FOLDER / RELEASE_FILE, key, release.to_json(), secret,
                        field="release")


def read_release(folder: Path, key: str) -> Release | None:
    """The run's saved release when it was made for ``key`` and its signature holds."""
    from analysis.report.cache import FOLDER, read_signed

    body = read_signed(Path(folder) / FOLDER / RELEASE_FILE, key, "saved release",
                       "deciding again", field="release")
    # None: not under a report run, not signed by it, or for other data, rule or options
    return None if body is None else Release.from_json(body)


def write_log(release: Release, folder: Path, name: str = LOG_FILE) -> Path:
    """The suppression log (true counts: analyst only) as ``analyst/<name>``."""
    path = Path(folder) / "analyst" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = release.log()
    frame = frame.assign(**{c: frame[c].map(lambda v: "" if pd.isna(v) else
                                            ("inf" if np.isinf(v) else f"{v:g}"))
                            for c in ("low", "high", "required_low", "required_high")})
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


__all__ = ["LOG_FILE", "RELEASE_FILE", "read_release", "release_key", "write_log",
           "write_release"]
