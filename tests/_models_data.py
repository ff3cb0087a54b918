"""Shared simulated survey for the model tests (not a test module)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.codebook import Codebook
from analysis.ledger import Ledger
from analysis.survey import Survey

CODEBOOK = {
    "name": "sim",
    "variables": {
        "posture": {"type": "ordinal", "label": "Self-rated posture",
                    "levels": {1: "Good", 2: "Fair", 3: "Poor"}, "role": "exposure"},
        "lifting": {"type": "binary", "label": "Heavy lifting at work", "role": "exposure"},
        "sport": {"type": "categorical", "label": "Main sport",
                  "levels": {1: "None", 2: "Golf", 3: "Weightlifting", 4: "Basketball"},
                  "reference": 1, "role": "exposure"},
        "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"},
                "reference": 2, "role": "confounder"},
        "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
        "spasm": {"type": "binary", "label": "Back-muscle spasm in the last 12 months",
                  "role": "outcome"},
    },
}


def make_survey(n: int = 3000, seed: int = 1, missing: bool = False) -> Survey:
    rng = np.random.default_rng(seed)
    posture = rng.integers(0, 3, n)
    lifting = rng.integers(0, 2, n)
    sport = rng.choice(4, n, p=[0.4, 0.2, 0.2, 0.2])
    sex = rng.integers(0, 2, n)
    age = np.round(rng.uniform(20, 70, n))
    lp = -1.5 + 0.4 * posture + 0.5 * lifting + 0.3 * (sport == 2) - 0.2 * sex + 0.01 * age
    spasm = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    cb = Codebook.from_dict(CODEBOOK)

    def cat(codes, name):
        labels = list(cb[name].level_labels.values())
        return pd.Categorical.from_codes(codes, categories=labels,
                                         ordered=cb[name].type == "ordinal")

    data = pd.DataFrame({
        "posture": cat(posture, "posture"), "lifting": cat(lifting, "lifting"),
        "sport": cat(sport, "sport"), "sex": cat(sex, "sex"), "age": age,
        "spasm": cat(spasm, "spasm"),
    }, index=pd.RangeIndex(2, n + 2, name="line"))
    if missing:
        data.loc[[5, 9, 14], "age"] = np.nan
        data.loc[[9, 20], "posture"] = np.nan
        data.loc[[30], "spasm"] = np.nan
    return Survey(data, cb, Ledger(n_read=n), source="test")


def numeric_frame(survey: Survey, columns: list[str] | None = None) -> pd.DataFrame:
    """Complete rows of ``columns``, outcome as 0/1, for statsmodels' formula interface."""
    df = survey.data.copy() if columns is None else survey.data[["spasm", *columns]].copy()
    df["spasm"] = (df["spasm"] == "Yes").astype(float).where(df["spasm"].notna())
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype(object)
    return df.dropna()
