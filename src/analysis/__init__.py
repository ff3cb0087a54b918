"""backpain: reproducible analysis of survey data on the causes of back-muscle spasms.

The one object that travels is the :class:`Survey`: data checked against a
codebook, with a ledger of every row excluded or value changed.

>>> from analysis import load_survey
>>> survey = load_survey("data/example/survey.csv", "data/codebooks/backpain_survey.yml",
...                      on_invalid="exclude")  # doctest: +SKIP
"""

from analysis.errors import BackpainError, BackpainWarning

__all__ = [
    "BackpainError",
    "BackpainWarning",
    "Codebook",
    "Survey",
    "load_codebook",
    "load_survey",
]
__version__ = "0.1.0"

# The rest is imported when first used, so `backpain --help` does not pay for pandas,
# DuckDB and statsmodels (benchmarks/bench_cli_help.py).
_LAZY = {"Codebook": "analysis.codebook", "load_codebook": "analysis.codebook",
         "load_survey": "analysis.load", "Survey": "analysis.survey"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
