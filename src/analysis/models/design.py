"""Design matrices built straight from categorical codes, labelled from the codebook.

A formula parser (patsy) spends ~35 s building the treatment-coded matrix of
a million rows and 15 factors; the same matrix built from the integer codes
of pandas categoricals takes well under a second. Each model variable is
first *encoded* once (integer codes for coded variables, float values for
numeric ones); a :class:`Design` is then assembled from the encodings of the
rows (or covariate patterns) that enter the fit.

Coding is treatment (dummy) coding against a reference level, exactly as
``C(x, Treatment(reference=...))`` in patsy, so the column space -- and hence
every estimate -- is the same as the formula interface's.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analysis.errors import ModelError
from analysis.style import significant


@dataclass(frozen=True)
class Encoded:
    """One model variable as arrays: codes 0..k-1 (-1 = missing) or float values."""

    name: str
    label: str
    kind: str  # "factor" or "numeric"
    codes: np.ndarray | None = None
    values: np.ndarray | None = None
    categories: tuple[str, ...] = ()
    reference: int = 0
    ordinal: bool = False
    unit: str | None = None
    per: float = 1.0  # a numeric term's column is values / per (codebook ``per:``)
    per_text: str | None = None  # "per 10 years", "per standard deviation (12.1 years)"

    @property
    def missing(self) -> np.ndarray:
        return self.codes < 0 if self.kind == "factor" else np.isnan(self.values)

    def take(self, rows: np.ndarray) -> Encoded:
        if self.kind == "factor":
            return replace(self, codes=self.codes[rows])
        return replace(self, values=self.values[rows])

    @property
    def group_codes(self) -> tuple[np.ndarray, int]:
        """Integer codes and their number, for covariate-pattern keys."""
        if self.kind == "factor":
            return self.codes.astype(np.int64), len(self.categories)
        codes, uniques = pd.factorize(self.values)
        return codes.astype(np.int64), max(len(uniques), 1)


def encode(data: pd.DataFrame, codebook, name: str, reference=None) -> Encoded:
    """Encode column ``name``: categoricals by their codes, numbers as float64.

    ``reference`` (a level label or codebook code) overrides the codebook's
    reference level, which defaults to the first level.
    """
    if name not in data.columns:
        close = difflib.get_close_matches(name, list(data.columns), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ModelError(
            f"The model asks for column {name!r}, which the survey does not have.{hint}")
    column = data[name]
    var = codebook.variables.get(name) if codebook is not None else None
    label = var.label if var is not None else name
    if isinstance(column.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(column):
        if not isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype("category")
        categories = tuple(str(c) for c in column.cat.categories)
        ref_label = _reference_label(name, var, categories, reference)
        ordinal = bool(column.cat.ordered) or (var is not None and var.type == "ordinal")
        return Encoded(
            # pandas' own small codes (int8 below 128 levels): int64 codes of a model's
            # factors held 1 GB more per fit at 10^7 respondents
            name, label, "factor", codes=np.asarray(column.cat.codes),
            categories=categories, reference=categories.index(ref_label), ordinal=ordinal,
        )
    values = column.to_numpy(dtype="float64", na_value=np.nan)
    unit = var.unit if var is not None else None
    step, text = numeric_step(values, var.per if var is not None else None, unit)
    return Encoded(name, label, "numeric", values=values, unit=unit, per=step, per_text=text)


def numeric_step(values: np.ndarray, per, unit: str | None) -> tuple[float, str]:
    """The step a numeric variable's estimate is reported for, and its words.

    ``per`` is the codebook's: a number (``10`` -> "per 10 years"), ``"sd"``
    or ``"iqr"`` (computed from ``values``), or None (one unit).
    """
    suffix = f" {unit}" if unit else ""
    finite = values[~np.isnan(values)]
    if per == "sd":
        step = float(np.std(finite, ddof=1)) if finite.size > 1 else 1.0
        return step or 1.0, f"per standard deviation ({significant(step, 3)}{suffix})"
    if per == "iqr":
        q1, q3 = np.percentile(finite, [25, 75]) if finite.size else (0.0, 1.0)
        step = float(q3 - q1) or 1.0
        return step, f"per interquartile range ({significant(step, 3)}{suffix})"
    if per is None or float(per) == 1.0:
        return 1.0, f"per 1 {_singular(unit)}" if unit else "per unit"
    return float(per), f"per {float(per):g}{suffix}"


def _reference_label(name: str, var, categories: tuple[str, ...], reference) -> str:
    if reference is None:
        ref = var.reference_level if var is not None else None
        return ref if ref in categories else categories[0]
    if var is not None and reference in var.level_labels:
        reference = var.level_labels[reference]
    if str(reference) not in categories:
        raise ModelError(
            f"Reference level {reference!r} of {name!r} is not one of its levels "
            f"{list(categories)}."
        )
    return str(reference)


# ---- terms ---------------------------------------------------------------
@dataclass
class Term:
    """A model term: the design columns it owns and how to label them."""

    name: str  # "posture", "age", "posture:sex"
    kind: str  # "factor", "numeric", "spline", "trend", "interaction"
    variables: tuple[str, ...]
    columns: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    formula: str = ""
    knots: tuple[float, ...] = ()


def factor_term(enc: Encoded) -> Term:
    keep = [c for i, c in enumerate(enc.categories) if i != enc.reference]
    ref = enc.categories[enc.reference]
    return Term(
        enc.name, "factor", (enc.name,), [f"{enc.name}[{c}]" for c in keep], keep,
        f"C({enc.name}, Treatment(reference={ref!r}))",
    )


def numeric_term(enc: Encoded) -> Term:
    per = enc.per_text or (f"per 1 {_singular(enc.unit)}" if enc.unit else "per unit")
    return Term(enc.name, "numeric", (enc.name,), [enc.name], [per], enc.name)


def trend_term(enc: Encoded) -> Term:
    """An ordinal factor scored 0..k-1 as one term (test for trend)."""
    return Term(enc.name, "trend", (enc.name,), [f"{enc.name}[trend]"], ["per category"],
                f"{enc.name}_score")


def spline_term(enc: Encoded, n_knots: int = 4) -> Term:
    """Restricted (natural) cubic spline with knots at Harrell's quantiles."""
    quantiles = {3: (10, 50, 90), 4: (5, 35, 65, 95), 5: (5, 27.5, 50, 72.5, 95),
                 6: (5, 23, 41, 59, 77, 95), 7: (2.5, 18.33, 34.17, 50, 65.83, 81.67, 97.5)}
    if n_knots not in quantiles:
        raise ModelError(f"A spline of {enc.name!r} takes 3 to 7 knots, not {n_knots}.")
    values = enc.values[~np.isnan(enc.values)]
    knots = tuple(np.unique(np.percentile(values, quantiles[n_knots])))
    if len(knots) < 3:
        raise ModelError(f"{enc.name!r} has too few distinct values for a spline.")
    names = [f"{enc.name}[rcs{j}]" for j in range(len(knots) - 1)]
    spelled = ", ".join(f"{k:g}" for k in knots)
    return Term(enc.name, "spline", (enc.name,), names, names,
                f"rcs({enc.name}, knots=[{spelled}])", knots)


def interaction_term(a: Encoded, b: Encoded) -> Term:
    left, right = _parts(a), _parts(b)
    columns = [f"{ca}:{cb}" for ca, _ in left for cb, _ in right]
    levels = [f"{la} × {lb}" for _, la in left for _, lb in right]
    fa = factor_term(a).formula if a.kind == "factor" else a.name
    fb = factor_term(b).formula if b.kind == "factor" else b.name
    return Term(f"{a.name}:{b.name}", "interaction", (a.name, b.name), columns, levels,
                f"{fa}:{fb}")


def _parts(enc: Encoded) -> list[tuple[str, str]]:
    if enc.kind == "factor":
        term = factor_term(enc)
        return list(zip(term.columns, term.levels, strict=True))
    return [(enc.name, enc.name)]


def rcs_basis(x: np.ndarray, knots: tuple[float, ...]) -> np.ndarray:
    """Harrell's restricted cubic spline basis: x and k-2 cubic terms, linear beyond the ends.

    Column j (j = 1..k-2) is ``(x-t_j)+^3 - (x-t_{k-1})+^3 (t_k-t_j)/(t_k-t_{k-1})
    + (x-t_k)+^3 (t_{k-1}-t_j)/(t_k-t_{k-1})``, scaled by ``(t_k-t_1)^2``
    (Harrell 2015, *Regression Modeling Strategies*, sec. 2.4.5). It spans the
    same space as any natural cubic spline with these knots.
    """
    t = np.asarray(knots, dtype=float)
    k = len(t)
    scale = (t[-1] - t[0]) ** 2

    def cube(v: np.ndarray) -> np.ndarray:
        return np.clip(v, 0, None) ** 3

    out = [x]
    for j in range(k - 2):
        col = (cube(x - t[j]) - cube(x - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
               + cube(x - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2]))
        out.append(col / scale)
    return np.column_stack(out)


# ---- the matrix ----------------------------------------------------------
@dataclass
class Design:
    """Intercept plus term columns, as one float64 array with named columns.

    :meth:`release` drops the matrix of a design built from encodings; ``X``
    then rebuilds it from them on each use (not kept), so a fit that is done
    with its rows holds its codes only: at 10^7 respondents a crude model's
    matrix is 240 MB, its factor's codes 10 MB.
    """

    X: np.ndarray
    names: list[str]
    terms: list[Term]
    encoded: dict[str, Encoded] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        self._released = False

    def __getattribute__(self, name):
        if name == "X" and object.__getattribute__(self, "_released"):
            return build_design(self.terms, self.encoded).X
        return object.__getattribute__(self, name)

    def release(self) -> None:
        """Drop the matrix when it can be rebuilt (from the encodings it was built from)."""
        if self.encoded is not None and self.terms:
            self.X = None
            self._released = True

    def index(self, term: Term) -> list[int]:
        return [self.names.index(c) for c in term.columns]


def term_columns(term: Term, encoded: dict[str, Encoded]) -> np.ndarray:
    """The columns of one term for the rows held in ``encoded``."""
    if term.kind == "factor":
        enc = encoded[term.name]
        keep = [i for i in range(len(enc.categories)) if i != enc.reference]
        return _dummies(enc.codes, keep)
    if term.kind == "numeric":
        enc = encoded[term.name]
        return (enc.values / enc.per)[:, None] if enc.per != 1 else enc.values[:, None]
    if term.kind == "trend":
        return encoded[term.name].codes.astype(np.float64)[:, None]
    if term.kind == "spline":
        return rcs_basis(encoded[term.name].values, term.knots)
    a, b = (encoded[v] for v in term.variables)
    left = _as_columns(a)
    right = _as_columns(b)
    return np.column_stack([left[:, i] * right[:, j]
                            for i in range(left.shape[1]) for j in range(right.shape[1])])


def _as_columns(enc: Encoded) -> np.ndarray:
    if enc.kind == "factor":
        return _dummies(enc.codes, [i for i in range(len(enc.categories)) if i != enc.reference])
    return (enc.values / enc.per)[:, None] if enc.per != 1 else enc.values[:, None]


def _dummies(codes: np.ndarray, keep: list[int]) -> np.ndarray:
    out = np.empty((codes.shape[0], len(keep)))
    for j, level in enumerate(keep):
        np.equal(codes, level, out=out[:, j])
    return out


def build_design(terms: list[Term], encoded: dict[str, Encoded]) -> Design:
    """Assemble intercept and term columns into one preallocated array."""
    n = len(next(iter(encoded.values())).codes if next(iter(encoded.values())).kind == "factor"
            else next(iter(encoded.values())).values)
    width = 1 + sum(len(t.columns) for t in terms)
    # Column-major: columns are filled one by one, and the information matrix
    # X'WX over row blocks is about four times faster than with row-major rows.
    X = np.empty((n, width), order="F")
    X[:, 0] = 1.0
    at = 1
    for term in terms:
        span = len(term.columns)
        if term.kind == "factor":
            # straight into the (contiguous) columns of X: a row-major block copied into
            # column-major X cost more than the whole Newton fit at 10^6 rows
            enc = encoded[term.name]
            keep = [i for i in range(len(enc.categories)) if i != enc.reference]
            for j, level in enumerate(keep):
                np.equal(enc.codes, level, out=X[:, at + j])
        elif term.kind == "numeric":
            enc = encoded[term.name]
            if enc.per != 1:
                np.divide(enc.values, enc.per, out=X[:, at])
            else:
                X[:, at] = enc.values
        else:
            block = term_columns(term, encoded)
            span = block.shape[1]
            X[:, at:at + span] = block
        at += span
    names = ["Intercept"] + [c for t in terms for c in t.columns]
    return Design(X, names, list(terms), encoded)


def _singular(unit: str) -> str:
    """"degree" for "degrees" after "per 1"; symbols (cm, s, h/day, kg/m²) stay as they are."""
    plural = {"years": "year", "degrees": "degree", "hours": "hour", "minutes": "minute",
              "seconds": "second", "days": "day", "episodes": "episode", "points": "point"}
    return plural.get(unit, unit)
