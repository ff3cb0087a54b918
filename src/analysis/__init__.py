"""backpain: reproducible analysis of survey data on the causes of back-muscle spasms.

The one object that travels is the :class:`Survey`: data checked against a
codebook, with a ledger of every row excluded or value changed.

>>> from analysis import load_survey
>>> survey = load_survey("data/example/survey.csv", "data/codebooks/backpain_survey.yml",
...                      on_invalid="exclude")  # doctest: +SKIP
"""

from analysis.codebook import Codebook, load_codebook
from analysis.errors import BackpainError, BackpainWarning
from analysis.load import load_survey
from analysis.survey import Survey

__all__ = [
    "BackpainError",
    "BackpainWarning",
    "Codebook",
    "Survey",
    "load_codebook",
    "load_survey",
]
__version__ = "0.1.0"
