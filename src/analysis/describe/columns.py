"""Which columns a descriptive table may use, with errors that name them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import pandas as pd

from analysis.codebook import CODED_TYPES, NUMERIC_TYPES
from analysis.errors import ValidationError
from analysis.survey import Survey

# Design variables describe how respondents were sampled, not who they are.
DESIGN_ROLES = ("id", "weight", "stratum", "cluster")


def unknown_column(survey: Survey, name: str, what: str) -> ValidationError:
    present = list(survey.data.columns)
    hint = difflib.get_close_matches(name, present, n=1)
    extra = f" Did you mean {hint[0]!r}?" if hint else ""
    return ValidationError(
        f"{survey.source or 'survey'}: {what} {name!r} is not a column of the data.{extra} "
        f"Columns: {', '.join(present[:20])}{' ...' if len(present) > 20 else ''}."
    )


def coded_column(survey: Survey, name: str, what: str) -> str:
    """``name`` if it is a binary, categorical or ordinal column of the survey."""
    if name not in survey.data.columns or name not in survey.codebook:
        raise unknown_column(survey, name, what)
    var = survey.codebook[name]
    if var.type not in CODED_TYPES:
        raise ValidationError(
            f"{what} {name!r} ({var.label}) is {var.type}; it must be binary, categorical or "
            f"ordinal. Group a {var.type} variable into categories first."
        )
    return require_categorical(survey, name)


def require_categorical(survey: Survey, name: str) -> str:
    """``name`` if its column holds the codebook's labels as a pandas categorical."""
    if not isinstance(survey.data[name].dtype, pd.CategoricalDtype):
        raise ValidationError(
            f"column {name!r} ({survey.label(name)}) is {survey.codebook[name].type} in the "
            f"codebook but holds {survey.data[name].dtype} values; build the survey with "
            "analysis.load_survey so coded columns carry their labels."
        )
    return name


def default_grouping(survey: Survey) -> str | None:
    """The codebook's outcome when it is a coded column of the data, else no grouping."""
    for name in survey.variables("outcome"):
        if survey.codebook[name].type in CODED_TYPES:
            return name
    return None


def table_columns(survey: Survey, columns: Iterable[str] | None, by: str | None) -> list[str]:
    """Variables to tabulate, in codebook order unless given.

    By default every binary, categorical, ordinal, numeric and count variable
    in the data, except identifiers, design variables (weight, stratum,
    cluster), questionnaire items (Table 1 shows scores, not items) and the
    grouping variable. Asking for an identifier, text or date column is an
    error: they are never tabulated.
    """
    cb = survey.codebook
    if columns is None:
        columns = [
            v.name
            for v in cb
            if v.name in survey.data.columns
            and v.name != by
            and v.type in (*CODED_TYPES, *NUMERIC_TYPES)
            and not v.is_identifier
            and v.role not in DESIGN_ROLES
            and v.instrument is None
        ]
    chosen = []
    for name in columns:
        if name not in survey.data.columns or name not in cb:
            raise unknown_column(survey, name, "table_one column")
        var = cb[name]
        if var.is_identifier or var.type in ("id", "text", "date"):
            kind = "an identifier" if var.is_identifier or var.type == "id" else f"a {var.type}"
            raise ValidationError(
                f"table_one column {name!r} ({var.label}) is {kind} column; identifier, text "
                "and date columns are never tabulated."
            )
        if name != by and name not in chosen:
            chosen.append(name)
    for name in chosen:
        if cb[name].type in CODED_TYPES:
            require_categorical(survey, name)
    return chosen
