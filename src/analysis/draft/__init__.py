"""A first codebook drafted from a data file: ``backpain init DATA --out codebook.yml``.

Every column gets an entry guessed from its values (:mod:`analysis.draft.guess`):
type, label, levels, range and missing codes, with value and variable labels
taken from SPSS and Stata files. Likely identifiers and personal data are
flagged (``type: id`` or ``pii: true``), and roles are left as commented
suggestions, since only the analyst knows what the survey is about. The draft
is checked before it is returned: it loads as a codebook and validates the
data it was drawn from, with no row excluded.

>>> draft = draft_codebook("survey.csv")  # doctest: +SKIP
>>> draft.write("survey.yml")             # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from analysis.codebook import Codebook
from analysis.draft.guess import Guess, guess_variable
from analysis.errors import ReadError

__all__ = ["Draft", "draft_codebook", "read_for_draft"]


@dataclass(frozen=True)
class Draft:
    """A drafted codebook: its commented YAML text, the parsed codebook, the data read."""

    text: str
    codebook: Codebook
    raw: pd.DataFrame
    source: str

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.text, encoding="utf-8")
        return path

    def __repr__(self) -> str:
        return (f"Draft({self.source!r}: {len(self.codebook)} variables, "
                f"{len(self.raw):,} rows; .text holds the YAML)")


def read_for_draft(source: str | Path | pd.DataFrame, *, sheet: str | int | None = None
                   ) -> tuple[pd.DataFrame, str, dict]:
    """The raw frame of ``source``, its name, and SPSS/Stata metadata (labels, missing codes).

    ``source`` is a survey file, a DataFrame, a registered public dataset's
    name, or the file of one (read by the dataset's own parser).
    """
    from analysis import datasets

    if isinstance(source, pd.DataFrame):
        return source, "DataFrame", {}
    path = Path(source)
    by_file = {datasets.get(n).file_name: n for n in datasets.names()}
    if path.name in by_file and path.suffix.lower() not in (".csv",) and path.is_file():
        return datasets.get(by_file[path.name]).parser(path), path.name, {}
    if not path.exists() and str(source) in datasets.names():
        dataset = datasets.get(str(source))
        return dataset.parser(datasets.fetch(str(source))), str(source), {}
    from analysis.io import read_table

    raw = read_table(path, sheet=sheet)
    return raw, str(path), _file_metadata(path, raw)


def _file_metadata(path: Path, raw: pd.DataFrame) -> dict:
    fmt = raw.attrs.get("format")
    if fmt not in ("spss", "stata"):
        return {}
    import pyreadstat

    reader = pyreadstat.read_sav if fmt == "spss" else pyreadstat.read_dta
    try:
        _, meta = reader(str(path), metadataonly=True, user_missing=True)
    except Exception as exc:  # pyreadstat has its own error types
        raise ReadError(f"{path}: cannot read the labels of the file: {exc}") from None
    missing: dict[str, list] = {}
    for column, codes in (getattr(meta, "missing_user_values", None) or {}).items():
        missing[column] = list(codes)
    for column, spans in (meta.missing_ranges or {}).items():
        missing.setdefault(column, []).extend(s["lo"] for s in spans if s["lo"] == s["hi"])
    return {
        "labels": dict(zip(meta.column_names, meta.column_labels, strict=True)),
        "value_labels": dict(meta.variable_value_labels or {}),
        "missing": missing,
    }


def draft_codebook(source: str | Path | pd.DataFrame, *, sheet: str | int | None = None,
                   name: str | None = None) -> Draft:
    """Draft a codebook for ``source`` from its values; see the module docstring.

    Raises :class:`~analysis.errors.ReadError` when the file cannot be read.
    The result's ``codebook`` already loaded from ``text``, and validating the
    data against it excludes no row (checked by the tests on every shape of
    ``tests/own_data`` and every public dataset).
    """
    raw, where, meta = read_for_draft(source, sheet=sheet)
    skipped = [c for c in raw.columns if c in set(raw.attrs.get("metadata", []))]
    identifiers = set(raw.attrs.get("identifiers", []))
    guesses: dict[str, Guess] = {}
    for column in raw.columns:
        if column in skipped:
            continue
        guesses[str(column)] = guess_variable(
            str(column), raw[column],
            label=(meta.get("labels") or {}).get(column) or None,
            value_labels=(meta.get("value_labels") or {}).get(column),
            user_missing=(meta.get("missing") or {}).get(column),
            identifier=column in identifiers)
    stem = name or (Path(where).stem if where != "DataFrame" else "survey")
    text = render_yaml(stem, guesses, where=where, n_rows=len(raw), skipped=skipped)
    data = yaml.safe_load(text)
    codebook = Codebook.from_dict(data, source=f"draft of {where}")
    return Draft(text=text, codebook=codebook, raw=raw, source=where)


def render_yaml(name: str, guesses: dict[str, Guess], *, where: str, n_rows: int,
                skipped: list[str]) -> str:
    """The codebook YAML with the reasons and role suggestions as comments."""
    head = [
        f"# Drafted by `backpain init` from {where} ({n_rows:,} rows, {len(guesses)} columns).",
        "# Types, labels, levels and ranges are guesses from the observed values: check each.",
        "# Roles are suggestions left as comments: delete the '# ' before 'role:' to accept one.",
        "# Format: data/codebooks/README.md",
    ]
    if skipped:
        head.append(f"# Export metadata, left out (the reader sets it aside): {', '.join(skipped)}")
    lines = [*head, f"name: {_scalar(name)}", "variables:"]
    for column, guess in guesses.items():
        lines.append(f"  {_key(column)}:")
        for key, value in guess.spec.items():
            if isinstance(value, dict):
                lines.append(f"    {key}:")
                lines += [f"      {_key(code)}: {_scalar(text)}" for code, text in value.items()]
            elif isinstance(value, list):
                lines.append(f"    {key}: [{', '.join(_scalar(v) for v in value)}]")
            else:
                lines.append(f"    {key}: {_scalar(value)}")
        lines += [f"    # {note}" for note in guess.notes]
        lines += [f"    # role: {role}  ({why})" for role, why in guess.roles]
    return "\n".join(lines) + "\n"


def _scalar(value) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _key(value) -> str:
    return _scalar(value)
