"""Build a codebook from the metadata of an SPSS ``.sav`` file.

SPSS stores what a codebook needs: variable labels, value labels, the
measurement level (nominal, ordinal, scale) and user-defined missing values.
The mapping:

- value labels + ``nominal`` → categorical (binary when there are two levels
  coded 0/1); value labels + ``ordinal`` → ordinal;
- ``scale`` (or no value labels) → numeric; a date or datetime format → date;
  a string variable → text;
- a user-missing value (or discrete range) that carries a value label keeps
  that label as its meaning; other user-missing values are "missing (SPSS)".
"""

from __future__ import annotations

from pathlib import Path

from analysis.codebook.model import Codebook
from analysis.errors import CodebookError

_DATE_FORMATS = ("DATE", "ADATE", "EDATE", "SDATE", "JDATE", "DATETIME", "YMDHMS")


def from_spss(path: str | Path, *, name: str | None = None) -> Codebook:
    """A :class:`Codebook` from the variable and value labels of an SPSS file."""
    import pyreadstat

    path = Path(path)
    try:
        _, meta = pyreadstat.read_sav(str(path), metadataonly=True, user_missing=True)
    except Exception as exc:  # pyreadstat raises its own ReadstatError and OSError
        raise CodebookError(f"{path}: cannot read SPSS metadata: {exc}") from None
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    variables: dict[str, dict] = {}
    for column in meta.column_names:
        spec: dict = {"label": labels.get(column) or column}
        value_labels = {_code(k): v for k, v in meta.variable_value_labels.get(column, {}).items()}
        missing = _user_missing(meta, column)
        missing_labels = {code: value_labels.pop(code, "missing (SPSS)") for code in missing}
        measure = meta.variable_measure.get(column, "unknown")
        spss_type = meta.original_variable_types.get(column, "")
        if meta.readstat_variable_types.get(column) == "string":
            spec["type"] = "text"
        elif spss_type.startswith(_DATE_FORMATS):
            spec["type"] = "date"
        elif value_labels and measure != "scale":
            spec["type"] = "ordinal" if measure == "ordinal" else "categorical"
            if spec["type"] == "categorical" and sorted(value_labels) == [0, 1]:
                spec["type"] = "binary"
            spec["levels"] = value_labels
        else:
            spec["type"] = "numeric"
        if missing_labels and spec["type"] != "date":
            spec["missing"] = missing_labels
        variables[column] = spec
    return Codebook.from_dict({"name": name or path.stem, "variables": variables}, source=str(path))


def _code(value: float | str) -> int | float | str:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _user_missing(meta, column: str) -> list:
    codes = [_code(v) for v in (getattr(meta, "missing_user_values", {}) or {}).get(column, [])]
    for span in (meta.missing_ranges or {}).get(column, []):
        low, high = span["lo"], span["hi"]
        if low == high:
            codes.append(_code(low))
    return list(dict.fromkeys(codes))
