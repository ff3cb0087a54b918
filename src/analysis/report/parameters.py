"""A report notebook's parameters: which override the plan, the disclosure rule, the folder.

Read by :func:`~analysis.report.opening.open_report`, by the
:class:`~analysis.report.session.ReportSession` it returns and by the run's
once-per-run steps (:mod:`analysis.report.once`), so all three read a
notebook's parameters alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analysis.errors import ReportError

PLAN_PARAMETERS = {"outcome": "outcomes", "exposures": "exposures",
                   "confounders": "adjust_for", "interactions": "interactions",
                   "continuous": "continuous", "missing": "missing", "firth": "firth"}


def plan_options(parameters: dict[str, Any]) -> dict[str, Any]:
    """Notebook parameters that override the plan (None: leave it to the codebook)."""
    return {PLAN_PARAMETERS[k]: v for k, v in parameters.items()
            if k in PLAN_PARAMETERS and v is not None}


def release_options(parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters a report's release depends on: the plan's, ``factors`` and ``scores``."""
    return {k: v for k, v in parameters.items()
            if (k in PLAN_PARAMETERS or k in ("factors", "scores")) and v is not None}


def scratch_folder(out_dir: str | Path | None = None) -> Path:
    """Where a notebook writes its tables and figures: ``out_dir``, else a scratch folder.

    A notebook run by hand in JupyterLab has ``out_dir = None`` and writes into
    ``$BACKPAIN_SCRATCH`` or ``./scratch`` (beside the notebook, git-ignored),
    never into ``reports/``: only ``backpain report`` (``make report``) passes
    an ``out_dir``, the hidden staging folder that it swaps in whole.
    """
    if out_dir is not None:
        return Path(out_dir)
    import os

    return Path(os.environ.get("BACKPAIN_SCRATCH") or "scratch")


def check_rule(threshold, rounding) -> tuple[int | None, int | None]:
    """The small-cell threshold and rounding base as whole numbers; ReportError otherwise.

    ``threshold=None`` (or 0) with a rounding base: counts are only rounded.
    """
    def whole(value, what: str) -> int | None:
        if value is None or value == 0:
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if number != value or number < 1:
            raise ReportError(f"{what} must be a positive whole number, not {value!r}.")
        return number

    threshold = whole(threshold, "Small-cell threshold")
    rounding = whole(rounding, "Rounding base")
    if threshold is None and rounding is None:
        raise ReportError("A report needs a small-cell threshold, a rounding base or both.")
    return threshold, rounding
