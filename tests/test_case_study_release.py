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
import pytest

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
    return {r[0]: r[1:] for r in report.results[key]["rows"]}


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
