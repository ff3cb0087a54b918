"""The number-format layer: each journal style against its published rules, and the tables
of describe, privacy and report formatting through it.

Expected strings are written by hand from the rules (AMA Manual of Style 11th ed. for JAMA:
P without a leading zero, 2 decimals, 3 below .01, <.001 and >.99, thin spaces from 5
digits; The Lancet: mid-line decimal point, en dash in intervals, p<0·0001, two significant
figures; NEJM: "to" in intervals, P with a leading zero, <0.001), never from the code.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from analysis import style
from analysis.describe import prevalence_display
from analysis.privacy import Release, cell_key
from analysis.report.tables import register_model_table, released_model_table
from analysis.style import (
    ENV,
    NumberStyle,
    StyleError,
    current_style,
    define_style,
    get_style,
    set_style,
    style_from_text,
    style_option,
    style_to_text,
    use_style,
)

THIN = "\u2009"


@pytest.fixture(autouse=True)
def _default_style():
    with use_style("default"):
        yield


@pytest.mark.parametrize(("name", "ci", "negative"), [
    ("default", "1.93 (1.09-3.44)", "-1.20 to 3.40"),
    ("jama", "1.93 (1.09-3.44)", "-1.20 to 3.40"),
    ("lancet", "1·93 (1·09–3·44)", "−1·20 to 3·40"),
    ("nejm", "1.93 (1.09 to 3.44)", "-1.20 to 3.40"),
])
def test_intervals_follow_each_journal(name, ci, negative):
    s = get_style(name)
    assert s.estimate_ci(1.934, 1.091, 3.437) == ci
    assert s.interval(-1.2, 3.4) == negative
    assert s.estimate_ci(1.5, np.nan, np.nan) == "1 (reference)"
    assert s.estimate_ci(np.inf, 1.0, np.inf) == "not estimable"


def test_an_interval_that_two_decimals_would_hide_gets_more():
    assert style.ci(0.99213, 0.99031, 0.99395) == "0.992 (0.990-0.994)"
    assert style.ci(1.00004, 1.00001, 1.00007) == "1.0000 (1.0000-1.0001)"  # at most 4


@pytest.mark.parametrize(("name", "ps"), [
    ("default", ["<0.001", "0.003", "0.042", "0.160", "0.996"]),
    ("jama", ["<.001", ".003", ".04", ".16", ">.99"]),
    ("lancet", ["<0·0001", "0·0032", "0·042", "0·16", ">0·99"]),
    ("nejm", ["<0.001", "0.003", "0.04", "0.16", ">0.99"]),
])
def test_p_values_follow_each_journal(name, ps):
    s = get_style(name)
    assert [s.p_value(p) for p in (0.00004, 0.0032, 0.0416, 0.16, 0.996)] == ps
    assert s.p_value(np.nan) == ""


def test_lancet_writes_p_below_its_smallest_value_as_a_bound():
    assert get_style("lancet").p_value(0.00042) == "0·00042"
    assert get_style("lancet").p_value(0.00009) == "<0·0001"


@pytest.mark.parametrize(("name", "four", "five", "seven"), [
    ("default", "2,345", "12,345", "1,234,567"),
    ("jama", "2345", f"12{THIN}345", f"1{THIN}234{THIN}567"),
    ("lancet", "2345", f"12{THIN}345", f"1{THIN}234{THIN}567"),
    ("nejm", "2,345", "12,345", "1,234,567"),
])
def test_counts_have_the_journals_digit_groups(name, four, five, seven):
    s = get_style(name)
    assert (s.count(2345), s.count(12345), s.count(1234567)) == (four, five, seven)
    assert s.count(0) == "0" and s.count(0, zero="") == "" and s.count(np.nan) == ""
    assert s.count(999) == "999"


def test_decimals_and_percentages():
    lancet = get_style("lancet")
    assert lancet.percent(40.04) == "40·0"
    assert lancet.number(-0.0004, 3) == "0·000"  # no minus sign on a number that rounds to 0
    assert lancet.number(12345.678, 1) == f"12{THIN}345·7"
    assert style.percent(12.345, 2) == "12.35"


@pytest.mark.parametrize("name", ["default", "jama", "lancet", "nejm"])
def test_parse_reads_back_what_the_style_writes(name):
    s = get_style(name)
    for value, decimals in [(12345, 0), (2345, 0), (0.042, 3), (-1.25, 2), (40.0, 1)]:
        parsed = s.parse(s.number(value, decimals))
        assert parsed is not None and parsed[0] == pytest.approx(value)
        assert parsed[1] == decimals
    assert s.parse(s.p_value(0.0416))[0] == pytest.approx(0.04 if name in ("jama", "nejm")
                                                          else 0.042)
    for text in ("12 (40.0)", "<5", "suppressed", s.estimate_ci(1.9, 1.1, 3.4), "", "a1"):
        assert s.parse(text) is None


def test_define_a_style_and_use_it_for_a_block():
    bmj = define_style("bmj_test", base="lancet", decimal_mark=".")
    assert bmj.estimate_ci(1.934, 1.091, 3.437) == "1.93 (1.09–3.44)"
    before = os.environ.get(ENV)
    with use_style("bmj_test"):
        assert style.ci(1.934, 1.091, 3.437) == "1.93 (1.09–3.44)"
        # a kernel started now gets the whole style, also one it has no name for
        assert style_from_text(os.environ[ENV]) == bmj
    assert os.environ.get(ENV) == before
    assert style.ci(1.934, 1.091, 3.437) == "1.93 (1.09-3.44)"


def test_set_style_is_process_wide_and_reaches_the_environment():
    set_style("nejm")
    assert current_style().name == "nejm" and os.environ[ENV] == "nejm"
    assert style_to_text(get_style("jama")) == "jama"


def test_a_style_from_a_yaml_file(tmp_path):
    path = tmp_path / "bmj.yml"
    path.write_text('name: bmj_file\nbase: lancet\ndecimal_mark: "."\np_smallest: 0.001\n',
                    encoding="utf-8")
    bmj = style_option(str(path))
    assert bmj.estimate_ci(1.934, 1.091, 3.437) == "1.93 (1.09–3.44)"
    assert bmj.p_value(0.0004) == "<0.001" and get_style("bmj_file") == bmj
    assert style_option("nejm") == get_style("nejm")
    path.write_text("base: lancet\n", encoding="utf-8")
    with pytest.raises(StyleError, match="give a mapping with a name"):
        style_option(str(path))


def test_bad_styles_say_what_to_do():
    with pytest.raises(StyleError, match=r"Unknown number style 'vancouver'.*lancet"):
        get_style("vancouver")
    with pytest.raises(StyleError, match=r"unknown setting.*colour"):
        define_style("mine", colour="red")
    with pytest.raises(StyleError, match="p_rule"):
        NumberStyle(p_rule="stars")
    with pytest.raises(StyleError, match="decimal mark"):
        define_style("clash", decimal_mark=",")


# ---- the tables format through the layer ------------------------------------------------
def _model_table() -> pd.DataFrame:
    return pd.DataFrame({
        "variable": ["posture", "posture"], "level": ["Good", "Poor"],
        "label": ["Self-rated posture: Good (reference)", "Self-rated posture: Poor vs Good"],
        "or_crude": [1.0, 1.934], "ci_low_crude": [np.nan, 1.091],
        "ci_high_crude": [np.nan, 3.437], "p_crude": [np.nan, 0.0416],
        "or_adjusted": [1.0, 1.512], "ci_low_adjusted": [np.nan, 0.8254],
        "ci_high_adjusted": [np.nan, 2.771], "p_adjusted": [np.nan, 0.0032],
        "n": [10234, 2345], "events": [1500, 600]})


@pytest.mark.parametrize(("name", "crude", "p", "adjusted", "p_adj", "n"), [
    ("default", "1.93 (1.09-3.44)", "0.042", "1.51 (0.83-2.77)", "0.003", "10,234"),
    ("jama", "1.93 (1.09-3.44)", ".04", "1.51 (0.83-2.77)", ".003", f"10{THIN}234"),
    ("lancet", "1·93 (1·09–3·44)", "0·042", "1·51 (0·83–2·77)", "0·0032", f"10{THIN}234"),
    ("nejm", "1.93 (1.09 to 3.44)", "0.04", "1.51 (0.83 to 2.77)", "0.003", "10,234"),
])
def test_model_tables_read_in_the_chosen_style(name, crude, p, adjusted, p_adj, n):
    with use_style(name):
        release = Release(threshold=5)
        options = {"outcome": "lbp", "outcome_levels": ["No", "Yes"],
                   "population": "model:m", "where": "m"}
        register_model_table(release, _model_table(), **options)
        shown = released_model_table(release, _model_table(), **options)
    assert shown.loc[1, ["OR crude (95% CI)", "p crude", "OR adjusted (95% CI)",
                         "p adjusted"]].tolist() == [crude, p, adjusted, p_adj]
    assert shown.loc[0, "OR crude (95% CI)"] == "1 (reference)"
    assert shown.loc[0, "n"] == n


def test_prevalence_and_released_counts_read_in_the_chosen_style():
    table = pd.DataFrame({"variable": ["overall"], "label": ["Overall"], "level": ["All"],
                          "n": [12345], "events": [4012], "prevalence": [4012 / 12345],
                          "ci_low": [0.3168], "ci_high": [0.3333]})
    with use_style("lancet"):
        shown = prevalence_display(table)
    assert shown.loc[0, ["n", "Events", "Prevalence, % (95% CI)"]].tolist() == [
        f"12{THIN}345", "4012", "32·5 (31·7–33·3)"]
    define_style("whole_percent", percent_decimals=0)
    with use_style("whole_percent"):
        assert prevalence_display(table).loc[0, "Prevalence, % (95% CI)"] == "32 (32-33)"
    release = Release(threshold=5)
    key = release.add_cell(cell_key("analysed"), 12345.0, where="test")
    part = release.add_cell(cell_key("analysed", sex="Female"), 6172.0, where="test")
    with use_style("nejm"):
        assert release.label(key) == "12,345"
        assert release.percent(part, key) == "50.0"
