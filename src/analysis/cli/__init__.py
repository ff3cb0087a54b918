"""The ``backpain`` command.

Each command lives in its own module and registers itself on
:data:`analysis.cli.app.app`. :func:`main` turns the package's own errors into
a plain message on standard error and exit status 2, without a traceback.
"""

from __future__ import annotations

import re
import sys
import warnings

# Importing a command module registers its commands on the app.
from analysis.cli import datasets as _datasets  # noqa: F401
from analysis.cli import describe as _describe  # noqa: F401
from analysis.cli import fit as _fit  # noqa: F401
from analysis.cli import init as _init  # noqa: F401
from analysis.cli import report as _report  # noqa: F401
from analysis.cli import score as _score  # noqa: F401
from analysis.cli import simulate as _simulate  # noqa: F401
from analysis.cli import validate as _validate  # noqa: F401
from analysis.cli.app import app
from analysis.errors import BackpainError, BackpainWarning

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return its exit status (0 ok, 2 bad input or bad usage)."""
    with warnings.catch_warnings():
        # The package's warnings read as messages ("warning: ..."), not source lines.
        warnings.showwarning = _show_warning
        return _run(argv)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, BackpainWarning):
        print(f"warning: {as_flags(str(message))}", file=sys.stderr)
    else:
        print(warnings.formatwarning(message, category, filename, lineno, line),
              file=sys.stderr, end="")


def _help_only(argv: list[str]) -> bool:
    """Print the help of ``backpain [COMMAND ...] --help`` without parsing any option.

    Typer builds a pydantic adapter for each option it parses, ``--help`` included
    (about half of a subcommand's help time); the help text needs none of them.
    """
    if not argv or argv[-1] != "--help" or any(a.startswith("-") for a in argv[:-1]):
        return False
    import typer.main
    from typer._click import Context

    command = typer.main.get_command(app)
    ctx = Context(command, info_name="backpain")
    for name in argv[:-1]:
        sub = command.get_command(ctx, name) if hasattr(command, "get_command") else None
        if sub is None:
            return False  # typer says what is wrong with the name
        command, ctx = sub, Context(sub, info_name=name, parent=ctx)
    print(command.get_help(ctx))
    return True


def _run(argv: list[str] | None) -> int:
    if _help_only(sys.argv[1:] if argv is None else list(argv)):
        return 0
    try:
        # In standalone mode click prints usage errors and exits 2 by itself;
        # our own errors pass through to be printed without a traceback.
        app(args=argv, prog_name="backpain")
    except BackpainError as exc:
        print(f"error: {as_flags(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that vanished or a disk that filled up while working
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


# Python arguments named in the library's messages, and the flags that set them here.
_FLAGS = {"on_invalid": "--on-invalid", "sheet": "--sheet"}
_ARGUMENT = re.compile(r"\b(?:(use|load with|with|pass)\s+)?\b(on_invalid|sheet)=(['\"]?)(\w+)\3")


def as_flags(message: str) -> str:
    """``on_invalid='exclude'`` in a library message becomes ``--on-invalid exclude``."""
    def flag(match: re.Match) -> str:
        lead = "run with " if match.group(1) else ""
        return f"{lead}{_FLAGS[match.group(2)]} {match.group(4)}"

    return _ARGUMENT.sub(flag, message).replace("firth=True", "--firth")


def entry() -> None:
    sys.exit(main())
