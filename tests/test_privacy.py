"""Small-cell suppression and identifier removal (analysis.privacy, analysis.report.tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.codebook import load_codebook
from analysis.privacy import (
    complementary_suppression,
    drop_identifiers,
    identifier_columns,
    primary_mask,
    suppress_two_way,
    two_way_lines,
)
from analysis.report.tables import HIDDEN, safe_counts, safe_model_table, safe_prevalence


def test_primary_mask_keeps_zero_and_threshold():
    assert primary_mask(np.array([0, 1, 4, 5, np.nan])).tolist() == [False, True, True, False,
                                                                      False]
    assert primary_mask(np.array([10, 11]), threshold=11).tolist() == [True, False]


def test_single_small_cell_is_not_recoverable_from_the_total():
    # exposure by outcome with margins; the 3 alone would be 13 - 10 = 3 again
    table = pd.DataFrame({"No": [3, 20, 23], "Yes": [10, 30, 40], "Total": [13, 50, 63]},
                         index=["Exposed", "Unexposed", "Total"])
    shown = suppress_two_way(table)
    assert shown.loc["Exposed", "No"] == "<5"
    # every row and column now hides either none or at least two cells
    hidden = shown == "<5"
    assert hidden.to_numpy().astype(int).tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    assert set(hidden.sum(axis=0).tolist()) <= {0, 2} and set(hidden.sum(axis=1)) <= {0, 2}
    # the shown cells leave the hidden ones undetermined: any 3 + t shift fits the margins
    assert shown.loc["Total", "No"] == "23" and shown.loc["Exposed", "Total"] == "13"


def test_complement_prefers_smallest_inner_cell_and_ignores_totals_until_needed():
    counts = np.array([[2, 50, 9, 61]])
    mask = complementary_suppression(counts, [[(0, 0), (0, 1), (0, 2), (0, 3)]],
                                     totals=[(0, 3)])
    assert mask.tolist() == [[True, False, True, False]]
    # only a total left to hide: then the total goes
    mask = complementary_suppression(np.array([[2, 61]]), [[(0, 0), (0, 1)]], totals=[(0, 1)])
    assert mask.tolist() == [[True, True]]


def test_no_line_is_left_with_exactly_one_hidden_cell():
    rng = np.random.default_rng(7)
    inner = rng.integers(0, 12, size=(6, 5)).astype(float)
    full = np.zeros((7, 6))
    full[:6, :5] = inner
    full[:6, 5] = inner.sum(axis=1)
    full[6, :] = full[:6, :].sum(axis=0)
    lines = two_way_lines(7, 6)
    mask = complementary_suppression(full, lines)
    assert (mask | ~primary_mask(full)).all()  # every small count hidden
    assert all(sum(mask[c] for c in line) != 1 for line in lines)


def test_safe_counts_with_total_and_percent():
    table = pd.DataFrame({"Band": ["low", "mid", "high", "Total"], "n": [40, 3, 17, 60],
                          "%": [66.7, 5.0, 28.3, 100.0]})
    shown = safe_counts(table, "n", total=True, percent="%")
    assert shown["n"].tolist() == ["40", "<5", HIDDEN, "60"]
    assert shown["%"].tolist() == ["66.7", HIDDEN, HIDDEN, "100.0"]


def test_safe_prevalence_hides_counts_and_the_percentages_that_reveal_them():
    table = pd.DataFrame({
        "variable": ["overall", "sport", "sport", "sport"],
        "label": ["All", "Sport", "Sport", "Sport"],
        "level": ["", "None", "Golf", "(missing)"],
        "n": [100, 60, 37, 3], "events": [30, 20, 8, 2],
        "prevalence": [0.3, 20 / 60, 8 / 37, 2 / 3],
        "ci_low": [0.2, 0.2, 0.1, 0.2], "ci_high": [0.4, 0.5, 0.4, 0.9]})
    shown = safe_prevalence(table)
    assert shown["n"].tolist() == ["100", "60", HIDDEN, "<5"]
    assert shown["Events"].tolist() == ["30", "20", HIDDEN, "<5"]
    assert shown.loc[3, "Prevalence, % (95% CI)"] == HIDDEN
    assert shown.loc[2, "Prevalence, % (95% CI)"] == HIDDEN
    assert shown.loc[1, "Prevalence, % (95% CI)"] == "33.3 (20.0-50.0)"


def test_safe_model_table_suppresses_counts_not_estimates():
    nan = float("nan")
    table = pd.DataFrame({
        "variable": ["rta", "rta"], "level": ["No", "Yes"],
        "label": ["RTA: No (reference)", "RTA: Yes vs No"],
        "or_crude": [1.0, 2.5], "ci_low_crude": [nan, 1.1], "ci_high_crude": [nan, 5.6],
        "p_crude": [nan, 0.02], "or_adjusted": [1.0, 2.0], "ci_low_adjusted": [nan, 0.9],
        "ci_high_adjusted": [nan, 4.4], "p_adjusted": [nan, 0.0004],
        "n": [500.0, 12.0], "events": [100.0, 3.0]})
    shown = safe_model_table(table)
    assert shown["Events"].tolist() == [HIDDEN, "<5"]
    assert shown["n"].tolist() == ["500", "12"]
    assert shown["OR crude (95% CI)"].tolist() == ["1 (reference)", "2.50 (1.10-5.60)"]
    assert shown["p adjusted"].tolist() == ["", "<0.001"]


def test_identifiers_and_pii_are_dropped():
    cb = load_codebook({"name": "t", "variables": {
        "rid": {"type": "id", "label": "Respondent"},
        "email": {"type": "text", "label": "E-mail", "pii": True},
        "age": {"type": "numeric", "label": "Age"}}})
    assert identifier_columns(cb) == ["email", "rid"]
    frame = pd.DataFrame({"rid": [1], "email": ["a@b.example"], "age": [30.0]})
    assert drop_identifiers(frame, cb).columns.tolist() == ["age"]
