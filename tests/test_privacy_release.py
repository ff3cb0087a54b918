"""One release for all tables: cross-table suppression, the audit, rounding, withheld estimates.

The hypothesis tests attack the rendered labels with their own integer
program, built from the respondents' three-way table rather than from the
release's relations, so they check the release rather than repeat it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _reader_attack import ReaderProgram
from analysis.errors import DisclosureError
from analysis.privacy import (
    COMPLEMENT_LABEL,
    LOG_COLUMNS,
    Release,
    cell_key,
    complementary_suppression,
    estimate_cells,
    feasibility_intervals,
    round_count,
    rounding_interval,
    withheld_estimates,
    withhold_estimates,
)

T = 5


# ---- the audit ----------------------------------------------------------------
def test_feasibility_interval_of_a_two_by_two_with_margins():
    # cells a b / c d with row totals 12, 88 and column totals 20, 80 shown, all cells hidden:
    # a + b = 12, c + d = 88, a + c = 20, b + d = 80 leaves a in [0, 12] (d = 68 + a >= 0)
    bounds = [(0, np.inf)] * 4 + [(12, 12), (88, 88), (20, 20), (80, 80)]
    relations = [(4, [0, 1]), (5, [2, 3]), (6, [0, 2]), (7, [1, 3])]
    assert feasibility_intervals(bounds, relations, [0, 3]) == [(0.0, 12.0), (68.0, 80.0)]
    # with the complement labels (b, c, d >= 5) a can only be 0 .. 7
    bounds[1:4] = [(5, np.inf)] * 3
    assert feasibility_intervals(bounds, relations, [0]) == [(0.0, 7.0)]


def test_inconsistent_counts_are_an_error_not_an_interval():
    with pytest.raises(DisclosureError, match="contradict"):
        feasibility_intervals([(3, 3), (4, 4), (10, 10)], [(2, [0, 1])], [0])
    r = Release()
    r.add_cell(cell_key("analysed", sex="F"), 33, where="table 1")
    with pytest.raises(DisclosureError, match="two counts, 33 and 34"):
        r.add_cell(cell_key("analysed", sex="F"), 34, where="prevalence")
    with pytest.raises(DisclosureError, match="is 99 but its parts add up to 100"):
        r.add_counts("analysed", "sex", {"F": 33, "M": 67}, total=False)
        r.add_cell(cell_key("analysed"), 99)
        r.add_relation(cell_key("analysed"), [cell_key("analysed", sex=s) for s in "FM"])


# ---- across tables ----------------------------------------------------------------
def test_a_cell_hidden_in_one_table_is_not_given_back_by_another():
    women = {"No": 3, "Yes": 30}
    # table by table: the women's table has no total, so only the 3 is hidden, and the
    # number of women shown in the sex table gives it back: 33 - 30 = 3
    alone = complementary_suppression(np.array([[3.0, 30.0]]), [])
    assert alone.tolist() == [[True, False]]
    assert 33 - women["Yes"] == 3
    r = Release(threshold=T)
    r.add_counts("analysed", "lbp", women, given={"sex": "F"}, total=False, where="women")
    r.add_counts("analysed", "sex", {"F": 33, "M": 67}, where="sex")
    r.declare_levels("lbp", ["No", "Yes"])
    labels = {v: r.label(cell_key("analysed", sex="F", lbp=v)) for v in women}
    assert labels == {"No": "<5", "Yes": COMPLEMENT_LABEL}
    assert r.label(cell_key("analysed", sex="F")) == "33"  # one complement suffices
    log = r.log()
    assert log.columns.tolist() == LOG_COLUMNS
    assert log[["cell", "status", "low", "high", "protected"]].to_numpy().tolist() == [
        ["analysed: lbp=No, sex=F", "primary", 1.0, 4.0, True],
        ["analysed: lbp=Yes, sex=F", "secondary", 29.0, 32.0, True]]
    assert log["where"].tolist() == ["women", "women"]


def test_the_same_crosstab_shown_twice_reads_the_same_everywhere():
    counts = pd.DataFrame({"No": [2, 40, 51], "Yes": [30, 27, 19]},
                          index=["Golf", "None", "Rugby"])
    r = Release(threshold=T)
    first = r.add_crosstab("analysed", "sport", "lbp", counts, where="table 1")
    # the prevalence table: events (Yes) and n per sport, the overall row as total
    second = r.add_counts("analysed", "sport", counts["Yes"], given={"lbp": "Yes"},
                          where="prevalence")
    n = r.add_counts("analysed", "sport", counts.sum(axis=1), where="prevalence")
    assert second["Golf"] == first["Golf", "Yes"]
    assert n["Golf"] == cell_key("analysed", sport="Golf")
    labels = {k: r.label(k) for k in first.values()}
    assert labels[first["Golf", "No"]] == "<5"
    # a 3 x 2 table with margins needs a rectangle of 4 hidden cells, not the whole table
    assert sum(v in ("<5", COMPLEMENT_LABEL) for v in labels.values()) == 4
    assert r.label(cell_key("analysed", sport="Golf")) == COMPLEMENT_LABEL or \
        labels[first["Golf", "Yes"]] == COMPLEMENT_LABEL
    assert r.log()["protected"].all()


def test_small_cells_adding_to_a_small_total_are_protected_as_far_as_labels_allow():
    r = Release(threshold=T)
    r.add_counts("analysed", "sport", {"Golf": 1, "Rugby": 2})  # total 3: "<5" too
    log = r.log().set_index("cell")
    # the labels alone say Golf + Rugby <= 4, so Golf <= 3 whatever is hidden: that is the
    # protection interval, logged as such, and it holds
    assert log.loc["analysed: sport=Golf", ["low", "high", "required_low", "required_high",
                                             "protected"]].tolist() == [1.0, 3.0, 1.0, 3.0, True]
    assert "labels alone" in log.loc["analysed: sport=Golf", "rule"]
    assert log.loc["analysed: all", ["low", "high"]].tolist() == [2.0, 4.0]


# ---- rounding -----------------------------------------------------------------------
def test_rounding_to_five_and_percentages_from_rounded_counts():
    assert [round_count(v, 5) for v in (0, 2, 3, 7, 8, 12, 13)] == [0, 0, 5, 5, 10, 10, 15]
    assert rounding_interval(10, 5) == (8, 12) and rounding_interval(0, 5) == (0, 2)
    assert rounding_interval(20, 10) == (15, 24)
    r = Release(threshold=None, rounding=5)
    keys = r.add_counts("analysed", "sex", {"F": 33, "M": 68})
    assert [r.label(k) for k in keys.values()] == ["35", "70"]
    assert r.label(cell_key("analysed")) == "100"
    # 35 / 100, not 33 / 101: the percentage says what the shown counts say
    assert r.percent(keys["F"], cell_key("analysed")) == "35.0"
    assert r.log().empty
    with pytest.raises(DisclosureError, match="threshold, a rounding base"):
        Release(threshold=None)


def test_rounding_beside_suppression_is_audited_within_the_rounding_interval():
    sport = {"Golf": 2, "None": 41, "Rugby": 57}
    r = Release(threshold=T, rounding=5)
    keys = r.add_counts("analysed", "sport", sport)
    # 100 - 40 - 55 leaves Golf anywhere in -1 .. 11: rounding alone protects it
    assert [r.label(k) for k in keys.values()] == ["<5", "40", "55"]
    assert r.label(cell_key("analysed")) == "100"
    assert r.percent(keys["Golf"], cell_key("analysed")) == COMPLEMENT_LABEL
    assert r.percent(keys["None"], cell_key("analysed")) == "40.0"
    assert r.log()[["low", "high", "protected"]].to_numpy().tolist() == [[1.0, 4.0, True]]
    # to the nearest 2, 100 - 40 - 56 leaves Golf in 1 .. 3 only: a complement is needed
    r = Release(threshold=T, rounding=2)
    keys = r.add_counts("analysed", "sport", sport)
    assert [r.label(k) for k in keys.values()] == ["<5", COMPLEMENT_LABEL, "58"]
    assert r.log()["protected"].all()


# ---- estimates ---------------------------------------------------------------------
def test_an_estimate_is_withheld_when_a_cell_it_rests_on_is_hidden():
    r = Release(threshold=T)
    counts = pd.DataFrame({"No": [2, 40, 51], "Yes": [30, 27, 19]},
                          index=["Golf", "None", "Rugby"])
    keys = r.add_crosstab("analysed", "sport", "lbp", counts)
    for sport in counts.index:
        r.add_estimate(f"prevalence {sport}", [keys[sport, "Yes"],
                                               cell_key("analysed", sport=sport)])
    withheld = {s: r.estimate_withheld(f"prevalence {s}") for s in counts.index}
    hidden = {s: r.hidden(keys[s, "Yes"]) or r.hidden(cell_key("analysed", sport=s))
              for s in counts.index}
    assert withheld == hidden and withheld["Golf"]  # 30 / 32 would give the 2 back


def _model_table(**more) -> pd.DataFrame:
    nan = float("nan")
    return pd.DataFrame({
        "variable": ["rta", "rta", "sport", "sport", "sport", "age"],
        "level": ["No", "Yes", "None", "Golf", "Rugby", "per 10 years"],
        "label": ["RTA: No (reference)", "RTA: Yes vs No", "Sport: None (reference)",
                  "Sport: Golf vs None", "Sport: Rugby vs None", "Age (per 10 years)"],
        "or_crude": [1.0, 1.33, 1.0, 1.1, 0.9, 1.2], "ci_low_crude": [nan, 0.35, nan, 0.7, 0.6, 1.0],
        "ci_high_crude": [nan, 5.0, nan, 1.7, 1.4, 1.4], "p_crude": [nan, 0.6, nan, 0.5, 0.4, 0.01],
        "n": [500.0, 12.0, 300.0, 150.0, 62.0, 512.0],
        "events": [100.0, 3.0, 60.0, 30.0, 13.0, 103.0], **more})


def test_withheld_estimates_rest_on_the_level_and_the_reference():
    table = _model_table()
    assert withheld_estimates(table).tolist() == [False, True, False, False, False, False]
    cells = estimate_cells(table)
    assert cells.loc[1].tolist() == [3.0, 9.0, 12.0, 100.0, 400.0, 500.0]
    # a small reference level takes every contrast against it with it
    small_ref = _model_table()
    small_ref.loc[2, ["n", "events"]] = [300.0, 297.0]
    assert withheld_estimates(small_ref).tolist() == [False, True, False, True, True, False]
    # rate ratios rest on the events and the respondents, not on "non-events"
    irr = table.rename(columns={"or_crude": "irr_crude"})
    irr.loc[3, ["n", "events"]] = [150.0, 149.0]
    assert withheld_estimates(irr).tolist() == [False, True, False, False, False, False]
    shown = withhold_estimates(table)
    assert shown["withheld"].tolist() == [False, True, False, False, False, False]
    assert shown.loc[1, ["or_crude", "ci_low_crude", "ci_high_crude", "p_crude"]].isna().all()
    assert shown.loc[3, "or_crude"] == 1.1


# ---- the back-solving attack ---------------------------------------------------------
def _woolf_candidates(shown_or: str | None, n1: int, n0: int, events: int) -> list[int]:
    """Every count of exposed cases consistent with the released numbers.

    The reader knows the exposed and unexposed group sizes (the ``n`` column),
    the model's number of events (its note) and, when shown, the odds ratio
    with its Wald interval printed to two decimals (Woolf: se^2 = 1/a+1/b+1/c+1/d).
    """
    out = []
    for a in range(0, min(n1, events) + 1):
        b, c = n1 - a, events - a
        d = n0 - c
        if min(b, c, d) < 0:
            continue
        if shown_or is None:
            out.append(a)
            continue
        if min(a, b, c, d) == 0:
            continue
        log_or = np.log(a * d / (b * c))
        se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
        text = (f"{np.exp(log_or):.2f} ({np.exp(log_or - 1.959964 * se):.2f}-"
                f"{np.exp(log_or + 1.959964 * se):.2f})")
        if text == shown_or:
            out.append(a)
    return out


def test_woolf_back_solving_recovers_a_small_cell_and_fails_on_the_protected_table():
    import statsmodels.api as sm

    a, b, c, d = 3, 9, 100, 400  # exposed cases / non-cases, unexposed cases / non-cases
    x = np.repeat([1.0, 1.0, 0.0, 0.0], [a, b, c, d])
    y = np.repeat([1.0, 0.0, 1.0, 0.0], [a, b, c, d])
    fit = sm.Logit(y, sm.add_constant(x)).fit(disp=0)
    low, high = np.exp(fit.conf_int()[1])
    nan = float("nan")
    table = pd.DataFrame({
        "variable": ["rta", "rta"], "level": ["No", "Yes"],
        "label": ["RTA: No (reference)", "RTA: Yes vs No"],
        "or_crude": [1.0, np.exp(fit.params[1])], "ci_low_crude": [nan, low],
        "ci_high_crude": [nan, high], "p_crude": [nan, fit.pvalues[1]],
        "n": [float(c + d), float(a + b)], "events": [float(c), float(a)]})
    printed = f"{table.or_crude[1]:.2f} ({low:.2f}-{high:.2f})"
    # unprotected: the printed odds ratio and interval leave exactly one possibility
    assert _woolf_candidates(printed, a + b, c + d, a + c) == [a]
    # protected: the estimate is withheld, so the reader is left with the group sizes
    protected = withhold_estimates(table, T)
    assert protected.loc[1, ["or_crude", "ci_low_crude", "ci_high_crude"]].isna().all()
    shown = None if protected.loc[1, "withheld"] else printed
    candidates = _woolf_candidates(shown, a + b, c + d, a + c)
    assert candidates == list(range(0, a + b + 1))  # 0 .. 12: nothing learnt
    assert {0, T, T + 1} <= set(candidates) and len(candidates) > 1


# ---- property-based: two tables sharing a margin ---------------------------------------
def _reader_intervals(labels: dict, cube: np.ndarray, targets: list) -> list[tuple]:
    """The reader's own attack: unknown three-way cells A x B x C, each label a constraint.

    ``labels`` maps a selector (a_level or None, b or None, c or None) to the text shown.
    """
    reader = ReaderProgram(cube.shape, T)
    for selector, text in labels.items():
        reader.constrain(reader.select(*selector), text)
    return [reader.interval(reader.select(*target)) for target in targets]


def _release_two_tables(cube: np.ndarray):
    """Table 1: A x B with margins; table 2: A x C with margins (they share A and the total)."""
    a_levels = [f"a{i}" for i in range(cube.shape[0])]
    r = Release(threshold=T)
    ab = pd.DataFrame(cube.sum(axis=2), index=a_levels, columns=["b0", "b1"])
    ac = pd.DataFrame(cube.sum(axis=1), index=a_levels, columns=["c0", "c1"])
    r.add_crosstab("analysed", "A", "B", ab, where="table 1")
    r.add_crosstab("analysed", "A", "C", ac, where="table 2")
    for v, levels in (("A", a_levels), ("B", ["b0", "b1"]), ("C", ["c0", "c1"])):
        r.declare_levels(v, levels)
    selectors = {}
    for i, j in itertools.product(range(len(a_levels)), range(2)):
        selectors[(i, j, None)] = cell_key("analysed", A=a_levels[i], B=f"b{j}")
        selectors[(i, None, j)] = cell_key("analysed", A=a_levels[i], C=f"c{j}")
        selectors[(None, j, None)] = cell_key("analysed", B=f"b{j}")
        selectors[(None, None, j)] = cell_key("analysed", C=f"c{j}")
    for i in range(len(a_levels)):
        selectors[(i, None, None)] = cell_key("analysed", A=a_levels[i])
    selectors[(None, None, None)] = cell_key("analysed")
    return r, selectors


# rare levels: most cells of 0 .. 4, some large ones to hide them behind
counts = st.one_of(st.integers(0, 4), st.integers(5, 40))
cubes = st.integers(2, 3).flatmap(
    lambda k: st.lists(counts, min_size=4 * k, max_size=4 * k).map(
        lambda v: np.array(v, dtype=float).reshape(k, 2, 2)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cubes)
def test_no_suppressed_cell_is_recoverable_and_no_complement_is_spare(cube):
    r, selectors = _release_two_tables(cube)
    labels = {sel: r.label(key) for sel, key in selectors.items()}
    log = r.log().set_index("cell")
    primary = [sel for sel, text in labels.items() if text == "<5"]
    secondary = [sel for sel, text in labels.items() if text == COMPLEMENT_LABEL]
    # every small count is hidden, and shown counts are the true ones
    for sel in selectors:
        true = cube[tuple(slice(None) if i is None else i for i in sel)].sum()
        assert (labels[sel] == "<5") == (0 < true < T)
        if labels[sel] not in ("<5", COMPLEMENT_LABEL):
            assert float(labels[sel]) == true
    # the reader's own integer program agrees with the release's audit
    assert log["protected"].all()
    required = {sel: tuple(log.loc[str(selectors[sel]), ["required_low", "required_high"]])
                for sel in primary}
    intervals = _reader_intervals(labels, cube, primary)
    for sel, (lo, hi) in zip(primary, intervals, strict=True):
        assert (lo, hi) == tuple(log.loc[str(selectors[sel]), ["low", "high"]])
        need_lo, need_hi = required[sel]
        assert lo <= need_lo and hi >= need_hi  # nothing learnt beyond the labels
        if (need_lo, need_hi) != (1, T - 1):
            # narrower only when the labels alone say so: everything hidden, still narrow
            hidden_all = {s: ("<5" if v == "<5" else COMPLEMENT_LABEL
                              if v not in ("<5", "0") else v) for s, v in labels.items()}
            assert _reader_intervals(hidden_all, cube, [sel]) == [(need_lo, need_hi)]
    # minimal: showing any single complement lets the reader narrow a small cell
    for sel in secondary:
        true = cube[tuple(slice(None) if i is None else i for i in sel)].sum()
        revealed = {**labels, sel: str(int(true))}
        narrowed = [p for p, (lo, hi) in zip(primary, _reader_intervals(revealed, cube, primary),
                                             strict=True)
                    if not (lo <= required[p][0] and hi >= required[p][1])]
        assert narrowed, f"complement {sel} hides nothing"


# ---- the report's tables through one release (analysis.report.tables adapters) ---------
def _rare_survey():
    """400 simulated respondents; 'Basketball' made rare: 2 with spasms, 5 without."""
    from _models_data import make_survey

    s = make_survey(n=400, seed=2)
    d = s.data
    basketball = d.index[d["sport"] == "Basketball"]
    keep = [*d.index[(d["sport"] == "Basketball") & (d["spasm"] == "Yes")][:2],
            *d.index[(d["sport"] == "Basketball") & (d["spasm"] == "No")][:5]]
    d.loc[basketball.difference(keep), "sport"] = "None"
    return s


def test_table_one_prevalence_and_odds_ratios_protect_a_cell_of_two_together():
    import warnings

    from analysis.describe import prevalence, table_one
    from analysis.models import logistic
    from analysis.report.tables import (
        register_model_table,
        register_prevalence,
        register_table_one,
        released_model_table,
        released_prevalence,
        released_table_one,
    )

    s = _rare_survey()
    t1 = table_one(s, by="spasm")
    prev = prevalence(s, "spasm", by=["sport"], weighted=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sparse-level warning is the point here
        fit = logistic(s, "spasm", ["sport"], ["sex"])
    levels = ["No", "Yes"]
    r = Release(threshold=T)
    register_table_one(r, t1, by="spasm")
    register_prevalence(r, prev, outcome="spasm", outcome_levels=levels)
    register_model_table(r, fit.table, outcome="spasm", outcome_levels=levels,
                         population="model:odds_ratios", where="odds_ratios")
    one = released_table_one(r, t1, by="spasm").set_index("Characteristic")
    shown_prev = released_prevalence(r, prev, outcome="spasm", outcome_levels=levels)
    shown_prev = shown_prev[shown_prev["Level"].isin(["All", *s.data["sport"].cat.categories])]
    shown_prev = shown_prev.set_index("Level")
    odds = released_model_table(r, fit.table, where="odds_ratios", outcome="spasm",
                                outcome_levels=levels, population="model:odds_ratios")
    odds = odds.set_index("Factor")
    indent = next(i for i in one.index if i.strip() == "Basketball")
    # the 2 reads "<5" in every table, and the same cell reads the same everywhere
    assert one.loc[indent, "Yes"] == "<5"
    assert shown_prev.loc["Basketball", "Events"] == "<5"
    assert odds.loc["Main sport: Basketball vs None", "Events"] == "<5"
    sports = s.data["sport"].cat.categories
    for sport in sports:
        row = next(i for i in one.index if i.strip() == sport)
        assert one.loc[row, "Overall"].split(" ")[0] == shown_prev.loc[sport, "n"]
        assert one.loc[row, "Yes"].split(" ")[0] == shown_prev.loc[sport, "Events"]
    # its odds ratio, interval and p-value are withheld, and so is Table 1's test of sport
    assert (odds.loc["Main sport: Basketball vs None"].iloc[:4] == COMPLEMENT_LABEL).all()
    assert one.loc["Main sport, n (%)", "p"] == COMPLEMENT_LABEL
    assert r.log()["protected"].all()
    # a notebook in another process renders the same from the saved registration
    again = Release.from_json(r.to_json())
    assert released_table_one(again, t1, by="spasm").equals(one.reset_index())
    assert again.log().equals(r.log())
    # the reader's attack on the rendered Table 1 and prevalence table: unknown cells
    # sport x spasm, every shown count an equation, every label a range
    reader = ReaderProgram((len(sports), 2), T)  # sport x spasm (No, Yes)
    for i, sport in enumerate(sports):
        row = next(r_ for r_ in one.index if r_.strip() == sport)
        reader.constrain(reader.select(i, 0), one.loc[row, "No"])
        reader.constrain(reader.select(i, 1), one.loc[row, "Yes"])
        reader.constrain(reader.select(i), one.loc[row, "Overall"])
        reader.constrain(reader.select(i), shown_prev.loc[sport, "n"])
        reader.constrain(reader.select(i, 1), shown_prev.loc[sport, "Events"])
    reader.constrain(reader.select(None, 0), one.loc["n", "No"])
    reader.constrain(reader.select(None, 1), one.loc["n", "Yes"])
    reader.constrain(reader.select(), shown_prev.loc["All", "n"])
    ends = list(reader.interval(reader.select(list(sports).index("Basketball"), 1)))
    assert ends == [1.0, float(T - 1)]


def test_registering_after_rendering_is_an_error():
    r = Release(threshold=T)
    r.add_counts("analysed", "sex", {"F": 3, "M": 40})
    assert r.label(cell_key("analysed", sex="F")) == "<5"
    with pytest.raises(DisclosureError, match="cell analysed: sex=X"):
        r.add_cell(cell_key("analysed", sex="X"), 1)


def test_rounding_only_release_of_prevalence_and_odds_ratios():
    import warnings

    from analysis.describe import prevalence
    from analysis.models import logistic
    from analysis.report.tables import (
        register_model_table,
        register_prevalence,
        released_model_table,
        released_prevalence,
    )

    s = _rare_survey()
    prev = prevalence(s, "spasm", by=["sport"], weighted=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = logistic(s, "spasm", ["sport"], ["sex"])
    levels = ["No", "Yes"]
    r = Release(threshold=None, rounding=5)
    register_prevalence(r, prev, outcome="spasm", outcome_levels=levels)
    register_model_table(r, fit.table, outcome="spasm", outcome_levels=levels,
                         population="model", where="or")
    shown = released_prevalence(r, prev, outcome="spasm", outcome_levels=levels)
    golf = shown[shown["Level"] == "Golf"].iloc[0]
    true = prev[prev["level"] == "Golf"].iloc[0]
    assert (int(true["n"]), int(true["events"])) == (78, 33)
    # 35 / 80, not 33 / 78: the percentage is the rounded counts' own
    assert (golf["n"], golf["Events"]) == ("80", "35")
    assert golf["Prevalence, % (95% CI)"].startswith("43.8 (")
    odds = released_model_table(r, fit.table, where="or", outcome="spasm",
                                outcome_levels=levels, population="model").set_index("Factor")
    # 2 events: its odds ratio would give them back through the interval, rounded or not
    assert odds.loc["Main sport: Basketball vs None", "OR crude (95% CI)"] == COMPLEMENT_LABEL
    assert odds.loc["Main sport: Golf vs None", "OR crude (95% CI)"] != COMPLEMENT_LABEL
    assert odds.loc["Main sport: Basketball vs None", ["n", "Events"]].tolist() == ["5", "0"]


def test_a_small_missing_count_of_the_grouping_variable_is_protected_in_table_one():
    from _models_data import make_survey
    from analysis.describe import table_one
    from analysis.report.tables import register_table_one, released_table_one

    s = make_survey(n=300, seed=3, missing=True)
    assert int(s.data["spasm"].isna().sum()) == 1
    t1 = table_one(s, by="spasm")
    r = Release(threshold=T)
    register_table_one(r, t1, by="spasm")
    shown = released_table_one(r, t1, by="spasm").set_index("Characteristic")
    # Overall - No - Yes would give the one respondent without an outcome back
    assert shown.loc["n", ["No", "Missing"]].tolist() == ["185", "<5"]
    assert COMPLEMENT_LABEL in shown.loc["n", ["Yes", "Overall"]].tolist()
    assert shown.loc["Age, mean (SD)", "Missing"] == "<5"
    log = r.log().set_index("cell")
    assert log.loc["analysed: spasm=(missing)", ["low", "high", "protected"]].tolist() == [
        1.0, 4.0, True]
    assert log["protected"].all()


def test_a_count_shown_in_two_tables_is_one_cell():
    from analysis.report.tables import register_counts, released_counts

    # the missing-values table and Table 1's Missing column both show age's missing count
    table = pd.DataFrame({"Variable": ["Age", "Sex"], "Asked": [300, 300], "Missing": [3, 0],
                          "Missing, %": [1.0, 0.0]})
    keys = [cell_key("analysed", age="(missing)"), cell_key("analysed", sex="(missing)")]
    r = Release(threshold=T)
    register_counts(r, keys, table["Missing"], where="missing values")
    r.add_cell(cell_key("analysed"), 300, where="table 1")
    r.add_relation(cell_key("analysed"), [cell_key("analysed", age="(known)"), keys[0]])
    shown = released_counts(r, table, "Missing", keys, percent="Missing, %",
                            denominators=[cell_key("analysed")] * 2)
    assert shown["Missing"].tolist() == ["<5", "0"]
    assert shown["Missing, %"].tolist() == [COMPLEMENT_LABEL, "0.0"]
    assert r.log()["where"].tolist() == ["missing values"]
