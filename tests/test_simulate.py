"""Tests of the simulated example survey (analysis.simulate)."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import analysis.cli.simulate  # noqa: F401  (registers the command)
from analysis.cli import main
from analysis.codebook import Codebook
from analysis.errors import BackpainError
from analysis.load import load_survey
from analysis.simulate import (
    CODEBOOK_PATH,
    COLUMNS,
    EXAMPLE_N,
    EXAMPLE_PATH,
    EXAMPLE_SEED,
    INTERCEPT,
    simulate_survey,
    true_effects,
)
from analysis.simulate.defects import error_counts

try:  # small fits run ~50x faster on one BLAS thread when the machine is shared
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    def threadpool_limits(limits=None):
        return contextlib.nullcontext()

PLANTED_RULES = {"out of range", "unknown code", "not a number", "not a whole number",
                 "duplicate id", "missing id", "impossible date"}


def design_from_truth(raw: pd.DataFrame) -> pd.DataFrame:
    """The true design matrix, built from the codes in ``raw`` and the table alone.

    Written independently of the simulator's own design code, so a mismatch
    between the table and the data-generating model shows up here.
    """
    columns = {"const": np.ones(len(raw))}
    for row in true_effects().itertuples():
        if pd.isna(row.level):
            columns[row.term] = raw[row.variable].to_numpy(dtype=float) / row.per
        elif ":" in row.variable:
            (var_a, var_b), (code_a, code_b) = row.variable.split(":"), row.level.split(":")
            both = (raw[var_a] == int(code_a)) & (raw[var_b] == int(code_b))
            columns[row.term] = both.to_numpy(dtype=float)
        else:
            columns[row.term] = (raw[row.variable] == int(row.level)).to_numpy(dtype=float)
    return pd.DataFrame(columns)


@pytest.fixture(scope="module")
def codebook() -> Codebook:
    return Codebook.from_yaml(CODEBOOK_PATH)


@pytest.fixture(scope="module")
def big_clean() -> pd.DataFrame:
    return simulate_survey(200_000, seed=7, errors=False, missing=False)


# ---- determinism and the command --------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_same_seed_gives_same_bytes(tmp_path, suffix):
    paths = [tmp_path / f"{name}{suffix}" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (11, 11, 12), strict=True):
        assert main(["simulate", "--n", "1500", "--seed", str(seed), "--out", str(path)]) == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_example_file_is_what_the_seed_makes(tmp_path):
    fresh = tmp_path / "survey.csv"
    main(["simulate", "--n", str(EXAMPLE_N), "--seed", str(EXAMPLE_SEED), "--out", str(fresh)])
    assert fresh.read_bytes() == EXAMPLE_PATH.read_bytes()
    assert len(pd.read_csv(EXAMPLE_PATH)) == 5000


def test_command_refuses_unknown_extension(tmp_path, capsys):
    assert main(["simulate", "--n", "10", "--out", str(tmp_path / "survey.txt")]) == 2
    assert "cannot tell the format from the extension '.txt'" in capsys.readouterr().err


def test_bad_n_is_a_package_error():
    with pytest.raises(BackpainError, match="n must be a whole number >= 1, got 0"):
        simulate_survey(0, seed=1)


def test_clean_values_do_not_depend_on_defects():
    clean = simulate_survey(3000, seed=5, errors=False, missing=False)
    full = simulate_survey(3000, seed=5)
    # rows untouched by a planted duplicate or blank id keep their own id
    own = full["respondent_id"].to_numpy() == clean["respondent_id"].to_numpy()
    assert own.mean() > 0.99
    for column in ("stratum", "psu", "weight", "email"):
        assert full.loc[own, column].astype(str).tolist() == \
            clean.loc[own, column].astype(str).tolist()
    answered = own & (full["spasm_12m"].astype(str) != "8").to_numpy()
    assert (full.loc[answered, "spasm_12m"].astype(int).to_numpy()
            == clean.loc[answered, "spasm_12m"].to_numpy()).all()


# ---- the codebook ------------------------------------------------------------------------
def test_codebook_and_columns_match(codebook):
    raw = simulate_survey(300, seed=1)
    assert list(raw.columns) == list(codebook.variables) == list(COLUMNS)
    assert codebook.simulated is True
    assert "SIMULATED" in codebook.description


def test_naming_contract(codebook):
    assert codebook.instrument_items("odi") == [f"odi_{j}" for j in range(1, 11)]
    assert codebook.instrument_items("rmdq") == [f"rmdq_{j}" for j in range(1, 25)]
    assert codebook.instrument_items("start_back") == [f"start_back_{j}" for j in range(1, 10)]
    assert codebook["start_back_1"].level_labels == {0: "Disagree", 1: "Agree"}
    assert list(codebook["start_back_9"].level_labels) == [0, 1, 2, 3, 4]
    ipaq = {codebook[v].instrument.item for v in codebook.instrument_items("ipaq_short")}
    assert ipaq == {"vigorous_days", "vigorous_minutes", "moderate_days", "moderate_minutes",
                    "walking_days", "walking_minutes", "sitting_minutes"}
    assert codebook["ipaq_walking_days"].missing == {8: "don't know", 9: "refused"}
    nmq = [codebook[v].instrument.item for v in codebook.instrument_items("nmq")]
    assert sorted(nmq) == sorted(["low_back_12m", "low_back_7d", "low_back_prevented",
                                  "neck_12m", "neck_7d", "neck_prevented"])
    assert codebook.instrument_items("nprs") == ["pain_worst_week"]
    assert codebook.names(role="outcome") == ["spasm_12m"]
    assert (codebook.role("weight"), codebook.role("stratum"), codebook.role("cluster")) == \
        ("weight", "stratum", "psu")
    assert codebook.identifiers == ["respondent_id", "email"]
    assert codebook["email"].pii
    assert codebook.names(role="confounder") == ["age", "sex", "bmi", "smoking", "occupation"]
    for name in ("lordosis_angle", "pelvic_tilt", "segmental_mobility"):
        assert codebook[name].required
    for name in ("sex", "smoking", "occupation", "sport", "posture", "workstation"):
        assert codebook[name].reference is not None


def test_clean_and_missing_data_break_no_rule(codebook):
    # only missing codes, no error: strict validation must pass and count the codes
    survey = load_survey(simulate_survey(4000, seed=3, errors=False), codebook,
                         on_invalid="raise")
    assert survey.n == 4000
    recoded = survey.ledger.groupby("rule").size()
    assert recoded["missing code: don't know"] > 100
    assert recoded["missing code: not applicable"] > 50  # ODI section 8, sex life


def test_every_effect_names_a_codebook_level(codebook):
    for row in true_effects().itertuples():
        if pd.isna(row.level):
            assert codebook[row.variable].type == "numeric"
            continue
        for variable, level in zip(row.variable.split(":"), row.level.split(":"), strict=True):
            assert int(level) in codebook[variable].codes
            assert int(level) != codebook[variable].codes[0]  # never the reference level


# ---- the example, validated --------------------------------------------------------------
def test_example_loads_in_exclude_mode_and_names_each_error(codebook):
    survey = load_survey(EXAMPLE_PATH, codebook, on_invalid="exclude")
    assert survey.n >= 0.95 * EXAMPLE_N
    excluded = survey.ledger.query("action == 'excluded'")
    per_rule = excluded.groupby("rule")["line"].nunique().to_dict()
    assert set(per_rule) == PLANTED_RULES
    # exactly the planted numbers: 20, 20, 15, 10, 20 (one of each pair), 5, 5
    assert per_rule == error_counts(EXAMPLE_N)
    assert survey.n == EXAMPLE_N - sum(error_counts(EXAMPLE_N).values())


# ---- the truth ---------------------------------------------------------------------------
def test_true_effects_table():
    truth = true_effects()
    assert list(truth.columns[:5]) == ["term", "variable", "level", "label", "role"]
    assert truth["term"].is_unique
    np.testing.assert_allclose(truth["true_log_odds_ratio"], np.log(truth["true_odds_ratio"]))
    assert truth["null"].sum() >= 1 and (truth["true_odds_ratio"] == 1).sum() == truth["null"].sum()
    assert "heavy_lifting:posture[1:3]" in set(truth["term"])
    risk = truth.loc[~truth["null"] & (truth["role"] != "confounder"), "true_odds_ratio"]
    assert risk.between(1.2, 2.5).mean() >= 0.75
    posture = truth.set_index("term").loc["posture[3]"]
    assert posture["true_odds_ratio"] == 1.8
    assert posture["label"] == "Self-rated posture: Poor vs Good"


def test_outcome_follows_the_table(big_clean):
    # mean risk from the table, computed here, against the simulated prevalence
    eta = INTERCEPT + design_from_truth(big_clean).drop(columns="const").to_numpy() @ \
        true_effects()["true_log_odds_ratio"].to_numpy()
    expected = 1 / (1 + np.exp(-eta))
    observed = big_clean["spasm_12m"].to_numpy()
    se = np.sqrt((expected * (1 - expected)).sum()) / len(observed)
    assert abs(observed.mean() - expected.mean()) < 4 * se
    assert 0.27 < observed.mean() < 0.33


def test_large_sample_recovers_every_log_odds_ratio(big_clean):
    fit = sm.Logit(big_clean["spasm_12m"].to_numpy(dtype=float),
                   design_from_truth(big_clean).to_numpy()).fit(disp=0)
    truth = true_effects()["true_log_odds_ratio"].to_numpy()
    z = (fit.params[1:] - truth) / fit.bse[1:]
    assert np.abs(z).max() < 4, dict(zip(true_effects()["term"], z.round(2), strict=True))
    assert abs(fit.params[0] - INTERCEPT) < 4 * fit.bse[0]


@pytest.mark.slow
def test_confidence_intervals_cover_the_truth():
    """Coverage of the 95% Wald CI of the true model over clean surveys of 2,000.

    The brief asks that over 200 surveys each term be covered in 92-98% of
    runs. With 32 terms at a true 95%, a 200-survey run misses that band for
    about one term by chance alone (binomial SD 1.5 points, P = 0.033 per
    term). So the first 200 surveys are held to the 99.97% binomial band per
    term (89.5-99.5%, about 1% family-wise false alarm) and a 94-96% mean,
    and all 1,000 surveys (SD 0.7 points) to the brief's 92-98% per term.
    """
    truth = true_effects()["true_log_odds_ratio"].to_numpy()
    covered = np.zeros((1000, len(truth)), dtype=bool)
    with threadpool_limits(1):
        for run in range(len(covered)):
            raw = simulate_survey(2000, seed=1_000_000 + run, errors=False, missing=False)
            fit = sm.Logit(raw["spasm_12m"].to_numpy(dtype=float),
                           design_from_truth(raw).to_numpy()).fit(disp=0)
            ci = fit.conf_int()[1:]
            covered[run] = (ci[:, 0] <= truth) & (truth <= ci[:, 1])
    first_200, all_1000 = covered[:200].mean(axis=0), covered.mean(axis=0)
    assert first_200.min() >= 0.895 and first_200.max() <= 0.995, first_200
    assert 0.94 <= first_200.mean() <= 0.96, first_200.mean()
    assert all_1000.min() >= 0.92 and all_1000.max() <= 0.98, all_1000


# ---- coherence of the simulated answers --------------------------------------------------
def test_questionnaires_agree_with_severity(big_clean):
    odi = big_clean[[f"odi_{j}" for j in range(1, 11)]].sum(axis=1) * 2
    rmdq = big_clean[[f"rmdq_{j}" for j in range(1, 25)]].sum(axis=1)
    spasm = big_clean["spasm_12m"] == 1
    assert odi[spasm].mean() > 25 > 8 > odi[~spasm].mean()
    assert rmdq[spasm].mean() > 3 * rmdq[~spasm].mean()
    assert odi.corr(rmdq, method="spearman") > 0.6
    assert odi.corr(big_clean["pain_worst_week"].astype(float), method="spearman") > 0.6
    assert (big_clean.loc[spasm, "nmq_low_back_12m"] == 1).all()
    assert (big_clean.loc[spasm, "spasm_episodes"] >= 1).all()
    assert (big_clean.loc[~spasm, "spasm_episodes"] == 0).all()


def test_skips_are_blank_exactly_where_the_questionnaire_skips(big_clean):
    for region in ("low_back", "neck"):
        no = big_clean[f"nmq_{region}_12m"] == 0
        assert (big_clean[f"nmq_{region}_7d"].isna() == no).all()
    for kind in ("vigorous", "moderate", "walking"):
        none = big_clean[f"ipaq_{kind}_days"] == 0
        assert (big_clean[f"ipaq_{kind}_minutes"].isna() == none).all()
    assert (big_clean["rta_12m"] <= big_clean["rta_ever"]).all()
    assert (big_clean.loc[big_clean["sport"] == 0, "sport_hours"] == 0).all()


def test_bmi_is_computed_from_height_and_weight():
    raw = simulate_survey(5000, seed=9, errors=False)
    height, weight = raw["height_cm"].astype(float), raw["weight_kg"].astype(float)
    answered = (height > 0) & (weight > 0)
    expected = (weight / (height / 100) ** 2).round(1)
    np.testing.assert_allclose(raw.loc[answered, "bmi"], expected[answered])
    assert raw.loc[~answered, "bmi"].isna().all() and (~answered).sum() > 50


def test_exam_subsample_is_blank_outside_it():
    raw = simulate_survey(20_000, seed=4, errors=False)
    examined = raw["examined"] == 1
    assert 0.25 < examined.mean() < 0.35
    for column in ("lordosis_angle", "pelvic_tilt", "segmental_mobility"):
        assert raw.loc[~examined, column].isna().all()
        assert raw.loc[examined, column].notna().all()
    assert (raw.loc[examined, "lordosis_angle"] == -8).sum() > 20  # measurement failed


def test_readme_quotes_the_true_odds_ratios():
    readme = (EXAMPLE_PATH.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "SIMULATED" in readme
    quoted = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`"):
            quoted[cells[0].strip("`")] = float(cells[2])
    truth = true_effects().set_index("term")["true_odds_ratio"].to_dict()
    assert quoted == truth
