"""Build a codebook from a REDCap data dictionary (the "Data Dictionary" CSV).

Field types map as follows:

=============================  ==============================================
REDCap field                   codebook variable(s)
=============================  ==============================================
radio, dropdown                categorical with the choices as levels
yesno                          binary 0 No / 1 Yes
truefalse                      binary 0 False / 1 True
checkbox                       one binary per choice, named ``field___code``
                               (REDCap's export columns), label "Field: Choice"
text, validation integer       count when min >= 0, else numeric; min/max → range
text, validation number        numeric; min/max → range
text, validation date_*        date (format from the validation: ymd, mdy, dmy)
text, validation email/phone   text marked ``pii``
text (other), notes            text
calc, slider                   numeric (slider range 0-100)
descriptive, file              no column in the export: skipped
=============================  ==============================================

The first field is the record id (type id). Fields with "Identifier?" = y
are marked ``pii: true``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.codebook.model import Codebook
from analysis.errors import CodebookError

_COLUMNS = {
    "field": ("Variable / Field Name", "field_name"),
    "form": ("Form Name", "form_name"),
    "type": ("Field Type", "field_type"),
    "label": ("Field Label", "field_label"),
    "choices": ("Choices, Calculations, OR Slider Labels", "select_choices_or_calculations"),
    "validation": (
        "Text Validation Type OR Show Slider Number",
        "text_validation_type_or_show_slider_number",
    ),
    "min": ("Text Validation Min", "text_validation_min"),
    "max": ("Text Validation Max", "text_validation_max"),
    "identifier": ("Identifier?", "identifier"),
}
_DATE_FORMATS = {"ymd": "%Y-%m-%d", "mdy": "%m-%d-%Y", "dmy": "%d-%m-%Y"}
_SKIPPED = {"descriptive", "file"}


def from_redcap_dictionary(path: str | Path, *, name: str | None = None) -> Codebook:
    """A :class:`Codebook` from a REDCap data dictionary CSV.

    Raises
    ------
    CodebookError
        The file is not a data dictionary, or a field has an unknown type or
        unreadable choices (the message names the field and its line).
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError) as exc:
        raise CodebookError(f"{path}: cannot read the REDCap data dictionary: {exc}") from None
    columns = {key: _find(frame, names) for key, names in _COLUMNS.items()}
    needed = [key for key in ("field", "type", "label") if columns[key] is None]
    if needed:
        raise CodebookError(
            f"{path}: not a REDCap data dictionary: no column for {', '.join(needed)} "
            f"(expected e.g. {_COLUMNS['field'][0]!r}, {_COLUMNS['type'][0]!r})."
        )
    variables: dict[str, dict] = {}
    for position, row in enumerate(frame.to_dict("records")):
        get = {key: str(row[col]).strip() if col else "" for key, col in columns.items()}
        field, kind = get["field"], get["type"].lower()
        where = f"{path}, line {position + 2}, field {field!r}"
        if kind in _SKIPPED or not field:
            continue
        pii = get["identifier"].lower() in ("y", "yes", "1")
        label = _plain(get["label"]) or field
        if position == 0:
            variables[field] = {"type": "id", "label": label, "role": "id"}
            continue
        if kind in ("radio", "dropdown"):
            variables[field] = {
                "type": "categorical",
                "label": label,
                "levels": _choices(get["choices"], where),
            }
        elif kind == "yesno":
            variables[field] = {"type": "binary", "label": label, "levels": {0: "No", 1: "Yes"}}
        elif kind == "truefalse":
            variables[field] = {"type": "binary", "label": label, "levels": {0: "False", 1: "True"}}
        elif kind == "checkbox":
            for code, choice in _choices(get["choices"], where).items():
                variables[f"{field}___{str(code).lower()}"] = {
                    "type": "binary",
                    "label": f"{label}: {choice}",
                    "levels": {0: "Unchecked", 1: "Checked"},
                }
            continue
        elif kind in ("text", "notes"):
            variables[field] = _text_field(label, get, where)
        elif kind == "calc":
            variables[field] = {"type": "numeric", "label": label, "required": False}
        elif kind == "slider":
            variables[field] = {"type": "numeric", "label": label, "range": [0, 100]}
        else:
            raise CodebookError(f"{where}: unknown REDCap field type {kind!r}.")
        if pii:
            variables[field]["pii"] = True
    return Codebook.from_dict({"name": name or path.stem, "variables": variables}, source=str(path))


def _text_field(label: str, get: dict[str, str], where: str) -> dict:
    validation = get["validation"].lower()
    low, high = _number(get["min"], where), _number(get["max"], where)
    if validation == "integer":
        spec = {"type": "count" if low is not None and low >= 0 else "numeric", "label": label}
    elif validation.startswith("number"):
        spec = {"type": "numeric", "label": label}
    elif validation.startswith(("date_", "datetime_")):
        order = validation.split("_")[1]
        spec = {"type": "date", "label": label, "format": _DATE_FORMATS.get(order, "%Y-%m-%d")}
        if validation.startswith("datetime_"):
            spec["format"] += " %H:%M"
        low = high = None
    elif validation in ("email", "phone"):
        return {"type": "text", "label": label, "pii": True, "required": False}
    else:
        return {"type": "text", "label": label, "required": False}
    if low is not None or high is not None:
        spec["range"] = [low, high]
    return spec


def _choices(text: str, where: str) -> dict:
    levels: dict = {}
    for part in filter(None, (p.strip() for p in text.split("|"))):
        code, sep, label = part.partition(",")
        if not sep:
            raise CodebookError(f"{where}: choice {part!r} is not 'code, label'.")
        code = code.strip()
        levels[int(code) if code.lstrip("-").isdigit() else code] = _plain(label.strip())
    if not levels:
        raise CodebookError(f"{where}: a choice field without choices.")
    return levels


def _number(text: str, where: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        # Date limits and piped values are not numeric ranges.
        return None


def _plain(label: str) -> str:
    # REDCap labels may carry HTML markup; tables want the words.
    return re.sub(r"<[^>]+>", "", label).strip()


def _find(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in frame.columns}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None
