"""The codebook model: what each variable of a survey is and may hold.

A codebook is a YAML mapping (see ``data/codebooks/README.md``)::

    name: my_survey
    variables:
      age:
        type: numeric
        label: Age
        unit: years
        range: [18, 100]
        missing: {-9: refused}
        role: confounder

It is validated on load: an unknown key, a wrong type or an inconsistent entry
is a :class:`~analysis.errors.CodebookError` naming the variable and the key.
Each variable's own entry is :class:`~analysis.codebook.variable.Variable`;
this module holds the codebook around them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic
import yaml
from pydantic import Field, field_validator, model_validator

from analysis.codebook._diagram import check_causes
from analysis.codebook._explain import explain
from analysis.codebook._yaml import load_yaml
from analysis.codebook.variable import (
    CODED_TYPES,
    DEFAULT_NA_VALUES,
    NUMERIC_TYPES,
    Code,
    Derivation,
    InstrumentItem,
    Strict,
    Variable,
    text_tokens,
)
from analysis.errors import CodebookError


class AnalysisSection(Strict):
    """The codebook's ``analysis:`` section: choices that override the plan drawn from roles.

    Every key is optional; what is not given is decided from the roles and the
    data (:func:`analysis.plan.plan`).
    """

    outcomes: list[str] | None = None
    exposures: list[str] | None = None
    adjust_for: list[str] | None = None
    interactions: list[tuple[str, str]] = Field(default_factory=list)
    continuous: list[str] | None = None
    missing: Literal["complete cases", "mice"] = "complete cases"
    firth: Literal["auto", "always", "never"] = "auto"
    design: bool | None = None
    # The assumed causal diagram: each variable mapped to its direct causes (its parents).
    causes: dict[str, list[str]] = Field(default_factory=dict)
    unmeasured: list[str] = Field(default_factory=list)  # nodes of the diagram not in the data


class Codebook(Strict):
    """An ordered set of :class:`Variable` with survey-level metadata."""

    name: str = "survey"
    description: str | None = None
    version: str | int | None = None
    simulated: bool = False
    na_values: list[str] | None = None
    decimal: Literal[".", ","] | None = None
    variables: dict[str, Variable]
    analysis: AnalysisSection | None = None

    _text_tokens = field_validator("na_values", mode="before")(text_tokens)

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("variables"), Mapping):
            variables = {}
            for name, spec in data["variables"].items():
                if isinstance(spec, Mapping):
                    spec = {"name": str(name), **spec}
                variables[str(name)] = spec
            data = {**data, "variables": variables}
        return data

    @model_validator(mode="after")
    def _skip_logic(self) -> Codebook:
        for var in self.variables.values():
            for name, codes in (var.asked_if or {}).items():
                if name not in self.variables:
                    raise ValueError(f"@{var.name}.asked_if: no variable {name!r} in the codebook")
                condition = self.variables[name]
                if condition.type not in CODED_TYPES + NUMERIC_TYPES:
                    raise ValueError(f"@{var.name}.asked_if: {name!r} is {condition.type}; "
                                     "a condition is a coded, numeric or count variable")
                known = condition.codes
                wanted = codes if isinstance(codes, list) else [codes]
                unknown = [c for c in wanted if condition.type in CODED_TYPES and c not in known]
                if unknown:
                    raise ValueError(f"@{var.name}.asked_if: {unknown} are not levels of "
                                     f"{name!r} ({known})")
        return self

    @model_validator(mode="after")
    def _derivations(self) -> Codebook:
        for var in self.variables.values():
            if var.derive is None:
                continue
            for name in var.derive.inputs:
                if name not in self.variables:
                    raise ValueError(f"@{var.name}.derive: no variable {name!r} in the codebook")
                source = self.variables[name]
                if name == var.name:
                    raise ValueError(f"@{var.name}.derive: a variable cannot be derived from "
                                     "itself")
                wanted = NUMERIC_TYPES if var.derive.sum is None else (*NUMERIC_TYPES,
                                                                         *CODED_TYPES)
                if source.type not in wanted:
                    raise ValueError(f"@{var.name}.derive: {name!r} is {source.type}; "
                                     f"use {' or '.join(wanted)} variables")
                if source.derive is not None:
                    raise ValueError(f"@{var.name}.derive: {name!r} is itself derived; derive "
                                     "from variables of the file")
        return self

    @model_validator(mode="after")
    def _analysis_names(self) -> Codebook:
        section = self.analysis
        if section is None:
            return self
        lists = {"outcomes": section.outcomes, "exposures": section.exposures,
                 "adjust_for": section.adjust_for, "continuous": section.continuous,
                 "interactions": [v for pair in section.interactions for v in pair]}
        for key, names in lists.items():
            for name in names or []:
                if name not in self.variables:
                    close = difflib.get_close_matches(name, self.variables, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise ValueError(f"@analysis.{key}: no variable {name!r} in the "
                                     f"codebook{hint}")
        check_causes(section.causes, set(self.variables), section.unmeasured)
        return self

    @model_validator(mode="after")
    def _unique_items(self) -> Codebook:
        seen: dict[tuple[str, Code], str] = {}
        for var in self.variables.values():
            if var.instrument is None:
                continue
            key = (var.instrument.name, var.instrument.item)
            if key in seen:
                raise ValueError(
                    f"@{var.name}.instrument: item {key[1]} of {key[0]} "
                    f"is also variable {seen[key]!r}"
                )
            seen[key] = var.name
        return self

    # ---- construction -------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "codebook",
                  lines: Mapping[tuple[str, ...], int] | None = None) -> Codebook:
        """Validate ``data``; ``lines`` (key path -> YAML line) lets errors name the line."""
        if not isinstance(data, Mapping) or "variables" not in data:
            raise CodebookError(f"{source}: a codebook is a mapping with a 'variables' key.")
        if not isinstance(data["variables"], Mapping):
            raise CodebookError(f"{source}: 'variables' is a mapping of column name to its "
                                "entry (type, label, ...).")
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            raise CodebookError(explain(exc, source, lines or {}, _KEYS)) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> Codebook:
        """Read a codebook YAML (UTF-8; YAML 1.2 scalars: ``NO`` and ``yes`` stay text)."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CodebookError(f"{path}: cannot read the codebook ({exc.strerror}).") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            raise CodebookError(
                f"{path}: the codebook is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line "
                f"{line}). To fix: save it as UTF-8 (most editors offer 'Save with encoding'); "
                "is it the codebook and not a data file?") from None
        try:
            data, lines = load_yaml(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            if mark is None:
                raise CodebookError(f"{path}: not valid YAML: {exc}") from None
            what = " ".join(str(p) for p in (getattr(exc, "context", None),
                                             getattr(exc, "problem", None)) if p)
            raise CodebookError(f"{path}, line {mark.line + 1}, column {mark.column + 1}: not "
                                f"valid YAML: {what}.") from None
        return cls.from_dict(data, source=str(path), lines=lines)

    def na_tokens(self, name: str) -> list[str]:
        """Texts read as missing in column ``name``: its own ``na_values``, else the
        codebook's, else :data:`DEFAULT_NA_VALUES`; never one of its levels, labels or
        missing codes."""
        var = self.variables[name]
        tokens = var.na_values if var.na_values is not None else (
            self.na_values if self.na_values is not None else list(DEFAULT_NA_VALUES))
        taken = {str(c) for c in [*var.level_labels, *var.level_labels.values(), *var.missing]}
        return [t for t in tokens if t not in taken]

    def to_dict(self) -> dict[str, Any]:
        out = self.model_dump(exclude_defaults=True, exclude={"variables"})
        out["variables"] = {
            name: var.model_dump(exclude_defaults=True, exclude={"name"})
            for name, var in self.variables.items()
        }
        return out

    def to_yaml(self, path: str | Path | None = None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def with_variables(self, new: Iterable[Variable]) -> Codebook:
        """A copy with ``new`` variables added (or replaced, by name)."""
        variables = dict(self.variables)
        for var in new:
            variables[var.name] = var
        return self.model_copy(update={"variables": variables})

    def select(self, names: Iterable[str]) -> Codebook:
        keep = set(names)
        return self.model_copy(
            update={"variables": {k: v for k, v in self.variables.items() if k in keep}}
        )

    # ---- look-ups ---------------------------------------------------
    def __getitem__(self, name: str) -> Variable:
        try:
            return self.variables[name]
        except KeyError:
            hint = difflib.get_close_matches(name, self.variables, n=1)
            extra = f" Did you mean {hint[0]!r}?" if hint else ""
            raise CodebookError(f"The codebook has no variable {name!r}.{extra}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.variables

    def __iter__(self):
        return iter(self.variables.values())

    def __len__(self) -> int:
        return len(self.variables)

    def names(self, *, role: str | None = None, type: str | None = None) -> list[str]:
        return [
            v.name
            for v in self.variables.values()
            if (role is None or v.role == role) and (type is None or v.type == type)
        ]

    def label(self, name: str) -> str:
        return self.variables[name].label if name in self.variables else name

    @property
    def identifiers(self) -> list[str]:
        """Columns that identify a respondent (type or role id, or ``pii: true``)."""
        return [v.name for v in self.variables.values() if v.is_identifier]

    def role(self, role: str) -> str | None:
        """The single variable with ``role`` (weight, stratum, cluster, ...), if any."""
        names = self.names(role=role)
        return names[0] if names else None

    def instrument_items(self, instrument: str) -> list[str]:
        """Variables belonging to ``instrument``, in item order."""
        items = [
            v for v in self.variables.values() if v.instrument and v.instrument.name == instrument
        ]
        return [v.name for v in sorted(items, key=lambda v: _item_key(v.instrument.item))]

    @property
    def instruments(self) -> list[str]:
        names = {v.instrument.name for v in self.variables.values() if v.instrument}
        return sorted(names)


def _item_key(item: Code) -> tuple[int, Any]:
    return (0, item) if isinstance(item, int) else (1, str(item))


_KEYS = {
    "variable": list(Variable.model_fields),
    "codebook": list(Codebook.model_fields),
    "instrument": list(InstrumentItem.model_fields),
    "derive": list(Derivation.model_fields),
    "analysis": list(AnalysisSection.model_fields),
}
