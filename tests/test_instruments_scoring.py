"""score_instruments on a hand-built Survey, NMQ prevalence, the `backpain score` command."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.codebook import Codebook
from analysis.errors import BackpainWarning, ScoringError
from analysis.instruments import nmq_prevalence, score_instruments
from analysis.ledger import Ledger
from analysis.survey import Survey

NA = np.nan
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example" / "survey.csv"
CODEBOOK = ROOT / "data" / "codebooks" / "backpain_survey.yml"

ODI_LEVELS = {i: f"Statement {i}" for i in range(6)}
ITEM9 = {0: "Not at all", 1: "Slightly", 2: "Moderately", 3: "Very much", 4: "Extremely"}


def codebook_spec(orebro_reverse=(6, 9, 10)) -> dict:
    v: dict[str, dict] = {"pain": {"type": "numeric", "label": "Pain", "range": [0, 10],
                                   "instrument": {"name": "nprs", "item": 1}}}
    for i in range(1, 11):
        v[f"odi_{i}"] = {"type": "ordinal", "label": f"ODI {i}", "levels": ODI_LEVELS,
                         "instrument": {"name": "odi", "item": i}}
    for i in range(1, 25):
        v[f"rmdq_{i}"] = {"type": "binary", "label": f"RMDQ {i}",
                          "instrument": {"name": "rmdq", "item": i}}
    for i in range(1, 9):
        v[f"sb_{i}"] = {"type": "binary", "label": f"STarT {i}",
                        "levels": {0: "Disagree", 1: "Agree"},
                        "instrument": {"name": "start_back", "item": i}}
    v["sb_9"] = {"type": "ordinal", "label": "STarT 9", "levels": ITEM9,
                 "instrument": {"name": "start_back", "item": 9}}
    for a in ("vigorous", "moderate", "walking"):
        v[f"ip_{a}_d"] = {"type": "count", "label": f"{a} days",
                          "instrument": {"name": "ipaq_short", "item": f"{a}_days"}}
        v[f"ip_{a}_m"] = {"type": "numeric", "label": f"{a} minutes",
                          "instrument": {"name": "ipaq_short", "item": f"{a}_minutes"}}
    for w in ("12m", "7d", "prevented"):
        v[f"lb_{w}"] = {"type": "binary", "label": f"low back {w}",
                        "instrument": {"name": "nmq", "item": f"low_back_{w}"}}
    for i in range(1, 17):
        v[f"fabq_{i}"] = {"type": "ordinal", "label": f"FABQ {i}",
                          "levels": {k: str(k) for k in range(7)},
                          "instrument": {"name": "fabq", "item": i}}
    for i in range(1, 11):
        v[f"or_{i}"] = {"type": "numeric", "label": f"Örebro {i}",
                        "instrument": {"name": "orebro_short", "item": i,
                                       "reverse": i in orebro_reverse}}
    return {"name": "hand", "variables": v}


# Six respondents, lines 2-7, as codes; NA = not answered.
ODI = [[2, 2, 2, 2, 2, 2, 2, 2, 0, 0],        # ODI-1: 32 %
       [5, 5, 3, 3, 0, 0, 0, 0, 0, NA],       # ODI-2: 35.56 %, prorated
       [5, 5, 5, 5, 0, 0, 0, 0, NA, NA],      # ODI-6: unscorable
       [5] * 10,                              # ODI-5: 100 %
       [1, 5, 4, 4, 3, 0, 1, 5, 3, 4],        # ODI-3: 60 %
       [NA] * 10]                             # nothing answered
RMDQ = [[int(i in (2, 3, 6, 9, 13)) for i in range(1, 25)],
        [1] * 10 + [0] * 12 + [NA, NA],       # 2 blanks scored 0
        [NA] * 24,
        [1] * 24,
        [0] * 24,
        [NA] * 24]
SBST = [[1, 0, 1, 0, 0, 1, 0, 0, 4], [1, 1, 1, 1, 1, 1, 1, 1, 2], [1] * 8 + [NA],
        [0, 0, 0, 0, 1, 1, 1, 0, 4], [0] * 9, [NA] * 9]
IPAQ = [(5, 30, 5, 30, 5, 30), (0, NA, 1, 720, 6, 10), (2, 300, 1, 400, 1, 300),
        (7, 9, 0, NA, 7, 60), (0, NA, 0, NA, 7, 5), (NA, NA, NA, NA, NA, NA)]
NMQ = [(1, 1, 0), (1, 0, 1), (0, NA, NA), (1, 0, 0), (0, NA, NA), (NA, NA, NA)]
PAIN = [4, 7, NA, 0, 10, NA]
FABQ = [[3] * 16, [6, 5, 4, 3, 2, 6, 6, 6, 5, 5, 5, 5, 0, 0, 5, 0],
        [3, 3, 3, NA] + [3] * 12, [0] * 16, [6] * 16, [NA] * 16]
OREBRO = [[1, 0, 4, 3, 1, 5, 0, 2, 6, 9], [1, 0, 0, 0, 0, 10, 0, 0, 10, 10],
          [10, 10, 10, 10, 10, 0, 10, 10, 0, 0], [7, 6, 5, 5, 6, 5, 6, 5, 5, 6],
          [5] * 9 + [NA], [NA] * 10]


def hand_survey(**spec_kw) -> Survey:
    cb = Codebook.from_dict(codebook_spec(**spec_kw))
    codes: dict[str, list] = {"pain": PAIN}
    for i in range(10):
        codes[f"odi_{i + 1}"] = [r[i] for r in ODI]
        codes[f"or_{i + 1}"] = [r[i] for r in OREBRO]
    for i in range(24):
        codes[f"rmdq_{i + 1}"] = [r[i] for r in RMDQ]
    for i in range(9):
        codes[f"sb_{i + 1}"] = [r[i] for r in SBST]
    for j, name in enumerate(["ip_vigorous_d", "ip_vigorous_m", "ip_moderate_d",
                              "ip_moderate_m", "ip_walking_d", "ip_walking_m"]):
        codes[name] = [r[j] for r in IPAQ]
    for j, w in enumerate(("12m", "7d", "prevented")):
        codes[f"lb_{w}"] = [r[j] for r in NMQ]
    for i in range(16):
        codes[f"fabq_{i + 1}"] = [r[i] for r in FABQ]
    index = pd.RangeIndex(2, 8, name="line")
    data = {}
    for name, values in codes.items():
        var = cb[name]
        values = pd.Series(values, index=index, dtype="float64")
        if var.type in ("binary", "ordinal", "categorical"):
            labels = var.level_labels
            dtype = pd.CategoricalDtype(list(labels.values()), ordered=var.type == "ordinal")
            values = values.map(lambda c, lab=labels: lab.get(int(c)) if c == c else None)
            values = values.astype(dtype)
        data[name] = values
    frame = pd.DataFrame(data, index=index)
    return Survey(frame, cb, Ledger(n_read=len(frame)), source="test")


@pytest.fixture(scope="module")
def scored():
    return score_instruments(hand_survey())


def test_scores_added_with_their_codebook_entries(scored):
    survey, _ = scored
    d = survey.data
    assert d["odi_pct"].tolist()[:5] == pytest.approx([32.0, 100 * 16 / 45, NA, 100.0, 60.0],
                                                      nan_ok=True)
    assert pd.isna(d.loc[7, "odi_pct"])
    assert d["odi_band"].cat.categories[0] == "minimal disability" and d["odi_band"].cat.ordered
    assert d["odi_band"].astype(object).tolist()[:2] == ["moderate disability"] * 2
    assert d["rmdq_score"].tolist() == pytest.approx([5, 10, NA, 24, 0, NA], nan_ok=True)
    assert d["sbst_risk"].astype(object).tolist()[:5] == ["medium", "high", NA, "high", "low"]
    assert d["ipaq_total_met"].tolist()[:2] == pytest.approx([2295, 918])
    assert d["ipaq_category"].astype(object).tolist() == ["high", "moderate", NA, "moderate",
                                                          "low", NA]
    assert d["nprs_category"].astype(object).tolist() == ["mild", "severe", NA, "none",
                                                          "severe", NA]
    assert d["fabq_pa"].tolist() == pytest.approx([12, 14, NA, 0, 24, NA], nan_ok=True)
    assert d["fabq_w"].tolist() == pytest.approx([21, 37, 21, 0, 42, NA], nan_ok=True)
    assert d["fabq_w_high"].astype(object).tolist()[:2] == ["No", "Yes"]
    assert d["orebro_total"].tolist()[:4] == [21, 1, 100, 54]
    assert d["orebro_at_risk"].astype(object).tolist()[:4] == ["No", "No", "Yes", "Yes"]
    # Items are untouched and no row left.
    assert len(d) == 6 and d["odi_1"].dtype == survey.data["odi_1"].dtype
    cb = survey.codebook
    assert cb["odi_pct"].range == (0, 100) and cb["odi_pct"].unit == "%"
    assert list(cb["sbst_risk"].level_labels.values()) == ["low", "medium", "high"]
    assert cb["ipaq_category"].type == "ordinal"
    assert "serlin" in cb["nprs_category"].description
    assert "nmq" not in "".join(d.columns[d.columns.str.startswith("nmq")])


def test_ledger_records_prorated_and_unscorable(scored):
    survey, _ = scored
    ledger = survey.ledger
    assert survey.flow["n"].tolist() == [6, 6]  # nothing excluded

    def lines(step, action, column=None):
        rows = ledger[(ledger.step == step) & (ledger.action == action)]
        if column is not None:
            rows = rows[rows.column == column]
        return sorted(rows.line.tolist())

    assert lines("score odi", "prorated") == [3]
    assert lines("score odi", "unscorable") == [4, 7]
    odi_rows = ledger[(ledger.step == "score odi")].set_index("line")
    assert odi_rows.loc[3, "value"] == "9" and odi_rows.loc[4, "rule"].startswith(
        "ODI: more than 1 section")
    assert lines("score rmdq", "blank scored 0") == [3]
    assert lines("score rmdq", "unscorable") == [4, 7]
    assert lines("score start_back", "unscorable") == [4, 7]
    assert lines("score ipaq_short", "unscorable") == [4, 7]
    assert lines("score ipaq_short", "truncated", "ip_moderate_m") == [3]
    assert lines("score ipaq_short", "recoded", "ip_vigorous_m") == [5]
    assert lines("score ipaq_short", "recoded", "ip_walking_m") == [6]
    assert lines("score fabq", "unscorable", "fabq_pa") == [4, 7]
    assert lines("score fabq", "unscorable", "fabq_w") == [7]
    assert lines("score orebro_short", "unscorable") == [6, 7]
    ipaq_rule = ledger[(ledger.step == "score ipaq_short") & (ledger.line == 4)].rule.item()
    assert "960" in ipaq_rule


def test_alpha_table_matches_hand_formula(scored):
    _, alpha = scored
    assert alpha[["instrument", "scale"]].values.tolist() == [
        ["odi", "odi"], ["rmdq", "rmdq"], ["start_back", "start_back"],
        ["fabq", "fabq_pa"], ["fabq", "fabq_w"], ["orebro_short", "orebro_short"]]
    odi_row = alpha.set_index("scale").loc["odi"]
    complete = np.array([r for r in ODI if not np.isnan(r).any()], dtype=float)
    k = complete.shape[1]
    by_hand = k / (k - 1) * (1 - complete.var(axis=0, ddof=1).sum()
                             / complete.sum(axis=1).var(ddof=1))
    assert (odi_row["n_items"], odi_row["n_complete"]) == (10, 3)
    assert odi_row["alpha"] == pytest.approx(by_hand, abs=1e-12)
    # Örebro alpha is on the keyed items (6, 9, 10 reversed), 4 complete respondents.
    keyed = np.array([r for r in OREBRO if not np.isnan(r).any()], dtype=float)
    keyed[:, [5, 8, 9]] = 10 - keyed[:, [5, 8, 9]]
    hand = 10 / 9 * (1 - keyed.var(axis=0, ddof=1).sum() / keyed.sum(axis=1).var(ddof=1))
    orebro = alpha.set_index("scale").loc["orebro_short"]
    assert orebro["alpha"] == pytest.approx(hand, abs=1e-12) and orebro["n_complete"] == 4
    assert (alpha["ci_low"] <= alpha["alpha"]).all() and (alpha["alpha"] <= alpha["ci_high"]).all()


def test_settings_pass_through():
    survey, _ = score_instruments(hand_survey(), odi_max_missing=None, rmdq_missing="prorate",
                                  nprs_scheme="boonstra", ipaq_moderate_b="single_type")
    assert survey.data.loc[4, "odi_pct"] == pytest.approx(50.0)
    assert survey.data.loc[3, "rmdq_score"] == pytest.approx(10 * 24 / 22)
    assert survey.data.loc[2, "nprs_category"] == "mild"
    assert "single_type" in survey.codebook["ipaq_category"].description
    unscorable = survey.ledger.query("step == 'score odi' and action == 'unscorable'")
    assert 4 not in unscorable.line.tolist()


def test_nmq_vector_through_the_codebook():
    out = nmq_prevalence(hand_survey(), "low_back")
    assert out["window"].tolist() == ["12m", "7d", "prevented"]
    assert out["n"].tolist() == [5, 5, 5]
    assert out["n_yes"].tolist() == [3, 1, 1]
    assert out["prevalence"].tolist() == pytest.approx([60.0, 20.0, 20.0])
    # Wilson's closed form for 3 of 5.
    z, n, p = 1.959963984540054, 5, 0.6
    centre, half = p + z**2 / (2 * n), z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    low, high = (centre - half) / (1 + z**2 / n), (centre + half) / (1 + z**2 / n)
    assert out.loc[0, ["ci_low", "ci_high"]].tolist() == pytest.approx([100 * low, 100 * high])


def test_nmq_from_a_dataframe_and_inconsistent_answers():
    answers = pd.DataFrame({"low_back_12m": ["Yes", "No", "No", "Yes"],
                            "low_back_7d": ["No", "Yes", None, None]}, index=[2, 3, 4, 5])
    with pytest.warns(BackpainWarning, match=r"1 respondent.*lines \[3\]"):
        out = nmq_prevalence(answers, "low_back")
    # Line 5 said Yes to 12 months but left 7 days blank: out of that denominator only.
    assert out["n"].tolist() == [4, 3] and out["n_yes"].tolist() == [2, 1]
    assert out["n_inconsistent"].tolist() == [0, 1]
    with pytest.raises(ScoringError, match=r"no item 'neck_12m'.*\['low_back'\]"):
        nmq_prevalence(answers, "neck")
    with pytest.raises(ScoringError, match=r"'low_back_7d'.*line 2 = 'maybe'"):
        nmq_prevalence(answers.assign(low_back_7d=["maybe", None, None, None]), "low_back")


def test_nmq_inconsistency_is_flagged_in_the_ledger():
    survey = hand_survey()
    data = survey.data.copy()
    data.loc[4, "lb_7d"] = "Yes"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackpainWarning)
        scored, _ = score_instruments(Survey(data, survey.codebook, Ledger(n_read=6)))
    flagged = scored.ledger.query("action == 'flagged'")
    assert flagged[["line", "column"]].values.tolist() == [[4, "lb_7d"]]


def test_codebook_problems_are_errors_or_warnings():
    spec = codebook_spec()
    del spec["variables"]["odi_10"]
    survey = hand_survey()
    short = Survey(survey.data, Codebook.from_dict(spec), Ledger(n_read=6))
    with pytest.raises(ScoringError, match=r"odi: the codebook marks items \[1, 2, .*9\].*1-10"):
        score_instruments(short)
    with pytest.warns(BackpainWarning, match=r"marks items \[6, 9\] as reverse-keyed"):
        score_instruments(hand_survey(orebro_reverse=(6, 9)))
    bad = survey.data.copy()
    bad["pain"] = bad["pain"].where(bad.index != 3, 12.0)
    with pytest.raises(ScoringError, match=r"NPRS.*'pain' \(line 3 = 12\)"):
        score_instruments(Survey(bad, survey.codebook, Ledger(n_read=6)))


def test_binary_items_coded_1_2_map_by_level_order():
    spec = {"variables": {f"r{i}": {"type": "binary", "label": f"r{i}",
                                    "levels": {1: "No", 2: "Yes"},
                                    "instrument": {"name": "rmdq", "item": i}}
                          for i in range(1, 25)}}
    cb = Codebook.from_dict(spec)
    dtype = pd.CategoricalDtype(["No", "Yes"])
    line = pd.Index([2], name="line")
    data = pd.DataFrame({f"r{i}": pd.Series(["Yes" if i <= 7 else "No"], dtype=dtype, index=line)
                         for i in range(1, 25)})
    survey, alpha = score_instruments(Survey(data, cb, Ledger(n_read=1)))
    assert survey.data.loc[2, "rmdq_score"] == 7
    assert pd.isna(alpha.loc[0, "alpha"])  # one respondent: no alpha


def test_survey_without_instruments_is_returned_unchanged():
    cb = Codebook.from_dict({"variables": {"age": {"type": "numeric", "label": "Age"}}})
    data = pd.DataFrame({"age": [30.0]}, index=pd.Index([2], name="line"))
    survey, alpha = score_instruments(Survey(data, cb, Ledger(n_read=1)))
    assert list(survey.data.columns) == ["age"] and alpha.empty


@pytest.mark.skipif(not (EXAMPLE.exists() and CODEBOOK.exists()),
                    reason="example survey not generated yet (data/example/survey.csv)")
def test_example_survey_scores_through_its_codebook(tmp_path):
    from analysis.cli import main
    from analysis.cli import score as _score  # noqa: F401
    from analysis.load import load_survey

    survey = load_survey(EXAMPLE, CODEBOOK, on_invalid="exclude")
    scored, alpha = score_instruments(survey)
    d = scored.data
    for col in ("odi_pct", "rmdq_score", "sbst_risk", "ipaq_total_met", "nprs_category"):
        assert col in d and d[col].notna().mean() > 0.5, col
    assert d["odi_pct"].dropna().between(0, 100).all()
    assert set(alpha["instrument"]) >= {"odi", "rmdq", "start_back"}
    assert alpha["alpha"].between(0, 1).all()
    assert len(d) == len(survey.data)
    out = tmp_path / "scored.parquet"
    assert main(["score", str(EXAMPLE), "--codebook", str(CODEBOOK), "--out", str(out),
                 "--on-invalid", "exclude"]) == 0
    back = pd.read_parquet(out)
    assert back["odi_pct"].tolist() == pytest.approx(d["odi_pct"].tolist(), nan_ok=True)


def test_cli_score_writes_parquet_and_summary(tmp_path, capsys):
    from analysis.cli import main
    from analysis.cli import score as _score  # noqa: F401  (registers the command)

    survey = hand_survey()
    codebook = tmp_path / "hand.yml"
    survey.codebook.to_yaml(codebook)
    raw = pd.DataFrame({name: _codes_of(survey, name) for name in survey.data.columns})
    csv = tmp_path / "hand.csv"
    raw.to_csv(csv, index=False)
    out, alpha_csv = tmp_path / "out" / "scored.parquet", tmp_path / "alpha.csv"
    assert main(["score", str(csv), "--codebook", str(codebook), "--out", str(out),
                 "--alpha-out", str(alpha_csv)]) == 0
    printed = capsys.readouterr().out
    assert "odi: 1 respondent(s) prorated" in printed
    assert "odi: 2 respondent(s) unscorable" in printed
    assert "odi: 0.95 (" in printed
    back = pd.read_parquet(out)
    # The CSV's first data row is file line 2, as in the hand-built survey.
    assert back.index.tolist() == [2, 3, 4, 5, 6, 7]
    assert back["odi_pct"].tolist() == pytest.approx([32.0, 100 * 16 / 45, NA, 100.0, 60.0, NA],
                                                     nan_ok=True)
    assert back["sbst_risk"].astype(object).tolist()[:2] == ["medium", "high"]
    assert pd.read_csv(alpha_csv)["scale"].tolist()[0] == "odi"

    assert main(["score", str(csv), "--codebook", str(codebook), "--out", str(out),
                 "--odi-max-missing", "few"]) == 2
    assert "--odi-max-missing must be a whole number" in capsys.readouterr().err
    assert main(["score", str(csv), "--codebook", str(codebook), "--out", str(out),
                 "--nprs-scheme", "who"]) == 2
    assert "scheme must be one of" in capsys.readouterr().err


def _codes_of(survey: Survey, name: str) -> pd.Series:
    """The raw file codes of a Survey column (labels mapped back through the codebook)."""
    column = survey.data[name]
    if isinstance(column.dtype, pd.CategoricalDtype):
        to_code = {label: code for code, label in survey.codebook[name].level_labels.items()}
        return column.astype(object).map(to_code).astype("Int64").reset_index(drop=True)
    return column.astype("Int64").reset_index(drop=True)
