"""Distribution of a questionnaire score, with its interpretation bands shaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from analysis.errors import ReportError
from analysis.figures.theme import (
    COLOURS,
    FONT,
    OKABE_ITO,
    describe,
    new_axes,
    set_title,
    themed,
    wrap,
)
from analysis.instruments import ODI_BANDS
from analysis.style import count

# Fairbank & Pynsent (2000) bands of the ODI percentage, as analysis.instruments.odi_band
ODI_LIMITS = (0, 20, 40, 60, 80, 100)
NAMED_BANDS: dict[str, list[tuple[float, float, str]]] = {
    "odi": [(lo, hi, name) for lo, hi, name in zip(ODI_LIMITS[:-1], ODI_LIMITS[1:], ODI_BANDS,
                                                   strict=True)],
}
BAND_COLOURS = [OKABE_ITO[k] for k in ("bluish_green", "sky_blue", "yellow", "orange",
                                       "vermillion", "reddish_purple")]


def score_distribution(scores: pd.Series, *, ax: Axes | None = None,
                       bands: str | Sequence | Mapping | None = None, label: str | None = None,
                       bins: int | Sequence[float] | None = None,
                       title: str | None = None) -> Axes:
    """Histogram of a score (number of respondents), bands of interpretation shaded behind it.

    ``scores`` is a numeric Series (e.g. ``survey.data["odi_pct"]``; missing
    scores are counted in the caption, not drawn). ``bands`` is ``"odi"``
    (Fairbank bands 0-20 minimal, 21-40 moderate, 41-60 severe, 61-80
    crippled, 81-100 bed-bound), a list of ``(low, high, name)`` or a mapping
    ``{name: (low, high)}``. ``label`` names the score on the x axis
    (defaults to the Series name). Bins: numpy's "auto" rule, or aligned on
    the band limits when bands are given; for whole-number scores, bins of
    whole-number width centred on the values (no empty gaps between bars).

    Returns
    -------
    matplotlib.axes.Axes
    """
    values = pd.to_numeric(pd.Series(scores), errors="coerce").to_numpy(dtype=float)
    known = values[np.isfinite(values)]
    if not known.size:
        raise ReportError(f"score_distribution: {getattr(scores, 'name', 'the score')!r} has no "
                          "non-missing values to draw.")
    band_list = _bands(bands)
    if bins is None:
        if band_list:
            lo, hi = band_list[0][0], band_list[-1][1]
            width = (hi - lo) / (5 * len(band_list))  # five bins per band
            bins = np.arange(lo, hi + width / 2, width)
        else:
            bins = np.histogram_bin_edges(known, "auto")
            if np.all(known == np.round(known)):
                # whole-number scores (RMDQ 0-24, STarT 0-9): bins narrower than 1 leave empty
                # gaps between the bars; edges halfway between the possible values do not
                width = max(1.0, float(np.ceil(bins[1] - bins[0])) if len(bins) > 1 else 1.0)
                n_bins = int(np.ceil((known.max() - known.min() + 1) / width))
                bins = known.min() - 0.5 + width * np.arange(n_bins + 1)
    counts, edges = np.histogram(known, bins=bins)
    name = label or str(getattr(scores, "name", None) or "Score")
    with themed():
        own = ax is None
        ax = new_axes(ax, 4.8)
        ax.stairs(counts, edges, fill=True, color=COLOURS["estimate"], alpha=0.9,
                  label="respondents", gid="score-histogram")
        top = counts.max() * 1.3 if counts.max() else 1
        for k, (lo, hi, band) in enumerate(band_list):
            ax.axvspan(lo, hi, color=BAND_COLOURS[k % len(BAND_COLOURS)], alpha=0.18,
                       linewidth=0, zorder=0, gid="band")
            ax.text((lo + hi) / 2, 0.98, wrap(band, 14), transform=ax.get_xaxis_transform(),
                    ha="center", va="top", fontsize=FONT["small"] - 1,
                    color=COLOURS["reference"])
        ax.set_ylim(0, top)
        if band_list:
            ax.set_xlim(band_list[0][0], band_list[-1][1])
        missing = values.size - known.size
        ax.set_xlabel(f"{name}\n(n = {count(known.size)} with a score"
                      + (f"; {count(missing)} missing)" if missing else ")"))
        ax.set_ylabel("Respondents")
        ax.grid(axis="y")
        set_title(ax, title or f"Distribution of {name}", own_figure=own)
        describe(ax, f"Histogram of {name} in {known.size:,} respondents"
                 + (f", over the shaded bands {', '.join(b for _, _, b in band_list)}."
                    if band_list else "."))
    return ax


def _bands(bands) -> list[tuple[float, float, str]]:
    if bands is None:
        return []
    if isinstance(bands, str):
        if bands.lower() not in NAMED_BANDS:
            raise ReportError(f"score_distribution: unknown bands {bands!r}; use one of "
                              f"{sorted(NAMED_BANDS)} or a list of (low, high, name).")
        return NAMED_BANDS[bands.lower()]
    if isinstance(bands, Mapping):
        return [(float(lo), float(hi), str(name)) for name, (lo, hi) in bands.items()]
    out = [(float(lo), float(hi), str(name)) for lo, hi, name in bands]
    return sorted(out)
