"""Row accounting: which rows left the analysis, at which step, and why.

The ledger is append-only. Each entry says, for a set of file lines, which
rule applied to which column, the offending value and what was done
(``excluded``, ``set missing``, ``dropped column``, ``prorated``, ...).
Entries are kept as column blocks and only turned into a DataFrame on
request, so validating a million rows does not build a million Python
objects.

``flow()`` counts every excluded line once, under the first reason recorded
for it, so that *rows read = rows excluded + rows analysed* always holds.
This is the STROBE participant-flow (items 13a-c).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

EXCLUDED = "excluded"
_NO_LINE = -1
COLUMNS = ["step", "line", "column", "rule", "value", "action"]


@dataclass
class _Block:
    step: str
    column: str | None
    rule: str
    action: str
    lines: np.ndarray
    values: np.ndarray | None


@dataclass
class Ledger:
    """Append-only record of excluded rows and changed values."""

    n_read: int
    source: str = ""
    _blocks: list[_Block] = field(default_factory=list)
    #: What the reader found about the whole file, not about rows ("encoding:
    #: cp1252", "sheet: Survey (first sheet with data; ...)").
    notes: list[str] = field(default_factory=list)

    def record(
        self,
        *,
        step: str,
        rule: str,
        action: str,
        lines,
        column: str | None = None,
        values=None,
    ) -> None:
        """Add one entry per line in ``lines`` (file line numbers).

        ``lines=None`` records one entry about a whole column (a dropped
        column); its line is shown as blank.
        """
        lines = np.array([_NO_LINE]) if lines is None else np.asarray(lines, dtype=np.int64)
        if lines.size == 0:
            return
        if values is not None:
            values = np.asarray(values, dtype=object)
            if values.shape != lines.shape:
                values = np.broadcast_to(values, lines.shape)
        self._blocks.append(_Block(step, column, rule, action, lines, values))

    def extend(self, other: Ledger) -> None:
        """Append all entries of ``other`` (used to merge per-column ledgers)."""
        self._blocks.extend(other._blocks)

    def blocks(self) -> list[tuple[str, str | None, str, str, np.ndarray, np.ndarray | None]]:
        """Each recorded entry as ``(step, column, rule, action, lines, values)``, in order.

        What :meth:`record` was given (``lines=None`` as ``[-1]``), so a ledger
        can be stored as data and rebuilt with :meth:`record` (the report cache).
        """
        return [(b.step, b.column, b.rule, b.action, b.lines, b.values) for b in self._blocks]

    def copy(self) -> Ledger:
        return Ledger(self.n_read, self.source, list(self._blocks), list(self.notes))

    # ---- summaries that do not materialise the entries ----------------
    def counts(self) -> pd.DataFrame:
        """Entries per step, column, rule and action."""
        rows = [(b.step, b.column, b.rule, b.action, b.lines.size) for b in self._blocks]
        frame = pd.DataFrame(rows, columns=["step", "column", "rule", "action", "n"])
        return (
            frame.groupby(["step", "column", "rule", "action"], dropna=False, sort=False)["n"]
            .sum()
            .reset_index()
        )

    def excluded_lines(self) -> np.ndarray:
        blocks = [b.lines for b in self._blocks if b.action == EXCLUDED]
        return np.unique(np.concatenate(blocks)) if blocks else np.array([], dtype=np.int64)

    def exclusions(self) -> pd.DataFrame:
        """Each excluded line once, with the step and reason that first removed it."""
        blocks = [b for b in self._blocks if b.action == EXCLUDED]
        if not blocks:
            return pd.DataFrame({"line": [], "step": [], "reason": []}).astype({"line": "int64"})
        frame = pd.DataFrame(
            {
                "line": np.concatenate([b.lines for b in blocks]),
                "step": np.repeat([b.step for b in blocks], [b.lines.size for b in blocks]),
                "reason": np.repeat([_reason(b) for b in blocks], [b.lines.size for b in blocks]),
            }
        )
        return frame.drop_duplicates("line", keep="first").reset_index(drop=True)

    def flow(self, n_analysed: int) -> pd.DataFrame:
        """Participant flow: rows read, excluded by step and reason, analysed."""
        excl = self.exclusions()
        by_reason = (
            excl.groupby(["step", "reason"], sort=False).size().rename("n").reset_index()
            if len(excl)
            else pd.DataFrame(columns=["step", "reason", "n"])
        )
        rows = [{"stage": "read", "step": "", "reason": "rows read", "n": self.n_read}]
        rows += [
            {"stage": "excluded", "step": r.step, "reason": r.reason, "n": int(r.n)}
            for r in by_reason.itertuples()
        ]
        rows.append({"stage": "analysed", "step": "", "reason": "rows analysed", "n": n_analysed})
        flow = pd.DataFrame(rows, columns=["stage", "step", "reason", "n"])
        flow["n"] = flow["n"].astype("int64")
        return flow

    def __repr__(self) -> str:
        return (f"Ledger({self.source or 'data'}: {self.n_read:,} rows read, "
                f"{sum(b.lines.size for b in self._blocks):,} entries)")

    def _repr_html_(self) -> str:
        """Jupyter: the counts by step, rule and action, then the first entries."""
        from analysis.display import html_block

        facts = [f"{self.n_read:,} rows read", *self.notes]
        return html_block(f"Ledger: {self.source or 'data'}", facts,
                          [("Counts", self.counts()), ("Entries", self.to_frame())])

    def step(self, step: str) -> pd.DataFrame:
        """The entries of one step (e.g. ``read``), as :meth:`to_frame` gives them."""
        return Ledger(self.n_read, self.source,
                      [b for b in self._blocks if b.step == step]).to_frame()

    def to_frame(self) -> pd.DataFrame:
        """All entries, one row per line and rule, sorted by line then order of recording."""
        if not self._blocks:
            return pd.DataFrame(
                {c: pd.Series(dtype="int64" if c == "line" else object) for c in COLUMNS}
            )
        sizes = [b.lines.size for b in self._blocks]
        values = np.concatenate(
            [
                b.values if b.values is not None else np.full(b.lines.size, None, dtype=object)
                for b in self._blocks
            ]
        )
        frame = pd.DataFrame(
            {
                "step": np.repeat([b.step for b in self._blocks], sizes),
                "line": np.concatenate([b.lines for b in self._blocks]),
                "column": np.repeat([b.column or "" for b in self._blocks], sizes),
                "rule": np.repeat([b.rule for b in self._blocks], sizes),
                "value": pd.Series(values, dtype=object).map(_as_text).to_numpy(),
                "action": np.repeat([b.action for b in self._blocks], sizes),
                "_order": np.arange(sum(sizes)),
            }
        )
        frame = frame.sort_values(["line", "_order"], kind="stable").drop(columns="_order")
        frame["line"] = frame["line"].astype("Int64").mask(frame["line"] == _NO_LINE)
        return frame.reset_index(drop=True)


def _reason(block: _Block) -> str:
    return f"{block.column}: {block.rule}" if block.column else block.rule


def _as_text(value) -> str:
    # A missing value shows as blank whatever its kind (None, NaN, pd.NA, NaT).
    if value is None or value is pd.NA or value is pd.NaT or (
            isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
