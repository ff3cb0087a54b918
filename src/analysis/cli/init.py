"""``backpain init``: draft a codebook from a data file, and check that it validates the file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from analysis.cli.app import app
from analysis.cli.common import SheetOption, output_file, working


@app.command()
def init(
    data: Annotated[Path, typer.Argument(
        help="Survey export (CSV, Excel, Parquet, SPSS, Stata), or a public dataset's name "
        "or file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Codebook YAML to write.")] = Path(
        "codebook.yml"),
    sheet: SheetOption = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite --out if it exists.")] = False,
) -> None:
    """Draft a codebook from DATA (types, levels, ranges, PII guessed; roles as comments)."""
    from analysis.cli.common import OutputError
    from analysis.draft import draft_codebook
    from analysis.validate import validate_survey

    output_file(out, "--out")
    if out.exists() and not force:
        raise OutputError(f"--out {out}: the file exists; a draft never overwrites a codebook. "
                          "To fix: give another --out, or add --force.")
    with working(data, "drafting from"):
        draft = draft_codebook(str(data), sheet=sheet)
        draft.write(out)
        survey = validate_survey(draft.raw, draft.codebook, on_invalid="exclude")
    types: dict[str, int] = {}
    for variable in draft.codebook:
        types[variable.type] = types.get(variable.type, 0) + 1
    flagged = [v.name for v in draft.codebook if v.is_identifier]
    typer.echo(f"{out}: {len(draft.codebook)} variables drafted from {draft.source} "
               f"({', '.join(f'{n} {t}' for t, n in sorted(types.items()))})")
    if flagged:
        typer.echo(f"identifiers and personal data (kept out of every table): "
                   f"{', '.join(flagged)}")
    n_read = survey.accounts.n_read
    if survey.n == n_read:
        typer.echo(f"the draft validates {draft.source}: all {n_read:,} rows pass")
    else:
        typer.echo(f"the draft validates {draft.source}; {n_read - survey.n:,} of {n_read:,} rows "
                   "break a rule as drafted (see `backpain validate`)")
    typer.echo(f"next: check types and labels in {out}, accept the suggested roles "
               f"(lines '# role: ...'), then `backpain validate {data} --codebook {out}`")
