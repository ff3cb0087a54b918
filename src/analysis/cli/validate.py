"""``backpain validate``: check a survey export against its codebook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from analysis.cli.app import app
from analysis.survey import Survey
from analysis.validate import load_survey


@app.command()
def validate(
    data: Annotated[Path, typer.Argument(help="Survey export (CSV, Excel, Parquet, SPSS, Stata).")],
    codebook: Annotated[Path, typer.Option("--codebook", "-c", help="Codebook YAML.")],
    on_invalid: Annotated[
        str,
        typer.Option(
            "--on-invalid", help="raise: stop on any broken rule; exclude: set rows aside."
        ),
    ] = "raise",
    ledger: Annotated[
        Path | None, typer.Option("--ledger", help="Write the ledger (one row per entry) as CSV.")
    ] = None,
) -> None:
    """Check DATA against CODEBOOK and print rows read, excluded by reason, and analysed."""
    survey = load_survey(data, codebook, on_invalid=on_invalid)
    typer.echo(validation_summary(survey))
    if ledger is not None:
        survey.ledger.to_csv(ledger, index=False)
        typer.echo(f"ledger: {len(survey.ledger):,} entries written to {ledger}")


def validation_summary(survey: Survey) -> str:
    """Rows read, excluded by reason, analysed, and values recoded, as plain text."""
    flow = survey.flow
    width = max(len(r) for r in flow["reason"]) + 4
    lines = [f"{survey.source}"]
    for row in flow.itertuples():
        indent = "    " if row.stage == "excluded" else ""
        lines.append(f"{indent}{row.reason:<{width - len(indent)}}{row.n:>10,}")
    counts = survey.accounts.counts()
    recoded = counts[counts["action"] == "set missing"]
    if len(recoded):
        lines.append(f"values set missing{'':<{width - 18}}{int(recoded['n'].sum()):>10,}")
        for row in recoded.groupby("rule", sort=False)["n"].sum().items():
            lines.append(f"    {row[0]:<{width - 4}}{int(row[1]):>10,}")
    dropped = counts[counts["action"] == "dropped column"]
    if len(dropped):
        lines.append(
            "columns dropped: "
            + ", ".join(
                f"{c} ({r})" for c, r in zip(dropped["column"], dropped["rule"], strict=True)
            )
        )
    return "\n".join(lines)
