"""``backpain datasets``: list, fetch and describe the registered public datasets."""

from __future__ import annotations

import typer

from analysis.cli.app import app

datasets_app = typer.Typer(
    help="Public datasets: list them, fetch (download and check) one, describe one.",
    no_args_is_help=True,
)
app.add_typer(datasets_app, name="datasets")

NAME = typer.Argument(..., help="Dataset name, see `backpain datasets list`.")


@datasets_app.command("list")
def list_datasets() -> None:
    """A table of the registered datasets: name, title, licence, local availability."""
    from analysis import datasets

    rows = [("name", "title", "licence", "local")]
    for name in datasets.names():
        entry = datasets.get(name)
        rows.append((name, entry.title, entry.licence.split(" (")[0], _availability(name)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                   .rstrip())


@datasets_app.command("fetch")
def fetch_dataset(name: str = NAME) -> None:
    """Find or download the file of NAME, check its sha256, and print its path."""
    from analysis import datasets

    typer.echo(str(datasets.fetch(name)))


@datasets_app.command("info")
def info_dataset(name: str = NAME) -> None:
    """Provenance, licence, citation and columns of NAME (no download)."""
    from analysis import datasets

    facts = datasets.info(name)
    codebook = datasets.get(name).codebook
    local = facts["local_path"]
    for key in ("name", "title", "url", "sha256", "file", "licence", "citation", "rows"):
        typer.echo(f"{key}: {facts[key]}")
    if local is None:
        typer.echo(f"local copy: none (run `backpain datasets fetch {name}`)")
    else:
        typer.echo(f"local copy: {local}")
    typer.echo("columns:")
    for column in facts["columns"]:
        variable = codebook[column]
        role = f", {variable.role}" if variable.role else ""
        typer.echo(f"  {column}: {variable.label} ({variable.type}{role})")


def _availability(name: str) -> str:
    from analysis import datasets
    from analysis.datasets.fetch import data_dir
    from analysis.errors import DatasetError

    try:
        path = datasets.local_path(name)
    except DatasetError:
        return "bad checksum"
    if path is None:
        return "no"
    folder = data_dir()
    in_folder = folder is not None and path.parent == folder
    return "yes (BACKPAIN_DATA_DIR)" if in_folder else "yes (cache)"
