"""Assemble the simulated survey: draw, add missingness and errors, lay out the export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import BackpainError
from analysis.simulate import defects, population, questionnaires

# the export's columns, in codebook order
COLUMNS: tuple[str, ...] = (
    "respondent_id", "email", "interview_date", "stratum", "psu", "weight",
    "age", "sex", "height_cm", "weight_kg", "bmi", "smoking", "occupation",
    "rta_ever", "rta_12m", "sport", "sport_hours", "heavy_lifting",
    "hours_sitting", "posture", "workstation",
    "examined", "lordosis_angle", "pelvic_tilt", "segmental_mobility",
    "sit_reach_cm", "plank_s", "biering_sorensen_s",
    "spasm_12m", "spasm_episodes", "pain_worst_week", "doctor_visit_12m",
    *(f"odi_{j}" for j in range(1, 11)),
    *(f"rmdq_{j}" for j in range(1, 25)),
    *(f"start_back_{j}" for j in range(1, 10)),
    *(f"ipaq_{kind}_{what}" for kind in ("vigorous", "moderate", "walking")
      for what in ("days", "minutes")),
    "ipaq_sitting_minutes",
    *(f"nmq_{region}_{q}" for region in ("low_back", "neck") for q in ("12m", "7d", "prevented")),
)
# measured with decimals; every other numeric column holds whole numbers (codes, counts)
DECIMAL_COLUMNS = frozenset({"weight", "weight_kg", "bmi", "sport_hours", "hours_sitting",
                             "lordosis_angle", "pelvic_tilt", "sit_reach_cm"})
WHOLE_COLUMNS = frozenset(COLUMNS[3:]) - DECIMAL_COLUMNS
FIELDWORK_START, FIELDWORK_DAYS = np.datetime64("2024-03-01"), 275


def simulate_survey(n: int, seed: int, *, errors: bool = True, missing: bool = True
                    ) -> pd.DataFrame:
    """Simulate the raw export of the back-pain survey (SIMULATED data, known truth).

    The causal model, the true odds ratios and the mechanisms of missingness
    and error are described in :mod:`analysis.simulate` and ``data/README.md``;
    :func:`analysis.simulate.true_effects` gives the truth as a table.

    Parameters
    ----------
    n : number of respondents (rows).
    seed : seed of :func:`numpy.random.default_rng`; the same ``(n, seed)`` gives
        the same data. The clean values do not depend on ``errors`` or
        ``missing``: they draw from their own streams.
    errors : plant data errors (out-of-range values, unknown codes, text in
        numeric columns, fractional counts, repeated and blank ids, impossible
        dates) on about 2.2% of rows. None are planted below 250 rows.
    missing : add item non-response (missing codes), the physical-exam
        sub-sample (about 30% examined, the rest blank) and measurement
        failures. With ``missing=False`` everyone is examined and answers.

    Returns
    -------
    DataFrame
        One row per respondent, columns in codebook order, coded as the
        codebook ``data/codebooks/backpain_survey.yml`` says: numeric codes,
        missing codes, blanks for skipped questions. Whole-number columns are
        nullable ``Int64``; a column holding a planted text error is text.

    Notes
    -----
    Method: sequential draws along the causal diagram; the outcome from the
    logistic model of :data:`analysis.simulate.truth.EFFECTS`; item answers
    from graded-response and two-parameter logistic models (Samejima 1969;
    Birnbaum 1968) of a latent severity. Tested (``tests/test_simulate.py``)
    against the mean risk computed independently from :func:`true_effects`,
    a 200,000-respondent ``sm.Logit`` fit that recovers every log-odds ratio
    within 4 standard errors, the coverage of 95% intervals over 200
    surveys, and strict validation against the codebook.

    Examples
    --------
    >>> from analysis.simulate import simulate_survey
    >>> simulate_survey(1000, seed=1).shape
    (1000, 88)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise BackpainError(f"simulate_survey: n must be a whole number >= 1, got {n!r}.")
    return survey_frame(simulate_columns(int(n), np.random.SeedSequence(seed), errors=errors,
                                   missing=missing))


def simulate_columns(n: int, seeds: np.random.SeedSequence, *, errors: bool = True,
                     missing: bool = True, first: int = 1, width: int | None = None
                     ) -> dict[str, np.ndarray]:
    """The export's columns for ``n`` respondents numbered ``first .. first + n - 1``.

    ``seeds`` gives the four random streams (clean values, identifiers,
    missingness, errors). ``width`` is the number of digits of the ids
    (default: enough for ``n``); a chunked writer passes the width of the
    whole survey so that every chunk's ids have the same form.
    """
    core, admin, holes, mistakes = (np.random.default_rng(s) for s in seeds.spawn(4))
    v = population.draw(core, n)
    questionnaires.answer(core, v)
    v = {name: np.asarray(values, dtype=np.float64) for name, values in v.items()}
    v["examined"] = np.ones(n)
    if missing:
        defects.add_missing(holes, v)
    columns = _layout(admin, v, first, width)
    if errors:
        defects.plant_errors(mistakes, columns, WHOLE_COLUMNS)
    return columns


def _layout(rng: np.random.Generator, v: dict[str, np.ndarray], first: int = 1,
            width: int | None = None) -> dict[str, np.ndarray]:
    """The export's columns: identifiers and dates as text, the rest as float (NaN blank)."""
    n = len(v["age"])
    width = width or max(7, len(str(n)))
    numbers = np.strings.zfill(np.arange(first, first + n).astype(str), width)
    mailbox = np.strings.zfill((rng.permutation(n) + first).astype(str), width)
    days = rng.integers(0, FIELDWORK_DAYS, n)
    columns = {
        "respondent_id": np.strings.add("SIM-", numbers).astype(object),
        "email": np.strings.add(np.strings.add("respondent", mailbox), "@simulated.example"
                                ).astype(object),
        "interview_date": (FIELDWORK_START + days).astype(str).astype(object),
    }
    columns.update((name, v[name]) for name in COLUMNS[3:])
    return columns


def survey_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Whole-number columns become nullable ``Int64``; text and decimals stay as they are."""
    out = {}
    for name, values in columns.items():
        if name in WHOLE_COLUMNS and values.dtype != object:
            blank = np.isnan(values)
            values = pd.arrays.IntegerArray(np.where(blank, 0, values).astype(np.int64), blank)
        out[name] = values
    return pd.DataFrame(out, columns=list(COLUMNS), copy=False)


def write_survey(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a simulated survey as CSV or Parquet, chosen by the file's extension.

    The output depends only on ``frame``: no timestamps, ``\\n`` line ends, no
    index, so the same seed gives the same bytes.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise BackpainError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            "use .csv or .parquet."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False, lineterminator="\n")
    else:
        # Parquet columns have one type: a column mixing numbers and planted text is text
        mixed = [c for c in frame.columns if frame[c].dtype == object]
        frame = frame.assign(**{c: frame[c].astype("string") for c in mixed})
        frame.to_parquet(path, index=False, compression="zstd")
    return path
