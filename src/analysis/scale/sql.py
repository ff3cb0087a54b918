"""The validation rules of :mod:`analysis.validate`, written as DuckDB SQL from a codebook.

Each codebook variable present in the data becomes a :class:`ColumnSQL`: SQL
expressions for its broken rules (same names, same order within a column as
the in-memory validator), for each of its missing codes, and for its decoded
value (a level position 0..k-1 for coded variables, a DOUBLE for numeric and
count ones, NULL when missing). :mod:`analysis.scale.lazy` assembles them
into single-scan queries, so the rows never leave DuckDB.

Equivalences with the in-memory validator (tested on the same data):

* coded: a value matches a missing code before a level code before a level
  label (``"1"``, ``"1.0"`` and ``1`` are the same code); anything else not
  blank is an ``unknown code``;
* numeric and count: text that does not parse as a number (and is not a
  missing code) is ``not a number``; a fraction in a count is ``not a whole
  number``; outside ``range`` (counts: below 0) is ``out of range``;
* date: text that is not a date (ISO 8601 or ``format``) is ``impossible
  date``; outside ``range`` is ``out of range``;
* id: blank is ``missing id``; ``duplicate id`` is checked in
  :mod:`analysis.scale.lazy` (it needs every row's line number).

NaN is normalised to NULL because DuckDB sorts NaN above every number and
treats ``NaN = NaN`` as true.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis.codebook import Codebook, Variable

CODED = ("binary", "categorical", "ordinal")
NUMERIC = ("numeric", "count")
_TEXT_TYPES = ("VARCHAR", "TEXT", "STRING", "CHAR", "BLOB")
_DATE_TYPES = ("DATE", "TIMESTAMP")
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                  "USMALLINT", "UINTEGER", "UBIGINT")


@dataclass
class ColumnSQL:
    """SQL for one variable: ``rules`` [(rule, condition)], ``missing`` [(code, meaning, cond)]."""

    name: str
    variable: Variable
    value: str
    rules: list[tuple[str, str]] = field(default_factory=list)
    missing: list[tuple[object, str, str]] = field(default_factory=list)
    derived: dict[str, str] = field(default_factory=dict)  # helper columns computed first

    @property
    def quoted(self) -> str:
        return quote(self.name)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return repr(float(value)) if isinstance(value, float) else repr(value)


def column_sql(codebook: Codebook, types: dict[str, str]) -> list[ColumnSQL]:
    """SQL of every codebook variable present in ``types`` (column -> DuckDB type), in order."""
    out = []
    for var in codebook:
        if var.name not in types:
            continue
        is_text = types[var.name].upper().startswith(_TEXT_TYPES)
        if var.type in CODED:
            out.append(_coded(var, is_text, types[var.name].upper() in _INTEGER_TYPES))
        elif var.type in NUMERIC:
            out.append(_numeric(var, is_text))
        elif var.type == "date":
            out.append(_date(var, types[var.name].upper()))
        else:
            out.append(_text(var, is_text))
    return out


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _state(var: Variable, is_text: bool, is_integer: bool = False) -> str:
    """Position of a coded value: level 0..k-1, NULL blank, -2 unknown, -3-k missing code k."""
    q = quote(var.name)
    codes, labels = list(var.level_labels), list(var.level_labels.values())
    missing = list(var.missing)
    numeric_codes = all(isinstance(c, int) or _is_number(c) for c in [*codes, *missing])
    whole = numeric_codes and all(float(c).is_integer() for c in [*codes, *missing])
    if is_integer and whole:
        # Integer column and whole-number codes: compare integers (several times faster).
        whens = [f"WHEN {int(float(c))} THEN {-3 - k}" for k, c in enumerate(missing)]
        whens += [f"WHEN {int(float(c))} THEN {j}" for j, c in enumerate(codes)]
        return f"CASE WHEN {q} IS NULL THEN NULL ELSE CASE {q} {' '.join(whens)} ELSE -2 END END"
    if numeric_codes and not is_text:
        x = f"CAST({q} AS DOUBLE)"
        whens = [f"WHEN {x} = {float(c)!r} THEN {-3 - k}" for k, c in enumerate(missing)]
        whens += [f"WHEN {x} = {float(c)!r} THEN {j}" for j, c in enumerate(codes)]
        return f"CASE WHEN {x} IS NULL OR isnan({x}) THEN NULL {' '.join(whens)} ELSE -2 END"
    t = f"trim(CAST({q} AS VARCHAR))"
    d = f"TRY_CAST({t} AS DOUBLE)"

    def match(code) -> str:
        return f"{d} = {float(code)!r}" if _is_number(code) else f"{t} = {literal(str(code))}"

    whens = [f"WHEN {match(c)} THEN {-3 - k}" for k, c in enumerate(missing)]
    whens += [f"WHEN {match(c)} THEN {j}" for j, c in enumerate(codes)]
    first_label: dict[str, int] = {}
    for j, label in enumerate(labels):
        first_label.setdefault(str(label), j)
    whens += [f"WHEN {t} = {literal(label)} THEN {j}" for label, j in first_label.items()]
    return f"CASE WHEN {t} IS NULL OR {t} = '' THEN NULL {' '.join(whens)} ELSE -2 END"


def _coded(var: Variable, is_text: bool, is_integer: bool = False) -> ColumnSQL:
    state = f"__state_{var.name}"
    s = quote(state)
    col = ColumnSQL(var.name, var, value=f"CASE WHEN {s} >= 0 THEN {s} END")
    col.missing = [(code, meaning, f"{s} = {-3 - k}")
                   for k, (code, meaning) in enumerate(var.missing.items())]
    col.rules = [("unknown code", f"{s} = -2")]
    col.derived = {state: _state(var, is_text, is_integer)}
    return col


def _numeric(var: Variable, is_text: bool) -> ColumnSQL:
    q = quote(var.name)
    missing = []
    if is_text:
        t = f"trim({q})"
        number = f"TRY_CAST({t} AS DOUBLE)"
        blank = f"({t} IS NULL OR {t} = '')"
        string_codes = [literal(str(c)) for c in var.missing if isinstance(c, str)]
        not_number = f"(NOT {blank} AND ({number} IS NULL OR isnan({number}))"
        if string_codes:
            not_number += f" AND {t} NOT IN ({', '.join(string_codes)})"
        not_number += ")"
        for code, meaning in var.missing.items():
            if isinstance(code, str) and not _is_number(code):
                missing.append((code, meaning, f"coalesce({q} = {literal(code)}, FALSE)"))
            else:
                missing.append((code, meaning, f"coalesce({number} = {float(code)!r}, FALSE)"))
    else:
        number = f"CAST({q} AS DOUBLE)"
        not_number = "FALSE"
        for code, meaning in var.missing.items():
            cond = ("FALSE" if isinstance(code, str) and not _is_number(code)
                    else f"coalesce({number} = {float(code)!r}, FALSE)")
            missing.append((code, meaning, cond))
    blanked = " OR ".join([not_number, *(m[2] for m in missing)])
    value = f"CASE WHEN {blanked} OR isnan({number}) THEN NULL ELSE {number} END"
    state = f"__value_{var.name}"
    v = quote(state)
    col = ColumnSQL(var.name, var, value=v, missing=missing)
    col.derived = {state: value}
    low, high = var.range or (None, None)
    rules = [("not a number", not_number)] if is_text else []
    if var.type == "count":
        low = 0 if low is None else low
        fraction = f"coalesce({v} <> floor({v}) AND NOT isinf({v}), FALSE)"
        rules.append(("not a whole number", fraction))
    out = [f"{v} < {float(low)!r}"] if low is not None else []
    out += [f"{v} > {float(high)!r}"] if high is not None else []
    if out:
        rules.append(("out of range", f"coalesce({' OR '.join(out)}, FALSE)"))
    col.rules = rules
    return col


def _date(var: Variable, duck_type: str) -> ColumnSQL:
    q = quote(var.name)
    state = f"__value_{var.name}"
    v = quote(state)
    if duck_type.startswith(_DATE_TYPES):
        stamp, blank, missing = f"CAST({q} AS TIMESTAMP)", f"({q} IS NULL)", []
        impossible = None
    else:
        t = f"trim(CAST({q} AS VARCHAR))"
        missing = [(code, meaning, f"coalesce({t} = {literal(str(code))}, FALSE)")
                   for code, meaning in var.missing.items()]
        formats = [var.format] if var.format else ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S",
                                                   "%Y-%m-%d %H:%M:%S"]
        stamp = "coalesce(" + ", ".join(f"TRY_STRPTIME({t}, {literal(f)})" for f in formats) + ")"
        blank = f"({t} IS NULL OR {t} = '')"
        impossible = f"(NOT {blank} AND {v} IS NULL)"
        if missing:
            coded = " OR ".join(m[2] for m in missing)
            impossible = f"(NOT {blank} AND {v} IS NULL AND NOT ({coded}))"
    blanked = " OR ".join(["FALSE", *(m[2] for m in missing)])
    col = ColumnSQL(var.name, var, value=v, missing=missing)
    col.derived = {state: f"CASE WHEN {blanked} THEN NULL ELSE {stamp} END"}
    rules = [("impossible date", impossible)] if impossible else []
    if var.range:
        low, high = var.range
        out = [f"{v} < TIMESTAMP {literal(str(low))}"] if low is not None else []
        out += [f"{v} > TIMESTAMP {literal(str(high))}"] if high is not None else []
        if out:
            rules.append(("out of range", f"coalesce({' OR '.join(out)}, FALSE)"))
    col.rules = rules
    return col


def _text(var: Variable, is_text: bool) -> ColumnSQL:
    q = quote(var.name)
    t = f"trim(CAST({q} AS VARCHAR))"
    missing = [(code, meaning, f"coalesce({t} = {literal(str(code))}, FALSE)")
               for code, meaning in var.missing.items()]
    blanked = " OR ".join(["FALSE", *(m[2] for m in missing)])
    state = f"__value_{var.name}"
    v = quote(state)
    # An integer identifier is kept as a number: casting 10^8 ids to text costs seconds.
    keep_type = var.type == "id" and not is_text and not var.missing
    col = ColumnSQL(var.name, var, value=v, missing=missing)
    col.derived = {state: q if keep_type else f"CASE WHEN {blanked} THEN NULL ELSE {t} END"}
    if var.type == "id":
        # A missing code blanks the id first, as in the in-memory validator.
        col.rules = [("missing id", f"{v} IS NULL" if keep_type else f"({v} IS NULL OR {v} = '')")]
    return col
