"""Scoring of standard back-pain questionnaires, exactly as their manuals say.

Rules, sources, test vectors and the points where sources disagree are in
``reference/instruments.md`` (shared folder). Each scorer takes a DataFrame of
item codes in item order, one row per respondent, indexed by the respondent's
line, with NA for a missing answer, and returns a DataFrame with the same
index. Where sources disagree, the choice is a named setting whose default is
the reference's recommendation. :func:`score_instruments` scores a whole
:class:`~analysis.survey.Survey` through its codebook.
"""

from analysis.instruments.change import MIC, important_change
from analysis.instruments.fabq import FABQ_THRESHOLDS, fabq
from analysis.instruments.ipaq import IPAQ_CATEGORIES, IPAQ_STATUS, ipaq_short
from analysis.instruments.nmq import NMQ_REGIONS, nmq_prevalence
from analysis.instruments.nprs import NPRS_CATEGORIES, NPRS_SCHEMES, nprs_category
from analysis.instruments.odi import ODI_BANDS, odi, odi_band
from analysis.instruments.orebro import orebro_short
from analysis.instruments.reliability import cronbach_alpha
from analysis.instruments.rmdq import RMDQ_MISSING, rmdq
from analysis.instruments.scoring import INSTRUMENT_ITEMS, score_instruments
from analysis.instruments.start_back import SBST_RISK, SUBSCALE_ITEMS, start_back

__all__ = [
    "FABQ_THRESHOLDS",
    "INSTRUMENT_ITEMS",
    "IPAQ_CATEGORIES",
    "IPAQ_STATUS",
    "MIC",
    "NMQ_REGIONS",
    "NPRS_CATEGORIES",
    "NPRS_SCHEMES",
    "ODI_BANDS",
    "RMDQ_MISSING",
    "SBST_RISK",
    "SUBSCALE_ITEMS",
    "cronbach_alpha",
    "fabq",
    "important_change",
    "ipaq_short",
    "nmq_prevalence",
    "nprs_category",
    "odi",
    "odi_band",
    "orebro_short",
    "rmdq",
    "score_instruments",
    "start_back",
]
