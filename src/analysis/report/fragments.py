"""The HTML a report notebook shows: a fragment Jupyter displays, a table, a key.

:func:`html_table` renders a reader-safe text table as escaped HTML (numbers
kept on one line, suppressed cells marked); :class:`Html` is what every
:class:`~analysis.report.session.ReportSession` method returns; :func:`table_key`
makes a file-safe key from the names of the user's survey.
"""

from __future__ import annotations

import html
import re

import pandas as pd


class Html:
    """An HTML fragment that Jupyter shows as HTML and prints as its text."""

    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def table_key(*parts: str) -> str:
    """A table or figure key from names of the user's survey: ``BackProblems`` -> ``backproblems``.

    Keys name files (``tables/<notebook>_<key>.csv``), so they are lower-case
    letters, digits and underscores, whatever the codebook's variable names are.
    """
    key = re.sub(r"[^a-z0-9_]+", "_", "_".join(parts).lower()).strip("_")
    return key if key and key[0].isalnum() else f"k_{key}"


# A number, a percentage or an estimate with its interval in brackets ("1.71 (1.44-2.02)"):
# such a cell is not broken across lines ("1.44-" above "2.02" reads as two numbers).
NUMBER = re.compile(r"[<>≤≥−+-]?\d[\d.,]*%?( \([^()]{1,30}\))?")


def html_table(frame: pd.DataFrame, *, title: str | None = None, note: str | None = None,
               suppressed: str | list[str] | None = None) -> str:
    """``frame`` as an HTML table; every header, cell, title and note is escaped.

    Cells reading one of ``suppressed`` (``"<5"``, ``"suppressed"``) get the
    class ``suppressed``, so the page can set them apart.
    """
    esc = html.escape
    suppressed = [suppressed] if isinstance(suppressed, str) else list(suppressed or [])
    head = "".join(f"<th>{esc(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) \
                else str(value)
            classes = []
            if text.startswith("    "):
                classes.append("level")
                text = text.strip()
            if text in suppressed:
                classes.append("suppressed")
            elif NUMBER.fullmatch(text):
                classes.append("num")
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{esc(title)}</caption>" if title else ""
    # the note in a block of its own: on a phone it wraps to the screen, not the table
    foot = (f'<tfoot><tr><td colspan="{frame.shape[1]}"><div class="note">{esc(note)}</div>'
            "</td></tr></tfoot>" if note else "")
    return (f'<table class="backpain-table">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody>{foot}</table>")
