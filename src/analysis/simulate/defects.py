"""What makes the simulated export realistic: missing answers and planted errors.

Missingness (``missing=True``), each with its own mechanism:

* item non-response coded with the codebook's missing codes, mostly at random
  (0.3-2% per question); the mechanisms that are not completely at random:
  weight is refused more often by women (at random given sex), "don't know"
  for posture is commoner among poor posture (depends on the value itself),
  and inability to do the fitness tests rises with back-pain severity (so it
  depends on the outcome: complete-case estimates of those tests are biased);
* the physical-exam sub-sample: about 30% of respondents are examined, more
  often the old and those in urban strata (at random given age and stratum);
  the others have **blank** lordosis, pelvic tilt and segmental mobility
  (not examined is a design fact, not an answer, so it gets no code), while an
  examined respondent whose measurement failed gets the code ``-8`` (``8``
  for segmental mobility);
* skips that are questionnaire logic, not missingness, are blank in the
  clean data too: IPAQ minutes after 0 days, Nordic 7-day and "prevented"
  questions after a 12-month No.

Planted errors (``errors=True``), each on distinct rows, as shares of n:
:data:`ERROR_SHARES` names them by the validation rule that catches them.
"""

from __future__ import annotations

import numpy as np

from analysis.simulate.population import Arrays, expit

# share of rows carrying each kind of error, keyed by the validation rule that catches it;
# together about 2.2% of rows (2.6% if every copy of a duplicated id is set aside)
ERROR_SHARES: dict[str, float] = {
    "out of range": 0.004,
    "unknown code": 0.004,
    "not a number": 0.003,
    "not a whole number": 0.002,
    "duplicate id": 0.004,
    "missing id": 0.001,
    "impossible date": 0.001,
}
EXAM = ("lordosis_angle", "pelvic_tilt", "segmental_mobility")
FITNESS = ("sit_reach_cm", "plank_s", "biering_sorensen_s")


def add_missing(rng: np.random.Generator, v: Arrays) -> None:
    """Replace answers by missing codes and blanks, in place (arrays are float)."""
    n = len(v["age"])

    def code(name: str, value: float, p, where=None) -> np.ndarray:
        hit = rng.random(n) < p
        hit &= ~np.isnan(v[name]) if where is None else where & ~np.isnan(v[name])
        v[name][hit] = value
        return hit

    female, age_c, z = v["sex"] == 1, v["age"] - 45, v["severity"]
    code("age", -9, 0.003)
    code("sex", 9, 0.003)
    lost = code("height_cm", -9, 0.01) | code("height_cm", -8, 0.005)
    lost |= code("weight_kg", -9, 0.01 + 0.03 * female) | code("weight_kg", -8, 0.005)
    v["bmi"][lost] = np.nan
    code("smoking", 9, 0.01)
    code("occupation", 9, 0.005)
    code("rta_ever", 8, 0.01)
    code("rta_12m", 8, 0.005)
    v["sport_hours"][code("sport", 99, 0.005)] = np.nan
    code("sport_hours", -8, 0.02, where=v["sport"] > 0)
    code("heavy_lifting", 8, 0.01)
    code("hours_sitting", -8, 0.02)
    code("posture", 8, 0.03 + 0.02 * (v["posture"] == 3))
    code("workstation", 9, 0.01)

    urban = np.isin(v["stratum"], (1, 3))
    v["examined"] = (rng.random(n) < expit(-1.2 + 0.02 * age_c + 0.5 * urban)).astype(float)
    for name in EXAM:
        v[name][v["examined"] == 0] = np.nan
    failed = (rng.random(n) < 0.02) & (v["examined"] == 1)
    v["lordosis_angle"][failed] = -8
    v["pelvic_tilt"][failed] = -8
    code("segmental_mobility", 8, 0.02)
    for name in FITNESS:
        code(name, -8, expit(-4.5 + 0.9 * z))
        code(name, -9, 0.01)

    v["spasm_episodes"][code("spasm_12m", 8, 0.005)] = np.nan
    code("spasm_episodes", -8, 0.05, where=v["spasm_12m"] == 1)
    code("pain_worst_week", -9, 0.01)
    code("doctor_visit_12m", 8, 0.005)
    code("odi_8", -7, expit(-3.0 + 0.04 * age_c))  # sex life: not applicable
    for j in range(1, 11):
        code(f"odi_{j}", -9, 0.01)
    for name in [f"rmdq_{j}" for j in range(1, 25)] + [f"start_back_{j}" for j in range(1, 10)]:
        code(name, -9, 0.008)
    for region in ("low_back", "neck"):
        skipped = code(f"nmq_{region}_12m", -9, 0.005)
        for follow_up in ("7d", "prevented"):
            v[f"nmq_{region}_{follow_up}"][skipped] = np.nan
            code(f"nmq_{region}_{follow_up}", -9, 0.005)
    for kind in ("vigorous", "moderate", "walking"):
        coded = code(f"ipaq_{kind}_days", 8, 0.02) | code(f"ipaq_{kind}_days", 9, 0.005)
        v[f"ipaq_{kind}_minutes"][coded] = np.nan
        code(f"ipaq_{kind}_minutes", -8, 0.02)
    code("ipaq_sitting_minutes", -8, 0.02)


# the wrong values: per rule, (column, generator of k values) used in turn
def _out_of_range(rng, k):
    return [("age", rng.integers(120, 200, k)),  # an extra digit
            ("height_cm", np.round(rng.normal(1.70, 0.08, k), 2)),  # metres, not cm
            ("hours_sitting", rng.integers(25, 60, k)),  # hours a week, not a day
            ("pain_worst_week", rng.integers(11, 100, k))]


def _unknown_code(rng, k):
    return [("posture", np.full(k, 4)), ("sex", np.full(k, 3)),
            ("occupation", np.full(k, 7)), ("odi_3", np.full(k, 6))]


def _not_a_number(rng, k):
    return [("weight_kg", np.full(k, "abc")),
            ("hours_sitting", np.array([f"{h},5" for h in rng.integers(2, 12, k)])),
            ("age", np.full(k, "forty")), ("plank_s", np.full(k, "60s"))]


def _not_a_whole_number(rng, k):
    return [("spasm_episodes", rng.integers(1, 6, k) + 0.5),
            ("ipaq_walking_days", rng.integers(1, 6, k) + 0.5)]


def _impossible_date(rng, k):
    days = np.array(["2024-02-30", "2024-04-31", "2024-06-31", "2024-09-31", "2024-11-31"])
    return [("interview_date", rng.choice(days, k))]


_PLANTERS = {"out of range": _out_of_range, "unknown code": _unknown_code,
             "not a number": _not_a_number, "not a whole number": _not_a_whole_number,
             "impossible date": _impossible_date}


def error_counts(n: int) -> dict[str, int]:
    """How many rows carry each kind of error in a survey of ``n`` rows (none below 250)."""
    return {rule: int(share * n) for rule, share in ERROR_SHARES.items()}


def plant_errors(rng: np.random.Generator, columns: dict[str, np.ndarray],
                 whole: frozenset[str]) -> None:
    """Plant the errors of :data:`ERROR_SHARES` on distinct rows of ``columns``, in place.

    ``columns`` holds float arrays (NaN blank) or object arrays of text;
    ``whole`` names the float columns that hold whole numbers, written without
    a decimal point when a column has to become text.
    """
    n, counts = len(columns["respondent_id"]), error_counts(len(columns["respondent_id"]))
    order = rng.permutation(n)
    blocks, start = {}, 0
    for rule, k in counts.items():
        blocks[rule], start = order[start:start + k], start + k
    clean_rows = order[start:]
    for rule, planter in _PLANTERS.items():
        rows = blocks[rule]
        plan = planter(rng, len(rows))
        for turn, (column, values) in enumerate(plan):
            chosen = rows[turn::len(plan)]
            _put(columns, column, chosen, values[turn::len(plan)][: len(chosen)], whole)
    columns["respondent_id"][blocks["missing id"]] = None
    # three in four repeated ids are double submissions (the same answers twice); the rest
    # are two different respondents given the same id
    repeated = blocks["duplicate id"]
    sources = rng.choice(clean_rows, len(repeated), replace=False)
    copies = len(repeated) * 3 // 4
    for values in columns.values():
        values[repeated[:copies]] = values[sources[:copies]]
    columns["respondent_id"][repeated[copies:]] = columns["respondent_id"][sources[copies:]]


def _put(columns: dict[str, np.ndarray], name: str, rows: np.ndarray, values: np.ndarray,
         whole: frozenset[str]) -> None:
    """Write ``values`` (numbers or text) into column ``name`` at ``rows``.

    A numeric column that receives text, or a whole-number column that receives
    a fraction, becomes an object column of Python numbers and strings, as a
    spreadsheet export would give.
    """
    if len(rows) == 0:
        return
    column = columns[name]
    text = values.dtype.kind in "USO"
    fraction = not text and name in whole and bool(np.any(values != np.round(values)))
    if column.dtype != object and (text or fraction):
        blank = np.isnan(column)
        numbers = np.where(blank, 0, column).astype(np.int64) if name in whole else column
        column = numbers.astype(object)
        column[blank] = None
        columns[name] = column
    column[rows] = values.astype(object) if column.dtype == object else values
