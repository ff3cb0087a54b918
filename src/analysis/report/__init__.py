"""Shareable HTML reports from parameterised notebooks.

:func:`render_reports` runs each notebook of ``notebooks/`` with papermill
(strict parameters, clear failures) and writes self-contained, deterministic
HTML: a reader version without code, with small counts suppressed
(:mod:`analysis.privacy`), and an analyst version with the code, plus the
tables as CSV, ``results.json`` and an index page. Inside a notebook,
:func:`open_report` gives the :class:`ReportSession` that every table and
figure goes through, and :mod:`analysis.report.sections` the sections.
"""

import importlib

from analysis.report.fragments import html_table
from analysis.report.opening import open_report
from analysis.report.provenance import git_commit, package_versions, provenance_table, sha256
from analysis.report.session import ReportSession

# Running and exporting notebooks needs nbformat, nbclient and nbconvert (2 s of imports,
# most of it jsonschema's format checkers); a notebook's kernel, which only opens its
# report, does not import them.
_RUNNING = {"render_reports": "build", "report_notebooks": "build", "export_html": "html",
            "check_parameters": "run", "notebook_parameters": "run", "run_notebook": "run"}


def __getattr__(name: str):
    if name in _RUNNING:
        return getattr(importlib.import_module(f"analysis.report.{_RUNNING[name]}"), name)
    raise AttributeError(f"module 'analysis.report' has no attribute {name!r}")

__all__ = [
    "ReportSession",
    "check_parameters",
    "export_html",
    "git_commit",
    "html_table",
    "notebook_parameters",
    "open_report",
    "package_versions",
    "provenance_table",
    "render_reports",
    "report_notebooks",
    "run_notebook",
    "sha256",
]
