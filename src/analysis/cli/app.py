"""The ``backpain`` Typer application that every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="backpain",
    help="Analyse survey data on the causes of back-muscle spasms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
