"""Shareable HTML reports from parameterised notebooks.

:func:`render_reports` runs each notebook of ``notebooks/`` with papermill
(strict parameters, clear failures) and writes self-contained, deterministic
HTML: a reader version without code, with small counts suppressed
(:mod:`analysis.privacy`), and an analyst version with the code, plus the
tables as CSV, ``results.json`` and an index page. Inside a notebook,
:func:`open_report` gives the :class:`ReportSession` that every table and
figure goes through, and :mod:`analysis.report.sections` the sections.
"""

from analysis.report.build import render_reports, report_notebooks
from analysis.report.fragments import html_table
from analysis.report.html import export_html
from analysis.report.opening import open_report
from analysis.report.provenance import git_commit, package_versions, provenance_table, sha256
from analysis.report.run import check_parameters, notebook_parameters, run_notebook
from analysis.report.session import ReportSession

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
