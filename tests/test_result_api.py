"""The result API every model shares: notices, coefficients, fit statistics, summary, and the
notices in reports. Numbers are checked against a hand calculation on a 2x2 table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from _models_data import make_survey
from analysis.errors import ModelError
from analysis.ledger import Ledger
from analysis.models import logistic
from analysis.models.result import Notice
from analysis.report.session import ReportSession
from analysis.survey import Survey


@pytest.fixture(scope="module")
def two_by_two():
    # 2x2 table: exposed 30/100 events, unexposed 15/100; OR = (30*85)/(70*15).
    survey = make_survey(200, seed=3)
    data = survey.data.iloc[:200].copy()
    lifting = np.r_[np.ones(100), np.zeros(100)].astype(int)
    spasm = np.r_[np.ones(30), np.zeros(70), np.ones(15), np.zeros(85)].astype(int)
    data["lifting"] = pd.Categorical.from_codes(lifting, ["No", "Yes"])
    data["spasm"] = pd.Categorical.from_codes(spasm, ["No", "Yes"])
    return Survey(data, survey.codebook, Ledger(n_read=200), source="test")


def test_coefficients_and_fit_statistics_equal_the_hand_calculation(two_by_two):
    result = logistic(two_by_two, "spasm", ["lifting"], [], method="rows")
    coefs = result.coefficients("adjusted").set_index("term")
    log_or = np.log(30 * 85 / (70 * 15))
    se = np.sqrt(1 / 30 + 1 / 70 + 1 / 15 + 1 / 85)  # Woolf
    assert coefs.loc["Intercept", "estimate"] == pytest.approx(np.log(15 / 85), rel=1e-8)
    assert coefs.loc["lifting[Yes]", "estimate"] == pytest.approx(log_or, rel=1e-8)
    assert coefs.loc["lifting[Yes]", "se"] == pytest.approx(se, rel=1e-6)
    # The saturated 2x2 model: llf = sum over cells of n log p with the observed proportions.
    llf = 30 * np.log(.3) + 70 * np.log(.7) + 15 * np.log(.15) + 85 * np.log(.85)
    stats = result.fit_statistics.set_index("model").loc["adjusted"]
    assert stats["llf"] == pytest.approx(llf, rel=1e-9)
    assert stats["deviance"] == pytest.approx(-2 * llf, rel=1e-9)
    assert stats["aic"] == pytest.approx(-2 * llf + 4, rel=1e-9)
    assert stats["bic"] == pytest.approx(-2 * llf + 2 * np.log(200), rel=1e-9)
    assert (stats["n"], stats["events"], stats["parameters"]) == (200, 45, 2)


def test_pattern_fit_reports_respondent_level_likelihood(two_by_two):
    rows = logistic(two_by_two, "spasm", ["lifting"], [], method="rows").fit_statistics
    patterns = logistic(two_by_two, "spasm", ["lifting"], [], method="patterns").fit_statistics
    np.testing.assert_allclose(patterns[["llf", "deviance", "aic", "bic"]].to_numpy(float),
                               rows[["llf", "deviance", "aic", "bic"]].to_numpy(float),
                               rtol=1e-9)
    assert list(patterns["method"]) == ["patterns", "patterns"]


def test_summary_shows_model_and_notices(two_by_two):
    result = logistic(two_by_two, "spasm", ["lifting"], [], method="rows")
    result.notify("dropped rows", "3 rows left out for a missing age.", "adjusted")
    result.notify("dropped rows", "3 rows left out for a missing age.", "adjusted")  # once
    text = result.summary()
    assert "Intercept" in text and "deviance" in text and "aic" in text
    assert "dropped rows [adjusted]: 3 rows left out for a missing age." in text
    assert len(result.notices) == 1
    assert "Notices" in result._repr_html_()
    assert "1 notice(s)" in repr(result)


def test_unknown_notice_kind_and_model_are_our_errors(two_by_two):
    with pytest.raises(ModelError, match="Unknown notice kind 'oops'"):
        Notice("oops", "x")
    result = logistic(two_by_two, "spasm", ["lifting"], [], method="rows")
    with pytest.raises(ModelError, match="No 'crude: age' model here"):
        result.coefficients("crude: age")


def test_report_shows_and_records_notices(two_by_two, tmp_path):
    result = logistic(two_by_two, "spasm", ["lifting"], [], method="rows")
    report = ReportSession("02_models", two_by_two, tmp_path / "d.csv", tmp_path / "c.yml",
                           tmp_path)
    assert report.notices(result, "odds_ratios").text == ""
    result.notify("separation", "Level 'Basketball' has no events <b>.", "adjusted")
    shown = report.notices(result, "odds_ratios").text
    assert "Separation" in shown and "&lt;b&gt;" in shown  # escaped
    record = json.loads((tmp_path / "results" / "02_models.json").read_text())
    assert record["odds_ratios_notices"]["rows"] == [
        ["separation", "adjusted", "Level 'Basketball' has no events <b>."]]
