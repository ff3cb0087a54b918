"""What the report will fit, as data: a :class:`ModelPlan` per outcome in an :class:`AnalysisPlan`.

The plan is decided by :func:`analysis.plan.plan` from the codebook and the
data, states every decision in words (``reasons``), can be changed in Python
(``dataclasses.replace``) or by the codebook's ``analysis:`` section, and is
written into ``results.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MODELS = ("logistic", "Firth logistic", "conditional logistic", "Poisson",
          "negative binomial", "proportional odds", "multinomial")


@dataclass
class ModelPlan:
    """The model of one outcome: its family, variables, scale of continuous exposures.

    ``per`` maps each continuous exposure to the step its estimate is reported
    for (10 for "per 10 years"); ``reasons`` says in words why each choice was
    made. ``dropped`` names variables left out (no variation, aliased) and why.
    """

    outcome: str
    label: str
    kind: str  # binary, count, ordinal, nominal
    model: str
    exposures: list[str]
    adjust_for: list[str]
    event: str | None = None
    interactions: list[tuple[str, str]] = field(default_factory=list)
    per: dict[str, float] = field(default_factory=dict)
    per_text: dict[str, str] = field(default_factory=dict)
    exposure_time: str | None = None
    match: str | None = None
    design: bool = False
    missing: str = "complete cases"
    n_read: int = 0
    n_complete: int = 0
    reasons: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    subsample: bool = False  # the second model, in the respondents with sub-sample measures
    # effect measures fitted beside the model's own: "prevalence ratio", "prevalence difference"
    measures: list[str] = field(default_factory=list)
    # From the codebook's causal diagram: each exposure's own adjustment set (empty: mutual
    # adjustment of all exposures for ``adjust_for`` in one model).
    adjustment_sets: dict[str, list[str]] = field(default_factory=dict)
    adjustment_reasons: dict[str, str] = field(default_factory=dict)  # why, per exposure

    @property
    def key(self) -> str:
        """A name for tables and figures of this model: the outcome, ``_subsample`` added."""
        return self.outcome + ("_subsample" if self.subsample else "")

    @property
    def estimate(self) -> str:
        """The reported measure: odds ratio, incidence rate ratio, relative risk ratio."""
        return {"Poisson": "incidence rate ratio", "negative binomial": "incidence rate ratio",
                "multinomial": "relative risk ratio"}.get(self.model, "odds ratio")


@dataclass
class AnalysisPlan:
    """Everything a report decides from the codebook and the data, in one place."""

    name: str
    models: list[ModelPlan]
    design: dict[str, str | None] | None = None
    continuous: list[str] = field(default_factory=list)
    instruments: list[str] = field(default_factory=list)
    simulated: bool = False
    sections: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def model(self, outcome: str) -> ModelPlan:
        for m in self.models:
            if m.outcome == outcome:
                return m
        from analysis.errors import ModelError

        raise ModelError(f"The plan has no model of {outcome!r}; it has "
                         f"{', '.join(m.outcome for m in self.models) or 'none'}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``results.json`` (lists, strings and numbers only)."""
        out = asdict(self)
        for m in out["models"]:
            m["interactions"] = [list(pair) for pair in m["interactions"]]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalysisPlan:
        """The plan :meth:`to_dict` gave (e.g. read back from JSON): an equal plan."""
        models = [ModelPlan(**{**m, "interactions": [tuple(p) for p in m["interactions"]]})
                  for m in data["models"]]
        return cls(**{**data, "models": models})

    def __str__(self) -> str:
        lines = [f"Analysis plan for {self.name}"]
        if self.design:
            parts = [f"{role} {name}" for role, name in self.design.items() if name]
            lines.append("  design: " + ", ".join(parts) + " (design-based estimates)")
        lines += [f"  {r}" for r in self.reasons]
        for m in self.models:
            lines.append(f"- {m.label} ({m.outcome}): "
                         + (f"{m.model} regression, {m.estimate}s" if m.model
                            else "not modelled (described only)")
                         + (f"; event: {m.event}" if m.event else ""))
            lines.append(f"    exposures: {', '.join(m.exposures) or 'none'}")
            if m.adjustment_sets:
                lines += [f"    {x} adjusted for: {', '.join(z) or 'nothing'}"
                          for x, z in m.adjustment_sets.items()]
            else:
                lines.append(f"    adjusted for: {', '.join(m.adjust_for) or 'nothing'}")
            if m.interactions:
                lines.append("    interactions: " + ", ".join(f"{a} x {b}"
                                                            for a, b in m.interactions))
            if m.measures:
                lines.append("    also: " + ", ".join(f"{x}s" for x in m.measures)
                             + " (marginal standardisation)")
            for name, text in m.per_text.items():
                lines.append(f"    {name}: {text}")
            lines.append(f"    rows: {m.n_complete} of {m.n_read} complete ({m.missing})")
            lines += [f"    {r}" for r in m.reasons]
            lines += [f"    left out {name}: {why}" for name, why in m.dropped.items()]
        lines.append("  sections: " + ", ".join(self.sections))
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        """Jupyter: the same lines as ``print(plan)``, indented, in the reports' style."""
        from analysis.display import html_lines

        title, *lines = str(self).splitlines()
        return html_lines(title, lines)


__all__ = ["MODELS", "AnalysisPlan", "ModelPlan"]
