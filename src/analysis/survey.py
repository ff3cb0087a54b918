"""The :class:`Survey`: validated data, the codebook it was checked against, and its ledger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analysis.codebook import Codebook, Variable
from analysis.ledger import Ledger


@dataclass(frozen=True)
class Survey:
    """Survey data checked against a codebook, with an account of every row.

    ``data`` is indexed by the line number of each respondent in the source
    file (index name ``line``), so every later step can name the line.
    Coded variables (binary, categorical, ordinal) are pandas categoricals
    whose categories are the codebook's labels, in codebook order; ordinal
    ones are ordered. Numeric and count variables are float64 with NA for
    missing. Identifier columns are absent unless loaded with
    ``keep_identifiers=True``.
    """

    data: pd.DataFrame
    codebook: Codebook
    accounts: Ledger = field(repr=False)
    source: str = ""

    # ---- the ledger as the user sees it -------------------------------
    @property
    def ledger(self) -> pd.DataFrame:
        """One row per excluded row or changed value.

        Columns: ``step, line, column, rule, value, action``.
        """
        return self.accounts.to_frame()

    @property
    def flow(self) -> pd.DataFrame:
        """Rows read, rows excluded by step and reason, rows analysed; always adds up.

        Columns: ``stage, step, reason, n`` and ``label``, the reason as a reader
        should see it ("Age: out of range" for "age: out of range").
        """
        flow = self.accounts.flow(len(self.data))
        flow["label"] = [self._reason_label(r) for r in flow["reason"]]
        return flow

    def _reason_label(self, reason: str) -> str:
        column, sep, rule = reason.partition(": ")
        if sep and column in self.codebook:
            return f"{self.codebook.label(column)}: {rule}"
        return reason

    @property
    def n(self) -> int:
        return len(self.data)

    def record(self, **entry) -> None:
        """Append to the ledger (see :meth:`analysis.ledger.Ledger.record`)."""
        self.accounts.record(**entry)

    # ---- derived surveys ---------------------------------------------
    def exclude(
        self, lines: Iterable[int], *, step: str, rule: str, column: str | None = None, values=None
    ) -> Survey:
        """A new survey without ``lines``, each recorded in the ledger as excluded."""
        lines = np.asarray(list(lines) if not isinstance(lines, np.ndarray) else lines)
        ledger = self.accounts.copy()
        ledger.record(
            step=step, rule=rule, action="excluded", lines=lines, column=column, values=values
        )
        return replace(self, data=self.data.drop(index=lines), accounts=ledger)

    def with_columns(self, columns: pd.DataFrame, variables: Iterable[Variable]) -> Survey:
        """A new survey with ``columns`` (same index) added and described by ``variables``."""
        data = self.data.drop(columns=[c for c in columns.columns if c in self.data.columns])
        data = pd.concat([data, columns.reindex(data.index)], axis=1)
        return replace(
            self,
            data=data,
            codebook=self.codebook.with_variables(variables),
            accounts=self.accounts.copy(),
        )

    # ---- convenience for analyses --------------------------------------
    def label(self, column: str) -> str:
        return self.codebook.label(column)

    def variables(self, role: str) -> list[str]:
        """Columns present in the data with the given codebook role."""
        return [c for c in self.codebook.names(role=role) if c in self.data.columns]

    def asked(self, column: str) -> np.ndarray:
        """True for the respondents who were asked ``column`` (the codebook's ``asked_if``).

        A question asked only of some (the 7-day question after a 12-month
        "Yes", an examination of a sub-sample) is blank by design for the
        others: they were not asked, their answer is not missing. Where a
        condition's own answer is missing, the respondent counts as asked.
        """
        asked = np.ones(len(self.data), dtype=bool)
        conditions = self.codebook[column].asked_if or {}
        for name, codes in conditions.items():
            var = self.codebook[name]
            wanted = codes if isinstance(codes, list) else [codes]
            # Coded conditions name level codes; the data hold their labels.
            values_asked = [var.level_labels[c] for c in wanted] if var.level_labels else wanted
            values = self.data[name]
            asked &= (values.isin(values_asked) | values.isna()).to_numpy(dtype=bool)
        return asked

    @property
    def weight(self) -> str | None:
        return self.codebook.role("weight")

    def __repr__(self) -> str:
        return (
            f"Survey({self.source or 'data'}: {len(self.data)} rows analysed of "
            f"{self.accounts.n_read} read, {self.data.shape[1]} columns)"
        )

    def _repr_html_(self) -> str:
        """Jupyter: the row flow and each column's type, label and missing count."""
        from analysis.display import html_block

        columns = pd.DataFrame({
            "column": list(self.data.columns),
            "label": [self.label(c) for c in self.data.columns],
            "type": [self.codebook[c].type if c in self.codebook else "" for c in self.data],
            "role": [(self.codebook[c].role or "") if c in self.codebook else ""
                     for c in self.data],
            "missing": [int(self.data[c].isna().sum()) for c in self.data.columns],
        })
        flow = self.flow[["label", "n"]].rename(columns={"label": "rows"})
        facts = [f"{self.n:,} rows analysed of {self.accounts.n_read:,} read",
                 f"{self.data.shape[1]} columns", f"{len(self.accounts.to_frame()):,} ledger "
                 "entries (.ledger)"]
        return html_block(f"Survey: {self.source or 'data'}", facts,
                          [("Flow of rows", flow), ("Columns", columns)])
