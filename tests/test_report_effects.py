"""Prevalence ratios and differences in the plan, the report table, the methods and the figure.

On the 150-nurse pilot of tests/own_data (a ward with 5 respondents, 2 of them
without the outcome) and the weighted village sample: what the plan decides,
what a reader sees (estimates resting on small cells withheld for OR, PR and
PD alike, differences in percentage points), the methods sentence, and the
forest plot's marks.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from analysis.figures import ratio_forest_plot
from analysis.load import load_survey
from analysis.plan import fit_plan, plan
from analysis.privacy import withheld_estimates
from analysis.report.effects import effects_table
from analysis.report.methods import methods_text

OWN = Path(__file__).resolve().parent / "own_data"


def _own(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_survey(OWN / "data" / f"{name}.csv", OWN / "codebooks" / f"{name}.yml",
                           on_invalid="exclude")


@pytest.fixture(scope="module")
def pilot():
    survey = _own("small_sparse")
    analysis_plan = plan(survey)
    return survey, analysis_plan, fit_plan(survey, analysis_plan)


def test_plan_fits_prevalence_ratios_beside_odds_ratios(pilot):
    _, analysis_plan, fits = pilot
    first = fits[0]
    assert first.plan.kind == "binary"
    assert first.plan.measures == ["prevalence ratio", "prevalence difference"]
    assert "prevalence ratios, prevalence differences (marginal standardisation)" in str(
        analysis_plan)
    assert first.effects is not None
    # the same rows as the odds ratios, the same unweighted counts
    ors = first.result.table
    main = ors[ors["variable"].isin(first.plan.exposures)].reset_index(drop=True)
    np.testing.assert_array_equal(first.effects.table["n"], main["n"])
    assert any("overstates the prevalence ratio" in r or "close to the prevalence ratio" in r
               for r in first.plan.reasons)


def test_table_withholds_or_pr_and_pd_on_small_cells(pilot):
    _, _, fits = pilot
    first = fits[0]
    from analysis.report.disclosure import model_where, report_release

    survey, analysis_plan, all_fits = pilot
    release = report_release(survey, analysis_plan, all_fits, threshold=5)
    shown = effects_table(first.result.table, first.effects, _released(pilot, first),
                          release=release, where=model_where(first.plan))
    assert list(shown.columns[:6]) == ["Factor", "OR adjusted (95% CI)", "PR crude (95% CI)",
                                       "PR adjusted (95% CI)", "p adjusted",
                                       "PD adjusted, % points (95% CI)"]
    hidden = withheld_estimates(first.effects.table, 5).to_numpy()
    assert hidden.any()  # the 5-nurse ward: 2 without low-back pain
    assert (withheld_estimates(first.result.table.loc[
        first.result.table["variable"].isin(first.plan.exposures)].reset_index(drop=True),
        5).to_numpy() == hidden).all()  # the OR table's rule picks the same rows
    for column in ("OR adjusted (95% CI)", "PR adjusted (95% CI)",
                   "PD adjusted, % points (95% CI)"):
        assert (shown.loc[hidden, column] == "suppressed").all()
    row = ~hidden & ~shown["Factor"].str.endswith("(reference)")
    pd_row = first.effects.difference.loc[row.to_numpy()].iloc[0]
    text = shown.loc[row, "PD adjusted, % points (95% CI)"].iloc[0]
    low, high = 100 * pd_row["ci_low_adjusted"], 100 * pd_row["ci_high_adjusted"]
    dash = " to " if low < 0 else "-"  # the default style writes "to" beside a negative bound
    assert text == f"{100 * pd_row['pd_adjusted']:.1f} ({low:.1f}{dash}{high:.1f})"
    assert (shown.loc[shown["Factor"].str.endswith("(reference)"),
                      "PD adjusted, % points (95% CI)"] == "0 (reference)").all()


def _released(pilot, fitted):
    """The reader's odds-ratio table of ``fitted`` from the report's release."""
    from analysis.report.disclosure import (
        model_where,
        outcome_levels,
        report_release,
        table_population,
    )
    from analysis.report.tables import released_model_table

    survey, analysis_plan, fits = pilot
    release = report_release(survey, analysis_plan, fits, threshold=5)
    return released_model_table(release, fitted.result.table, where=model_where(fitted.plan),
                                outcome=fitted.plan.outcome,
                                outcome_levels=outcome_levels(survey, fitted.plan.outcome),
                                population=table_population(fitted), events="binary")


def test_methods_name_the_standardisation(pilot):
    survey, analysis_plan, fits = pilot
    text = " ".join(methods_text(survey, analysis_plan, fits))
    assert "marginal standardisation (g-computation)" in text
    assert "delta method (PR on the log scale), conditional on the covariates" in text
    weighted = _own("complex_design")
    wplan = plan(weighted)
    wfits = fit_plan(weighted, wplan)
    words = " ".join(methods_text(weighted, wplan, wfits))
    assert wfits[0].effects is not None and wfits[0].plan.design
    assert "averaged with the survey weights" in words
    assert "design-based (Taylor-linearised) variance" in words


def test_forest_plot_draws_ors_beside_prs(pilot):
    _, _, fits = pilot
    first = fits[0]
    ax = ratio_forest_plot(first.result.table, first.effects.table)
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["adjusted OR (95% CI)", "adjusted PR, standardised (95% CI)"]
    assert ax.get_xscale() == "log"
    assert ax.figure.get_suptitle().startswith("Odds ratios and prevalence ratios")
