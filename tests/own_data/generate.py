"""Simulate the small own-data surveys of tests/own_data (seeded; the CSVs are committed).

Each survey is the kind of file an analyst brings: their own column names,
their own codes, a handful of hundred rows. Run from the repository root:

    python tests/own_data/generate.py

and the CSVs in tests/own_data/data/ are rewritten byte for byte (seed 13).
The codebooks beside them (tests/own_data/codebooks/) are written by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "data"
SEED = 13


def _logit(p):
    return 1 / (1 + np.exp(-p))


def small_sparse(rng: np.random.Generator, n: int = 150) -> pd.DataFrame:
    """(d) ~150 nurses: sparse ward levels, and prior spinal surgery only among cases."""
    age = rng.integers(21, 64, n)
    sex = rng.choice(["F", "M"], n, p=[0.8, 0.2])
    # Ward: the last two levels have 3 and 4 nurses (sparse).
    ward = rng.choice(["ICU", "SURG", "MED", "PAED", "PSY"], n,
                      p=[0.35, 0.3, 0.28, 0.03, 0.04])
    transfers = rng.poisson(3, n)  # patient transfers per shift
    night = rng.binomial(1, 0.4, n)
    lp = -1.2 + 0.25 * transfers + 0.5 * night + 0.02 * (age - 40)
    lbp = rng.binomial(1, _logit(lp))
    # Separated exposure: every nurse with prior surgery reports low-back pain.
    surgery = np.where(lbp == 1, rng.binomial(1, 0.12, n), 0)
    frame = pd.DataFrame({"nurse_no": np.arange(1001, 1001 + n), "age_yrs": age, "gender": sex,
                          "ward": ward, "transfers_shift": transfers, "nights": night,
                          "back_op": surgery, "lbp_year": np.where(lbp == 1, "Y", "N")})
    frame.loc[rng.choice(n, 6, replace=False), "transfers_shift"] = -1  # "not recorded"
    return frame


def counts_with_time(rng: np.random.Generator, n: int = 400) -> pd.DataFrame:
    """(e) Sick-leave episodes of warehouse staff, followed for different lengths of time."""
    months = rng.integers(3, 37, n)
    shift = rng.choice([1, 2, 3], n, p=[0.5, 0.3, 0.2])  # day, evening, night
    load = rng.gamma(4, 5, n).round(1)  # kg lifted per hour, in tens
    age = rng.integers(18, 66, n)
    rate = np.exp(-3.2 + 0.25 * (shift == 3) + 0.015 * load + 0.01 * (age - 40))
    mu = rate * months
    episodes = rng.negative_binomial(1.5, 1.5 / (1.5 + mu))
    return pd.DataFrame({"emp_id": [f"W{i:04d}" for i in range(n)], "months_followed": months,
                         "shift_pattern": shift, "load_kg_h": load, "age": age,
                         "sickleave_ep": episodes})


def ordinal_outcome(rng: np.random.Generator, n: int = 300) -> pd.DataFrame:
    """(f) Neck-and-back pain severity (none to severe) of bus drivers."""
    years = rng.gamma(3, 4, n).round(0)
    seat = rng.choice(["air", "spring", "fixed"], n, p=[0.4, 0.4, 0.2])
    female = rng.binomial(1, 0.3, n)
    vib = rng.normal(0.6, 0.2, n).clip(0.05, 1.4).round(2)  # whole-body vibration m/s2
    eta = 0.06 * years + 0.7 * (seat == "fixed") + 1.2 * vib + 0.3 * female
    latent = eta + rng.logistic(size=n)
    sev = np.digitize(latent, [1.2, 2.4, 3.6])
    frame = pd.DataFrame({"drv": np.arange(n) + 1, "yrs_driving": years, "seat_type": seat,
                          "female": female, "vibration": vib, "pain_sev": sev})
    frame.loc[rng.choice(n, 9, replace=False), "vibration"] = np.nan
    return frame


def matched(rng: np.random.Generator, sets: int = 90) -> pd.DataFrame:
    """(g) Sciatica cases, each matched to two controls on clinic and age band."""
    rows = []
    for s in range(sets):
        smoker_p = rng.uniform(0.15, 0.45)
        for role in ("case", "ctrl", "ctrl"):
            heavy = rng.binomial(1, 0.45 if role == "case" else 0.28)
            smoker = rng.binomial(1, smoker_p + (0.08 if role == "case" else 0))
            height = rng.normal(172 if role == "case" else 170, 9)
            rows.append({"pair": f"S{s:03d}", "grp": role, "heavy_work": heavy,
                         "smokes": smoker, "height_cm": round(height, 1)})
    return pd.DataFrame(rows)


def complex_design(rng: np.random.Generator, n_psu: int = 32, per: int = 18) -> pd.DataFrame:
    """(h) A household health survey: 4 regions (strata), 8 villages each, unequal weights."""
    rows = []
    for region in range(4):
        for village in range(n_psu // 4):
            effect = rng.normal(0, 0.4)
            for _ in range(per):
                farm = rng.binomial(1, 0.3 + 0.1 * region)
                age = rng.integers(18, 80)
                women = rng.binomial(1, 0.5)
                lp = -1.5 + 0.6 * farm + 0.02 * (age - 45) + 0.2 * women + effect
                rows.append({"region": region + 1, "village": f"R{region + 1}V{village + 1:02d}",
                             "wt": round(float(rng.uniform(0.5, 3.0) * (1 + region)), 3),
                             "farming": farm, "age": age, "woman": women,
                             "backache": int(rng.binomial(1, _logit(lp)))})
    return pd.DataFrame(rows)


def plain(rng: np.random.Generator, n: int = 250) -> pd.DataFrame:
    """(i) Office-worker survey without questionnaires: BMI and age bands derived, two outcomes."""
    height = rng.normal(170, 9, n).round(0)
    weight = (rng.normal(24, 3.5, n) * (height / 100) ** 2).round(1)
    age = rng.integers(20, 66, n)
    standing = rng.binomial(1, 0.25, n)
    screen = rng.normal(6, 2, n).clip(0, 12).round(1)
    bmi = weight / (height / 100) ** 2
    lp = -1.0 + 0.15 * (screen - 6) - 0.5 * standing + 0.08 * (bmi - 24)
    pain = rng.binomial(1, _logit(lp))
    days = np.where(pain == 1, rng.poisson(4, n), 0)
    frame = pd.DataFrame({"id": np.arange(n) + 1, "height": height, "weight": weight,
                          "age": age, "standing_desk": np.where(standing, "yes", "no"),
                          "screen_hours": screen, "back_pain": pain, "days_lost": days})
    frame.loc[rng.choice(n, 12, replace=False), "weight"] = 999  # "not measured"
    frame.loc[frame["back_pain"] == 0, "days_lost"] = np.nan  # asked only with back pain
    # A 0-10 rating scale kept as a number: an outcome no model of the package fits.
    frame["pain_rating"] = (rng.beta(2, 5, n) * 10 + 2 * pain).clip(0, 10).round(1)
    return frame


SHAPES = {"small_sparse": small_sparse, "counts_time": counts_with_time,
          "ordinal_pain": ordinal_outcome, "matched_sets": matched,
          "complex_design": complex_design, "no_questionnaires": plain}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for i, (name, make) in enumerate(SHAPES.items()):
        frame = make(np.random.default_rng(SEED + i))
        frame.to_csv(OUT / f"{name}.csv", index=False, lineterminator="\n")
        print(f"{name}: {len(frame)} rows")


if __name__ == "__main__":
    main()
