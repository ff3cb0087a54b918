"""Fuzzing the readers: seeded malformed CSV files, each read right or refused with our error.

For every file, ``load_survey`` (``on_invalid="exclude"``) either raises a
:class:`~analysis.errors.BackpainError` subclass or returns a survey in which
every line read is either analysed or excluded in the ledger, never both,
never neither. Two hundred files run by default; the slow-marked test
runs a few thousand (``pytest -m slow tests/test_fuzz_input.py``, under a
minute).
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import numpy as np
import pytest

from analysis.errors import BackpainError
from analysis.io import read_table
from analysis.load import load_survey

BAD = Path(__file__).resolve().parent / "data" / "bad"
CODEBOOK = BAD / "codebook.yml"
CLEAN = (BAD / "clean.csv").read_text(encoding="utf-8")

TOKENS = ["", "NA", "N/A", "None", "null", ".", "-", "1,5", "1,250", "00042", "1e400", "inf",
          "nan", "-9", "NO", "yes", "2024-02-30", "34.5", "é", "KÃ¶ln", '"', '""', "\x00",
          "\x07", "\ufffd", " ", "\t", ";", ",", "\n", "\r", "'", "1.0", "01", "Åre"]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"]


VALUES = {"rid": ["00042", "7", "R1", "a b"], "age": ["34.5", "0", "120", "121", "-1", "34,5"],
          "sex": ["1", "2", "3", "1.0", "Male"], "country": ["NO", "SE", "DK", "Norway", "no"],
          "smoker": ["no", "yes", "NO", "True"], "town": ["Köln", "Åre", "x"],
          "visit": ["2024-01-05", "2024-13-01", "05/01/2024", "2024-01-05T10:00:00"]}
HEADER = list(VALUES)


def _from_scratch(rng: random.Random) -> list[list[str]]:
    """Every codebook column, in any order, with plausible, wrong and odd values."""
    header = rng.sample(HEADER, len(HEADER))
    rows = [header]
    for _ in range(rng.randint(0, 8)):
        rows.append([rng.choice(VALUES[c]) if rng.random() < 0.8 else rng.choice(TOKENS)
                     for c in header])
    return rows


def _mutate(rng: random.Random) -> bytes:
    if rng.random() < 0.4:
        rows = _from_scratch(rng)
    else:
        rows = [line.split(",") for line in CLEAN.splitlines()]
    for _ in range(rng.randint(0, 6)):
        kind = rng.random()
        r = rng.randrange(len(rows))
        if kind < 0.45 and rows[r]:
            rows[r][rng.randrange(len(rows[r]))] = rng.choice(TOKENS)
        elif kind < 0.55:
            rows[r].append(rng.choice(TOKENS))  # a ragged line or a new column
        elif kind < 0.62 and len(rows[r]) > 1:
            rows[r].pop(rng.randrange(len(rows[r])))
        elif kind < 0.70:
            rows.insert(rng.randrange(len(rows) + 1), rows[r][:])  # repeated line
        elif kind < 0.75:
            rows.insert(rng.randrange(1, len(rows) + 1), [])  # blank line
        elif kind < 0.80 and rows[0]:
            rows[0][rng.randrange(len(rows[0]))] = rng.choice(
                ["age", " age", "rid ", "", "Unnamed: 3", "x"])
        elif kind < 0.85 and len(rows) > 1:
            del rows[rng.randrange(1, len(rows))]
        elif kind < 0.90 and rows[r]:
            c = rng.randrange(len(rows[r]))
            rows[r][c] = f'"{rows[r][c]}{rng.choice(TOKENS)}{rng.choice(TOKENS)}"'
    sep = rng.choice([",", ",", ",", ";", "\t"])
    newline = rng.choice(["\n", "\n", "\r\n", "\r"])
    text = newline.join(sep.join(row) for row in rows) + rng.choice([newline, ""])
    encoding = rng.choice(ENCODINGS)
    data = text.encode(encoding, errors="replace")
    if rng.random() < 0.05:
        cut = rng.randrange(len(data) + 1)
        data = data[:cut]  # truncated mid-character or empty
    if rng.random() < 0.05:
        pos = rng.randrange(len(data) + 1)
        data = data[:pos] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 4))) + \
            data[pos:]
    return data


def _check(path: Path) -> str:
    """'read' or 'refused'; fails the test on a foreign exception or a lost row."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = read_table(path)
            survey = load_survey(path, CODEBOOK, on_invalid="exclude", keep_identifiers=True)
    except BackpainError:
        return "refused"
    except Exception as exc:  # pragma: no cover - the failure being looked for
        content = path.read_bytes()
        pytest.fail(f"{type(exc).__name__}: {exc}\nfile bytes: {content[:400]!r}")
    read = np.asarray(raw.index, dtype=np.int64)
    analysed = np.asarray(survey.data.index, dtype=np.int64)
    excluded = survey.accounts.excluded_lines()
    assert survey.accounts.n_read == len(read)
    assert len(np.intersect1d(analysed, excluded)) == 0, path.read_bytes()
    assert np.array_equal(np.union1d(analysed, excluded), np.unique(read)), path.read_bytes()
    assert len(np.unique(read)) == len(read), "two records on one line"
    flow = survey.flow
    assert flow["n"].iloc[0] == flow["n"].iloc[1:-1].sum() + flow["n"].iloc[-1]
    return "read"


def _fuzz(tmp_path: Path, n: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    outcomes = {"read": 0, "refused": 0}
    for k in range(n):
        path = tmp_path / f"fuzz{k % 50}.csv"
        path.write_bytes(_mutate(rng))
        outcomes[_check(path)] += 1
    return outcomes


def test_fuzz_a_few_hundred_files(tmp_path):
    outcomes = _fuzz(tmp_path, 200, seed=16)
    # Both outcomes occur: the generator does make readable and unreadable files.
    assert outcomes["read"] > 30 and outcomes["refused"] > 30, outcomes


@pytest.mark.slow
def test_fuzz_a_few_thousand_files(tmp_path):
    outcomes = _fuzz(tmp_path, 3000, seed=1616)
    assert outcomes["read"] > 300 and outcomes["refused"] > 300, outcomes
