"""How package objects show in JupyterLab: the reports' table style, in light and dark themes.

:func:`html_block` lays out a title, a few facts and tidy tables as the
reports do (a caption, a rule under the header, thin rules between rows), with
every text escaped. Colours come from JupyterLab's theme variables
(``--jp-content-font-color1`` ...) with ``currentColor`` and translucent greys as
fallbacks, so the same HTML reads on a white and on a black background (and in
a plain browser, or an exported notebook).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

#: Rows shown of a long table; the rest are counted, never silently cut.
MAX_ROWS = 20

STYLE = (
    "<style>"
    ".bp-repr{font-size:13px;line-height:1.4;color:var(--jp-content-font-color1,currentColor);"
    "max-width:100%;overflow-x:auto}"
    ".bp-repr .bp-title{font-weight:600;margin:0 0 4px}"
    ".bp-repr .bp-facts{margin:0 0 6px;color:var(--jp-content-font-color2,currentColor);"
    "opacity:.9}"
    ".bp-repr table{border-collapse:collapse;margin:4px 0 10px;font-size:12.5px}"
    ".bp-repr caption{caption-side:top;text-align:left;font-weight:600;padding:0 0 3px}"
    ".bp-repr th{text-align:left;padding:3px 10px;border-bottom:2px solid "
    "var(--jp-content-font-color1,currentColor);background:rgba(127,127,127,.12)}"
    ".bp-repr td{padding:2px 10px;border-bottom:1px solid rgba(127,127,127,.35);"
    "text-align:left;vertical-align:top}"
    ".bp-repr td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".bp-repr .bp-more{color:var(--jp-content-font-color2,currentColor);font-size:12px}"
    "</style>"
)


def html_table(frame, *, title: str | None = None, max_rows: int = MAX_ROWS) -> str:
    """A DataFrame as an escaped HTML table (numbers right-aligned), ``max_rows`` shown."""
    import pandas as pd

    esc = html.escape
    shown = frame.head(max_rows)
    numeric = [pd.api.types.is_numeric_dtype(shown[c].dtype) for c in shown.columns]
    head = "".join(f"<th>{esc(str(c))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for value, is_number in zip(row, numeric, strict=True):
            cls = ' class="num"' if is_number else ""
            cells.append(f"<td{cls}>{esc(_text(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{esc(title)}</caption>" if title else ""
    more = (f'<div class="bp-more">{len(frame) - len(shown):,} more rows of {len(frame):,} '
            "not shown</div>" if len(frame) > len(shown) else "")
    return (f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
            f"</table>{more}")


def html_block(title: str, facts: Sequence[str] = (),
               tables: Iterable[tuple[str | None, object]] = (), *,
               max_rows: int = MAX_ROWS) -> str:
    """A title, a line of facts and tables ``(caption, DataFrame)``, in the reports' style."""
    esc = html.escape
    parts = [STYLE, '<div class="bp-repr">', f'<div class="bp-title">{esc(title)}</div>']
    if facts:
        parts.append(f'<div class="bp-facts">{" · ".join(esc(f) for f in facts)}</div>')
    parts += [html_table(frame, title=caption, max_rows=max_rows) for caption, frame in tables]
    parts.append("</div>")
    return "".join(parts)


def html_lines(title: str, lines: Sequence[str]) -> str:
    """Text lines (a plan) as an escaped block; lines indented by spaces keep their depth."""
    esc = html.escape
    items = []
    for line in lines:
        depth = (len(line) - len(line.lstrip(" "))) // 2
        items.append(f'<div style="padding-left:{depth * 1.2:.1f}em">{esc(line.strip())}</div>')
    return (f'{STYLE}<div class="bp-repr"><div class="bp-title">{esc(title)}</div>'
            f"{''.join(items)}</div>")


def _text(value) -> str:
    if value is None:
        return ""
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):  # lists and arrays are shown as they print
        pass
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


__all__ = ["MAX_ROWS", "STYLE", "html_block", "html_lines", "html_table"]
