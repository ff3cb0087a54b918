"""``backpain fit``: crude and adjusted odds ratios of the outcome, as CSV and on screen."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from analysis.cli import common
from analysis.cli.app import app
from analysis.cli.common import (
    ON_INVALID,
    CodebookOption,
    DataArgument,
    OnInvalidOption,
    SheetOption,
)


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def _fmt_or(est: float, low: float, high: float) -> str:
    import pandas as pd

    if pd.isna(est):
        return ""
    if pd.isna(low):
        return "1 (ref)"
    return f"{est:.2f} ({low:.2f}-{high:.2f})"


def _fmt_p(p: float) -> str:
    import pandas as pd

    return "" if pd.isna(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def display_table(table):
    """The odds-ratio table as text columns: OR (95% CI) and p, crude and adjusted."""
    import pandas as pd

    return pd.DataFrame({
        "": table["label"],
        "n": table["n"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}"),
        "events": table["events"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}"),
        "crude OR (95% CI)": [_fmt_or(*r) for r in table[["or_crude", "ci_low_crude",
                                                          "ci_high_crude"]].to_numpy()],
        "p": table["p_crude"].map(_fmt_p),
        "adjusted OR (95% CI)": [_fmt_or(*r) for r in table[["or_adjusted", "ci_low_adjusted",
                                                             "ci_high_adjusted"]].to_numpy()],
        "p ": table["p_adjusted"].map(_fmt_p),
    })


@app.command()
def fit(
    data: DataArgument,
    codebook: CodebookOption,
    outcome: Annotated[str | None, typer.Option(
        "--outcome", help="Binary outcome (default: the codebook's outcome).")] = None,
    exposures: Annotated[str | None, typer.Option(
        "--exposures",
        help="Comma-separated exposures (default: codebook role exposure).")] = None,
    adjust: Annotated[str | None, typer.Option(
        "--adjust",
        help="Comma-separated confounders (default: codebook role confounder).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file for the OR table.")] = Path(
        "or_table.csv"),
    method: Annotated[str, typer.Option(
        "--method", help="'auto', 'rows' or 'patterns'.")] = "auto",
    firth: Annotated[bool, typer.Option("--firth", help="Firth's penalised likelihood.")] = False,
    on_invalid: OnInvalidOption = ON_INVALID,
    sheet: SheetOption = None,
) -> None:
    """Fit crude and adjusted logistic models; write the odds-ratio table as CSV and print it."""
    import warnings

    from analysis.models import logistic

    survey = common.checked_survey(data, codebook, {"--out": out}, on_invalid=on_invalid,
                                   sheet=sheet)
    with warnings.catch_warnings(record=True) as caught:
        # Library warnings (statsmodels, numpy) become one short line each, after the table.
        warnings.simplefilter("always")
        result = logistic(survey, outcome, _names(exposures), _names(adjust), method=method,
                          firth=firth)
    result.table.to_csv(out, index=False)
    info = result.info
    typer.echo(f"Outcome: {survey.label(info['outcome'])} = {info['event']}; "
               f"n = {info['n']} ({info['events']} events), {info['n_dropped']} rows with a "
               f"missing value not in the model; method: {info['method']}")
    adjusted_for = ", ".join(survey.label(c) for c in info["adjust_for"]) or "nothing"
    typer.echo(f"Adjusted for: {adjusted_for}")
    common.print_table(display_table(result.table))
    typer.echo(f"Odds ratios written to {out}")
    for line in short_warnings(caught):
        typer.echo(f"warning: {line}", err=True)


def short_warnings(caught) -> list[str]:
    """Each distinct warning once, as one short line; the package's own ones as written."""
    from analysis.cli import as_flags
    from analysis.errors import BackpainWarning

    lines: list[str] = []
    for item in caught:
        text = str(item.message).strip()
        if not issubclass(item.category, BackpainWarning):
            first = text.splitlines()[0] if text else item.category.__name__
            text = _PLAIN.get(_key(first), first)
            if len(text) > 160:
                text = text[:157] + "..."
        text = as_flags(text)
        if text not in lines:
            lines.append(text)
    return lines


def _key(text: str) -> str:
    for key in _PLAIN:
        if key in text:
            return key
    return text


# What the usual library warnings mean for an odds-ratio table.
_PLAIN = {
    "Maximum Likelihood optimization failed to converge":
        "a model did not converge: its odds ratios are unreliable (try --firth)",
    "Perfect separation": "a level separates the outcome perfectly: try --firth",
    "overflow encountered": "a model's estimates diverge (separation?): try --firth",
    "divide by zero": "a model's estimates diverge (separation?): try --firth",
    "Inverting hessian failed": "a model's standard errors could not be computed: its "
                                "intervals are unreliable (try --firth)",
    "HessianInversionWarning": "a model's standard errors could not be computed (try --firth)",
}
