"""``python -m analysis.cli``: the same as the ``backpain`` command."""

from analysis.cli import entry

entry()
