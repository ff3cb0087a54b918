"""``python -m analysis.cli``: the same as the ``backpain`` command."""

from analysis.cli import _entry

_entry()
