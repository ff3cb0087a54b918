"""One variable of a codebook: its type, levels, range, missing codes, role, derivation.

:class:`Variable` (with :class:`InstrumentItem` for questionnaire items and
:class:`Derivation` for derived variables) validates one entry of a
codebook's ``variables:`` mapping; :class:`~analysis.codebook.model.Codebook`
holds them and checks what concerns several variables at once (skip logic,
derivations' inputs, the analysis section). ``data/codebooks/README.md``
documents every key.
"""


from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

VariableType = Literal["id", "binary", "categorical", "ordinal", "numeric", "count", "date", "text"]
Role = Literal["outcome", "exposure", "confounder", "id", "weight", "stratum", "cluster", "match",
               "exposure_time"]
Code = int | str

VARIABLE_TYPES: tuple[str, ...] = VariableType.__args__
ROLES: tuple[str, ...] = Role.__args__
CODED_TYPES = ("binary", "categorical", "ordinal")
NUMERIC_TYPES = ("numeric", "count")
#: Cells holding one of these texts are read as missing (each counted in the
#: ledger as "missing token: NA"), unless the codebook's ``na_values`` (top
#: level, or per variable) says otherwise, or the text is a level, a label or
#: a missing code of the variable. A blank cell is missing without an entry.
DEFAULT_NA_VALUES: tuple[str, ...] = (
    "", "NA", "N/A", "n/a", "#N/A", "NaN", "nan", "None", "null", "NULL", ".")


def text_tokens(value: Any) -> Any:
    # YAML gives numbers for unquoted 99 or -9, None for an unquoted null.
    if isinstance(value, list):
        return ["" if v is None else str(v) for v in value]
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstrumentItem(Strict):
    """Membership of a questionnaire: which instrument, which item, reverse-keyed or not."""

    name: str = Field(description="instrument key, e.g. 'odi', 'rmdq', 'start_back'")
    item: int | str = Field(
        description="item number (1-based) or named field, e.g. 'vigorous_days'"
    )
    reverse: bool = False


class Derivation(Strict):
    """How a derived variable is computed from others (exactly one of the forms).

    * ``cut``: the numeric variable cut into the derived variable's levels at
      ``breaks`` (``len(levels) + 1`` numbers; intervals ``[a, b)`` unless
      ``right: true``; ``.inf`` allowed);
    * ``formula``: arithmetic on numeric variables (``+ - * / **``, numbers,
      ``log``, ``exp``, ``sqrt``, ``abs``), e.g. ``weight_kg / (height_cm / 100) ** 2``;
    * ``sum``: the sum of the listed variables (coded items by their codes);
      with ``min_items``, a respondent who answered at least that many gets
      the mean of the answered items times the number of items (prorated).
    """

    cut: str | None = None
    breaks: list[float] | None = None
    right: bool = False
    formula: str | None = None
    sum: list[str] | None = None
    min_items: int | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Derivation:
        forms = [f for f in ("cut", "formula", "sum") if getattr(self, f) is not None]
        if len(forms) != 1:
            raise ValueError("@derive: give exactly one of cut, formula or sum"
                             + (f" (got {', '.join(forms)})" if forms else ""))
        if self.cut is not None and not self.breaks:
            raise ValueError("@derive.breaks: a cut needs its breaks")
        if self.breaks is not None and sorted(self.breaks) != list(self.breaks):
            raise ValueError("@derive.breaks: breaks must increase")
        if self.min_items is not None and self.sum is None:
            raise ValueError("@derive.min_items: only a sum has min_items")
        if self.formula is not None:
            from analysis.codebook.formula import FormulaError, formula_names

            try:
                formula_names(self.formula)
            except FormulaError as exc:
                raise ValueError(f"@derive.formula: {exc}") from None
        return self

    @property
    def inputs(self) -> list[str]:
        """The variables this one is computed from."""
        if self.cut is not None:
            return [self.cut]
        if self.sum is not None:
            return list(self.sum)
        from analysis.codebook.formula import formula_names

        return formula_names(self.formula)


class Variable(Strict):
    """One column of the survey."""

    name: str
    type: VariableType
    label: str
    description: str | None = None
    levels: dict[Code, str] | None = None
    reference: Code | None = None
    range: tuple[float | str | None, float | str | None] | None = None
    unit: str | None = None
    missing: dict[Code, str] = Field(default_factory=dict)
    role: Role | None = None
    pii: bool = False
    required: bool = True
    format: str | None = None
    instrument: InstrumentItem | None = None
    asked_if: dict[str, Code | list[Code]] | None = None
    event: Code | None = None
    per: float | Literal["sd", "iqr"] | None = None
    derive: Derivation | None = None
    na_values: list[str] | None = None

    _text_tokens = field_validator("na_values", mode="before")(text_tokens)

    @model_validator(mode="after")
    def _consistent(self) -> Variable:
        problems: list[tuple[str, str]] = []
        if self.event is not None:
            if self.type != "binary":
                problems.append(("event", f"only a binary variable has an event, not a "
                                          f"{self.type} one"))
            elif self.event not in self.codes:
                problems.append(("event", f"{self.event!r} is not one of the levels "
                                          f"{self.codes}"))
        if self.per is not None and self.type not in NUMERIC_TYPES:
            problems.append(("per", f"only a numeric or count variable has a per, not a "
                                    f"{self.type} one"))
        if isinstance(self.per, float) and self.per <= 0:
            problems.append(("per", f"per is a positive number, 'sd' or 'iqr', not {self.per}"))
        if self.derive is not None:
            if self.derive.cut is not None and self.type not in ("categorical", "ordinal"):
                problems.append(("derive", "a cut gives a categorical or ordinal variable"))
            if (self.derive.cut is not None and self.levels
                    and len(self.derive.breaks) != len(self.levels) + 1):
                problems.append(("derive.breaks", f"{len(self.levels)} levels need "
                                                  f"{len(self.levels) + 1} breaks, got "
                                                  f"{len(self.derive.breaks)}"))
            if self.derive.cut is None and self.type not in NUMERIC_TYPES:
                problems.append(("derive", f"a formula or sum gives a numeric variable, not a "
                                           f"{self.type} one"))
        shared: dict[str, list[Code]] = {}
        for code, label in (self.levels or {}).items():
            shared.setdefault(str(label).strip(), []).append(code)
        shared = {label: codes for label, codes in shared.items() if len(codes) > 1}
        if shared:
            label, codes = next(iter(shared.items()))
            problems.append(("levels", f"codes {', '.join(map(repr, codes))} share the label "
                             f"{label!r}; give each level its own label (or merge the codes "
                             "into one level)"))
        if self.type in CODED_TYPES:
            if self.type == "binary" and self.levels is not None and len(self.levels) != 2:
                problems.append(
                    ("levels", f"a binary variable has exactly 2 levels, got {len(self.levels)}")
                )
            if self.type != "binary" and not self.levels:
                problems.append(
                    ("levels", f"a {self.type} variable needs its levels (code: label)")
                )
        elif self.levels is not None:
            problems.append(
                ("levels", f"a {self.type} variable has no levels; use type categorical")
            )
        if self.reference is not None and self.reference not in self.codes:
            problems.append(
                ("reference", f"{self.reference!r} is not one of the levels {self.codes}")
            )
        if self.range is not None:
            low, high = self.range
            if self.type not in (*NUMERIC_TYPES, "ordinal", "categorical", "binary", "date"):
                problems.append(("range", f"a {self.type} variable has no range"))
            if self.type != "date" and (isinstance(low, str) or isinstance(high, str)):
                problems.append(("range", "the ends of a range are numbers (or null)"))
            elif low is not None and high is not None and range_order(low) > range_order(high):
                problems.append(("range", f"minimum {low} is above maximum {high}"))
        overlap = set(self.missing) & set(self.codes)
        if overlap:
            problems.append(
                ("missing", f"codes {sorted(overlap, key=str)} are both levels and missing codes")
            )
        if self.format is not None and self.type != "date":
            problems.append(("format", "only a date variable has a format"))
        if self.role == "id" and self.type not in ("id", "text"):
            problems.append(("role", "role id belongs to a variable of type id"))
        if self.role in ("weight",) and self.type not in NUMERIC_TYPES:
            problems.append(("role", "a weight is numeric"))
        if problems:
            key, why = problems[0]
            raise ValueError(f"@{key}: {why}")
        return self

    @property
    def codes(self) -> list[Code]:
        """Level codes in codebook order (binary defaults to 0 = No, 1 = Yes)."""
        return list(self.level_labels)

    @property
    def level_labels(self) -> dict[Code, str]:
        """Code -> label in table order; a binary variable's event comes second.

        Every model and table takes the second level of a binary variable as
        its event, so an ``event:`` that names the first code is moved to the
        second place here, once, for all of them.
        """
        if self.levels is not None:
            labels = dict(self.levels)
        elif self.type == "binary":
            labels = {0: "No", 1: "Yes"}
        else:
            return {}
        if self.type == "binary" and self.event is not None and self.event in labels \
                and list(labels)[-1] != self.event:
            labels = {**{c: v for c, v in labels.items() if c != self.event},
                      self.event: labels[self.event]}
        return labels

    @property
    def reference_level(self) -> str | None:
        """Label of the reference level: the one named, else the first."""
        labels = self.level_labels
        if not labels:
            return None
        code = self.reference if self.reference is not None else next(iter(labels))
        return labels[code]

    @property
    def is_identifier(self) -> bool:
        return self.pii or self.type == "id" or self.role == "id"

    @property
    def event_label(self) -> str | None:
        """Label of a binary variable's event: the level named by ``event``, else the second."""
        if self.type != "binary":
            return None
        labels = self.level_labels
        return list(labels.values())[1]


def range_order(end: float | str):
    # ISO dates compare correctly as text; numbers as numbers.
    return str(end) if isinstance(end, str) else float(end)
