"""How numbers read: one number-format layer for every table, text and export.

A :class:`NumberStyle` says how an estimate with its confidence interval, a
p-value, a count and a percentage are written; every table of the package
(``describe``, the models' summaries, the report's reader tables, figure
annotations) and every export (DOCX, XLSX, LaTeX) formats through it, so a
number reads the same everywhere. Four styles are built in, after the
journals' instructions for authors:

``default``
    ``1.93 (1.09-3.44)``, ``<0.001``, ``0.032``, ``12,345``.
``jama``
    AMA Manual of Style (11th ed., 2020; JAMA Network): interval with a
    hyphen, ``to`` when a bound is negative; *P* without a leading zero
    (it cannot exceed 1), 2 decimals, 3 below .01, smallest ``<.001``,
    largest ``>.99``; SI digit groups: a thin space in numbers of 5 or
    more digits (``12 345``), none in 4-digit numbers (``2345``).
``lancet``
    The Lancet's house style: a mid-line decimal point (``1·93``),
    intervals with an en dash (``1·93 (1·09–3·44)``), ``to`` when a bound
    is negative, a true minus sign; p to 2 significant figures, smallest
    ``<0·0001``; thin space in numbers of 5 or more digits.
``nejm``
    NEJM: intervals with ``to`` (``1.93 (1.09 to 3.44)``); P with a
    leading zero, 2 decimals, 3 below 0.01, smallest ``<0.001``, largest
    ``>0.99``; commas in numbers of 4 or more digits (``2,345``).

The current style is process-wide: :func:`set_style` (also ``backpain
report --style NAME``) sets it and writes it to the environment variable
``BACKPAIN_STYLE``, so report kernels started afterwards format the same
way; :func:`use_style` sets it for a block. :func:`define_style` makes a
new one from an existing one::

    >>> from analysis.style import define_style, use_style, ci
    >>> _ = define_style("bmj", base="lancet", decimal_mark=".")
    >>> with use_style("bmj"):
    ...     ci(1.934, 1.091, 3.437)
    '1.93 (1.09–3.44)'

or from a YAML file (:func:`load_style`; ``backpain report --style bmj.yml``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from analysis.errors import BackpainError

ENV = "BACKPAIN_STYLE"
THIN_SPACE = "\u2009"
MID_DOT = "\u00b7"
EN_DASH = "\u2013"
MINUS = "\u2212"
P_RULES = ("fixed", "two_three", "significant")


class StyleError(BackpainError):
    """A number style that does not exist or cannot be defined as asked."""


@dataclass(frozen=True)
class NumberStyle:
    """How numbers are written (see the module's docstring for the built-in styles).

    Parameters
    ----------
    decimal_mark, thousands_separator
        Marks in every number; groups of three digits only from
        ``thousands_from`` (10,000: 4-digit numbers are closed up).
    ci_separator, ci_negative_separator
        Between the bounds of an interval, and instead when a bound is
        negative (a dash would read as a minus sign).
    minus
        The sign of a negative number (``"-"`` or the true minus ``"−"``).
    estimate_decimals, percent_decimals
        Decimals of ratios and other estimates, and of percentages.
    p_rule, p_decimals, p_smallest, p_largest, p_leading_zero
        ``"fixed"``: ``p_decimals`` decimals; ``"two_three"``: 2 decimals,
        3 below 0.01; ``"significant"``: 2 significant figures. Below
        ``p_smallest`` a p-value reads ``"<0.001"``, above ``p_largest``
        (if set) ``">0.99"``; without a leading zero ``".032"``.
    """

    name: str = "default"
    decimal_mark: str = "."
    thousands_separator: str = ","
    thousands_from: int = 1000
    ci_separator: str = "-"
    ci_negative_separator: str = " to "
    minus: str = "-"
    estimate_decimals: int = 2
    percent_decimals: int = 1
    p_rule: str = "fixed"
    p_decimals: int = 3
    p_smallest: float = 0.001
    p_largest: float | None = None
    p_leading_zero: bool = True

    def __post_init__(self) -> None:
        if self.p_rule not in P_RULES:
            raise StyleError(f"Number style {self.name!r}: p_rule {self.p_rule!r} is not one "
                             f"of {', '.join(P_RULES)}.")
        if self.decimal_mark == self.thousands_separator or not self.decimal_mark:
            raise StyleError(f"Number style {self.name!r}: the decimal mark "
                             f"{self.decimal_mark!r} must differ from the thousands separator.")
        for field in ("estimate_decimals", "percent_decimals", "p_decimals"):
            value = getattr(self, field)
            if not isinstance(value, int) or not 0 <= value <= 8:
                raise StyleError(f"Number style {self.name!r}: {field} must be a whole number "
                                 f"from 0 to 8, not {value!r}.")
        if not 0 < self.p_smallest < 1:
            raise StyleError(f"Number style {self.name!r}: p_smallest must lie between 0 and 1.")

    # ---- numbers ------------------------------------------------------------------
    def number(self, value: float, decimals: int | None = None) -> str:
        """``value`` with ``decimals`` decimals (default: the style's estimate decimals)."""
        if value is None or _isnan(value):
            return ""
        value = float(value)
        if math.isinf(value):
            return "∞" if value > 0 else f"{self.minus}∞"
        d = self.estimate_decimals if decimals is None else decimals
        text = f"{abs(value):.{d}f}"
        whole, _, fraction = text.partition(".")
        if abs(round(value, d)) >= self.thousands_from and self.thousands_separator:
            whole = f"{int(whole):,}".replace(",", self.thousands_separator)
        negative = value < 0 and float(text) != 0
        return (self.minus if negative else "") + whole + (
            self.decimal_mark + fraction if fraction else "")

    def significant(self, value: float, digits: int = 4) -> str:
        """``value`` to ``digits`` significant figures (``"0.0123"``, ``"1.235e+05"``)."""
        if value is None or _isnan(value):
            return ""
        text = f"{float(value):.{digits}g}"
        if "e" in text or "inf" in text:
            return text.replace("-", self.minus).replace(".", self.decimal_mark)
        return self.number(float(text), _decimals_of(abs(float(text))))

    def count(self, value: float, zero: str = "0") -> str:
        """A whole count with digit groups (``12,345``); ``zero`` for 0, ``""`` for missing."""
        if value is None or _isnan(value):
            return ""
        return self.number(int(value), 0) if int(value) else zero

    def percent(self, value: float, decimals: int | None = None) -> str:
        """A percentage (already times 100) with the style's percent decimals."""
        return self.number(value, self.percent_decimals if decimals is None else decimals)

    def interval(self, low: float, high: float, decimals: int | None = None) -> str:
        """``"1.09-3.44"``: the bounds joined by the style's separator."""
        sep = self.ci_negative_separator if min(low, high) < 0 else self.ci_separator
        return f"{self.number(low, decimals)}{sep}{self.number(high, decimals)}"

    def estimate_ci(self, estimate: float, low: float, high: float,
                    decimals: int | None = None) -> str:
        """``"1.93 (1.09-3.44)"``.

        With ``decimals=None`` the style's decimals, more (up to 4) when they
        would show an interval as one number: an odds ratio per second of
        plank hold reads ``0.992 (0.990-0.994)``, not ``0.99 (0.99-0.99)``.
        A missing estimate gives ``""``, a missing bound (the reference
        level) ``"1 (reference)"``, an infinite value ``"not estimable"``.
        """
        if estimate is None or _isnan(estimate):
            return ""
        if low is None or _isnan(low):
            return "1 (reference)"
        if not all(math.isfinite(float(v)) for v in (estimate, low, high)):
            return "not estimable"
        d = decimals
        if d is None:
            d = self.estimate_decimals
            while d < 4 and round(low, d) == round(high, d):
                d += 1
        return f"{self.number(estimate, d)} ({self.interval(low, high, d)})"

    def p_value(self, p: float) -> str:
        """A p-value as the style writes it: ``"0.032"``, ``"<0.001"``, ``".03"``, ``"0·0032"``."""
        if p is None or _isnan(p):
            return ""
        p = float(p)
        if p < self.p_smallest:
            return "<" + self._p_text(self.p_smallest, _decimals_of(self.p_smallest))
        if self.p_largest is not None and p > self.p_largest:
            return ">" + self._p_text(self.p_largest, _decimals_of(self.p_largest))
        if self.p_rule == "fixed":
            d = self.p_decimals
        elif self.p_rule == "two_three":
            d = 3 if p < 0.01 else 2
        else:  # two significant figures
            d = max(2, 1 - math.floor(math.log10(p))) if p > 0 else self.p_decimals
        return self._p_text(p, d)

    def _p_text(self, p: float, decimals: int) -> str:
        text = self.number(p, decimals)
        return text[1:] if not self.p_leading_zero and text.startswith("0" + self.decimal_mark) \
            else text

    # ---- reading back ----------------------------------------------------------------
    def parse(self, text: str) -> tuple[float, int, bool] | None:
        """A cell that is one number in this style → ``(value, decimals, grouped)``; else None.

        Exports store such cells as numbers (with a display format of
        ``decimals`` decimals, digit groups if ``grouped``); text like
        ``"12 (40.0)"``, ``"<5"`` or ``"<0.001"`` is not a number.
        """
        match = self._pattern().fullmatch(text.strip()) if isinstance(text, str) else None
        if not match:
            return None
        sign, whole, fraction = match.group("sign"), match.group("whole"), match.group("frac")
        grouped = bool(self.thousands_separator) and self.thousands_separator in whole
        digits = whole.replace(self.thousands_separator, "") if grouped else whole
        value = float(f"{digits or '0'}.{fraction or '0'}")
        return (-value if sign else value), len(fraction or ""), grouped

    def _pattern(self) -> re.Pattern:
        sep, mark = re.escape(self.thousands_separator), re.escape(self.decimal_mark)
        group = rf"\d{{1,3}}(?:{sep}\d{{3}})+|" if self.thousands_separator else ""
        minus = "|".join(re.escape(m) for m in {self.minus, "-"})
        return re.compile(rf"(?P<sign>{minus})?(?P<whole>{group}\d+|)"
                          rf"(?:{mark}(?P<frac>\d+))?(?<=\d)")


def _isnan(value) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _decimals_of(x: float) -> int:
    text = f"{x:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


STYLES: dict[str, NumberStyle] = {}


def define_style(name: str, base: str | NumberStyle = "default", **changes) -> NumberStyle:
    """Register a style named ``name``: ``base`` with ``changes`` (fields of :class:`NumberStyle`).

    Raises :class:`StyleError` for an unknown field or a value it cannot take.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise StyleError(f"Style name {name!r}: use lower-case letters, digits, '-' and '_'.")
    fields = {f.name for f in dataclasses.fields(NumberStyle)} - {"name"}
    unknown = sorted(set(changes) - fields)
    if unknown:
        raise StyleError(f"Style {name!r}: unknown setting(s) {', '.join(unknown)}; a style "
                         f"sets {', '.join(sorted(fields))}.")
    try:
        style = dataclasses.replace(get_style(base), name=name, **changes)
    except TypeError as exc:
        raise StyleError(f"Style {name!r}: {exc}.") from None
    STYLES[name] = style
    return style


_current: NumberStyle | None = None


def get_style(style: str | NumberStyle) -> NumberStyle:
    """The style named ``style`` (or ``style`` itself); :class:`StyleError` when unknown."""
    if isinstance(style, NumberStyle):
        return style
    if style not in STYLES:
        raise StyleError(f"Unknown number style {style!r}: choose one of "
                         f"{', '.join(sorted(STYLES))}, or define one with define_style().")
    return STYLES[style]


STYLES["default"] = NumberStyle()
define_style("jama", ci_separator="-", thousands_separator=THIN_SPACE, thousands_from=10_000,
             p_rule="two_three", p_largest=0.99, p_leading_zero=False)
define_style("lancet", decimal_mark=MID_DOT, thousands_separator=THIN_SPACE,
             thousands_from=10_000, ci_separator=EN_DASH, minus=MINUS, p_rule="significant",
             p_smallest=0.0001, p_largest=0.99)
define_style("nejm", ci_separator=" to ", p_rule="two_three", p_largest=0.99)
BUILT_IN = ("default", "jama", "lancet", "nejm")


def load_style(path: str | os.PathLike) -> NumberStyle:
    """A style defined in a YAML file: ``name``, optional ``base`` and settings to change.

    ``name: bmj``, ``base: lancet``, ``decimal_mark: "."`` defines and
    registers ``bmj`` (see :func:`define_style`).
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            spec = yaml.safe_load(handle)
    except OSError as exc:
        raise StyleError(f"Style file {str(path)!r} cannot be read ({exc.strerror}).") from None
    except yaml.YAMLError as exc:
        raise StyleError(f"Style file {str(path)!r} is not valid YAML ({exc}).") from None
    if not isinstance(spec, dict) or "name" not in spec:
        raise StyleError(f"Style file {str(path)!r}: give a mapping with a name, e.g. "
                         "'name: bmj', 'base: lancet', 'decimal_mark: \".\"'.")
    spec = dict(spec)
    return define_style(spec.pop("name"), base=spec.pop("base", "default"), **spec)


def style_option(text: str) -> NumberStyle:
    """``--style``: a style's name, or a YAML file that defines one (:func:`load_style`)."""
    if text.endswith((".yml", ".yaml")) or os.sep in text:
        return load_style(text)
    return get_style(text)


def current_style() -> NumberStyle:
    """The style in force: the one :func:`set_style` set, else ``$BACKPAIN_STYLE``, else default."""
    if _current is not None:
        return _current
    given = os.environ.get(ENV, "").strip()
    return style_from_text(given) if given else STYLES["default"]


def set_style(style: str | NumberStyle) -> NumberStyle:
    """Make ``style`` the process-wide style, also for kernels and processes started later."""
    global _current
    _current = get_style(style)
    os.environ[ENV] = style_to_text(_current)
    return _current


@contextlib.contextmanager
def use_style(style: str | NumberStyle) -> Iterator[NumberStyle]:
    """Format with ``style`` inside the block; the previous style (and environment) after."""
    global _current
    before, env = _current, os.environ.get(ENV)
    try:
        yield set_style(style)
    finally:
        _current = before
        if env is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = env


def style_to_text(style: NumberStyle) -> str:
    """A built-in style by name; any other as JSON of its fields (for the environment)."""
    if style.name in BUILT_IN and STYLES[style.name] == style:
        return style.name
    return json.dumps(dataclasses.asdict(style), sort_keys=True)


def style_from_text(text: str) -> NumberStyle:
    """The inverse of :func:`style_to_text`."""
    if not text.startswith("{"):
        return get_style(text)
    try:
        fields = json.loads(text)
        return NumberStyle(**fields)
    except (ValueError, TypeError) as exc:
        raise StyleError(f"${ENV} holds no number style ({exc}).") from None


# ---- the current style's formatters: what tables and texts call ---------------------------
def number(value: float, decimals: int | None = None) -> str:
    """:meth:`NumberStyle.number` in the current style."""
    return current_style().number(value, decimals)


def significant(value: float, digits: int = 4) -> str:
    """:meth:`NumberStyle.significant` in the current style."""
    return current_style().significant(value, digits)


def count(value: float, zero: str = "0") -> str:
    """:meth:`NumberStyle.count` in the current style."""
    return current_style().count(value, zero)


def percent(value: float, decimals: int | None = None) -> str:
    """:meth:`NumberStyle.percent` in the current style."""
    return current_style().percent(value, decimals)


def interval(low: float, high: float, decimals: int | None = None) -> str:
    """:meth:`NumberStyle.interval` in the current style."""
    return current_style().interval(low, high, decimals)


def ci(estimate: float, low: float, high: float, decimals: int | None = None) -> str:
    """:meth:`NumberStyle.estimate_ci` in the current style."""
    return current_style().estimate_ci(estimate, low, high, decimals)


def p_value(p: float) -> str:
    """:meth:`NumberStyle.p_value` in the current style."""
    return current_style().p_value(p)
