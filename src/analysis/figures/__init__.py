"""Figures for reports: one function per figure, tidy table in, matplotlib Axes out.

Every function draws with the package theme (:mod:`analysis.figures.theme`:
Okabe-Ito colours, fonts sized for an 8-inch figure at 100 dpi, applied to
the figure being drawn only; :func:`set_theme` applies it everywhere), takes
``ax=`` to draw into an existing Axes, labels rows and axes from the tidy
table's codebook labels, and returns the Axes it drew on (its ``.figure``
is the figure). :func:`save_figure` writes PNG (palette-quantised, light)
and SVG files without timestamps; :func:`alt_text` says in words what a
figure shows, from its title, axes and what the function recorded with
:func:`describe`.

========================  ==============================================
``forest_plot``           LogisticResult.table: crude and adjusted ORs
``ratio_forest_plot``     adjusted ORs beside standardised prevalence ratios
``estimate_vs_truth``     adjusted ORs beside simulate.true_effects()
``prevalence_plot``       describe.prevalence(): % with Wilson CIs
``dose_response``         RCS logistic curve of a continuous exposure
``dose_response_plot``    that curve with its confidence band
``participant_flow``      Survey.flow: STROBE-style diagram
``missingness_plot``      % missing by variable (Survey or table)
``calibration_plot``      diagnostics.calibration()
``roc_plot``              ROC curve with AUC (95% CI)
``score_distribution``    histogram of a score with its bands
``dag_plot``              the codebook's causal diagram, adjustment set marked
========================  ==============================================
"""

from analysis.figures.dag import dag_plot
from analysis.figures.dose_response import dose_response, dose_response_plot
from analysis.figures.flow import participant_flow
from analysis.figures.forest import estimate_vs_truth, forest_plot, ratio_forest_plot
from analysis.figures.missingness import missingness, missingness_plot
from analysis.figures.model_checks import calibration_plot, roc_curve, roc_plot
from analysis.figures.prevalence import prevalence_plot
from analysis.figures.save import alt_text, png_bytes, save_figure
from analysis.figures.scores import score_distribution
from analysis.figures.theme import COLOURS, OKABE_ITO, describe, set_theme

__all__ = [
    "COLOURS",
    "OKABE_ITO",
    "alt_text",
    "calibration_plot",
    "dag_plot",
    "describe",
    "dose_response",
    "dose_response_plot",
    "estimate_vs_truth",
    "forest_plot",
    "missingness",
    "missingness_plot",
    "participant_flow",
    "png_bytes",
    "prevalence_plot",
    "ratio_forest_plot",
    "roc_curve",
    "roc_plot",
    "save_figure",
    "score_distribution",
    "set_theme",
]
