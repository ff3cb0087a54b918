"""Score every questionnaire a survey's codebook declares, with ledger and reliability."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis.codebook import CODED_TYPES, Variable
from analysis.errors import BackpainWarning, ScoringError
from analysis.instruments import ipaq, nmq, orebro
from analysis.instruments._items import category_lookup
from analysis.instruments._variables import score_variables
from analysis.instruments.fabq import PA_ITEMS, WORK_ITEMS, fabq
from analysis.instruments.nprs import nprs_category
from analysis.instruments.odi import odi
from analysis.instruments.reliability import cronbach_alpha
from analysis.instruments.rmdq import rmdq
from analysis.instruments.start_back import start_back
from analysis.survey import Survey

# Instrument key in the codebook -> number of numbered items (None: named items).
INSTRUMENT_ITEMS: dict[str, int | None] = {
    "odi": 10, "rmdq": 24, "start_back": 9, "ipaq_short": None, "nprs": 1, "fabq": 16,
    "orebro_short": 10, "nmq": None,
}
# Items the manuals key in reverse (scored by the scorer itself).
MANUAL_REVERSED: dict[str, tuple[int, ...]] = {"orebro_short": orebro.REVERSED_ITEMS}
ALPHA_COLUMNS = ["instrument", "scale", "n_items", "n_complete", "alpha", "ci_low", "ci_high"]


def score_instruments(
    survey: Survey,
    *,
    odi_max_missing: int | None = 1,
    rmdq_missing: str = "zero",
    sbst_subscale: str = "keele",
    ipaq_moderate_b: str = "combined",
    nprs_scheme: str = "serlin",
    fabq_thresholds: str = "george2008",
) -> tuple[Survey, pd.DataFrame]:
    """Score the instruments a survey's codebook declares; add the scores and their entries.

    Method
    ------
    The items of each instrument are the variables whose codebook entry says
    ``instrument: {name: <key>, item: <n>}``; keys and items expected:
    ``odi`` 1-10 (0-5), ``rmdq`` 1-24 (binary), ``start_back`` 1-9 (1-8
    binary 0 Disagree / 1 Agree, 9 ordinal 0 Not at all - 4 Extremely),
    ``ipaq_short`` named items (``vigorous_days``, ``vigorous_minutes``, ...,
    optional ``sitting_minutes`` and ``*_hours``), ``nprs`` 1, ``fabq`` 1-16,
    ``orebro_short`` 1-10 in the order of :func:`orebro_short`, ``nmq``
    ``<region>_12m|_7d|_prevented``. Instruments absent from the codebook are
    skipped; unknown keys are warned about.

    Coded items (pandas categoricals of labels) are mapped back to their
    codebook codes; a binary item whose codes are not 0/1 is scored 0 for
    its first level and 1 for its second (the event). Each scorer applies
    its manual's own reverse keying (Örebro items 6, 9, 10), so items are
    given as answered; ``instrument.reverse`` in the codebook is checked
    against the manual and a disagreement is warned about, not applied.

    Rows are never excluded. The ledger gets one entry per respondent whose
    score was prorated (``action="prorated"``), counted a blank RMDQ item as
    0 (``"blank scored 0"``), could not be scored (``"unscorable"``, rule
    saying why), had an IPAQ time recoded (``"recoded"``, §7.3) or truncated
    (``"truncated"``, §7.4), or gave an inconsistent NMQ answer
    (``"flagged"``). NMQ adds no columns (it has no score; use
    :func:`nmq_prevalence`).

    The keyword arguments are the scorers' named settings (see each scorer).

    Returns
    -------
    (Survey, alpha) : the survey with score columns and codebook entries,
        and a tidy DataFrame of Cronbach's alpha per multi-item scale:
        ``instrument, scale, n_items, n_complete, alpha, ci_low, ci_high``
        (Feldt 95 % interval), on the items as scored (STarT item 9
        dichotomised, Örebro items reversed).

    Examples
    --------
    >>> scored, alpha = score_instruments(survey)  # doctest: +SKIP
    >>> scored.data["odi_pct"].describe()  # doctest: +SKIP
    """
    cb = survey.codebook
    for key in sorted(set(cb.instruments) - set(INSTRUMENT_ITEMS)):
        warnings.warn(f"instrument {key!r} in the codebook is not one the package scores "
                      f"({sorted(INSTRUMENT_ITEMS)}); its items are left as they are.",
                      BackpainWarning, stacklevel=2)
    settings = {"odi_max_missing": odi_max_missing, "rmdq_missing": rmdq_missing,
                "sbst_subscale": sbst_subscale, "ipaq_moderate_b": ipaq_moderate_b,
                "nprs_scheme": nprs_scheme, "fabq_thresholds": fabq_thresholds}
    scores: list[pd.DataFrame] = []
    alphas: list[dict] = []
    entries: list[dict] = []
    present = [k for k in INSTRUMENT_ITEMS if k in cb.instruments]
    for key in present:
        names = cb.instrument_items(key)
        absent = [n for n in names if n not in survey.data.columns]
        if absent:
            raise ScoringError(f"{key}: the codebook names items {absent} that are not columns "
                               f"of the data ({len(absent)} of {len(names)} items).")
        _check_reverse(key, [cb[n] for n in names])
        if key == "nmq":
            entries += _nmq_flags(survey)
            continue
        items = _item_codes(survey, key, names)
        result, keyed, new_entries = _score_one(key, items, settings)
        scores.append(result)
        entries += new_entries
        for scale, block in keyed.items():
            alphas.append({"instrument": key, "scale": scale, **cronbach_alpha(block).iloc[0]})

    scored = survey
    if scores:
        table = pd.concat(scores, axis=1)
        catalogue = score_variables(settings)
        variables = [catalogue[c] for c in table.columns]
        table = pd.DataFrame({c: _as_survey_column(table[c], catalogue[c]) for c in table},
                             index=table.index)
        scored = survey.with_columns(table, variables)
    else:
        scored = survey.with_columns(pd.DataFrame(index=survey.data.index), [])
    for entry in entries:
        scored.record(**entry)
    alpha = pd.DataFrame(alphas, columns=ALPHA_COLUMNS)
    return scored, alpha.astype({"n_items": "int64", "n_complete": "int64"})


def _score_one(key: str, items: pd.DataFrame, s: dict):
    """Scores, keyed item blocks for alpha, and ledger entries of one instrument."""
    lines = items.index
    entries: list[dict] = []

    def record(mask, action, rule, column, values=None):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            # masked before boxing: an object array of every respondent is 0.4 GB at 10^7
            vals = None if values is None else np.asarray(values)[mask].astype(object)
            entries.append({"step": f"score {key}", "rule": rule, "action": action,
                            "lines": lines[mask], "column": column, "values": vals})

    if key == "odi":
        m = s["odi_max_missing"]
        out = odi(items, max_missing=m)
        n = out["odi_answered"].to_numpy()
        ok = out["odi_pct"].notna().to_numpy()
        record(ok & (n < 10), "prorated", "ODI: missing section(s) prorated "
               "(100 x sum / (5 x answered))", "odi_pct", n)
        limit = "any number" if m is None else m
        record(~ok, "unscorable", f"ODI: more than {limit} section(s) missing", "odi_pct", n)
        return out, {"odi": items}, entries
    if key == "rmdq":
        out = rmdq(items, missing=s["rmdq_missing"])
        n = out["rmdq_answered"].to_numpy()
        ok = out["rmdq_score"].notna().to_numpy()
        partial = ok & (n < 24)
        if s["rmdq_missing"] == "zero":
            record(partial, "blank scored 0", "RMDQ: blank item(s) counted as not ticked",
                   "rmdq_score", 24 - n)
        else:
            record(partial, "prorated", "RMDQ: ticked x 24 / answered", "rmdq_score", n)
        why = ("item(s) missing (missing='reject')" if s["rmdq_missing"] == "reject"
               else "no item answered")
        record(~ok, "unscorable", f"RMDQ: {why}", "rmdq_score", n)
        return out, {"rmdq": items}, entries
    if key == "start_back":
        out = start_back(items, subscale=s["sbst_subscale"])
        record(out["sbst_total"].isna(), "unscorable", "STarT Back: item(s) missing "
               "(all 9 required)", "sbst_total", items.notna().sum(axis=1))
        keyed = items.copy()
        keyed.iloc[:, 8] = (items.iloc[:, 8] >= 3).astype("float64").where(items.iloc[:, 8].notna())
        return out, {"start_back": keyed}, entries
    if key == "ipaq_short":
        out = ipaq.ipaq_short(items, moderate_b=s["ipaq_moderate_b"], details=True)
        status = out["ipaq_status"].astype(str)
        for reason in ipaq.IPAQ_STATUS[1:]:
            record(status == reason, "unscorable", f"IPAQ {reason}", "ipaq_total_met")
        for a in ipaq.ACTIVITIES:
            minutes = items.get(f"{a}_minutes")
            column = items.attrs["names"].get(f"{a}_minutes", f"{a}_minutes")
            record(out[f"ipaq_{a}_short_bout"], "recoded", "IPAQ §7.3: under 10 min/day -> "
                   "0 minutes and 0 days", column, minutes)
            record(out[f"ipaq_{a}_truncated"], "truncated", "IPAQ §7.4: over 180 min/day -> 180",
                   column, minutes)
        keep = [c for c in out if not c.startswith(tuple(f"ipaq_{a}_" for a in ipaq.ACTIVITIES))
                or c.endswith("_met")]
        return out[keep], {}, entries
    if key == "nprs":
        return nprs_category(items, scheme=s["nprs_scheme"]), {}, entries
    if key == "fabq":
        out = fabq(items, thresholds=s["fabq_thresholds"])
        for col, numbers in (("fabq_pa", PA_ITEMS), ("fabq_w", WORK_ITEMS)):
            block = items.iloc[:, [i - 1 for i in numbers]]
            record(out[col].isna(), "unscorable", f"FABQ: item(s) of {col} missing",
                   col, block.notna().sum(axis=1))
        return out, {"fabq_pa": items.iloc[:, [i - 1 for i in PA_ITEMS]],
                     "fabq_w": items.iloc[:, [i - 1 for i in WORK_ITEMS]]}, entries
    if key == "orebro_short":
        out = orebro.orebro_short(items)
        record(out["orebro_total"].isna(), "unscorable", "Örebro: item(s) missing "
               "(all 10 required)", "orebro_total", items.notna().sum(axis=1))
        return out, {"orebro_short": orebro.keyed_items(items)}, entries
    raise AssertionError(key)  # pragma: no cover - INSTRUMENT_ITEMS lists the keys


def _item_codes(survey: Survey, key: str, names: list[str]) -> pd.DataFrame:
    """The items of one instrument as numeric codes, checked against the naming contract."""
    cb = survey.codebook
    numbers = [cb[n].instrument.item for n in names]
    expected = INSTRUMENT_ITEMS[key]
    if expected is not None and numbers != list(range(1, expected + 1)):
        raise ScoringError(
            f"{key}: the codebook marks items {numbers} (variables {names}); the instrument "
            f"needs items 1-{expected}, each once."
        )
    # filled column by column into one array: a frame built from a dict of columns holds
    # the columns and their consolidated copy at once (4 GB for the RMDQ at 10^7 rows)
    values = np.empty((len(survey.data), len(names)), order="F")
    for j, name in enumerate(names):
        values[:, j] = _codes(survey.data[name], cb[name], key).to_numpy(dtype="float64",
                                                                         na_value=np.nan)
    codes = pd.DataFrame(values, columns=names, index=survey.data.index, copy=False)
    if key == "ipaq_short":
        unknown = [i for i in numbers if i not in (*ipaq.ITEMS, *ipaq.HOURS_FIELDS)]
        if unknown:
            raise ScoringError(f"ipaq_short: unknown item names {unknown}; use "
                               f"{list(ipaq.ITEMS) + list(ipaq.HOURS_FIELDS)}.")
        codes.columns = [str(i) for i in numbers]
        codes.attrs["names"] = dict(zip(codes.columns, names, strict=True))
    return codes


def _codes(column: pd.Series, var: Variable, key: str) -> pd.Series:
    """One item column as float codes (labels of coded items mapped back to their codes)."""
    if var.type not in CODED_TYPES:
        return pd.to_numeric(column, errors="coerce").astype("float64").where(column.notna())
    labels = var.level_labels
    codes = list(labels)
    if var.type == "binary" and {_num(c) for c in codes} != {0.0, 1.0}:
        lookup = {label: float(i) for i, label in enumerate(labels.values())}
    else:
        lookup = {label: _num(code) for code, label in labels.items()}
    lookup |= {code: value for code, value in zip(codes, lookup.values(), strict=True)}
    mapped = category_lookup(column, lookup)
    if mapped is None:
        mapped = column.astype(object).map(lambda v: lookup.get(v, np.nan)).astype("float64")
    bad = mapped.isna() & column.notna()
    if bad.any():
        lines = list(column.index[bad][:5])
        shown = ", ".join(f"line {ln} = {column[ln]!r}" for ln in lines)
        raise ScoringError(f"{key}: item column {var.name!r} holds {int(bad.sum())} value(s) "
                           f"that are not levels of its codebook entry ({shown}).")
    return mapped


def _num(code) -> float:
    try:
        return float(code)
    except (TypeError, ValueError):
        return np.nan


def _check_reverse(key: str, variables: list[Variable]) -> None:
    marked = [v.instrument.item for v in variables if v.instrument.reverse]
    manual = list(MANUAL_REVERSED.get(key, ()))
    if marked and sorted(marked, key=str) != sorted(manual, key=str):
        warnings.warn(
            f"{key}: the codebook marks items {marked} as reverse-keyed; the manual keys "
            f"{manual or 'none'} in reverse and the scorer applies that itself. Give the items "
            f"as answered.", BackpainWarning, stacklevel=3)


def _nmq_flags(survey: Survey) -> list[dict]:
    answers = nmq._answers(survey)
    names = {str(v.instrument.item): v.name for v in survey.codebook
             if v.instrument and v.instrument.name == "nmq"}
    entries = []
    for region in sorted({c.removesuffix("_12m") for c in answers if c.endswith("_12m")}):
        for item, lines in nmq.inconsistent_lines(answers, region).items():
            if len(lines):
                entries.append({"step": "score nmq", "rule": "NMQ: Yes after a 12-month No "
                                "(kept as answered)", "action": "flagged", "lines": lines,
                                "column": names[item], "values": None})
    return entries


def _as_survey_column(values: pd.Series, var: Variable) -> pd.Series:
    """A score in the Survey conventions: coded as categoricals of labels, numbers as float."""
    if var.type == "binary":
        labels = list(var.level_labels.values())
        code = np.where(values.isna(), -1, values.fillna(False).astype(bool).astype(int))
        return pd.Series(pd.Categorical.from_codes(code, categories=labels), index=values.index)
    if var.type in CODED_TYPES:
        dtype = pd.CategoricalDtype(list(var.level_labels.values()),
                                    ordered=var.type == "ordinal")
        if isinstance(values.dtype, pd.CategoricalDtype):
            return values.cat.set_categories(list(dtype.categories), ordered=dtype.ordered)
        return values.astype(str).where(values.notna()).astype(dtype)
    return values.astype("float64")
