"""One disclosure decision per report run, checked on the rendered report and its files.

A survey whose 'Basketball' players hold 2 respondents with spasms is rendered
once (module fixture: the descriptive and risk-factor notebooks, ~1-2 min on
a loaded machine); the tests read the reader HTML, results.json, the CSVs and
the suppression log. The hypothesis test works on the release/table layer
(no kernels) with small generated surveys with rare levels.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _reader_attack import ReaderProgram
from analysis.privacy import COMPLEMENT_LABEL, Release, cell_key, estimate_cells
from analysis.report import render_reports
from analysis.report.build import report_notebooks

T = 5
CODEBOOK = {
    "name": "rare",
    "variables": {
        "rid": {"type": "id", "label": "Respondent"},
        "posture": {"type": "ordinal", "label": "Self-rated posture",
                    "levels": {1: "Good", 2: "Fair", 3: "Poor"}, "role": "exposure"},
        "sport": {"type": "categorical", "label": "Main sport",
                  "levels": {1: "None", 2: "Golf", 3: "Weightlifting", 4: "Basketball"},
                  "reference": 1, "role": "exposure"},
        "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"},
                "reference": 2, "role": "confounder"},
        "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
        "spasm": {"type": "binary", "label": "Back-muscle spasm",
                  "levels": {0: "No", 1: "Yes"}, "role": "outcome"},
    },
}


def _rare_frame(n: int = 400, seed: int = 5) -> pd.DataFrame:
    """Raw codes; 'Basketball' (4): exactly 2 respondents with spasms and 9 without."""
    rng = np.random.default_rng(seed)
    posture = rng.integers(1, 4, n)
    sport = rng.choice([1, 2, 3], n, p=[0.5, 0.25, 0.25])
    sex = rng.integers(1, 3, n)
    age = np.round(rng.uniform(20, 70, n))
    lp = -1.2 + 0.4 * (posture - 1) + 0.3 * (sport == 3) + 0.01 * (age - 45)
    spasm = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    sport[:2], spasm[:2] = 4, 1
    sport[2:11], spasm[2:11] = 4, 0
    return pd.DataFrame({"rid": [f"R{i:04d}" for i in range(n)], "posture": posture,
                         "sport": sport, "sex": sex, "age": age, "spasm": spasm})


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release")
    data = tmp / "survey.csv"
    _rare_frame().to_csv(data, index=False)
    codebook = tmp / "codebook.yml"
    codebook.write_text(yaml.safe_dump(CODEBOOK), encoding="utf-8")
    out = tmp / "reports"
    notebooks = [p for p in report_notebooks() if p.stem[:2] in ("02", "03")]
    render_reports(data, codebook, out, notebooks=notebooks, progress=False)
    return out


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _row(rows, first: str) -> list[str]:
    return next(r for r in rows if r and r[0].strip() == first)


def test_the_cell_of_two_its_margins_and_its_odds_ratio_are_protected_everywhere(rendered):
    out = rendered
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    t1_json = results["02_descriptives"]["characteristics"]
    t1_csv = _csv(out / "tables" / "02_descriptives_characteristics.csv")
    assert t1_csv[0] == t1_json["columns"] and t1_csv[1:] == t1_json["rows"]
    header = t1_csv[0]
    basket = _row(t1_csv, "Basketball")
    assert basket[header.index("Yes")] == "<5"
    # No + Yes = Overall for the level: one of the other two is hidden as well
    assert COMPLEMENT_LABEL in (basket[header.index("No")], basket[header.index("Overall")])
    prev_csv = _csv(out / "tables" / "02_descriptives_prevalence.csv")
    p_head = prev_csv[0]
    prev = next(r for r in prev_csv if r[p_head.index("Level")] == "Basketball")
    assert prev[p_head.index("Events")] == "<5"
    # the same cell reads the same in Table 1 and in the prevalence table
    assert prev[p_head.index("n")] == basket[header.index("Overall")].split(" ")[0]
    odds_csv = _csv(out / "tables" / "03_risk_factors_model_spasm.csv")
    o_head = odds_csv[0]
    odds = next(r for r in odds_csv if r[0] == "Main sport: Basketball vs None")
    assert odds[o_head.index("OR crude (95% CI)")] == COMPLEMENT_LABEL
    assert odds[o_head.index("OR adjusted (95% CI)")] == COMPLEMENT_LABEL
    assert odds[o_head.index("p crude")] == COMPLEMENT_LABEL
    assert odds[o_head.index("Events")] == "<5"
    odds_json = results["03_risk_factors"]["model_spasm"]
    assert odds_csv[1:] == odds_json["rows"]
    # the reader pages show the same cells, and the rule in one sentence
    page = (out / "02_descriptives.html").read_text(encoding="utf-8")
    assert "Counts of 1 to 4 respondents are shown as &lt;5" in page
    assert re.search(r'<td class="suppressed">&lt;5</td>', page)
    risk = (out / "03_risk_factors.html").read_text(encoding="utf-8")
    row = re.search(r"<tr><td>Main sport: Basketball vs None</td>(.*?)</tr>", risk).group(1)
    assert row.count(f'<td class="suppressed">{COMPLEMENT_LABEL}</td>') == 4


def test_the_suppression_log_is_beside_the_report_for_the_analyst_only(rendered):
    out = rendered
    log = pd.read_csv(out / "analyst" / "suppression_log.csv")
    assert {"cell", "status", "rule", "low", "high", "protected"} <= set(log.columns)
    two = log[log["cell"] == "analysed: spasm=Yes, sport=Basketball"].iloc[0]
    assert (two["value"], two["status"], two["low"], two["high"]) == (2, "primary", 1.0, 4.0)
    assert log["protected"].all()
    assert (log["status"] == "secondary").any()
    for page in out.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "suppression_log" not in text and "primary" not in text
    assert not (out / ".cache").exists()  # the saved release (true counts) is gone


def test_no_hidden_cell_of_the_released_files_is_recoverable_by_arithmetic(rendered):
    """The reader's integer program on Table 1 and the prevalence table, as released."""
    out = rendered
    t1 = _csv(out / "tables" / "02_descriptives_characteristics.csv")
    prev = _csv(out / "tables" / "02_descriptives_prevalence.csv")
    head, p_head = t1[0], prev[0]
    sports = ["None", "Golf", "Weightlifting", "Basketball"]
    reader = ReaderProgram((len(sports), 2), T)  # sport x spasm (No, Yes)
    for i, sport in enumerate(sports):
        row = _row(t1, sport)
        reader.constrain(reader.select(i, 0), row[head.index("No")])
        reader.constrain(reader.select(i, 1), row[head.index("Yes")])
        reader.constrain(reader.select(i), row[head.index("Overall")])
        prow = next(r for r in prev if r[p_head.index("Level")] == sport)
        reader.constrain(reader.select(i), prow[p_head.index("n")])
        reader.constrain(reader.select(i, 1), prow[p_head.index("Events")])
    n_row = _row(t1, "n")
    reader.constrain(reader.select(None, 0), n_row[head.index("No")])
    reader.constrain(reader.select(None, 1), n_row[head.index("Yes")])
    ends = list(reader.interval(reader.select(sports.index("Basketball"), 1)))
    assert ends == [1.0, float(T - 1)]


# ---- hypothesis: small surveys with rare levels, on the release/table layer --------------
def _survey(frame: pd.DataFrame, on_invalid: str = "raise"):
    from analysis.load import load_survey

    cb = {**CODEBOOK, "variables": {k: v for k, v in CODEBOOK["variables"].items()
                                    if k != "rid"}}
    from analysis.codebook import Codebook

    return load_survey(frame.drop(columns=["rid"]), Codebook.from_dict(cb), on_invalid=on_invalid)


def _woolf_recovers(or_text: str, n1: int, n0: int, events: int, a_true: int) -> bool:
    """Whether the crude OR (95% CI) as printed pins the exposed cases ``a`` (Woolf)."""
    fits = []
    for a in range(0, min(n1, events) + 1):
        b, c = n1 - a, events - a
        d = n0 - c
        if min(a, b, c, d) <= 0:
            continue
        est = a * d / (b * c)
        se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
        text = (f"{est:.2f} ({np.exp(np.log(est) - 1.959964 * se):.2f}-"
                f"{np.exp(np.log(est) + 1.959964 * se):.2f})")
        if text == or_text:
            fits.append(a)
    return fits == [a_true]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rare_yes=st.integers(0, 6), rare_no=st.integers(1, 8), seed=st.integers(0, 10_000),
       threshold=st.sampled_from([3, 5, 10]))
def test_generated_surveys_with_rare_levels_release_nothing_recoverable(rare_yes, rare_no, seed,
                                                                        threshold):
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

    frame = _rare_frame(n=160, seed=seed)
    frame.loc[:10, "sport"] = 1  # rows 0-10 were the fixed rare level
    if rare_yes:
        frame.loc[:rare_yes - 1, ["sport", "spasm"]] = [4, 1]
    frame.loc[20:20 + rare_no - 1, ["sport", "spasm"]] = [4, 0]
    s = _survey(frame)
    levels = ["No", "Yes"]
    t1 = table_one(s, by="spasm")
    prev = prevalence(s, "spasm", by=["sport", "posture"], weighted=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = logistic(s, "spasm", ["sport", "posture"], [])
    r = Release(threshold=threshold)
    register_table_one(r, t1, by="spasm")
    register_prevalence(r, prev, outcome="spasm", outcome_levels=levels)
    spec = {"outcome": "spasm", "outcome_levels": levels, "population": "model",
            "where": "or"}
    register_model_table(r, fit.table, **spec)
    released_table_one(r, t1, by="spasm")
    released_prevalence(r, prev, outcome="spasm", outcome_levels=levels)
    odds = released_model_table(r, fit.table, **spec)
    # the audit: every small cell keeps the whole interval its label states (or what the
    # labels alone leave), after every table is released together
    log = r.log()
    assert log["protected"].all()
    primary = log[log["status"] == "primary"]
    assert ((primary["low"] <= primary["required_low"])
            & (primary["high"] >= primary["required_high"])).all()
    # no shown odds ratio rests on a hidden or small cell, so Woolf has nothing to solve
    cells = estimate_cells(fit.table)
    for i, row in odds.iterrows():
        shown = row["OR crude (95% CI)"] not in (COMPLEMENT_LABEL, "1 (reference)", "")
        if not shown or pd.isna(cells.loc[i, "ref_n"]):
            continue
        counts = cells.loc[i, ["events", "non_events", "ref_events", "ref_non_events"]]
        assert not ((counts > 0) & (counts < threshold)).any(), row["Factor"]
    # and the rare level's odds ratio, when shown, rests on no small count
    basket = odds[odds["Factor"] == "Main sport: Basketball vs None"]
    if len(basket) and 0 < rare_yes < threshold:
        assert basket["OR crude (95% CI)"].iloc[0] == COMPLEMENT_LABEL
        assert r.label(cell_key("analysed", spasm="Yes", sport="Basketball")) == f"<{threshold}"


def test_woolf_back_solving_recovers_an_unprotected_cell_of_two():
    """The attack the withheld estimates defend against, on the rare survey's 2x2 table."""
    frame = _rare_frame()
    sub = frame[frame["sport"].isin([1, 4])]
    n1 = int((sub["sport"] == 4).sum())
    n0 = int((sub["sport"] == 1).sum())
    events = int(sub["spasm"].sum())
    a = int(((sub["sport"] == 4) & (sub["spasm"] == 1)).sum())
    b, c = n1 - a, events - a
    d = n0 - c
    est, se = a * d / (b * c), np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    printed = (f"{est:.2f} ({np.exp(np.log(est) - 1.959964 * se):.2f}-"
               f"{np.exp(np.log(est) + 1.959964 * se):.2f})")
    assert a == 2 and _woolf_recovers(printed, n1, n0, events, a)


def test_the_weighted_table_one_hides_no_more_than_the_small_count_needs():
    """Weighted percentages do not give the unweighted denominators away: fewer complements."""
    from analysis.describe import table_one
    from analysis.design_based import survey_table_one
    from analysis.load import load_survey
    from analysis.report.tables import register_table_one, released_design_table_one
    from analysis.simulate import CODEBOOK_PATH, simulate_survey

    # the example survey: Sex has 8 missing, no small count; occupation 3 missing
    s = load_survey(simulate_survey(1500, seed=11), CODEBOOK_PATH, on_invalid="exclude")
    columns = ["age", "sex", "occupation"]
    t1 = table_one(s, by="spasm_12m", columns=columns)
    weighted = survey_table_one(s, by="spasm_12m", columns=columns)
    r = Release(threshold=T)
    register_table_one(r, t1, by="spasm_12m", numeric_n=True, percentages=False)
    shown = released_design_table_one(r, t1, weighted, by="spasm_12m")
    log = r.log()
    assert log["protected"].all()
    # a few complements per small count, never whole blocks: the Sex levels, with no small
    # count of their own, are shown whole (occupation's 3 missing costs the grand total, the
    # "No" total and two missing counts: locally minimal, not the fewest possible)
    primary, secondary = (int((log["status"] == s).sum()) for s in ("primary", "secondary"))
    assert (primary, secondary) == (1, 4)
    for level in ("    Female", "    Male"):
        row = shown[shown["Characteristic"] == level].iloc[0]
        assert all(row[c].isdigit() for c in ("No: n", "Yes: n", "Overall: n"))
        assert COMPLEMENT_LABEL not in row.tolist()
    # a hidden unweighted count hides its weighted estimate too
    for g in ("No", "Yes", "Overall"):
        hidden = shown[f"{g}: n"].isin([COMPLEMENT_LABEL, "<5"]) & (
            shown["Characteristic"] != "n (unweighted)")  # the n row has no estimate
        assert (shown.loc[hidden, f"{g}: weighted (SE)"] == COMPLEMENT_LABEL).all()


def test_model_notices_lose_the_counts_suppression_hides():
    from analysis.report.session import ReportSession

    class Rule:
        threshold, rounding = 5, None

    sparse = ("Main sport ('sport') level 'Basketball': sparse, 2 events among 11 "
              "respondents; its odds ratio is unstable (fewer than 5).")
    assert ReportSession.safe_words(Rule(), sparse) == (
        "Main sport ('sport') level 'Basketball': sparse; its odds ratio is unstable "
        "(fewer than 5).")
    rows = ("complete cases: 1,139 of 1,473 rows read used, 334 left out; rows missing each "
            "column: Age 8, Occupation type 3. Firth: 84 events (2.7 per coefficient).")
    assert ReportSession.safe_words(Rule(), rows) == rows.replace("type 3", "type <5")
    Rule.rounding = 5
    assert ReportSession.safe_words(Rule(), rows) == (
        "complete cases: 1,140 of 1,475 rows read used, 335 left out; rows missing each "
        "column: Age 10, Occupation type <5. Firth: 85 events (2.7 per coefficient).")


def test_firths_reason_keeps_its_counts_only_when_the_release_shows_them():
    """'3 events for 4 coefficients (0.8 per coefficient)': with 4 coefficients known, the
    decimal is 3 / 4 and gives the hidden 3 back, as 'with 8% events' does with n = 40.
    Said without the numbers when the model's event count is hidden or rounded; kept
    when it is shown exactly."""
    from types import SimpleNamespace

    from analysis.report.session import ReportSession

    firth = ("Firth's penalised likelihood: {k} events for {p} coefficients ({epp} per "
             "coefficient, fewer than 10).")
    share = ("Prevalence ratios and differences are reported beside the odds ratios: with "
             "{pct}% events the odds ratio is close to the prevalence ratio, and the "
             "difference gives the absolute scale.")

    def session(events: int, n: int, threshold=5, rounding=None):
        release = Release(threshold=threshold, rounding=rounding)
        release.add_counts("model:spasm", "spasm", {"No": n - events, "Yes": events},
                           where="model")
        model = SimpleNamespace(key="spasm", outcome="spasm")
        stub = SimpleNamespace(threshold=threshold, rounding=rounding, release=release,
                               plan=SimpleNamespace(models=[model]))
        return lambda text: ReportSession.safe_words(stub, text, model)

    hidden = session(3, 40)
    assert hidden(firth.format(k=3, p=4, epp="0.8")) == (
        "Firth's penalised likelihood: fewer than ten events per coefficient.")
    assert hidden(share.format(pct=8)) == (
        "Prevalence ratios and differences are reported beside the odds ratios: an odds "
        "ratio overstates the prevalence ratio when events are common, and the difference "
        "gives the absolute scale.")
    # a count at or above the threshold, hidden as a complement elsewhere: still no number
    complement = session(30, 40, threshold=20)  # 10 non-events: the 30 is its complement
    assert complement(firth.format(k=30, p=4, epp="7.5")) == (
        "Firth's penalised likelihood: fewer than ten events per coefficient.")
    # shown exactly: the reason is the plan's; rounded to 5: the decimal would unround it
    shown = session(30, 400)
    assert shown(firth.format(k=30, p=6, epp="5.0")) == firth.format(k=30, p=6, epp="5.0")
    assert shown(share.format(pct=8)) == share.format(pct=8)
    rounded = session(31, 400, rounding=5)
    assert rounded(firth.format(k=31, p=6, epp="5.2")) == (
        "Firth's penalised likelihood: fewer than ten events per coefficient.")


def test_a_reasons_count_stays_only_when_its_own_model_shows_it():
    """Two models with 30 events each: the first shows its 30 (400 respondents), the second
    hides it (30 events, 10 non-events at threshold 20: the 10 is small, the 30 its
    complement). Matched by value alone, the second's reason would keep the 30 the
    release hides; matched by model, only the first's does, through the methods text too."""
    from types import SimpleNamespace

    from analysis.report.estimate_cells import released_words
    from analysis.report.methods import methods_text

    release = Release(threshold=20)
    release.add_counts("model:shown", "spasm", {"No": 370, "Yes": 30}, where="shown")
    release.add_counts("model:hidden", "spasm", {"No": 10, "Yes": 30}, where="hidden")
    assert release.label(cell_key("model:shown", spasm="Yes")) == "30"
    assert release.label(cell_key("model:hidden", spasm="Yes")) == COMPLEMENT_LABEL
    shown = SimpleNamespace(key="shown", outcome="spasm")
    hidden = SimpleNamespace(key="hidden", outcome="spasm")
    reason = ("Firth's penalised likelihood: 30 events for 4 coefficients (7.5 per "
              "coefficient, fewer than 10).")
    assert released_words(release, reason, shown) == reason
    assert released_words(release, reason, hidden) == (
        "Firth's penalised likelihood: fewer than ten events per coefficient.")
    assert released_words(release, reason, None) == (
        "Firth's penalised likelihood: fewer than ten events per coefficient.")
    share = ("Prevalence ratios and differences are reported beside the odds ratios: with "
             "8% events the odds ratio is close to the prevalence ratio, and the difference "
             "gives the absolute scale.")
    assert released_words(release, share, shown) == share
    # the hidden model's 30 of 40 is 75%: a share of 8% is not its own, so it goes too
    assert "8%" not in released_words(release, share, hidden)
    # the methods text hands each reason its own model
    seen = []
    survey = _survey(_rare_frame())
    from analysis.plan import plan as make_plan

    the_plan = make_plan(survey)
    methods_text(survey, the_plan, words=lambda text, model: seen.append(model) or text)
    reasons = [m for m in the_plan.models for _ in m.reasons]
    assert seen == reasons and seen


def _sessions_survey():
    """The rare survey with gym sessions a week (0 to 11, and 12 for 8 respondents, 2 with
    spasms): 12 is above the last knot (11), so that spline segment rests on 2 events."""
    from analysis.codebook import Codebook
    from analysis.load import load_survey

    frame = _rare_frame()
    sessions = np.random.default_rng(3).integers(0, 12, len(frame))
    sessions[-8:] = 12
    frame["sessions"] = sessions
    frame.loc[frame.index[-8:], "spasm"] = [1, 1, 0, 0, 0, 0, 0, 0]
    variables = {k: v for k, v in CODEBOOK["variables"].items() if k != "rid"}
    variables["sessions"] = {"type": "count", "label": "Gym sessions", "unit": "a week",
                             "role": "exposure"}
    return load_survey(frame.drop(columns=["rid"]),
                       Codebook.from_dict({**CODEBOOK, "variables": variables}))


def _curve_report(tmp_path, release, monkeypatch):
    """A stub report session with the sessions survey; the drawn Axes are kept."""
    from types import SimpleNamespace

    from analysis import figures
    from analysis.report.session import ReportSession

    drawn = []
    plot = figures.dose_response_plot
    monkeypatch.setattr(figures, "dose_response_plot",
                        lambda curve, **kw: drawn.append((curve, plot(curve, **kw))) or drawn[-1][1])
    stub = SimpleNamespace(survey=_sessions_survey(), release=release, out_dir=tmp_path,
                           name="03_risk_factors")
    stub.figure = lambda ax, key, caption: ReportSession.figure(stub, ax, key, caption=caption)
    return stub, drawn


def test_a_dose_response_segment_on_two_events_is_not_drawn(tmp_path, monkeypatch):
    from analysis.report.dose_response import dose_responses

    report, drawn = _curve_report(tmp_path, Release(threshold=5), monkeypatch)
    page = dose_responses(report, "spasm", ["sessions"], ["age"]).text
    (curve, ax), = drawn
    bands = {b["band"]: b for b in curve.attrs["bands"]}
    assert (bands[4]["low"], bands[4]["n"], bands[4]["events"]) == (11.0, 8, 2)
    # the tidy frame the figure gets, and the Axes' line and band, stop at the last knot
    assert 10.9 < curve["x"].max() <= 11.0 and 4 not in set(curve["band"])
    assert len(curve) == 92  # of the 101 grid points (100 and the median), 9 are above 11
    lines = [ln for ln in ax.lines if ln.get_gid() == "dose-response-curve"]
    assert len(lines) == 1
    np.testing.assert_array_equal(lines[0].get_xdata(), curve["x"])
    band_x = np.concatenate([p.vertices[:, 0] for c in ax.collections for p in c.get_paths()
                             if c.get_label() == "95% confidence band"])
    assert band_x.max() <= 11.0
    # the caption and the alt text name the gap, never its counts nor the true n
    assert ("Not drawn above 11 a week: the curve there rests on fewer than 5 respondents "
            "with or without back-muscle spasm") in page
    alt = re.search(r'alt="([^"]*)"', page).group(1)
    assert "Not drawn above 11 a week" in alt
    words = alt + re.search(r"<figcaption>(.*)</figcaption>", page).group(1)
    assert not re.search(r"\b(400|8|2)\b", words)  # the segment's 8 and 2, the true n
    png = tmp_path / "figures" / "03_risk_factors_dose_sessions.png"
    assert png.stat().st_size > 10_000


def test_a_dose_response_with_nothing_left_is_one_sentence(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from analysis.report.dose_response import dose_responses

    # threshold 30: the reference's segment (4 to 7 sessions) has 29 events, so every point
    # (a contrast against the median) rests on a small count
    report, drawn = _curve_report(tmp_path, Release(threshold=30), monkeypatch)
    page = dose_responses(report, "spasm", ["sessions"], ["age"]).text
    assert drawn == [] and "<figure" not in page
    assert page == ("<p>The dose-response curve of gym sessions is not shown: it rests on "
                    "fewer than 30 respondents with or without back-muscle spasm (the "
                    "disclosure rule).</p>")
    # the model's odds ratio per session withheld (its table's row rests on 2 events):
    # the curve, on the same respondents, goes too
    report, drawn = _curve_report(tmp_path, Release(threshold=5), monkeypatch)
    table = pd.DataFrame({"variable": ["sessions"], "level": [""], "label": ["Gym sessions"],
                          "or_crude": [1.3], "ci_low_crude": [0.9], "ci_high_crude": [1.8],
                          "p_crude": [0.2], "n": [8.0], "events": [2.0]})
    fitted = SimpleNamespace(plan=SimpleNamespace(key="m", outcome="spasm"),
                             result=SimpleNamespace(table=table, info={}))
    page = dose_responses(report, "spasm", ["sessions"], ["age"], fitted).text
    assert drawn == [] and page == (
        "<p>The dose-response curve of gym sessions is not shown: its model's odds ratio is "
        "withheld under the disclosure rule, and the curve rests on the same respondents.</p>")


def test_a_case_studys_dose_response_draws_no_withheld_segment(tmp_path, monkeypatch):
    """The case studies' curve (its own caption: knots, median) withholds as the report's."""
    from analysis.case_studies.sections import dose_response

    report, drawn = _curve_report(tmp_path, Release(threshold=5), monkeypatch)
    report.fits = []
    page = dose_response(report, "sessions", "spasm", ["age"], n_knots=4).text
    (curve, _ax), = drawn
    assert curve["x"].max() <= 11.0 and 4 not in set(curve["band"])
    assert "n" not in curve.attrs and "events" not in curve.attrs
    caption = re.search(r"<figcaption>(.*)</figcaption>", page).group(1)
    # the median and knots to 3 significant digits: '6', not '6.000'
    assert "against the median (6), restricted cubic spline with 4 knots (0, 4, 7, 11)" in caption
    assert ("Not drawn above 11 a week: the curve there rests on fewer than 5 respondents "
            "with or without back-muscle spasm") in caption
    assert not re.search(r"\b(400|8|2)\b", caption.split("knots (")[0])
    report, drawn = _curve_report(tmp_path, Release(threshold=30), monkeypatch)
    report.fits = []
    page = dose_response(report, "sessions", "spasm", ["age"], n_knots=4).text
    assert drawn == [] and page.startswith("<p>The dose-response curve of gym sessions is not "
                                           "shown: it rests on fewer than 30 respondents")


def test_the_methods_paragraph_prints_the_flow_and_model_counts_as_released():
    """Three rows excluded (an unknown sport code): the text must not say 3, nor give it
    back as read - analysed; the counts read as in the flow table and the model's note."""
    from analysis.plan import fit_plan, plan
    from analysis.report.disclosure import EXCLUDED, flow_keys, model_population, report_release
    from analysis.report.methods import methods_text

    frame = _rare_frame()
    frame.loc[20:22, "sport"] = 9
    survey = _survey(frame, on_invalid="exclude")
    assert survey.flow["n"].tolist() == [400, 3, 397]
    analysis_plan = plan(survey)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = fit_plan(survey, analysis_plan)
    release = report_release(survey, analysis_plan, fits, threshold=T)
    # the flow table: 400 read, <5 excluded, and the analysed 397 a complement (400 - 397)
    assert [release.label(k) for k in flow_keys(survey.flow)] == ["400", "<5", COMPLEMENT_LABEL]
    assert release.label(EXCLUDED) == "<5"
    text = methods_text(survey, analysis_plan, fits, release=release)
    assert text[0].endswith("Rows read: 400; analysed: suppressed; excluded for breaking a "
                            "codebook rule: <5 (see the participant flow).")
    model = fits[0]
    total = cell_key(model_population(model.plan))
    assert model.result.info["n"] == 397  # nobody left out: the model's n is the 397 again
    assert release.label(total) == COMPLEMENT_LABEL
    assert "respondents with every model variable: suppressed of suppressed." in text[1]
    assert not re.search(r"\b(397|3)\b", " ".join(text[:2]))
    # with rounding to 5 the same cells read rounded, as in the flow table
    rounded = report_release(survey, analysis_plan, fits, threshold=None, rounding=5)
    text = methods_text(survey, analysis_plan, fits, release=rounded)
    assert "Rows read: 400; analysed: 395; excluded for breaking a codebook rule: 5" in text[0]
    assert "respondents with every model variable: 395 of 395." in text[1]


def test_a_score_histogram_shows_no_bar_below_the_threshold():
    """A whole-number score 0-24 whose high tail holds 1-3 respondents per value: the bars
    are released cells, merged until each counts at least 5, and they add up to the known."""
    from analysis.report.disclosure import histogram_bins, histogram_key, register_histogram

    values = pd.Series([*[v for v in range(8) for _ in range(10)], 9, 9, 11, 15, 15, 15, 24,
                        np.nan], name="rmdq")
    edges, merged = histogram_bins(values, T)
    assert merged
    counts, _ = np.histogram(values.dropna(), bins=edges)
    assert counts.min() >= T and counts.sum() == 87
    # the figure's bins are 2 wide (numpy's rule): 0-7 keep their four bars of 20; the
    # tail's bars of 2 (9s), 1 (11), 3 (15s) make one of 6, and the last (24) joins it
    assert histogram_bins(values, None)[0][:5].tolist() == [-0.5, 1.5, 3.5, 5.5, 7.5]
    assert edges.tolist() == [-0.5, 1.5, 3.5, 5.5, 7.5, 25.5]
    assert counts.tolist() == [20, 20, 20, 20, 7]
    release = Release(threshold=T)
    _, keys, _ = register_histogram(release, "rmdq", values)
    assert [release.label(k) for k in keys] == ["20", "20", "20", "20", "7"]
    assert keys[-1] == histogram_key("rmdq", 7.5, 25.5)
    assert release.label(cell_key("analysed", rmdq="(known)")) == "87"
    # without merging the 9s (2), 11 (1), 15s (3) and 24 (1) would be bars of their own
    unmerged, _ = histogram_bins(values, None)
    small = np.histogram(values.dropna(), bins=unmerged)[0]
    assert sorted(c for c in small if 0 < c < T) == [1, 1, 2, 3]


def test_an_additive_interaction_contrast_on_a_small_cell_is_withheld(tmp_path):
    """sport x sex with 1 Basketball player of each sex with spasms: the Basketball x Female
    contrast's odds ratios (OR10, OR01, OR11 with their intervals) would give those cells
    back, so its RERI, AP and S are withheld; Golf's and Weightlifting's are shown."""
    from analysis.report.causal import additive_interactions
    from analysis.report.session import ReportSession

    frame = _rare_frame()
    frame.loc[0, "sex"], frame.loc[1, "sex"] = 1, 2  # one Basketball event in each sex
    survey = _survey(frame)
    data = survey.data
    cells = pd.crosstab([data["sport"], data["sex"]], data["spasm"])
    assert cells.loc[("Basketball", "Female")].tolist() == [5, 1]
    report = ReportSession("03_risk_factors", survey, tmp_path / "d.csv", tmp_path / "c.yml",
                           tmp_path, threshold=T, parameters={"interactions": [["sport", "sex"]]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        html = "".join(p.text for p in additive_interactions(report))
    rows = report.results["additive_spasm_sport_sex"]["rows"]
    by_contrast = {}
    for contrast, _measure, estimate, _ in rows:
        by_contrast.setdefault(contrast.rsplit(": ", 1)[1], []).append(estimate)
    assert set(by_contrast["Basketball × Female"]) == {COMPLEMENT_LABEL}
    for shown in ("Golf × Female", "Weightlifting × Female"):
        assert COMPLEMENT_LABEL not in by_contrast[shown]
        assert all(re.match(r"-?\d", e) for e in by_contrast[shown])
    # the cells the release counted are the crosstab's (an independent count)
    name = next(e for e in report.release.estimates() if e.endswith("Basketball × Female"))
    assert report.release.estimate_withheld(name)
    assert report.release.count(cell_key("model:spasm:additive sport × sex", sport="Golf",
                                         sex="Female", spasm="event")) == \
        cells.loc[("Golf", "Female"), "Yes"]
    assert "Counts of 1 to 4 respondents" in html


def test_the_flow_diagram_draws_a_steps_hidden_reasons_as_one_derivable_count():
    """Two reasons of 3 and one of 20 hidden (the 20 secondarily: 3 + 3 would be known from
    the diagram's pool), their step's total 56 and its 30 shown: the diagram draws 56, 30 and
    'other rules: 26' (= 56 - 30, nothing the table does not give) and no hidden count."""
    import matplotlib.pyplot as plt

    from analysis import figures
    from analysis.report.disclosure import diagram_flow, flow_keys, register_flow

    flow = pd.DataFrame({
        "stage": ["read", *["excluded"] * 4, "analysed"],
        "step": ["", *["validate"] * 4, ""],
        "reason": ["rows read", "age: out of range", "sex: unknown code", "id: duplicate id",
                   "height: out of range", "rows analysed"],
        "label": ["rows read", "Age: out of range", "Sex: unknown code", "Id: duplicate id",
                  "Height: out of range", "rows analysed"],
        "n": [500, 3, 3, 20, 30, 444]})
    release = Release(threshold=T)
    register_flow(release, flow)
    assert [release.label(k) for k in flow_keys(flow)] == ["500", "<5", "<5", "suppressed",
                                                          "30", "444"]
    drawn = diagram_flow(release, flow)
    assert drawn[["reason", "shown"]].values.tolist() == [
        ["rows read", "500"], ["height: out of range", "30"], ["other rules", "26"],
        ["rows analysed", "444"]]
    ax = figures.participant_flow(drawn)
    text = "\n".join(t.get_text() for t in ax.texts)
    plt.close(ax.figure)
    assert "Excluded: n = 56" in text and "other rules: 26" in text
    assert not re.search(r"\b(3|6|20)\b", text)
    # rounded counts would not add up in the boxes: no diagram, and the report says why
    rounded = Release(threshold=None, rounding=5)
    register_flow(rounded, flow)
    assert diagram_flow(rounded, flow) is None


@pytest.mark.parametrize("both", [3, 8])
def test_a_row_breaking_two_rules_counts_once_in_the_changes_as_in_the_flow(both):
    """20 ages out of range, ``both`` of them with an unknown posture code too, and 10 - both
    more unknown postures: the flow counts the ``both`` rows under posture (its first rule
    in codebook order) and 20 - both under age. The changes table counted each rule's rows
    (20 and 10): beside the flow, 20 - (20 - both) gave the rows breaking both rules, and
    10 - both the rows breaking posture's rule only, counts no table protected. It now
    counts each row once, as the flow does: its cells are the flow's."""
    from analysis.codebook import Codebook
    from analysis.load import load_survey
    from analysis.plan import plan as plan_of
    from analysis.report.disclosure import (
        change_counts,
        change_keys,
        exclusions_once,
        flow_keys,
        report_release,
    )

    frame = _rare_frame()
    frame.loc[20:39, "age"] = 150
    frame.loc[20:19 + both, "posture"] = 9
    frame.loc[40:39 + 10 - both, "posture"] = 9
    variables = {k: v for k, v in CODEBOOK["variables"].items() if k != "rid"}
    variables["age"] = {**variables["age"], "range": [18, 90]}
    survey = load_survey(frame.drop(columns=["rid"]),
                         Codebook.from_dict({**CODEBOOK, "variables": variables}),
                         on_invalid="exclude")
    flow = survey.flow.set_index("reason")["n"]
    assert (flow["posture: unknown code"], flow["age: out of range"]) == (10, 20 - both)
    ledger = change_counts(survey)
    assert ledger.set_index("column")["n"].to_dict() == {"age": 20, "posture": 10}
    counts = exclusions_once(ledger, survey.flow)
    assert counts.set_index("column")["n"].to_dict() == {"age": 20 - both, "posture": 10}
    assert set(change_keys(counts, survey.flow)) <= set(flow_keys(survey.flow))
    release = report_release(survey, plan_of(survey), parts={"flow", "changes"})
    assert [release.label(k) for k in change_keys(counts, survey.flow)] == [
        str(20 - both), "10"]
    # a rule whose rows all broke an earlier one has no row in the public table
    frame.loc[40:49, "posture"] = 1
    frame.loc[20:39, "posture"] = 9
    survey = load_survey(frame.drop(columns=["rid"]),
                         Codebook.from_dict({**CODEBOOK, "variables": variables}),
                         on_invalid="exclude")
    assert exclusions_once(change_counts(survey), survey.flow)["column"].tolist() == ["posture"]
    # no row excluded, a value set missing (a sex of 9 as a missing code): unchanged
    frame = _rare_frame()
    frame.loc[:2, "sex"] = 9
    variables["sex"] = {**variables["sex"], "missing": {9: "refused"}}
    survey = load_survey(frame.drop(columns=["rid"]),
                         Codebook.from_dict({**CODEBOOK, "variables": variables}),
                         on_invalid="exclude")
    ledger = change_counts(survey)
    assert ledger[["column", "action", "n"]].values.tolist() == [["sex", "set missing", 3]]
    pd.testing.assert_frame_equal(exclusions_once(ledger, survey.flow), ledger)


def _feasible(labels: dict, exprs: dict, grid: np.ndarray, threshold: int) -> np.ndarray:
    """Rows of ``grid`` (candidate counts) that agree with every label as a reader reads it."""
    keep = np.ones(len(grid), dtype=bool)
    for key, text in labels.items():
        value = grid @ exprs[key]
        if text == f"<{threshold}":
            keep &= (value >= 1) & (value <= threshold - 1)
        elif text == COMPLEMENT_LABEL:
            keep &= value >= threshold
        else:
            keep &= value == float(text.replace(",", ""))
    return keep


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(only_age=st.integers(0, 12), both=st.integers(0, 8), only_posture=st.integers(0, 12),
       threshold=st.sampled_from([3, 5, 10]))
def test_generated_rows_breaking_several_rules_release_nothing_recoverable(
        only_age, both, only_posture, threshold):
    """Rows out of the age range, with an unknown posture code, or both: the flow (rows read,
    each rule's rows under its first rule, the step's total, the diagram's pool, analysed)
    and the changes table are released together. A reader who knows how the tables relate
    solves for the three unknown groups of rows (age only, both, posture only) by
    enumeration, not by the release's own audit: no group of fewer than the threshold, nor
    any table's small count, is narrowed beyond what the labels alone allow. (Before the
    changes table counted excluded rows once, age's changes minus its flow count gave the
    rows under both rules.)"""
    from analysis.codebook import Codebook
    from analysis.load import load_survey
    from analysis.plan import plan as plan_of
    from analysis.report.disclosure import (
        EXCLUDED,
        change_counts,
        change_keys,
        exclusions_once,
        flow_keys,
        pooled_flow,
        report_release,
    )

    frame = _rare_frame()
    age_rows = list(range(20, 20 + only_age + both))
    frame.loc[age_rows, "age"] = 150
    frame.loc[age_rows[only_age:], "posture"] = 9
    frame.loc[100:99 + only_posture, "posture"] = 9
    variables = {k: v for k, v in CODEBOOK["variables"].items() if k != "rid"}
    variables["age"] = {**variables["age"], "range": [18, 90]}
    survey = load_survey(frame.drop(columns=["rid"]),
                         Codebook.from_dict({**CODEBOOK, "variables": variables}),
                         on_invalid="exclude")
    release = report_release(survey, plan_of(survey), threshold=threshold,
                             parts={"flow", "changes"})
    flow = survey.flow
    counts = exclusions_once(change_counts(survey), flow)
    # each released cell as a sum of the unknowns: (only age, both, only posture, analysed)
    by_reason = {"rows read": [1, 1, 1, 1], "rows analysed": [0, 0, 0, 1],
                 "age: out of range": [1, 0, 0, 0], "posture: unknown code": [0, 1, 1, 0]}
    exprs = {key: np.array(by_reason[r], float)
             for key, r in zip(flow_keys(flow), flow["reason"], strict=True)}
    assert set(change_keys(counts, flow)) <= set(exprs)  # the changes show the flow's cells
    excluded = np.array([1, 1, 1, 0], float)
    exprs[EXCLUDED] = exprs[cell_key("read", excluded_step="validate")] = excluded
    for _, row in pooled_flow(flow, threshold).iterrows():
        if len(row["parts"]) > 1:
            exprs[cell_key("read", excluded=f"{row['step']}: other rules")] = sum(
                np.array(by_reason[r], float) for r in row["parts"])
    shown = release.cells()
    assert set(shown) <= set(exprs), set(shown) - set(exprs)
    truth = np.array([only_age, both, only_posture, 400 - only_age - both - only_posture])
    labels = {k: release.label(k) for k in shown}
    for k in shown:  # every label tells the truth, and no small count is shown
        assert _feasible({k: labels[k]}, exprs, truth[None, :], threshold).all(), k
        assert not (labels[k].isdigit() and 0 < int(labels[k]) < threshold), (k, labels[k])
    # the unknowns add up to the rows read (shown: 400) less those analysed (shown, or
    # hidden when a single small reason would give them away: then up to 60 rows each)
    assert labels[cell_key("read")] == "400"
    analysed = labels[cell_key("analysed")]
    top = 400 - int(analysed) if analysed.isdigit() else 60
    grid = np.array([(a, b, p) for a in range(top + 1) for b in range(top + 1 - a)
                     for p in range(top + 1 - a - b)
                     if not analysed.isdigit() or a + b + p == top])
    grid = np.column_stack([grid, 400 - grid.sum(axis=1)])
    # what the labels alone allow: every small count '<T', every other one hidden too
    alone = {k: ("0" if v == 0 else f"<{threshold}" if v < threshold else COMPLEMENT_LABEL)
             if k not in (cell_key("read"), cell_key("analysed")) else labels[k]
             for k in shown for v in [truth @ exprs[k]]}
    known = grid[_feasible(labels, exprs, grid, threshold)]
    allowed = grid[_feasible(alone, exprs, grid, threshold)]
    quantities = {"only age": [1, 0, 0, 0], "both rules": [0, 1, 0, 0],
                  "only posture": [0, 0, 1, 0], "age's changes": [1, 1, 0, 0],
                  "posture's rows": [0, 1, 1, 0]}
    for name, q in quantities.items():
        q = np.array(q, float)
        true = truth @ q
        if not 0 < true < threshold:
            continue  # zero or large: nothing to protect
        lo, hi = (known @ q).min(), (known @ q).max()
        need = allowed @ q
        need = need[(need >= 1) & (need <= threshold - 1)]
        assert lo <= need.min() and hi >= need.max(), (name, true, (lo, hi), labels)
