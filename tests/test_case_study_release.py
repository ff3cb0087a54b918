"""The case studies' own tables in the report's one release, attacked as a reader would.

Synthetic surveys (no public data needed) go through the case-study session
(:func:`analysis.case_studies.released.attach_release`, what
``open_case_study`` does): rows by group, matched sets and the sets leaving
at each stage, discordant pairs and McNemar's odds ratio, the distribution
table and Table 1. The reader's integer program (tests/_reader_attack.py)
reads only the rendered text of ``report.results`` (what results.json and the
CSVs hold) and the arithmetic a reader knows of a 1:1 matched design; the
matched odds ratio b/c and its interval are back-solved by trying every (b, c).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _reader_attack import ReaderProgram
from analysis.codebook import Codebook
from analysis.privacy import COMPLEMENT_LABEL


def _session(survey, tmp_path, threshold: int = 5, parts=None, **parameters):
    """A case study's report session on ``survey`` (open_case_study without a dataset)."""
    from analysis.case_studies.released import attach_release
    from analysis.report.session import ReportSession

    report = ReportSession(name="synthetic", survey=survey, data=tmp_path / "absent.csv",
                           codebook=tmp_path / "absent.yml", out_dir=tmp_path,
                           threshold=threshold, parameters=parameters)
    return attach_release(report, parts)


def _rows(report, key: str) -> dict[str, list[str]]:
    results = report["results"] if isinstance(report, dict) else report.results
    return {r[0]: r[1:] for r in results[key]["rows"]}


# ---- Table 1: registered with the columns shown --------------------------------------
def _sport_survey():
    """60 respondents; Table 1 by spasm over sex and posture has small cells of its own
    (posture Good/Fair with spasm: 2 and 2; Male with spasm: 3), and the sport column,
    which this notebook does not show, has more (Basketball: 1 and 1)."""
    from test_report_release import _rare_frame, _survey

    rng = np.random.default_rng(25)
    frame = _rare_frame(n=60, seed=25)
    k = int(rng.integers(1, 4))
    frame.loc[:k - 1, "sport"] = 4
    frame.loc[k:10, "sport"] = 1
    frame.loc[:k - 1, "spasm"] = rng.integers(0, 2, k)
    return _survey(frame)


def test_table_one_is_registered_with_the_columns_the_notebook_shows(tmp_path):
    """Registered with every default column (sport too), Table 1 hides the 23 women without
    and the 6 with spasms as complements of the sport column's small cells; registered with
    the columns shown (sex and posture), the same cells are shown: the notebook's Table 1
    costs no more than its own small cells need."""
    from analysis.report import sections as report_sections

    survey = _sport_survey()
    columns = ["sex", "posture"]

    def female(report) -> list[str]:
        report_sections.characteristics(report, by="spasm", columns=columns)
        assert report.release.log()["protected"].all()
        head = report.results["characteristics"]["columns"]
        row = _rows(report, "characteristics")["    Female"]
        return [row[head.index(c) - 1].split(" ")[0] for c in ("No", "Yes")]

    every = _session(survey, tmp_path / "all", parts={"table one"})
    assert female(every) == [COMPLEMENT_LABEL, COMPLEMENT_LABEL]
    shown = _session(survey, tmp_path / "shown", parts={"table one"},
                     characteristics=columns)
    assert female(shown) == ["23", "6"]
    assert "table one" not in shown.release_parts
    # the small cells of what is shown are still hidden, with their complements
    log = shown.release.log()
    assert set(log.loc[log["status"] == "primary", "value"]) == {2.0, 3.0}
    assert not any("sport" in c for c in log["cell"])


# ---- the distribution table: no minimum or maximum -----------------------------------
def test_the_distribution_table_shows_no_extreme_value_and_no_quantile_of_the_extremes(
        tmp_path):
    """Age by main sport: 37, 11, 10 and 2 respondents. No Min or Max column; P10 and P90
    only for groups of 11 or more (0.1 x (n - 1) >= 1), quartiles for 5 or more, nothing
    for the group of 2 (a small count). The shown quantiles are numpy's linear ones of
    the raw ages; and why: in a group of 5, P10 = 0.6 x1 + 0.4 x2 and Q1 = x2 give x1."""
    from analysis.case_studies import sections
    from analysis.case_studies.distributions import smallest_group

    survey = _sport_survey()
    report = _session(survey, tmp_path, parts=set(), overlaps=[["age", "sport"]])
    html = sections.overlap_table(report, "age", "sport", key="age", title="Age by sport").text
    assert "Minimum and maximum are single respondents&#x27; values" in html
    table = report.results["age"]
    assert table["columns"] == ["Group", "N", "P10", "Q1", "Median", "Q3", "P90",
                                "Beyond reference"]
    rows = _rows(report, "age")
    data = survey.data
    golf = np.sort(data.loc[data["sport"] == "Golf", "age"].to_numpy(dtype=float))
    assert len(golf) == 11
    assert rows["Golf"][:6] == ["11", *(f"{np.percentile(golf, p):.3g}"
                                        for p in (10, 25, 50, 75, 90))]
    assert rows["Weightlifting"][0] == "10"
    assert rows["Weightlifting"][1] == rows["Weightlifting"][5] == COMPLEMENT_LABEL
    assert COMPLEMENT_LABEL not in rows["Weightlifting"][2:5]
    assert rows["Basketball"][:6] == ["<5"] + [COMPLEMENT_LABEL] * 5
    assert [smallest_group(p) for p in (0.1, 0.25, 0.5, 0.75, 0.9)] == [11, 5, 3, 5, 11]
    x = np.array([21.0, 30, 34, 40, 66])
    p10, q1 = np.percentile(x, 10), np.percentile(x, 25)
    assert (p10 - 0.4 * q1) / 0.6 == pytest.approx(x.min(), abs=1e-9)


# ---- hypothesis: small matched surveys with rare exposures ----------------------------
MATCHED = {"name": "matched", "variables": {
    "pair": {"type": "text", "label": "Matched set", "role": "match"},
    "status": {"type": "binary", "label": "Disc", "levels": {0: "control", 1: "case"},
               "role": "outcome"},
    "driver": {"type": "binary", "label": "Drives a car", "levels": {0: "No", 1: "Yes"},
               "role": "exposure"},
    "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"},
            "role": "confounder"},
    "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
}}


def _matched_survey(neither: int, b: int, c: int, both: int, two_controls: int,
                    unknown: int, seed: int):
    """1:1 pairs by (case, control) exposure: ``neither`` No/No, ``b`` Yes/No, ``c`` No/Yes,
    ``both`` Yes/Yes; ``two_controls`` sets of two controls (not informative) and
    ``unknown`` pairs whose control's exposure is missing (not complete)."""
    from analysis.load import load_survey

    rng = np.random.default_rng(seed)
    pairs = ([(0, 0)] * neither + [(1, 0)] * b + [(0, 1)] * c + [(1, 1)] * both
             + [(0, None)] * unknown)
    rows = []
    for i, (case, control) in enumerate(pairs):
        rows += [(f"P{i}", 1, case), (f"P{i}", 0, control)]
    for j in range(two_controls):
        rows += [(f"C{j}", 0, int(rng.integers(0, 2))), (f"C{j}", 0, 0)]
    frame = pd.DataFrame(rows, columns=["pair", "status", "driver"])
    frame["sex"] = np.where(rng.random(len(frame)) < 0.15, 1, 2)
    frame["age"] = np.round(rng.uniform(20, 70, len(frame)))
    return load_survey(frame, Codebook.from_dict(MATCHED))


class Reader:
    """What a reader of the rendered case-study tables knows, as an integer program.

    Unknowns: Table 1's cells (each variable's levels and missing by status), the
    matched sets and people at each stage, the 2x2 pairs table. Known without being
    told: every analysed row is in a set and is a case or a control; Table 1's columns
    add up; each stage is a subset of the one above; the pairs are the sets with a case
    and a control (two people each) and the discordant sets are the off-diagonal
    pairs; the rows complete at the second stage are those with the exposure; the
    pairs' margins are at most Table 1's cells, and equal when every row is in a
    complete pair. :meth:`interval` solves with every label, :meth:`interval`
    ``(labels_only=True)`` with each shown non-zero count known only to be at least
    the threshold (what the labels alone leave with every count hidden: the range
    the release promises, module docstring of analysis.privacy.release).
    """

    def __init__(self, threshold: int, levels: dict[str, list[str]], whole_pairs: bool):
        self.threshold = threshold
        names = ["N", "N:control", "N:case"]
        for v, lv in levels.items():
            names += [f"{v}={x}:{g}" for x in [*lv, "(missing)"] for g in ("control", "case")]
        names += [f"S{i}" for i in range(4)] + [f"P{i}" for i in range(4)]
        names += [f"p:{a}:{b}" for a in ("No", "Yes") for b in ("No", "Yes")]
        self.index = {n: i for i, n in enumerate(names)}
        self.structure: list[tuple[dict, str]] = []  # (terms, "eq" | "ge"): sum = 0 / >= 0
        self.labels: list[tuple[list[str], str]] = []
        eq, ge = (lambda t: self.structure.append((t, "eq"))), (
            lambda t: self.structure.append((t, "ge")))
        eq({"N": 1, "N:control": -1, "N:case": -1})
        for v, lv in levels.items():
            for g in ("control", "case"):
                eq({f"N:{g}": 1, **{f"{v}={x}:{g}": -1 for x in [*lv, "(missing)"]}})
        eq({"N": 1, "P0": -1})
        for i in range(3):
            ge({f"S{i}": 1, f"S{i + 1}": -1})
            ge({f"P{i}": 1, f"P{i + 1}": -1})
        eq({"S2": 1, **{f"p:{a}:{b}": -1 for a in ("No", "Yes") for b in ("No", "Yes")}})
        eq({"P2": 1, "S2": -2})
        eq({"S3": 1, "p:Yes:No": -1, "p:No:Yes": -1})
        eq({"P3": 1, "S3": -2})
        eq({"P1": 1, "N": -1, "driver=(missing):control": 1, "driver=(missing):case": 1})
        for x in ("No", "Yes"):
            for terms in ({f"driver={x}:case": 1, **{f"p:{x}:{y}": -1 for y in ("No", "Yes")}},
                          {f"driver={x}:control": 1,
                           **{f"p:{y}:{x}": -1 for y in ("No", "Yes")}}):
                (eq if whole_pairs else ge)(terms)

    def vector(self, terms: dict[str, float]) -> np.ndarray:
        out = np.zeros(len(self.index))
        for name, coef in terms.items():
            out[self.index[name]] += coef
        return out

    def label(self, names: str | list[str], text: str) -> None:
        self.labels.append(([names] if isinstance(names, str) else names, text))

    def hidden(self) -> list[tuple[list[str], str]]:
        return [(n, t) for n, t in self.labels if t.split(" ")[0] == f"<{self.threshold}"]

    def interval(self, names: list[str], labels_only: bool = False) -> tuple[float, float]:
        program = ReaderProgram((len(self.index),), self.threshold)
        for terms, kind in self.structure:
            if kind == "eq":
                program.eq.append(self.vector(terms))
                program.b_eq.append(0.0)
            else:
                program.ub.append(-self.vector(terms))
                program.b_ub.append(0.0)
        for cells, text in self.labels:
            value = text.split(" ")[0]
            if labels_only and value.isdigit() and value != "0":
                text = COMPLEMENT_LABEL  # every count hidden: known to be >= threshold
            program.constrain(self.vector(dict.fromkeys(cells, 1)), text)
        return program.interval(self.vector(dict.fromkeys(names, 1)))


def _mcnemar_solutions(text: str, most: int, decimals: int = 3) -> set[tuple[int, int]]:
    """Every (b, c) whose b/c (95% CI) prints as ``text`` (Breslow & Day's Wald interval)."""
    out = set()
    for b in range(1, most + 1):
        for c in range(1, most + 1):
            se, d = np.sqrt(1 / b + 1 / c), decimals
            shown = (f"{b / c:.{d}f} ({np.exp(np.log(b / c) - 1.959964 * se):.{d}f}-"
                     f"{np.exp(np.log(b / c) + 1.959964 * se):.{d}f})")
            if shown == text:
                out.add((b, c))
    return out


def _render_matched(survey, threshold: int) -> dict:
    """Every case-study table of a matched design, released together: ``report.results``."""
    import tempfile
    from pathlib import Path

    from analysis.case_studies import released, sections
    from analysis.report import sections as report_sections

    columns = ["driver", "sex", "age"]
    with tempfile.TemporaryDirectory() as tmp:
        report = _session(survey, Path(tmp), threshold, parts={"flow"}, groups="status",
                          pairs="driver", overlaps=[["age", "status"]],
                          characteristics=columns)
        report_sections.characteristics(report, by="status", columns=columns)
        released.data_flow(report)
        released.matched_flow(report)
        released.discordant_table(report)
        sections.overlap_table(report, "age", "status", key="age", title="Age")
        assert report.release.log()["protected"].all()
        return report.results


def _read(shown: dict, reader: Reader) -> None:
    """Every count label of the rendered tables, as the reader's constraints."""
    groups = _rows({"results": shown}, "groups")
    for g in ("control", "case"):
        reader.label(f"N:{g}", groups[g][0])
    reader.label("N", groups["Total"][0])
    head = shown["characteristics"]["columns"]
    t1 = _rows({"results": shown}, "characteristics")
    for col, groups_of in (("control", ["control"]), ("case", ["case"]),
                           ("Overall", ["control", "case"])):
        i = head.index(col) - 1
        reader.label([f"N:{g}" for g in groups_of], t1["n"][i])
        for v, lv in (("driver", ["No", "Yes"]), ("sex", ["Female", "Male"])):
            for x in lv:
                reader.label([f"{v}={x}:{g}" for g in groups_of], t1[f"    {x}"][i])
    missing = head.index("Missing") - 1
    for v, row in (("driver", "Drives a car, n (%)"), ("sex", "Sex, n (%)")):
        reader.label([f"{v}=(missing):control", f"{v}=(missing):case"], t1[row][missing] or "0")
    sets = _rows({"results": shown}, "matched_sets")
    for i, stage in enumerate(sets):
        reader.label(f"S{i}", sets[stage][0])
        reader.label(f"P{i}", sets[stage][1])
    pairs = _rows({"results": shown}, "discordant_pairs")
    for j, a in enumerate(("No", "Yes")):
        for k, x in enumerate(("No", "Yes")):
            reader.label(f"p:{a}:{x}", pairs[a][k])
        reader.label([f"p:{a}:No", f"p:{a}:Yes"], pairs[a][2])
        reader.label([f"p:No:{a}", f"p:Yes:{a}"], pairs["Total"][j])
    reader.label("S2", pairs["Total"][2])
    mcnemar = dict(map(tuple, shown["mcnemar"]["rows"]))
    reader.label("p:Yes:No", mcnemar["Pairs with only the case exposed (b)"])
    reader.label("p:No:Yes", mcnemar["Pairs with only the control exposed (c)"])
    age = _rows({"results": shown}, "age")
    for g in ("control", "case"):  # no age is missing: N is the group
        reader.label(f"N:{g}", age[g][0])


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(neither=st.integers(2, 12), b=st.integers(0, 7), c=st.integers(0, 7),
       both=st.integers(0, 5), two_controls=st.integers(0, 2), unknown=st.integers(0, 2),
       seed=st.integers(0, 1000), threshold=st.sampled_from([3, 5]))
def test_generated_matched_surveys_release_nothing_a_reader_can_solve(
        neither, b, c, both, two_controls, unknown, seed, threshold):
    """Rows by group, matched sets (and those leaving at each stage), discordant pairs,
    McNemar's OR, the age distribution and Table 1, released together: every small
    cell's interval under the reader's integer program is what the labels alone leave
    (the shown counts add nothing), and a shown matched OR (95% CI), which gives b and c
    back, rests on shown discordant counts of at least the threshold."""
    survey = _matched_survey(neither, b, c, both, two_controls, unknown, seed)
    shown = _render_matched(survey, threshold)
    reader = Reader(threshold, {"driver": ["No", "Yes"], "sex": ["Female", "Male"]},
                    whole_pairs=two_controls == 0 and unknown == 0)
    _read(shown, reader)
    for cells, text in reader.hidden():
        assert reader.interval(cells) == reader.interval(cells, labels_only=True), (cells, text)
    mcnemar = dict(map(tuple, shown["mcnemar"]["rows"]))
    text = mcnemar["Matched odds ratio b/c (95% CI)"]
    shown_b, shown_c = (mcnemar[f"Pairs with only the {w} exposed ({x})"]
                        for w, x in (("case", "b"), ("control", "c")))
    if text not in (COMPLEMENT_LABEL, "not estimable"):
        assert shown_b.isdigit() and shown_c.isdigit()
        assert min(int(shown_b), int(shown_c)) >= threshold
        assert _mcnemar_solutions(text, max(b, c) + 3) == {(b, c)}  # it does give them back
    elif 0 < b < threshold or 0 < c < threshold:
        assert text == COMPLEMENT_LABEL
        assert {mcnemar[k] for k in mcnemar if k.startswith(("p (", "McNemar"))} == {
            COMPLEMENT_LABEL}


def test_the_conditional_models_odds_ratio_is_withheld_with_mcnemars(tmp_path):
    """b = c = 7 pairs: the crude conditional OR of driving is b/c with McNemar's Wald
    interval, '1.00 (0.35-2.85)', which only b = c = 7 print. When b is hidden (a
    complement at threshold 5) the model table's row is withheld with the matched OR;
    the reader has nothing to back-solve."""
    from analysis.case_studies import released
    from analysis.report import planned

    assert _mcnemar_solutions("1.00 (0.35-2.85)", 30, decimals=2) == {(7, 7)}
    survey = _matched_survey(10, 7, 7, 4, 1, 0, 824)
    report = _session(survey, tmp_path, 5, parts={"flow", "models"}, groups="status",
                      pairs="driver", characteristics=["driver", "sex", "age"])
    planned.model_sections(report)
    released.discordant_table(report)
    mcnemar = dict(map(tuple, report.results["mcnemar"]["rows"]))
    assert [mcnemar[k] for k in ("Pairs with only the case exposed (b)",
                                 "Pairs with only the control exposed (c)",
                                 "Matched odds ratio b/c (95% CI)")] == [
        COMPLEMENT_LABEL, "7", COMPLEMENT_LABEL]
    row = _rows(report, "model_status")["Drives a car: Yes vs No"]
    assert row[0] == row[2] == COMPLEMENT_LABEL  # crude and adjusted OR (95% CI)
    assert report.release.log()["protected"].all()
