"""The package's own exceptions and warnings.

Every error a user can cause derives from :class:`BackpainError`; the CLI
prints its message without a traceback and exits with status 2.
"""

from __future__ import annotations


class BackpainError(Exception):
    """Base class of every error the package raises on bad input."""


class CodebookError(BackpainError):
    """The codebook itself is malformed (unknown key, wrong type, bad level)."""


class ReadError(BackpainError):
    """A data file cannot be read: unknown format, unreadable or empty."""


class ValidationError(BackpainError):
    """Data break the rules of their codebook.

    ``problems`` is a tidy DataFrame with one row per broken rule
    (``column, rule, n_rows, first_lines, first_values, advice``).
    """

    def __init__(self, message: str, problems=None):
        super().__init__(message)
        self.problems = problems


class ScoringError(BackpainError):
    """Questionnaire items cannot be scored (wrong shape, values off the scale)."""


class ModelError(BackpainError):
    """A model cannot be specified or fitted as asked."""


class DatasetError(BackpainError):
    """A public dataset cannot be found, fetched or verified."""


class ReportError(BackpainError):
    """A report notebook failed to run or export."""


class BackpainWarning(UserWarning):
    """A result holds, but the user should know something about it."""


class DisclosureError(BackpainError):
    """Counts given to a release contradict each other (one cell, two values; a total that
    is not the sum of its parts), so no disclosure check of them can be trusted."""
