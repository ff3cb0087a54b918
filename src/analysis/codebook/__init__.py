"""Codebooks: the model, YAML loading, and importers from REDCap and SPSS."""

from analysis.codebook.model import Codebook
from analysis.codebook.variable import (
    CODED_TYPES,
    DEFAULT_NA_VALUES,
    NUMERIC_TYPES,
    ROLES,
    VARIABLE_TYPES,
    InstrumentItem,
    Variable,
)

__all__ = [
    "CODED_TYPES",
    "DEFAULT_NA_VALUES",
    "NUMERIC_TYPES",
    "ROLES",
    "VARIABLE_TYPES",
    "Codebook",
    "InstrumentItem",
    "Variable",
    "load_codebook",
]


def load_codebook(source) -> Codebook:
    """A :class:`Codebook` from a YAML path, a mapping, or a Codebook (returned as is)."""
    from collections.abc import Mapping
    from pathlib import Path

    if isinstance(source, Codebook):
        return source
    if isinstance(source, Mapping):
        return Codebook.from_dict(source)
    path = Path(source)
    if path.suffix.lower() == ".csv":
        from analysis.codebook.redcap import from_redcap_dictionary

        return from_redcap_dictionary(path)
    if path.suffix.lower() == ".sav":
        from analysis.codebook.spss import from_spss

        return from_spss(path)
    return Codebook.from_yaml(path)
