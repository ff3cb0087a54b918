"""Surveys larger than memory: validation, flow and aggregates computed in DuckDB.

:func:`load_parquet_survey` points DuckDB at a partitioned Parquet dataset (a
folder, hive-partitioned or not, a glob, or a list of files), checks every row
against the codebook with the rules of :mod:`analysis.validate` (SQL from
:mod:`analysis.scale.sql`) in one scan, and returns a :class:`LazySurvey`.
Rows are never materialised in pandas: only counts and aggregates (the flow,
rule counts, prevalence tables, covariate patterns) come back to Python.

Line numbers: files are read in sorted path order, and a row's line is its
position in the concatenation of the files (1-based), as if they were one
file, which is what ``load_survey`` on the same folder numbers.
"""

from __future__ import annotations

import glob as globbing
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from analysis.codebook import Codebook, load_codebook
from analysis.errors import ReadError, ValidationError
from analysis.scale.accounts import first_exclusions, validation_error
from analysis.scale.memo import remembered
from analysis.scale.scan import build_views, validate_rows
from analysis.scale.sql import CODED, ColumnSQL, column_sql, quote
from analysis.scale.tables import patterns_query, patterns_table, prevalence_table
from analysis.survey import Survey
from analysis.validate import ADVICE

STEP = "validate"


def load_parquet_survey(
    path_or_glob: str | Path | Sequence[str | Path],
    codebook: Codebook | str | Path | dict,
    *,
    on_invalid: Literal["raise", "exclude"] = "exclude",
    keep_identifiers: bool = False,
    check_duplicate_ids: bool = True,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: str | Path | None = None,
    state: tuple[dict, dict] | None = None,
) -> LazySurvey:
    """Validate a Parquet dataset in DuckDB and return a :class:`LazySurvey`.

    Parameters
    ----------
    path_or_glob : a folder (searched recursively for ``*.parquet``; hive
        partitions such as ``year=2024/`` become columns), a glob
        (``"data/part-*.parquet"``), one file, or a list of files.
    codebook : a :class:`Codebook` or anything :func:`load_codebook` takes.
    on_invalid : ``"exclude"`` (default) sets rows that break a rule aside
        and counts them; ``"raise"`` raises one :class:`ValidationError`
        naming each broken rule, its row count and first lines.
    check_duplicate_ids : look for repeated identifiers (``duplicate id``,
        first occurrence kept). It is exact but costs a hash aggregate over
        every identifier (DuckDB spills it to disk beyond ``memory_limit``);
        pass ``False`` to skip the rule on very large data.
    memory_limit, threads, temp_directory : DuckDB settings; None takes
        ``BACKPAIN_DUCKDB_MEMORY_LIMIT`` (default ``"2GB"``) and
        ``BACKPAIN_DUCKDB_THREADS`` (default: DuckDB's, one per core) from the
        environment, which is how ``backpain report`` and its notebook kernels
        are given them.
    state : what :func:`analysis.scale.shared.lazy_state` saved of this dataset
        validated with this codebook (counts, excluded lines, repeated ids,
        remembered aggregates): the survey is reopened without scanning it.

    Examples
    --------
    >>> lazy = load_parquet_survey("cohort/", "codebook.yml")  # doctest: +SKIP
    >>> lazy.flow  # doctest: +SKIP
    """
    if on_invalid not in ("raise", "exclude"):
        raise ValidationError(f"on_invalid must be 'raise' or 'exclude', not {on_invalid!r}.")
    files = _files(path_or_glob)
    memory_limit = memory_limit or os.environ.get("BACKPAIN_DUCKDB_MEMORY_LIMIT", "2GB")
    threads = threads or int(os.environ.get("BACKPAIN_DUCKDB_THREADS", "0")) or None
    return LazySurvey(files, load_codebook(codebook), str(path_or_glob), on_invalid,
                      keep_identifiers, check_duplicate_ids, memory_limit, threads,
                      temp_directory, state)


def _files(path_or_glob) -> list[str]:
    if isinstance(path_or_glob, (list, tuple)):
        files = [str(Path(p)) for p in path_or_glob]
    elif Path(path_or_glob).is_dir():
        files = [str(p) for p in Path(path_or_glob).rglob("*.parquet")]
    elif Path(path_or_glob).is_file():
        files = [str(path_or_glob)]
    else:
        files = globbing.glob(str(path_or_glob), recursive=True)
    if not files:
        raise ReadError(f"{path_or_glob}: no Parquet files found (give a folder, a glob such as "
                        "'data/*.parquet', or a list of files).")
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise ReadError(f"{missing[0]}: no such Parquet file ({len(missing)} missing).")
    return sorted(files)


class LazySurvey:
    """A validated survey that stays on disk; every result is computed by DuckDB.

    Attributes and methods mirror :class:`~analysis.survey.Survey` where the
    answer is an aggregate: ``.flow`` (rows read, excluded by first reason,
    analysed), ``.ledger_counts`` (rule counts per column, as
    ``Ledger.counts()``), ``.prevalence(by=...)``, ``.covariate_patterns(...)``
    and ``.logistic(...)`` (exact, fitted on covariate patterns).

    The row-level ledger of a survey of 10^8 rows is not materialised:
    ``.ledger(limit=...)`` lists the exclusions of the first ``limit``
    excluded lines only, and ``.to_survey(columns, limit)`` loads a manageable
    subset as an ordinary :class:`Survey` (with its own full ledger).
    """

    def __init__(self, files: list[str], codebook: Codebook, source: str, on_invalid: str,
                 keep_identifiers: bool, check_duplicate_ids: bool, memory_limit: str,
                 threads: int | None, temp_directory: str | Path | None,
                 state: tuple[dict, dict] | None = None):
        import duckdb

        self.files, self.codebook, self.source = files, codebook, source
        self.on_invalid, self.keep_identifiers = on_invalid, keep_identifiers
        self.con = duckdb.connect()
        self._tmp = None if temp_directory else tempfile.TemporaryDirectory(prefix="backpain-")
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute(f"SET temp_directory = '{temp_directory or self._tmp.name}'")
        self.con.execute("SET preserve_insertion_order = false")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        rows = [pq.ParquetFile(f).metadata.num_rows for f in files]
        self.n_read = int(sum(rows))
        offsets = pd.DataFrame({"filename": files, "__offset": np.cumsum([0, *rows[:-1]])})
        self.con.register("__offsets_frame", offsets)
        self.con.execute("CREATE TEMP TABLE __offsets AS SELECT * FROM __offsets_frame")
        self.con.unregister("__offsets_frame")
        hive = any("=" in part for f in files for part in Path(f).parts[:-1])
        # the files as one table, without its closing parenthesis (callers add options)
        self.parquet_sql = (f"read_parquet({_list(files)}, "
                            f"hive_partitioning = {str(hive).lower()}, union_by_name = true")
        types = {row[0]: row[1] for row in
                 self.con.execute(f"DESCRIBE SELECT * FROM {self.parquet_sql})").fetchall()}
        self.file_columns = list(types)
        self._check_columns(types)
        self.columns = column_sql(codebook, types)
        ids = [c for c in self.columns if c.variable.type == "id"] if check_duplicate_ids else []
        # aggregates already computed (key -> frame): a report computes each once per run
        self.memo: dict[str, pd.DataFrame] = {}
        if state is None:
            build_views(self, ids)
            validate_rows(self)
        else:  # validated once by the report run: its counts, without a scan
            from analysis.scale.shared import restore

            restore(self, ids, *state)

    # ---- set-up ----------------------------------------------------------
    def _check_columns(self, types: dict[str, str]) -> None:
        derived = [v.name for v in self.codebook if v.derive is not None and v.name not in types]
        if derived:
            raise ValidationError(
                f"{self.source}: {len(derived)} variable(s) the codebook derives (rule: derived "
                f"variable): {', '.join(map(repr, derived[:10]))}. A Parquet dataset is read "
                "out of core, where derived variables are not computed yet. To fix: compute "
                "them into the files, or load the survey into memory (a single file).")
        missing = [v.name for v in self.codebook if v.required and v.name not in types]
        if missing:
            raise ValidationError(
                f"{self.source}: {len(missing)} column(s) the codebook requires not in the "
                f"files (rule: missing column): {', '.join(map(repr, missing[:10]))}. "
                f"To fix: {ADVICE['missing column']}.")
        self.unknown_columns = [c for c in types if c not in self.codebook]
        if self.unknown_columns and self.on_invalid == "raise":
            raise ValidationError(
                f"{self.source}: {len(self.unknown_columns)} column(s) not in the codebook "
                f"(rule: unknown column): {', '.join(map(repr, self.unknown_columns[:10]))}. "
                f"To fix: {ADVICE['unknown column']}.")

    def _error(self) -> ValidationError:
        return validation_error(self)

    # ---- accounts ----------------------------------------------------------
    @property
    def flow(self) -> pd.DataFrame:
        """Rows read, excluded (each once, under its first broken rule in codebook column
        order), analysed: the same table as :attr:`Survey.flow` (``stage, step, reason, n,
        label``)."""
        rows = [{"stage": "read", "step": "", "reason": "rows read", "n": self.n_read}]
        for i, (col, rule, _) in enumerate(self.rules):
            if self.first_reason.get(i + 1):
                rows.append({"stage": "excluded", "step": STEP, "reason": f"{col.name}: {rule}",
                             "n": self.first_reason[i + 1]})
        rows.append({"stage": "analysed", "step": "", "reason": "rows analysed",
                     "n": self.n_analysed})
        flow = pd.DataFrame(rows, columns=["stage", "step", "reason", "n"])
        flow["n"] = flow["n"].astype("int64")
        # As Survey.flow: the reason as a reader should see it ("Age: out of range").
        flow["label"] = [f"{self.codebook.label(c)}: {r}" if c in self.codebook else reason
                         for reason in flow["reason"] for c, _, r in [reason.partition(": ")]]
        return flow

    @property
    def ledger_counts(self) -> pd.DataFrame:
        """Ledger entries per step, column, rule and action, as ``Ledger.counts()``:
        dropped columns, missing codes set missing, rows excluded by each rule."""
        rows = [(STEP, c, "unknown column", "dropped column", 1) for c in self.unknown_columns]
        rows += [(STEP, col.name, f"missing code: {meaning}", "set missing", n)
                 for (col, _, meaning, _), n in zip(self.missing, self.missing_counts,
                                                    strict=True) if n]
        rows += [(STEP, col.name, rule, "excluded", n)
                 for (col, rule, _), n in zip(self.rules, self.rule_counts, strict=True) if n]
        if not self.keep_identifiers:
            rows += [(STEP, c.name, "identifier (privacy)", "dropped column", 1)
                     for c in self.columns if c.variable.is_identifier]
        frame = pd.DataFrame(rows, columns=["step", "column", "rule", "action", "n"])
        return (frame.groupby(["step", "column", "rule", "action"], dropna=False, sort=False)["n"]
                .sum().reset_index())

    def ledger(self, limit: int = 100) -> pd.DataFrame:
        """Exclusions of the first ``limit`` excluded lines (``step, line, column, rule, value,
        action``), sorted by line then codebook order; one scan of the data."""
        return first_exclusions(self, limit)

    @property
    def n(self) -> int:
        return self.n_analysed

    # ---- results ------------------------------------------------------------
    def _outcome(self, outcome: str | None) -> str:
        if outcome is None:
            found = [c.name for c in self.columns if c.variable.role == "outcome"
                     and c.variable.type == "binary"]
            if not found:
                raise ValidationError(f"{self.source}: name the outcome; the codebook declares no "
                                      "binary variable with role outcome.")
            outcome = found[0]
        self._column(outcome, CODED, "outcome")
        if self.codebook[outcome].type != "binary":
            raise ValidationError(f"outcome {outcome!r} is {self.codebook[outcome].type}; a "
                                  "binary outcome is needed.")
        return outcome

    def _column(self, name: str, types: Iterable[str], what: str) -> ColumnSQL:
        for col in self.columns:
            if col.name == name:
                if col.variable.type not in tuple(types):
                    raise ValidationError(f"{what} {name!r} is {col.variable.type}; it must be "
                                          f"{' or '.join(types)}.")
                return col
        raise ValidationError(f"{self.source}: {what} {name!r} is not a column of the data "
                              f"(columns: {', '.join(c.name for c in self.columns[:20])}).")

    def prevalence(self, outcome: str | None = None, by: str | Iterable[str] | None = None,
                   *, weighted: bool | Literal["auto"] = "auto") -> pd.DataFrame:
        """Prevalence with Wilson intervals, as :func:`analysis.describe.prevalence`.

        Counts come from one ``GROUP BY GROUPING SETS`` scan of the valid rows;
        the table and its intervals are then built exactly as in memory.
        """
        outcome = self._outcome(outcome)
        factors = [by] if isinstance(by, str) else list(by or [])
        for name in factors:
            self._column(name, CODED, "prevalence factor")
        weight = self.codebook.role("weight") if weighted in (True, "auto") else None
        if weight is not None and weight not in {c.name for c in self.columns}:
            if weighted is True:
                raise ValidationError(f"weighted=True but the weight column {weight!r} is not "
                                      "in the data.")
            weight = None
        if weighted is True and weight is None:
            raise ValidationError("weighted=True but the codebook declares no weight variable.")
        return remembered(self, ["prevalence", outcome, factors, weight],
                          lambda: prevalence_table(self.con, self.codebook, outcome, factors,
                                                   weight))

    def covariate_patterns(self, columns: Sequence[str], outcome: str | None = None
                           ) -> pd.DataFrame:
        """Events and trials per covariate pattern of the valid rows (``GROUP BY`` in DuckDB).

        Same table as :func:`analysis.aggregate.covariate_patterns` on the
        in-memory survey: ``columns..., events, trials``, sorted by the
        columns (levels in codebook order); rows missing any of them are
        left out.
        """
        outcome = self._outcome(outcome)
        for name in columns:
            self._column(name, (*CODED, "numeric", "count"), "pattern column")
        sql = patterns_query(list(columns), outcome, complete=True)
        return patterns_table(self.con, self.codebook, sql, list(columns))

    def logistic(self, outcome: str | None = None, exposures: Sequence[str] | None = None,
                 adjust_for: Sequence[str] = (), *, reference: dict | None = None,
                 firth: bool = False, codebook: Codebook | None = None):
        """Crude and adjusted odds ratios fitted on covariate patterns (exact).

        Returns the :class:`~analysis.models.LogisticResult` of
        :func:`analysis.models.logistic`; see
        :func:`analysis.scale.fit.logistic_from_patterns` for the method.
        """
        from analysis.scale.fit import logistic_from_patterns

        outcome = self._outcome(outcome)
        exposures = list(exposures or [c.name for c in self.columns
                                       if c.variable.role == "exposure"])
        variables = list(dict.fromkeys([*exposures, *adjust_for]))
        for name in variables:
            self._column(name, (*CODED, "numeric", "count"), "model variable")
        sql = patterns_query(variables, outcome, complete=False)
        patterns = patterns_table(self.con, self.codebook, sql, variables, outcome=outcome)
        # ``codebook``: this one with other ``per`` steps (a plan's), same variables
        return logistic_from_patterns(patterns, codebook or self.codebook, outcome, exposures,
                                      list(adjust_for), reference=reference, firth=firth,
                                      n_read=self.n_analysed)

    def sample(self, size: int, seed: int = 20240501) -> Survey:
        """A random sample of ``size`` lines (every line when there are fewer) as a :class:`Survey`.

        The sample is the ``size`` lines of smallest ``hash(line + seed)``, a
        top-``size`` heap in DuckDB (bounded memory, the same lines on every
        run and every thread count), validated in memory as :meth:`to_survey`.
        For what has no aggregate form (per-row calibration, questionnaire
        scores): reports say when a section rests on it.
        """
        if self.n_read <= size:
            return self.to_survey()
        # The lines are chosen from their numbers alone (no Parquet read), then the rows
        # are read in one scan that keeps those lines: a top-``size`` heap of whole rows
        # holds ``size`` wide rows while it sorts, the join only the chosen numbers.
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE __sample_lines AS SELECT range AS __line FROM "
            f"range(1, {self.n_read + 1}) ORDER BY hash(range + {int(seed)}), range "
            f"LIMIT {int(size)}")
        try:
            return self.to_survey(where="__line IN (SELECT __line FROM __sample_lines)")
        finally:
            self.con.execute("DROP TABLE IF EXISTS __sample_lines")

    def to_survey(self, columns: Sequence[str] | None = None, limit: int | None = None,
                  *, order: str = "__line", where: str | None = None) -> Survey:
        """The first ``limit`` lines (all if None) of ``columns`` as an ordinary :class:`Survey`.

        The subset is validated in memory by :func:`analysis.load_survey`'s
        rules with its true line numbers, so its ledger is complete for those
        lines (a rule broken only in a column left out is not seen).
        """
        from analysis.validate import Validator

        names = list(columns) if columns is not None else self.file_columns
        absent = [c for c in names if c not in self.file_columns]
        if absent:
            raise ValidationError(f"{self.source}: no column(s) {absent} in the files.")
        cols = ", ".join(quote(c) for c in names)
        # without a limit the rows are put in line order below, in pandas: no sort here
        top = f" ORDER BY {order} LIMIT {int(limit)}" if limit is not None else ""
        keep = f" WHERE {where}" if where else ""
        raw = self.con.sql(f"SELECT __line, {cols} FROM __decoded{keep}{top}"
                           ).to_arrow_table().to_pandas()
        # DuckDB may hand sorted rows back out of order when insertion order is not
        # preserved (set for memory), so the order is made sure of here.
        raw = raw.set_index("__line").rename_axis("line").sort_index()
        raw.attrs = {"source": self.source, "format": "parquet", "metadata": [],
                     "identifiers": []}
        codebook = self.codebook.select(names) if columns is not None else self.codebook
        return Validator(raw, codebook, self.on_invalid, self.keep_identifiers).run()

    def close(self) -> None:
        """Close the DuckDB connection and remove its spill folder."""
        self.con.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> LazySurvey:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"LazySurvey({self.source}: {len(self.files)} files, {self.n_analysed} rows "
                f"analysed of {self.n_read} read, {len(self.columns)} columns)")


def _list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
