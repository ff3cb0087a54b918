"""Codebook entries of the scores that :func:`score_instruments` adds to a survey."""

from __future__ import annotations

from analysis.codebook import Variable
from analysis.instruments.ipaq import IPAQ_CATEGORIES, IPAQ_STATUS
from analysis.instruments.nprs import NPRS_CATEGORIES
from analysis.instruments.odi import ODI_BANDS
from analysis.instruments.start_back import SBST_RISK


def _levels(labels, start: int = 1) -> dict[int, str]:
    return {i: label for i, label in enumerate(labels, start=start)}


def _var(name: str, type_: str, label: str, **kw) -> Variable:
    return Variable(name=name, type=type_, label=label, required=False, **kw)


def score_variables(settings: dict) -> dict[str, Variable]:
    """One Variable per score column, describing the setting it was scored with."""
    s = settings
    met = {"type_": "numeric", "range": (0, None), "unit": "MET-min/week"}
    variables = [
        _var("odi_pct", "numeric", "Oswestry Disability Index (%)", range=(0, 100), unit="%",
             description=f"ODI v2.1a, 100 x sum / (5 x sections answered), unrounded; "
                         f"at most {s['odi_max_missing']} section(s) missing."),
        _var("odi_band", "ordinal", "ODI disability band", levels=_levels(ODI_BANDS),
             description="Fairbank & Pynsent 2000: <=20, <=40, <=60, <=80, >80 %."),
        _var("odi_answered", "count", "ODI sections answered", range=(0, 10)),
        _var("rmdq_score", "numeric", "Roland-Morris Disability Questionnaire score",
             range=(0, 24), description=f"Items ticked, 0-24; missing items: {s['rmdq_missing']}."),
        _var("rmdq_answered", "count", "RMDQ items answered", range=(0, 24)),
        _var("sbst_total", "count", "STarT Back total score", range=(0, 9)),
        _var("sbst_psychosocial", "count", "STarT Back psychosocial subscale", range=(0, 5),
             description=f"Psychosocial items: {s['sbst_subscale']} numbering."),
        _var("sbst_risk", "ordinal", "STarT Back risk group", levels=_levels(SBST_RISK)),
        _var("ipaq_walk_met", label="IPAQ walking (MET-min/week)", **met),
        _var("ipaq_moderate_met", label="IPAQ moderate activity (MET-min/week)", **met),
        _var("ipaq_vigorous_met", label="IPAQ vigorous activity (MET-min/week)", **met),
        _var("ipaq_total_met", label="IPAQ total physical activity (MET-min/week)", **met,
             description="IPAQ short form, 2005 protocol; report medians and IQRs."),
        _var("ipaq_category", "ordinal", "IPAQ physical activity level",
             levels=_levels(IPAQ_CATEGORIES),
             description=f"2005 protocol §5.3; moderate (b) read as {s['ipaq_moderate_b']!r}."),
        _var("ipaq_status", "categorical", "IPAQ scoring status", levels=_levels(IPAQ_STATUS)),
        _var("ipaq_sitting_min", "numeric", "IPAQ sitting time on a weekday", range=(0, None),
             unit="min/day"),
        _var("nprs_category", "ordinal", "Pain severity (NPRS category)",
             levels=_levels(NPRS_CATEGORIES, start=0),
             description=f"Cut-points of the {s['nprs_scheme']!r} scheme."),
        _var("fabq_pa", "count", "FABQ physical activity subscale", range=(0, 24)),
        _var("fabq_w", "count", "FABQ work subscale", range=(0, 42)),
        _var("fabq_pa_high", "binary", "FABQ physical activity elevated",
             description=f"Above the {s['fabq_thresholds']!r} cut-off."),
        _var("fabq_w_high", "binary", "FABQ work elevated",
             description=f"Above the {s['fabq_thresholds']!r} cut-off."),
        _var("orebro_total", "count", "Örebro short form total", range=(1, 100)),
        _var("orebro_at_risk", "binary", "Örebro short form: at risk (total >= 50)"),
    ]
    return {v.name: v for v in variables}
