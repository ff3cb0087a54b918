"""Shared test set-up: public data from ../shared, a headless plotting back-end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
SHARED_PUBLIC = ROOT.parent / "shared" / "data" / "public"

os.environ.setdefault("MPLBACKEND", "Agg")
if "BACKPAIN_DATA_DIR" not in os.environ and SHARED_PUBLIC.is_dir():
    os.environ["BACKPAIN_DATA_DIR"] = str(SHARED_PUBLIC)


# The suite fits thousands of small models; a multi-threaded BLAS spends more
# time waking its threads than computing on such problems (measured: a
# 2,000-row logistic fit takes ~170 ms with two threads on a busy machine,
# ~3 ms with one). Results do not depend on the thread count.
threadpool_limits(limits=1, user_api="blas")


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test of the run (tests/test_report_cdp.py)."""
    from tests.test_report_cdp import Browser, find_chromium

    with Browser(find_chromium()) as opened:
        yield opened
