"""Guessing a codebook entry from one raw column: its type, levels, range and missing codes.

Each guess is what the observed values allow, so the draft validates the file
it was drawn from: a numeric range is the observed minimum and maximum, the
levels of a coded column are the observed values (with the value labels of an
SPSS or Stata file where they exist), and an identifier is only guessed when
every value is present and unique. What cannot be read off the values (roles,
the meaning of a code) is left to the analyst as a comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.codebook import DEFAULT_NA_VALUES

#: Coded columns have at most this many distinct text values ...
MAX_LEVELS = 12
#: ... and each value is seen, on average, at least this many times.
MIN_PER_LEVEL = 2
#: A column is numeric (or dates) when this share of its values are numbers (or dates); the
#: rest are named in the notes, and validation flags them as it would in any codebook.
MIN_SHARE = 0.95

_ID_NAME = re.compile(r"(^|_)(ids?|uuid|record|respondent|participant|subject|patient|pid|"
                      r"caseno|case_no|rownames|row|obs|serial|nr|no)($|_|\d)", re.I)
_ID_CAMEL = re.compile(r"(Id|ID|No|Nr)$")
_PII_NAME = re.compile(
    r"(^|_)(name|first_?name|last_?name|surname|full_?name|e_?mail|phone|mobile|tel|"
    r"telephone|address|street|post_?code|zip|zip_?code|dob|date_of_birth|birth_?date|"
    r"birthday|ip|ip_?address|ssn|nhs|nhs_?number|national_id|passport|mrn|latitude|"
    r"longitude|lat|lon|lng|location\w*)($|_)", re.I)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
_PHONE = re.compile(r"^\+?\(?\d[\d\s()-]{8,}\d$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_SENTINELS = (-9, -99, -999, -9999, -8, -88, -7, -77, 7, 8, 9, 77, 88, 97, 98, 99, 777, 888,
              999, 9999)
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y",
                 "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d")
_NEGATIVE = ("no", "n", "false", "f", "absent", "none", "never", "control", "ctrl", "negative",
             "neg", "normal", "off", "not", "0")

# Words of the response scales whose order the labels state, lowest first.
_SCALES: tuple[tuple[str, ...], ...] = (
    ("never", "rarely|seldom", "occasionally|sometimes", "often|frequently|usually",
     "very often", "always"),
    ("none|no pain|not at all", "very mild|minimal", "mild|slight|a little", "moderate|somewhat",
     "quite a bit|considerable", "severe|a lot", "very severe|extreme|extremely|very much",
     "worst|worst imaginable"),
    ("very poor", "poor|bad", "fair", "good", "very good", "excellent"),
    ("strongly disagree", "disagree", "slightly disagree", "neither|neutral|undecided|"
     "neither agree nor disagree", "slightly agree", "agree", "strongly agree"),
    ("very low", "low", "medium|moderate|average", "high", "very high"),
    ("very unlikely", "unlikely", "unsure|not sure", "likely", "very likely"),
    ("very dissatisfied", "dissatisfied", "neutral", "satisfied", "very satisfied"),
    ("much better", "better|slightly better", "same|unchanged|no change", "worse|slightly worse",
     "much worse"),
    ("daily", "weekly", "monthly", "yearly"),
)


@dataclass
class Guess:
    """The drafted entry of one column and why it was guessed so."""

    spec: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    roles: list[tuple[str, str]] = field(default_factory=list)


def guess_variable(name: str, column: pd.Series, *, label: str | None = None,
                   value_labels: dict | None = None, user_missing: list | None = None,
                   identifier: bool = False) -> Guess:
    """The codebook entry for ``column``, guessed from its values.

    ``value_labels`` and ``user_missing`` come from an SPSS or Stata file;
    ``identifier`` marks a column the reader knows to identify a person
    (Qualtrics ``IPAddress``, ``RecipientEmail``, ...).
    """
    values = _present(column)
    guess = Guess({"type": "text", "label": label or _label(name)})
    if values.empty:
        guess.spec["required"] = False
        guess.notes.append("every cell is empty: type text until there are values")
        return guess
    if value_labels:
        _labelled(guess, values, value_labels, user_missing or [])
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        _dates(guess, values, None)
    elif (numbers := _numbers(values)) is not None:
        _numeric(guess, name, values, numbers, len(column))
    elif (fmt := _date_format(values)) is not None:
        _dates(guess, values, fmt)
    else:
        _text(guess, name, values.astype(str), len(column))
    _pii(guess, name, values, identifier)
    _suggest_roles(guess, name)
    return guess


def _present(column: pd.Series) -> pd.Series:
    """The column without blanks and the texts read as missing by default."""
    values = column.dropna()
    kind = values.dtype
    if not (pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind)
            or pd.api.types.is_datetime64_any_dtype(kind)):
        text = values.astype(str).str.strip()
        values = text[~text.isin(DEFAULT_NA_VALUES)].astype(object)
    return values


def _label(name: str) -> str:
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").replace(".", " ")
    words = " ".join(words.split())
    return words[:1].upper() + words[1:] if words else name


def _numbers(values: pd.Series) -> np.ndarray | None:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(int).to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=float)
    text = values.astype(str)
    # Leading zeros are part of a code (00042, a postcode), not of a number.
    if text.str.match(r"^0\d").any():
        return None
    parsed = pd.to_numeric(text, errors="coerce")
    if parsed.isna().mean() > 1 - MIN_SHARE:
        return None
    return parsed.to_numpy(dtype=float)


def _plain(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _numeric(guess: Guess, name: str, values: pd.Series, numbers: np.ndarray,
             n_rows: int) -> None:
    bad = values[np.isnan(numbers)].astype(str).unique().tolist()
    numbers = numbers[~np.isnan(numbers)]
    distinct = np.unique(numbers)
    whole = bool(np.all(numbers == np.floor(numbers)))
    if bad:
        shown = ", ".join(repr(b) for b in bad[:5])
        guess.notes.append(f"{len(values) - len(numbers)} value(s) are not numbers ({shown}): "
                           "validation flags them; add them to missing: if they are codes")
    if whole and _unique_enough(numbers, n_rows) and _looks_like_id(name) and not bad:
        _identifier(guess, numbers, n_rows)
        return
    missing = _sentinels(distinct)
    kept = distinct[~np.isin(distinct, missing)] if missing else distinct
    if missing:
        guess.spec["missing"] = {_plain(v): "missing code? (check)" for v in missing}
        guess.notes.append(f"{', '.join(str(_plain(v)) for v in missing)} stand apart from the "
                           "other values: drafted as missing codes")
    if set(kept.tolist()) == {0.0, 1.0}:
        missing_codes = guess.spec.pop("missing", None)
        guess.spec.update(type="binary", levels={0: "No", 1: "Yes"})
        if missing_codes:
            guess.spec["missing"] = missing_codes
        guess.notes.append("values 0 and 1: labels No/Yes assumed, check them")
        return
    counting = whole and kept.min() >= 0 and re.search(
        r"(^|_)(n|num|number|count|times|episodes?|days|visits|ep|nights)($|_)|_n$", name, re.I)
    missing_codes = guess.spec.pop("missing", None)
    guess.spec["type"] = "count" if counting else "numeric"
    guess.spec["range"] = [_plain(kept.min()), _plain(kept.max())]
    if missing_codes:
        guess.spec["missing"] = missing_codes
    if whole and 2 < len(kept) <= 7:
        shown = ", ".join(str(_plain(v)) for v in kept)
        guess.notes.append(f"only the codes {shown}: if they stand for answers, make it "
                           "categorical or ordinal with levels (code: label)")
    guess.notes.append("range is the observed minimum and maximum: widen it to what is possible")


def _unique_enough(values, n_rows: int) -> bool:
    """Present in nearly every row and nearly always distinct (a few planted repeats allowed)."""
    n_distinct = len(pd.unique(np.asarray(values)))
    return len(values) >= MIN_SHARE * n_rows and n_distinct >= MIN_SHARE * len(values)


def _identifier(guess: Guess, values, n_rows: int) -> None:
    guess.spec["type"] = "id"
    repeats = len(values) - len(pd.unique(np.asarray(values)))
    blanks = n_rows - len(values)
    guess.notes.append("the name says identifier and the values are distinct" + (
        f"; {repeats} repeated and {blanks} blank: validation flags those rows"
        if repeats or blanks else ""))


def _sentinels(distinct: np.ndarray) -> list[float]:
    """Codes such as -9 or 999 that lie far outside the other values."""
    found = []
    for code in _SENTINELS:
        if code not in distinct:
            continue
        rest = distinct[distinct != code]
        if not len(rest):
            continue
        if (code < 0 and rest.min() >= 0) or (code > 0 and rest.max() * 1.5 < code
                                                and rest.max() >= 1 and len(rest) < len(distinct)):
            found.append(float(code))
    return found


def _looks_like_id(name: str) -> bool:
    return bool(_ID_NAME.search(name) or _ID_CAMEL.search(name) or name.lower() in
                ("id", "key", "code"))


def _date_format(values: pd.Series) -> str | None:
    text = values.astype(str)
    if text.str.match(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}").mean() < MIN_SHARE:
        return None
    for fmt in _DATE_FORMATS:
        if pd.to_datetime(text, format=fmt, errors="coerce").notna().mean() >= MIN_SHARE:
            return fmt
    return None


def _dates(guess: Guess, values: pd.Series, fmt: str | None) -> None:
    guess.spec["type"] = "date"
    if fmt is not None:
        bad = values[pd.to_datetime(values.astype(str), format=fmt, errors="coerce").isna()]
        if len(bad):
            shown = ", ".join(repr(b) for b in bad.astype(str).unique()[:5])
            guess.notes.append(f"{len(bad)} value(s) are not dates written {fmt} ({shown}): "
                               "validation flags them")
    if fmt is not None and fmt not in _DATE_FORMATS[:3]:
        guess.spec["format"] = fmt
    guess.notes.append("date" + (f" written as {fmt}" if fmt else ""))


def _text(guess: Guess, name: str, text: pd.Series, n_rows: int) -> None:
    counts = text.value_counts(sort=False)
    if _looks_like_id(name) and _unique_enough(text, n_rows):
        _identifier(guess, text, n_rows)
        return
    if len(counts) > MAX_LEVELS or len(text) < MIN_PER_LEVEL * len(counts):
        guess.notes.append(f"{len(counts)} distinct texts: free text")
        return
    codes = sorted(counts.index, key=_natural)
    order = _scale_order(codes)
    if order is not None:
        codes = order
    elif len(codes) == 2:
        codes = sorted(codes, key=lambda c: c.strip().lower() not in _NEGATIVE)
    guess.spec["levels"] = _level_labels(codes)
    if len(codes) == 2:
        guess.spec["type"] = "binary"
        guess.notes.append(f"two values: the event is {codes[1]!r}, the second level "
                           "(set event: to change it)")
    elif order is not None:
        guess.spec["type"] = "ordinal"
        guess.notes.append("the labels name an ordered scale: ordinal, lowest first")
    else:
        guess.spec["type"] = "categorical"
        guess.notes.append("levels are the observed values; the first is the reference")


def _labelled(guess: Guess, values: pd.Series, labels: dict, user_missing: list) -> None:
    """An SPSS or Stata column with value labels: its labelled and observed codes."""
    labels = {_code(k): str(v) for k, v in labels.items()}
    missing = {_code(c): labels.pop(_code(c), "missing (file)") for c in user_missing}
    observed = [_code(v) for v in pd.unique(values)]
    unlabelled = [c for c in observed if c not in labels and c not in missing]
    numeric = pd.api.types.is_numeric_dtype(values.dtype)
    if numeric and len(unlabelled) > MAX_LEVELS:
        # A scale with a few labelled values (e.g. 99 = "refused"): numeric, labels as missing.
        numbers = values[~values.isin(list(labels))].to_numpy(dtype=float)
        guess.spec.update(type="numeric", range=[_plain(numbers.min()), _plain(numbers.max())])
        missing.update(labels)
        guess.notes.append("value labels on a few values of a scale: drafted as missing codes")
    else:
        levels = {**labels, **{c: str(c) for c in sorted(unlabelled, key=_natural)}}
        taken: dict[str, int] = {}
        for code, text in list(levels.items()):
            taken[text] = taken.get(text, 0) + 1
            if taken[text] > 1:  # two codes with one label: keep both apart
                levels[code] = f"{text} ({code})"
        guess.spec["levels"] = levels
        order = _scale_order(list(levels.values()))
        if len(levels) == 2:
            guess.spec["type"] = "binary"
        elif order is not None and order == list(levels.values()):
            guess.spec["type"] = "ordinal"
            guess.notes.append("the value labels name an ordered scale: ordinal")
        else:
            guess.spec["type"] = "categorical"
        guess.notes.append("levels from the file's value labels" +
                           (f"; codes without a label: {unlabelled}" if unlabelled else ""))
    if missing:
        guess.spec["missing"] = missing


def _code(value: Any) -> int | float | str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _natural(code: Any) -> tuple:
    text = str(code)
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text.lower())


def _level_labels(codes: list[str]) -> dict[str, str]:
    """Each observed text as its own code, labelled with a capital first letter when unique."""
    nice = {c: c[:1].upper() + c[1:] for c in codes}
    if len(set(nice.values())) < len(codes) or set(nice.values()) & (set(codes) - set(nice)):
        return {c: c for c in codes}
    return nice


def _scale_order(labels: list[str]) -> list[str] | None:
    """``labels`` sorted along the response scale they name, or None if they name none."""
    for scale in _SCALES:
        ranks = {}
        for text in labels:
            key = re.sub(r"^\s*\d+\s*[-=:.)]?\s*", "", str(text)).strip().lower()
            rank = next((k for k, words in enumerate(scale) if key in words.split("|")), None)
            if rank is None:
                break
            ranks[text] = rank
        else:
            if len(set(ranks.values())) == len(labels) >= 3:
                return sorted(labels, key=ranks.__getitem__)
    return None


def _pii(guess: Guess, name: str, values: pd.Series, identifier: bool) -> None:
    text = values.astype(str)
    sample = text.drop_duplicates().head(200)
    reasons = []
    if identifier:
        reasons.append("the export marks it as identifying")
    if _PII_NAME.search(name):
        reasons.append("the name suggests personal data")
    for pattern, what in ((_EMAIL, "e-mail addresses"), (_IPV4, "IP addresses"),
                          (_PHONE, "phone numbers")):
        if guess.spec["type"] in ("text", "id") and sample.str.match(pattern).mean() > 0.5 \
                and not sample.str.match(r"^\d{4}-\d\d-\d\d").any():
            reasons.append(f"the values look like {what}")
            break
    if guess.spec["type"] == "text" and not reasons and sample.str.contains(" ").mean() > 0.5:
        guess.notes.append("free text may name people or places: set pii: true if it does")
    if reasons and guess.spec["type"] != "id":
        guess.spec["pii"] = True
        guess.notes.append(f"likely identifying ({'; '.join(reasons)}): pii: true keeps it "
                           "out of every table and report")
    elif reasons:
        guess.notes.append(f"identifier ({'; '.join(reasons)})")


def _suggest_roles(guess: Guess, name: str) -> None:
    kind = guess.spec["type"]
    low = name.lower()
    if kind == "id" or guess.spec.get("pii"):
        return
    rules = [
        ("weight", r"^(p|s|samp|sampling|survey|svy|design|final)_?(weight|wt)$|^wt$|^wt_|_wt$",
         ("numeric",), "the name says sampling weight"),
        ("stratum", r"strat|region", ("categorical", "numeric", "binary", "text"),
         "the name says stratum"),
        ("cluster", r"psu|cluster|village|school|clinic|ward|site", None,
         "the name says cluster or sampling unit"),
        ("match", r"pair|matched|match|^set$|_set$", None, "the name says matched set"),
        ("exposure_time", r"person_?(years|time)|follow_?up|months_followed|exposure_time|"
         r"time_at_risk", ("numeric", "count"), "the name says time at risk"),
        ("outcome", r"spasm|pain|ache|lbp|outcome|status|case|diagnos|disease|problem|event|"
         r"^y$|^grp$|sick|injur", None, "the name says outcome"),
        ("confounder", r"^age|_age|sex|gender|female|woman|male|bmi|smok|educat|income|"
         r"height|weight", None, "a usual confounder"),
    ]
    if low == "weight" and kind == "numeric" and guess.spec["range"][1] < 50:
        # Sampling weights are small positive numbers; a body weight is tens of kilograms.
        rules.insert(0, ("weight", "weight", None, "small positive values: a sampling weight?"))
    for role, pattern, types, why in rules:
        if re.search(pattern, low) and (types is None or kind in types):
            guess.roles.append((role, why))
            return
    if kind in ("binary", "categorical", "ordinal", "numeric", "count"):
        guess.roles.append(("exposure", "a candidate exposure"))
