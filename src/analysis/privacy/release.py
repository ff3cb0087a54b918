"""One disclosure decision for everything a report releases.

Suppressing table by table (:func:`analysis.privacy.complementary_suppression`)
protects each table against its own totals only: a cell hidden in one table
comes back from another table that shows the same cross-tabulation, or from
a margin printed elsewhere. A :class:`Release` instead collects every count
cell that any table, figure, text or file will show, together with every
linear relation between them, decides suppression once for all of them,
checks the decision with the reader's own arithmetic (:mod:`.audit`) and
then renders each cell the same way wherever it appears.

Cells
-----
A cell is named by a :class:`CellKey`: a *population* (the respondents the
count is taken over, e.g. ``"analysed"`` or ``"model:odds_ratios"``) and a
set of ``variable = level`` pairs, in any order. The count of analysed
women with the outcome is ``cell_key("analysed", sex="F", lbp="Yes")`` in
Table 1, in the prevalence table and in ``results.json`` alike; fewer pairs
give its margins (``cell_key("analysed", sex="F")``) and no pair gives the
population's total. Registering the same key twice with two values is an
error (:class:`~analysis.errors.DisclosureError`): it means two tables count
different people under one name, so give them different populations.

The rule
--------
*Primary*: a count of 1 to ``threshold - 1`` respondents is shown as
``"<threshold"`` (zero is shown: it describes nobody). *Protection
interval*: since the label already tells the reader "1 to threshold - 1",
the released numbers must tell no more: for every primary cell, the
interval that the integer linear program of :mod:`.audit` allows (from all
released counts, the ranges the labels state and all relations) must be
the whole of ``[1, threshold - 1]``, or of the narrower range that the
labels alone leave when every count of its group is hidden (two "<5"
cells adding to a "<5" total are each at most 3, whatever else is hidden;
the log states that range). This is the standard
feasibility-interval audit (Hundepool et al., *Statistical Disclosure
Control*, 2012, sec. 5.2) with the protection levels set to the label's
range: upper protection ``threshold - 1 - x``, lower protection ``x - 1``.
*Secondary* (complementary) cells are counts of at least ``threshold`` (a
zero is never used: its label would claim a count it does not have), shown
as ``"suppressed"``; the reader knows only that they are at least
``threshold``, and their own value needs no protection.

Choosing the complements
------------------------
Per connected group of cells (cells linked by relations):

1. the classic rule, without a solver: a relation whose other cells are all
   known (shown, or pinned by shown counts) and which hides exactly one
   cell gets a complement, its smallest usable cell (inner cells before
   totals);
2. while some primary cell fails the audit: the shown counts that hold its
   failing bound, read from the duals of the LP
   (:func:`analysis.privacy.audit.binding_cells`; else every usable count
   on a relation of the cell), are tried one by one, and the one that makes
   it pass (else widens its interval most) is hidden, inner cells and then
   small counts first (the least information lost);
3. largest first, each complement is shown again if the audit still passes
   without it.

The result is *minimal* in the sense that no single complement can be
released (tests/test_privacy_release.py checks this), not an optimum of the
cell-suppression problem (NP-hard; tau-ARGUS's optimal method solves it by
mixed-integer programming, with the same audit).

Rounding
--------
With ``rounding=b`` every shown count is rounded to the nearest multiple of
``b`` (halves up) after suppression, percentages are computed from the
rounded counts (:meth:`Release.percent`), and the audit knows each shown
count only to within its rounding interval. With ``threshold=None`` the
counts are only rounded (OpenSAFELY-style release).

Estimates and designs
---------------------
An estimate (a percentage, prevalence, odds ratio, interval, p-value) is
registered with the *unweighted* count cells it rests on
(:meth:`Release.add_estimate`) and withheld when any of them is hidden: a
proportion with its denominator, or an odds ratio with its Wald interval
(Woolf), gives its cells back. For weighted (survey-design) estimates the
rule applies to the unweighted counts of respondents behind each estimate,
never to weighted totals: weights do not hide who is in a small cell.

Tested by tests/test_privacy_release.py: hand-made tables whose single
suppressed cell a second table or a margin would give back, and
hypothesis-generated pairs of tables sharing cells, audited independently
from the rendered labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis import style
from analysis.errors import DisclosureError
from analysis.privacy._decision import LOG_COLUMNS, audit_rows, implied_relations, linked_groups
from analysis.privacy._protect import (
    PRIMARY,
    SECONDARY,
    SHOWN,
    UNRELEASED,
    Protector,
    round_count,
    rounding_interval,
)
from analysis.privacy.cells import KNOWN_LEVEL, MISSING_LEVEL, CellKey, CellRecord, cell_key
from analysis.privacy.tables import DEFAULT_THRESHOLD, suppressed_label

COMPLEMENT_LABEL = "suppressed"


class Release:
    """Every count a report releases, suppressed and rendered consistently.

    Parameters
    ----------
    threshold : int or None
        Counts from 1 to ``threshold - 1`` are suppressed (see the module
        docstring for the rule and the audit). ``None``: no suppression
        (then ``rounding`` is required).
    rounding : int or None
        Round every shown count to the nearest multiple of this base.

    Examples
    --------
    One table shows the outcome among women without a total, another the
    number of women and men. Suppressed table by table, the 3 comes back as
    33 - 30; decided together, a complement hides it.

    >>> r = Release(threshold=5)
    >>> _ = r.add_counts("analysed", "lbp", {"No": 3, "Yes": 30}, given={"sex": "F"},
    ...                  total=False, where="women")
    >>> _ = r.add_counts("analysed", "sex", {"F": 33, "M": 67}, where="sex")
    >>> r.declare_levels("lbp", ["No", "Yes"])  # so women = women with + without
    >>> [r.label(cell_key("analysed", sex="F", lbp=v)) for v in ("No", "Yes")]
    ['<5', 'suppressed']
    >>> r.label(cell_key("analysed", sex="F"))
    '33'
    >>> bool(r.log()["protected"].all())
    True
    """

    def __init__(self, threshold: int | None = DEFAULT_THRESHOLD, *,
                 rounding: int | None = None):
        if threshold is not None and (int(threshold) != threshold or threshold < 1):
            raise DisclosureError(
                f"Small-cell threshold must be a positive whole number, not {threshold!r}.")
        if rounding is not None and (int(rounding) != rounding or rounding < 1):
            raise DisclosureError(
                f"Rounding base must be a positive whole number, not {rounding!r}.")
        if threshold is None and rounding is None:
            raise DisclosureError("A release needs a threshold, a rounding base or both.")
        self.threshold = None if threshold is None else int(threshold)
        self.rounding = None if rounding is None else int(rounding)
        self._cells: dict[CellKey, CellRecord] = {}
        self._relations: dict[tuple[CellKey, frozenset], tuple[CellKey, tuple[CellKey, ...]]] = {}
        self._estimates: dict[str, tuple[CellKey, ...]] = {}
        self._levels: dict[str, tuple[tuple[str, ...], str | None]] = {}
        self._frozen = False
        self._status: dict[CellKey, str] | None = None
        self._log: pd.DataFrame | None = None

    # ---- registering ------------------------------------------------------
    def _check_open(self, new: bool = True, what: object = "") -> None:
        """After the decision only what is already registered may be registered again.

        A table registered twice (its notebook registers it, and so did the
        run) is a no-op; anything new could change a decision already shown.
        """
        if self._frozen and new:
            raise DisclosureError(
                f"Cannot register {what or 'more'}: the release has already decided (it "
                "rendered a cell, or was loaded from the report run); register every table, "
                "figure and number of the report first, then render, so each cell reads the "
                "same everywhere.")

    def add_cell(self, key: CellKey, value: float | None, *, where: str = "",
                 released: bool = True, derived: bool = False) -> CellKey:
        """Register a count cell (``released=False``: known to the analysis, never shown).

        ``value`` is the *unweighted* count of respondents. A key registered
        again must have the same value; ``where`` (a table name) is kept for
        the log. ``derived``: no table shows it but a reader may derive it (a
        difference of two shown counts): protected as a released cell, while
        the audit credits the reader with nothing of it but ``>= 0``.
        """
        if value is not None and not pd.isna(value):
            value = float(value)
            if value < 0 or value != np.floor(value):
                raise DisclosureError(f"Cell {key}: a count must be a whole number >= 0, "
                                      f"not {value!r} (weighted totals are not counts).")
        else:
            value = None
            if released:
                raise DisclosureError(f"Cell {key}: a released cell needs its count.")
        cell = self._cells.get(key)
        self._check_open(cell is None or (released and not cell.released)
                         or (value is not None and cell.value is None), f"cell {key}")
        if cell is None:
            cell = self._cells[key] = CellRecord(value)
        elif value is not None:
            if cell.value is not None and cell.value != value:
                raise DisclosureError(
                    f"Cell {key} registered with two counts, {cell.value:g} and {value:g} "
                    f"(in {', '.join(cell.where) or 'an earlier table'} and {where or 'here'}): "
                    "two tables count different respondents under one key; give them "
                    "different populations.")
            cell.value = value
        cell.released |= released
        cell.derived |= derived and released
        if where and where not in cell.where:
            cell.where.append(where)
        if not self._frozen:
            self._status = None
        return key

    def add_relation(self, total: CellKey, parts: Iterable[CellKey]) -> None:
        """Publish ``total = sum(parts)``; cells not registered yet are added as unreleased."""
        parts = tuple(parts)
        self._check_open((total, frozenset(parts)) not in self._relations,
                         f"the relation {total} = {' + '.join(map(str, parts))}")
        self._relate(total, parts)

    def _relate(self, total: CellKey, parts: tuple[CellKey, ...]) -> None:
        for k in (total, *parts):
            if k not in self._cells:
                self._cells[k] = CellRecord(None)
        values = [self._cells[k].value for k in (total, *parts)]
        if all(v is not None for v in values) and values[0] != sum(values[1:]):
            raise DisclosureError(
                f"Total {total} is {values[0]:g} but its parts add up to {sum(values[1:]):g}: "
                "the parts must cover every respondent of the total (add the missing level "
                "as an unreleased cell) or the total belongs to another population.")
        if (total, frozenset(parts)) not in self._relations:
            self._relations[total, frozenset(parts)] = (total, parts)
            self._status = None

    def add_counts(self, population: str, variable: str, counts: Mapping[Any, float] | pd.Series,
                   *, given: Mapping[str, Any] | None = None, total: bool = True,
                   total_released: bool = True, where: str = "") -> dict[Any, CellKey]:
        """A one-way table: the count of each level of ``variable`` (within ``given``).

        With ``total`` the cell of ``given`` alone is the levels' total (its
        count is the sum; ``total_released=False`` when it is not shown) and
        the relation is registered. Returns the key of each level.
        """
        base = cell_key(population, given or {})
        items = list(counts.items())
        keys = {level: self.add_cell(base.plus(variable, level), v, where=where)
                for level, v in items}
        if total:
            self.add_cell(base, float(sum(v for _, v in items)), where=where,
                          released=total_released)
            self.add_relation(base, keys.values())
        return keys

    def add_crosstab(self, population: str, rows: str, columns: str, counts: pd.DataFrame, *,
                     given: Mapping[str, Any] | None = None, margins: bool = True,
                     where: str = "") -> dict[tuple[Any, Any], CellKey]:
        """A two-way table of ``rows`` by ``columns`` (index and columns of ``counts``).

        With ``margins`` the row totals, column totals and the grand total are
        registered as released cells with their relations. Returns the key
        of each inner cell, by ``(row level, column level)``.
        """
        base = cell_key(population, given or {})
        keys = {}
        for r in counts.index:
            for c in counts.columns:
                keys[r, c] = self.add_cell(base.plus(rows, r).plus(columns, c),
                                           counts.loc[r, c], where=where)
        if margins:
            for r in counts.index:
                k = self.add_cell(base.plus(rows, r), counts.loc[r].sum(), where=where)
                self.add_relation(k, [keys[r, c] for c in counts.columns])
            for c in counts.columns:
                k = self.add_cell(base.plus(columns, c), counts[c].sum(), where=where)
                self.add_relation(k, [keys[r, c] for r in counts.index])
            self.add_cell(base, counts.to_numpy().sum(), where=where)
            self.add_relation(base, [base.plus(rows, r) for r in counts.index])
            self.add_relation(base, [base.plus(columns, c) for c in counts.columns])
        return keys

    def declare_levels(self, variable: str, levels: Iterable[Any], *,
                       missing: str | None = None) -> None:
        """State every level ``variable`` takes; ``missing``: the level of missing values.

        Then every registered cell is tied to its margin over ``variable``:
        for a cell of ``variable = level`` the release adds the relation
        "the cell without ``variable`` = the sum over all levels (and the
        missing one)", with the cells no table shows as unreleased; a cell
        of the pseudo-level ``KNOWN_LEVEL`` (``"(known)"``, a denominator of
        percentages among known values) is the sum over the levels without
        the missing one. A reader knows these sums without being told (women
        = women with the outcome + women without), so the audit must too.
        Declare a variable once, before registering its cells.
        """
        levels = tuple(dict.fromkeys(str(lv) for lv in levels))
        declared = (levels, None if missing is None else str(missing))
        self._check_open(str(variable) not in self._levels, f"the levels of {variable!r}")
        before = self._levels.get(str(variable), declared)
        if (set(before[0]), before[1]) != (set(levels), declared[1]):
            raise DisclosureError(
                f"Levels of {variable!r} declared twice, differently: {self._levels[variable]} "
                f"and {declared}; declare each variable once with all its levels.")
        if str(variable) not in self._levels:
            self._levels[str(variable)] = before  # the first order stays (deterministic)
            self._status = None

    def declared(self, variable: str) -> bool:
        """Whether the levels of ``variable`` are declared (:meth:`declare_levels`)."""
        return str(variable) in self._levels

    def known(self, key: CellKey, variable: str) -> CellKey:
        """The cell of ``key`` restricted to respondents whose ``variable`` is known."""
        return key.plus(variable, KNOWN_LEVEL)

    def _implied_relations(self) -> None:
        implied_relations(self)

    def add_estimate(self, name: str, cells: Iterable[CellKey]) -> str:
        """Register an estimate resting on ``cells`` (unweighted counts; see the module doc).

        The estimate is withheld (:meth:`estimate_withheld`) when any of its
        cells is suppressed. Cells not registered yet are added as unreleased.
        """
        cells = tuple(cells)
        self._check_open(not set(cells) <= set(self._estimates.get(name, ())),
                         f"the estimate {name!r}")
        for k in cells:
            if k not in self._cells:
                self._cells[k] = CellRecord(None)
        self._estimates[name] = tuple(dict.fromkeys(self._estimates.get(name, ()) + cells))
        return name

    # ---- the decision -----------------------------------------------------
    def status(self, key: CellKey) -> str:
        """``"shown"``, ``"primary"``, ``"secondary"`` or ``"unreleased"``."""
        if key not in self._cells:
            raise DisclosureError(f"Cell {key} was never registered with the release.")
        return self._decide()[key]

    def hidden(self, key: CellKey) -> bool:
        return self.status(key) in (PRIMARY, SECONDARY)

    def value(self, key: CellKey) -> int | None:
        """The count as released (rounded when rounding), ``None`` when hidden."""
        if self.status(key) != SHOWN:
            return None
        v = int(self._cells[key].value)
        return round_count(v, self.rounding) if self.rounding else v

    def label(self, key: CellKey) -> str:
        """How the cell reads everywhere: the (rounded) count, ``"<5"`` or ``"suppressed"``."""
        status = self.status(key)
        if status == PRIMARY:
            return suppressed_label(self.threshold)
        if status == SECONDARY:
            return COMPLEMENT_LABEL
        if status == UNRELEASED:
            raise DisclosureError(f"Cell {key} is registered as unreleased: it has no label.")
        return style.count(self.value(key))

    def percent(self, numerator: CellKey, denominator: CellKey, decimals: int | None = None) -> str:
        """``100 * numerator / denominator`` from the released (rounded) counts, as text.

        ``"suppressed"`` when either count is hidden; ``""`` for a zero denominator.
        """
        if self.hidden(numerator) or self.hidden(denominator):
            return COMPLEMENT_LABEL
        num, den = self.value(numerator), self.value(denominator)
        if num is None or den is None:
            raise DisclosureError("A released percentage needs released counts: register "
                                  f"{numerator} and {denominator} as released cells.")
        return "" if den == 0 else style.percent(100 * num / den, decimals)

    def estimate_withheld(self, name: str) -> bool:
        """Whether the estimate ``name`` must not be shown.

        It is withheld when one of its cells is hidden, or counts 1 to
        ``threshold - 1`` (with ``threshold=None``: 1 to ``rounding - 1``)
        even unreleased (a model's non-events at a level).
        """
        if name not in self._estimates:
            raise DisclosureError(f"Estimate {name!r} was never registered with the release.")
        status = self._decide()
        # with rounding only, a count below the rounding base is what an estimate must not
        # give back (an odds ratio's interval pins a cell of 2 however its margins are rounded)
        limit = self.threshold or self.rounding
        return any(status[k] in (PRIMARY, SECONDARY) or (
            self._cells[k].value is not None and 0 < self._cells[k].value < limit)
            for k in self._estimates[name])

    def log(self) -> pd.DataFrame:
        """The suppression log: one row per hidden cell, for the analyst only.

        Columns: ``cell`` (text key), ``population``, ``levels``, ``where``
        (the tables showing it), ``value`` (the true count), ``status``
        (primary / secondary), ``rule``, ``low`` / ``high`` (the audit
        interval a reader can derive), ``required_low`` / ``required_high``
        (the protection interval; empty for complements) and ``protected``.
        """
        self._decide()
        return self._log.copy()

    def sentence(self) -> str:
        """The rule in one sentence, for the public report."""
        parts = []
        if self.threshold is not None:
            t = self.threshold
            parts.append(
                f"Counts of 1 to {t - 1} respondents are shown as {suppressed_label(t)}, and "
                f"other counts as {COMPLEMENT_LABEL} where tables, totals or estimates elsewhere "
                f"in this report would give a small one back; estimates resting on a hidden "
                "count are not shown")
        if self.rounding is not None:
            parts.append(f"counts are rounded to the nearest {self.rounding} and percentages "
                         "computed from the rounded counts")
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + "."

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is a registered cell."""
        return key in self._cells

    def estimates(self) -> list[str]:
        """The names of the registered estimates."""
        return list(self._estimates)

    def cells(self, population: str | None = None) -> list[CellKey]:
        """The registered cells (of ``population``), in registration order."""
        return [k for k in self._cells if population is None or k.population == population]

    def count(self, key: CellKey) -> float | None:
        """The true count of a registered cell (for the analyst; ``None`` if unknown)."""
        return self._cells[key].value

    def derived(self, key: CellKey) -> bool:
        """Whether the cell is shown nowhere but derivable (:meth:`add_cell`)."""
        return self._cells[key].derived

    def relations(self) -> list[tuple[CellKey, tuple[CellKey, ...]]]:
        """Every published relation ``(total, parts)``, declared levels' margins included."""
        return list(self._relations.values())

    # ---- sharing one release between processes ----------------------------------
    def to_json(self) -> str:
        """Everything registered (true counts included: analyst output only), as JSON.

        :meth:`from_json` rebuilds the release and decides again, with the
        same result: the decision depends only on what was registered, in
        order. So one process can register every table of a report and each
        notebook can render from the saved registration.
        """
        from analysis.privacy._release_json import dump

        return dump(self)

    @classmethod
    def from_json(cls, text: str) -> Release:
        """The release :meth:`to_json` saved, ready to render."""
        from analysis.privacy._release_json import load

        return load(cls, text)

    def _small(self, value: float | None) -> bool:
        return (self.threshold is not None and value is not None
                and 0 < value < self.threshold)

    def _decide(self) -> dict[CellKey, str]:
        if self._status is not None:
            return self._status
        self._implied_relations()
        status = {k: (UNRELEASED if not c.released else PRIMARY if self._small(c.value)
                      else SHOWN) for k, c in self._cells.items()}
        rows = []
        for group in self._groups():
            targets: dict[CellKey, tuple[float, float]] = {}
            if self.threshold is not None and any(status[k] == PRIMARY for k in group):
                protector = Protector(self, group, status)
                protector.protect()
                targets = protector.target
            rows += self._audit_rows(group, status, targets)
        self._status = status
        self._log = pd.DataFrame(rows, columns=LOG_COLUMNS)
        self._frozen = True
        return status

    def _groups(self) -> list[list[CellKey]]:
        return linked_groups(self)

    def _audit_rows(self, group: list[CellKey], status: dict[CellKey, str],
                    targets: Mapping[CellKey, tuple[float, float]]) -> list[dict]:
        return audit_rows(self, group, status, targets)


__all__ = ["COMPLEMENT_LABEL", "KNOWN_LEVEL", "LOG_COLUMNS", "MISSING_LEVEL", "PRIMARY",
           "SECONDARY", "SHOWN", "UNRELEASED", "CellKey", "Release", "cell_key", "round_count",
           "rounding_interval"]
