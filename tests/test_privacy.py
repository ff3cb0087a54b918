"""Small-cell suppression and identifier removal (analysis.privacy, analysis.report.tables).

The report's tables are rendered from one :class:`~analysis.privacy.Release`; here each
is registered alone, so the expected complements can be worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.codebook import load_codebook
from analysis.privacy import (
    Release,
    cell_key,
    complementary_suppression,
    drop_identifiers,
    identifier_columns,
    primary_mask,
    suppress_two_way,
    two_way_lines,
)
from analysis.report.tables import (
    HIDDEN,
    register_counts,
    register_model_table,
    register_prevalence,
    released_counts,
    released_model_table,
    released_prevalence,
)


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


def test_released_counts_with_total_and_percent():
    table = pd.DataFrame({"Band": ["low", "mid", "high", "Total"], "n": [40, 3, 17, 60],
                          "%": [66.7, 5.0, 28.3, 100.0]})
    release = Release(threshold=5)
    total = cell_key("analysed")
    keys = [cell_key("analysed", band=b) for b in ("low", "mid", "high")]
    register_counts(release, keys, [40, 3, 17], total=total, where="bands")
    shown = released_counts(release, table, "n", [*keys, total], percent="%",
                            denominators=[total] * 4)
    # the 3 would be 60 - 40 - 17: the smaller other band (17) is its complement
    assert shown["n"].tolist() == ["40", "<5", HIDDEN, "60"]
    assert shown["%"].tolist() == ["66.7", HIDDEN, HIDDEN, "100.0"]
    assert release.log()["protected"].all()


def test_released_prevalence_hides_counts_and_the_percentages_that_reveal_them():
    table = pd.DataFrame({
        "variable": ["overall", "sport", "sport", "sport"],
        "label": ["All", "Sport", "Sport", "Sport"],
        "level": ["", "None", "Golf", "(missing)"],
        "n": [100, 60, 37, 3], "events": [30, 20, 8, 2],
        "prevalence": [0.3, 20 / 60, 8 / 37, 2 / 3],
        "ci_low": [0.2, 0.2, 0.1, 0.2], "ci_high": [0.4, 0.5, 0.4, 0.9]})
    release = Release(threshold=5)
    register_prevalence(release, table, outcome="lbp", outcome_levels=["No", "Yes"])
    shown = released_prevalence(release, table, outcome="lbp", outcome_levels=["No", "Yes"])
    # 3 = 100 - 60 - 37 and 2 = 30 - 20 - 8: one row of complements is needed, and the
    # release takes the overall row (its n, events and non-events), so both sports show
    assert shown["n"].tolist() == [HIDDEN, "60", "37", "<5"]
    assert shown["Events"].tolist() == [HIDDEN, "20", "8", "<5"]
    assert shown.loc[0, "Prevalence, % (95% CI)"] == HIDDEN
    assert shown.loc[3, "Prevalence, % (95% CI)"] == HIDDEN
    assert shown.loc[1, "Prevalence, % (95% CI)"] == "33.3 (20.0-50.0)"
    # the reader's interval for the missing level's n: 2 to 4 (its events and non-events
    # are each at least 1), all the "<5" labels leave
    log = release.log().set_index("cell")
    assert log.loc["analysed: lbp=(known), sport=(missing)", ["low", "high"]].tolist() == [2, 4]
    assert release.log()["protected"].all()


def test_released_model_table_withholds_the_estimate_of_a_small_cell():
    nan = float("nan")
    table = pd.DataFrame({
        "variable": ["rta", "rta"], "level": ["No", "Yes"],
        "label": ["RTA: No (reference)", "RTA: Yes vs No"],
        "or_crude": [1.0, 2.5], "ci_low_crude": [nan, 1.1], "ci_high_crude": [nan, 5.6],
        "p_crude": [nan, 0.02], "or_adjusted": [1.0, 2.0], "ci_low_adjusted": [nan, 0.9],
        "ci_high_adjusted": [nan, 4.4], "p_adjusted": [nan, 0.0004],
        "n": [500.0, 12.0], "events": [100.0, 3.0]})
    release = Release(threshold=5)
    options = {"outcome": "lbp", "outcome_levels": ["No", "Yes"], "population": "model:m",
               "where": "m"}
    register_model_table(release, table, **options)
    shown = released_model_table(release, table, **options)
    # 3 events = 103 - 100 (the model's events, printed in its note): 100 is the complement
    assert shown["Events"].tolist() == [HIDDEN, "<5"]
    assert shown["n"].tolist() == ["500", "12"]
    # Woolf: the OR and its interval with the group sizes give the 3 back, so both go
    assert shown["OR crude (95% CI)"].tolist() == ["1 (reference)", HIDDEN]
    assert shown["p adjusted"].tolist() == ["", HIDDEN]
    assert release.estimate_withheld("m:1")


def test_identifiers_and_pii_are_dropped():
    cb = load_codebook({"name": "t", "variables": {
        "rid": {"type": "id", "label": "Respondent"},
        "email": {"type": "text", "label": "E-mail", "pii": True},
        "age": {"type": "numeric", "label": "Age"}}})
    assert identifier_columns(cb) == ["email", "rid"]
    frame = pd.DataFrame({"rid": [1], "email": ["a@b.example"], "age": [30.0]})
    assert drop_identifiers(frame, cb).columns.tolist() == ["age"]
