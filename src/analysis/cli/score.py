"""``backpain score``: score the questionnaires of a survey and write the scored data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from analysis.cli.app import app
from analysis.cli.common import ON_INVALID, OnInvalidOption, SheetOption, open_survey, output_file
from analysis.errors import ScoringError


@app.command()
def score(
    data: Annotated[Path, typer.Argument(help="Survey export (CSV, Excel, Parquet, SPSS, ...).")],
    codebook: Annotated[Path, typer.Option("--codebook", "-c", help="Codebook YAML.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file for the scored data.")
                   ] = Path("scored.parquet"),
    on_invalid: OnInvalidOption = ON_INVALID,
    alpha_out: Annotated[Path | None, typer.Option(
        "--alpha-out", help="Also write Cronbach's alpha of each scale to this CSV.")] = None,
    codebook_out: Annotated[Path | None, typer.Option(
        "--codebook-out", help="Also write the codebook with the score entries (YAML).")] = None,
    odi_max_missing: Annotated[str, typer.Option(
        "--odi-max-missing", help="ODI sections that may be missing: a number, or 'any'.")] = "1",
    rmdq_missing: Annotated[str, typer.Option(
        "--rmdq-missing", help="RMDQ blank items: zero, reject or prorate.")] = "zero",
    nprs_scheme: Annotated[str, typer.Option(
        "--nprs-scheme", help="NPRS categories: serlin, palos, clinical or boonstra.")
    ] = "serlin",
    ipaq_moderate_b: Annotated[str, typer.Option(
        "--ipaq-moderate-b", help="IPAQ moderate criterion (b): combined or single_type.")
    ] = "combined",
    sheet: SheetOption = None,
) -> None:
    """Score ODI, RMDQ, STarT Back, IPAQ, NPRS, FABQ and Örebro items found in the codebook."""
    from analysis.instruments import INSTRUMENT_ITEMS, score_instruments
    max_missing = _max_missing(odi_max_missing)
    for path, option in ((out, "--out"), (alpha_out, "--alpha-out"),
                         (codebook_out, "--codebook-out")):
        output_file(path, option)
    survey = open_survey(data, codebook, on_invalid=on_invalid, sheet=sheet)
    try:
        scored, alpha = score_instruments(
            survey, odi_max_missing=max_missing, rmdq_missing=rmdq_missing,
            nprs_scheme=nprs_scheme, ipaq_moderate_b=ipaq_moderate_b)
    except ValueError as exc:  # a setting spelled wrong
        raise ScoringError(f"backpain score: {exc}") from None
    scored.data.to_parquet(out)
    if alpha_out is not None:
        alpha.to_csv(alpha_out, index=False)
    if codebook_out is not None:
        scored.codebook.to_yaml(codebook_out)

    added = [c for c in scored.data.columns if c not in survey.data.columns]
    instruments = [k for k in INSTRUMENT_ITEMS if k in scored.codebook.instruments]
    typer.echo(f"{scored.n} respondents from {data}; instruments: {', '.join(instruments)}")
    typer.echo(f"{len(added)} score columns added")
    ledger = scored.ledger
    steps = ledger[ledger["step"].str.startswith("score ")]
    if len(steps):
        counts = steps.groupby(["step", "action"], sort=True)["line"].nunique()
        for (step, action), n in counts.items():
            typer.echo(f"  {step.removeprefix('score ')}: {n} respondent(s) {action}")
    if len(alpha):
        typer.echo("Cronbach's alpha (95% CI, Feldt):")
        for row in alpha.itertuples():
            typer.echo(f"  {row.scale}: {row.alpha:.2f} ({row.ci_low:.2f} to {row.ci_high:.2f}),"
                       f" {row.n_items} items, {row.n_complete} complete")
    typer.echo(f"Scored data written to {out}")


def _max_missing(text: str) -> int | None:
    if text.strip().lower() in ("any", "none", "all"):
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ScoringError(f"--odi-max-missing must be a whole number >= 0 or 'any', not {text!r}.")
    return value
