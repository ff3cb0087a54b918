"""Readable and HTML versions of the descriptive tables.

The tidy tables hold one row per level and numbers in their own columns;
the display puts each variable's label on a header row with its levels
indented beneath, formats p-values and SMDs, and leaves empty what does not
apply. Every string that comes from the data or the codebook is escaped.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from analysis import style
from analysis.describe.comparisons import SMD_NO_SPREAD, SMD_ONE_GROUP

INDENT = "    "
NOTE = (
    "Percentages are of respondents with a value. Numeric variables: mean (SD), or "
    "median [Q1, Q3] when skewed. Missing: respondents asked without a value. "
    "SMD: standardised mean difference (absolute; mean of pairwise SMDs for more than two groups)."
)
NOT_ASKED_NOTE = ("Not asked: respondents the question was not put to (skip logic of the "
                  "codebook); they are in neither the percentages nor the missing count.")
NO_SMD = "\u2013"  # an en dash: no SMD, for the reason its footnote marker gives
SMD_MARKERS = {SMD_ONE_GROUP: "a", SMD_NO_SPREAD: "b"}


def table_one_display(table: pd.DataFrame) -> pd.DataFrame:
    """A :func:`table_one` result as text, one display line per row, ready to print.

    Columns: ``Characteristic``, the group and Overall columns, ``Missing``,
    ``Not asked``, ``p``, ``Test``, ``SMD`` (all but ``Missing`` dropped when
    empty). An SMD that is not defined shows as an en dash with a footnote
    marker (``"–a"``); :func:`table_one_note` gives the footnotes.
    """
    groups = _groups(table)
    out = []
    for variable, rows in table.groupby("variable", sort=False):
        first = rows.iloc[0]
        stats = {
            "Missing": _count_text(first["missing"]),
            "Not asked": _count_text(first.get("not_asked", 0)),
            "p": format_p(first["p_value"]),
            "Test": first["test"] if isinstance(first["test"], str) else "",
            "SMD": _smd_text(first["smd"], first.get("smd_note", "")),
        }
        if variable == "n" or first["level"] == "":
            name = "n" if variable == "n" else f"{first['label']}, {first['summary']}"
            out.append({"Characteristic": name, **{g: first[g] for g in groups}, **stats})
            continue
        out.append({"Characteristic": f"{first['label']}, n (%)", **dict.fromkeys(groups, ""),
                    **stats})
        for _, row in rows.iterrows():
            out.append({"Characteristic": INDENT + row["level"], **{g: row[g] for g in groups}})
    display = pd.DataFrame(out).fillna("")
    keep = [c for c in display.columns if c in ("Characteristic", *groups, "Missing")
            or (display[c] != "").any()]
    return display[keep]


def table_one_note(table: pd.DataFrame, *, base: str = NOTE) -> str:
    """The footnote of a :func:`table_one` result: ``base``, then what this table needs.

    Adds the meaning of "Not asked" when a variable has respondents not
    asked, and one footnote per reason an SMD is not given, naming the
    variables (``"–a SMD not given for Pain last week: fewer than two
    groups have values to compare."``).
    """
    first = table[table["variable"] != "n"].drop_duplicates("variable")
    parts = [base]
    if "not_asked" in first and (first["not_asked"] > 0).any():
        parts.append(NOT_ASKED_NOTE)
    notes = first["smd_note"] if "smd_note" in first else pd.Series(dtype=object)
    for reason, marker in SMD_MARKERS.items():
        labels = first.loc[notes == reason, "label"].tolist()
        if labels:
            parts.append(f"{NO_SMD}{marker} SMD not given for {', '.join(labels)}: {reason}.")
    other = sorted(set(notes[(notes != "") & ~notes.isin(list(SMD_MARKERS))]))
    parts += [f"{NO_SMD} SMD not given: {reason}." for reason in other]
    return " ".join(parts)


def table_one_html(table: pd.DataFrame, *, title: str | None = None) -> str:
    """A :func:`table_one` result as an HTML ``<table>`` (labels escaped)."""
    return _html(table_one_display(table), title=title, note=table_one_note(table))


def _count_text(value) -> str:
    if isinstance(value, str):
        return value  # already reader text (a suppressed count)
    return style.count(value, zero="")


def _smd_text(value, why) -> str:
    if isinstance(why, str) and why:
        return NO_SMD + SMD_MARKERS.get(why, "")
    return style.number(value, 3)


def prevalence_display(table: pd.DataFrame, *, decimals: int | None = None) -> pd.DataFrame:
    """A :func:`prevalence` result as text: ``n, events, % (95% CI)`` per level.

    ``decimals`` of the percentages: default, the number style's (:mod:`analysis.style`).
    """
    d = style.current_style().percent_decimals if decimals is None else decimals

    def pct(p, low, high):
        if pd.isna(p):
            return ""
        return f"{style.percent(100 * p, d)} ({style.interval(100 * low, 100 * high, d)})"

    out = pd.DataFrame({
        "Variable": table["label"].where(~table["variable"].duplicated(), ""),
        "Level": table["level"],
        "n": table["n"].map(style.count),
        "Events": table["events"].map(style.count),
        "Prevalence, % (95% CI)": [
            pct(*v) for v in table[["prevalence", "ci_low", "ci_high"]].to_numpy()
        ],
    })
    if "design_prevalence" in table:  # the design's estimate supersedes the weighted one
        cols = ["design_prevalence", "design_ci_low", "design_ci_high"]
        out["Design-based, % (95% CI)"] = [pct(*v) for v in table[cols].to_numpy()]
    elif "weighted_prevalence" in table:
        cols = ["weighted_prevalence", "weighted_ci_low", "weighted_ci_high"]
        out["Weighted, % (95% CI)"] = [pct(*v) for v in table[cols].to_numpy()]
        out["Effective n"] = table["n_effective"].map(lambda v: style.number(v, 1))
    return out


def prevalence_html(table: pd.DataFrame, *, title: str | None = None) -> str:
    """A :func:`prevalence` result as an HTML ``<table>`` (labels escaped)."""
    note = "Prevalence among respondents with a known outcome; Wilson 95% intervals."
    if "weighted_prevalence" in table:
        note += " Weighted intervals use Kish's effective sample size."
    return _html(prevalence_display(table), title=title, note=note)


def write_html(text: str, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path


def format_p(p: float) -> str:
    """A p-value as the current number style writes it (:func:`analysis.style.p_value`)."""
    return style.p_value(p)


def _groups(table: pd.DataFrame) -> list[str]:
    """Display columns of a table_one result: those with an ``n:<column>`` number."""
    return [c.split(":", 1)[1] for c in table.columns if c.startswith("n:")]


def _html(display: pd.DataFrame, *, title: str | None, note: str) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in display.columns)
    body = []
    for row in display.itertuples(index=False):
        cells = []
        for value in row:
            text = str(value)
            indented = text.startswith(INDENT)
            style = ' style="padding-left:1.5em"' if indented else ""
            cells.append(f"<td{style}>{esc(text.strip() if indented else text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{esc(title)}</caption>" if title else ""
    return (
        f'<table class="backpain-table">{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody>"
        f'<tfoot><tr><td colspan="{display.shape[1]}">{esc(note)}</td></tr></tfoot></table>'
    )

