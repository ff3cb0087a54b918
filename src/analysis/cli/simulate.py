"""``backpain simulate``: write the SIMULATED example survey to CSV or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from analysis.cli.app import app

#: ``analysis.simulate.EXAMPLE_SEED``, repeated so ``--help`` need not import the simulator
#: (tests/test_cli_help.py checks that they agree).
EXAMPLE_SEED = 20240501


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Output file, .csv or .parquet.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of respondents.")] = 5000,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed; the same seed gives the same bytes.")
    ] = EXAMPLE_SEED,
    errors: Annotated[
        bool, typer.Option("--errors/--no-errors", help="Plant data errors for validation.")
    ] = True,
    missing: Annotated[
        bool, typer.Option("--missing/--no-missing", help="Add missing codes, exam sub-sample.")
    ] = True,
) -> None:
    """Simulate the example back-pain survey: SIMULATED data with known true effects."""
    from analysis.simulate import simulate_survey, write_survey

    frame = simulate_survey(n, seed, errors=errors, missing=missing)
    path = write_survey(frame, out)
    typer.echo(f"wrote {len(frame):,} SIMULATED respondents to {path} (seed {seed})")
