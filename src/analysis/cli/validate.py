"""``backpain validate``: check a survey export against its codebook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from analysis.cli.app import app
from analysis.cli.common import (
    ON_INVALID,
    OnInvalidOption,
    SheetOption,
    output_file,
    read_lines,
    read_options,
    survey_source,
    working,
)


@app.command()
def validate(
    data: Annotated[Path, typer.Argument(
        help="Survey export (CSV, Excel, Parquet, SPSS, Stata), or a folder or glob of "
        "Parquet files.")],
    codebook: Annotated[Path, typer.Option("--codebook", "-c", help="Codebook YAML.")],
    on_invalid: OnInvalidOption = ON_INVALID,
    ledger: Annotated[
        Path | None, typer.Option("--ledger", help="Write the ledger (one row per entry) as CSV.")
    ] = None,
    sheet: SheetOption = None,
) -> None:
    """Check DATA against CODEBOOK and print rows read, excluded by reason, and analysed."""
    from analysis.load import load_survey
    from analysis.scale.lazy import LazySurvey

    output_file(ledger, "--ledger")
    with working(data, "validating"):
        survey = load_survey(survey_source(data), codebook, on_invalid=on_invalid,
                             **read_options(sheet))
    if isinstance(survey, LazySurvey):
        with survey:
            typer.echo(validation_summary(survey))
            if ledger is not None:
                # Row by row only for the excluded lines: a dataset may hold 10^8 rows.
                entries = survey.ledger(limit=max(survey.n_read, 1))
                entries.to_csv(ledger, index=False)
                typer.echo(f"ledger: {len(entries):,} exclusions written to {ledger} (counts of "
                           "values set missing are in the summary above)")
        return
    if survey.source == "DataFrame":  # a public dataset's file, read by its parser
        from dataclasses import replace

        survey = replace(survey, source=str(data))
    typer.echo(validation_summary(survey))
    if ledger is not None:
        survey.ledger.to_csv(ledger, index=False)
        typer.echo(f"ledger: {len(survey.ledger):,} entries written to {ledger}")


def validation_summary(survey) -> str:
    """Rows read, excluded by reason, analysed, and values recoded, as plain text.

    ``survey``: a :class:`~analysis.survey.Survey` or a :class:`~analysis.scale.LazySurvey`.
    """
    from analysis.scale.lazy import LazySurvey

    lazy = isinstance(survey, LazySurvey)
    rows: list[tuple[str, int]] = []
    for row in survey.flow.itertuples():
        rows.append((("    " if row.stage == "excluded" else "") + row.reason, row.n))
    counts = survey.ledger_counts if lazy else survey.accounts.counts()
    recoded = counts[counts["action"] == "set missing"]
    if len(recoded):
        rows.append(("values set missing", int(recoded["n"].sum())))
        for rule, n in recoded.groupby("rule", sort=False)["n"].sum().items():
            rows.append((f"    {rule}", int(n)))
    changed = counts[~counts["action"].isin(["set missing", "excluded", "dropped column"])
                     & (counts["step"] != "read")]
    for (rule, action), n in changed.groupby(["rule", "action"], sort=False)["n"].sum().items():
        rows.append((f"values {action} ({rule})", int(n)))
    width = max(len(label) for label, _ in rows) + 2
    head = [survey.source]
    if lazy:
        head.append(f"{len(survey.files)} Parquet file(s), validated in DuckDB")
    else:
        head += read_lines(survey.accounts)
    lines = [*head, *(f"{label:<{width}}{n:>12,}" for label, n in rows)]
    dropped = counts[(counts["action"] == "dropped column") & (counts["step"] != "read")]
    if len(dropped):
        pairs = zip(dropped["column"], dropped["rule"], strict=True)
        lines.append("columns dropped: " + ", ".join(f"{c} ({r})" for c, r in pairs))
    return "\n".join(lines)


__all__ = ["validate", "validation_summary"]
