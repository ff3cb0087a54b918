"""``backpain validate``: check a survey export against its codebook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from analysis.cli.app import app
from analysis.load import load_survey
from analysis.survey import Survey


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
    rows: list[tuple[str, int]] = []
    for row in survey.flow.itertuples():
        rows.append((("    " if row.stage == "excluded" else "") + row.reason, row.n))
    counts = survey.accounts.counts()
    recoded = counts[counts["action"] == "set missing"]
    if len(recoded):
        rows.append(("values set missing", int(recoded["n"].sum())))
        for rule, n in recoded.groupby("rule", sort=False)["n"].sum().items():
            rows.append((f"    {rule}", int(n)))
    width = max(len(label) for label, _ in rows) + 2
    lines = [survey.source, *(f"{label:<{width}}{n:>12,}" for label, n in rows)]
    dropped = counts[counts["action"] == "dropped column"]
    if len(dropped):
        pairs = zip(dropped["column"], dropped["rule"], strict=True)
        lines.append("columns dropped: " + ", ".join(f"{c} ({r})" for c, r in pairs))
    return "\n".join(lines)
