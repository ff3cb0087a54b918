"""Shared test set-up: public data from ../shared, a headless plotting back-end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_PUBLIC = ROOT.parent / "shared" / "data" / "public"

os.environ.setdefault("MPLBACKEND", "Agg")
if "BACKPAIN_DATA_DIR" not in os.environ and SHARED_PUBLIC.is_dir():
    os.environ["BACKPAIN_DATA_DIR"] = str(SHARED_PUBLIC)


@pytest.fixture
def root() -> Path:
    return ROOT
