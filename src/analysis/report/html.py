"""Executed notebook → one self-contained, deterministic HTML page.

nbconvert's ``basic`` template gives the cells without a page around them
(no MathJax or require.js from a CDN, no 300 kB of JupyterLab CSS); this
module wraps them in a small page of its own: inline CSS, a table of
contents built from the headings, and nothing fetched from anywhere. The
reader version drops the code, the parameter cells and anything written to
standard error; the analyst version keeps the code. Random ids are replaced
by numbered ones, so two runs give the same bytes.
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEADING = re.compile(r'<h([1-3]) id="([^"]+)">(.*?)</h\1>', re.S)
TAG = re.compile(r"<[^>]+>")
PARAMETER_TAGS = {"parameters", "injected-parameters"}

CSS = """
:root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --accent: #0b5394; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: var(--ink); background: #fff; }
.layout { display: flex; align-items: flex-start; max-width: 1240px; margin: 0 auto; }
nav.toc { position: sticky; top: 0; flex: 0 0 230px; max-height: 100vh; overflow-y: auto;
  padding: 24px 16px; border-right: 1px solid var(--line); font-size: 14px; }
nav.toc h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em;
  color: var(--muted); margin: 0 0 8px; }
nav.toc ol { list-style: none; padding-left: 0; margin: 0; }
nav.toc ol ol { padding-left: 14px; }
nav.toc a { color: var(--accent); text-decoration: none; display: block; padding: 2px 0; }
main { flex: 1 1 auto; min-width: 0; padding: 24px 40px 64px; }
h1 { font-size: 28px; margin: 0 0 12px; }
h2 { font-size: 21px; margin: 36px 0 10px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 17px; margin: 24px 0 8px; }
a.anchor-link { display: none; }
.backpain-banner { background: #fff4e5; border: 2px solid #e8a33d; border-radius: 6px;
  padding: 10px 14px; margin: 12px 0 20px; }
.backpain-notice { background: #f3f6fb; border-left: 4px solid #4a6fa5; padding: 6px 14px;
  margin: 12px 0 8px; font-size: 14px; max-width: 60em; }
.backpain-notice p { margin: 4px 0; font-weight: 600; }
.backpain-methods summary { cursor: pointer; color: var(--accent); margin: 8px 0; }
.backpain-notice ul { margin: 4px 0 6px; padding-left: 20px; }
/* a wide table scrolls inside its own box, never the page */
main table { display: block; width: fit-content; max-width: 100%; overflow-x: auto; }
table.backpain-table { border-collapse: collapse; margin: 12px 0 24px; font-size: 13.5px;
  font-variant-numeric: tabular-nums; }
table.backpain-table caption { caption-side: top; text-align: left; font-weight: 600;
  padding: 4px 0 8px; }
table.backpain-table th { text-align: left; border-bottom: 2px solid var(--ink);
  padding: 4px 10px; vertical-align: bottom; }
table.backpain-table td { padding: 3px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
table.backpain-table td.level { padding-left: 26px; }
table.backpain-table td.suppressed { color: var(--muted); font-style: italic; }
table.backpain-table td.num { white-space: nowrap; }
table.backpain-table tfoot td { border-bottom: none; color: var(--muted); font-size: 12.5px;
  padding-top: 8px; max-width: 60em; }
/* a URL or a long variable name breaks rather than widening the page */
main p, main li, main a, main figcaption, nav.toc a, .backpain-notice {
  overflow-wrap: anywhere; }
figure.backpain-figure { position: relative; margin: 12px 0 28px; }
figure.backpain-figure input.zoom { position: absolute; opacity: 0; width: 1px; height: 1px; }
figure.backpain-figure label { display: block; }
main img, main svg { max-width: 100%; height: auto; }
figure.backpain-figure figcaption { color: var(--muted); font-size: 13px; }
.jp-InputArea, .input_area { margin: 8px 0; }
pre { background: #f5f7fa; padding: 8px 12px; overflow-x: auto; font-size: 12.5px;
  border-radius: 4px; }
.jp-OutputArea-output pre, .output_text pre { background: none; }
@media (max-width: 760px) {
  .layout { display: block; }
  nav.toc { position: static; max-height: none; border-right: none;
    border-bottom: 1px solid var(--line); padding: 12px 16px; }
  main { padding: 12px 16px 48px; }
  h1 { font-size: 23px; }
  h2 { font-size: 19px; }
  table.backpain-table { font-size: 13px; }
  /* row labels keep a readable width; the numbers scroll beside them */
  table.backpain-table td:first-child { min-width: 9.5em; }
  table.backpain-table th, table.backpain-table td { padding: 3px 7px; }
  table.backpain-table td.level { padding-left: 16px; }
  /* a table wider than the phone scrolls in its box: its title and note stay on the
     screen, wrapped to it, and a shadow at the edge says more columns are beside */
  table.backpain-table caption { display: block; }
  table.backpain-table caption, table.backpain-table tfoot div.note {
    position: sticky; left: 0; }
  /* as wide as main's text column (a container: 100cqw), not the window, whose 100vw
     counts a scroll bar; the note sits in a cell, less its padding on both sides */
  main { container-type: inline-size; }
  table.backpain-table caption { max-width: 100cqw; }
  table.backpain-table tfoot div.note { max-width: calc(100cqw - 14px); }
  main table {
    background: linear-gradient(to right, #fff 30%, rgba(255, 255, 255, 0)),
      linear-gradient(to left, #fff 30%, rgba(255, 255, 255, 0)) 100% 0,
      radial-gradient(farthest-side at 0 50%, rgba(0, 0, 0, .18), rgba(0, 0, 0, 0)),
      radial-gradient(farthest-side at 100% 50%, rgba(0, 0, 0, .18), rgba(0, 0, 0, 0)) 100% 0;
    background-repeat: no-repeat; background-size: 40px 100%, 40px 100%, 12px 100%, 12px 100%;
    background-attachment: local, local, scroll, scroll; }
  /* a figure scaled to a phone has small text: a tap enlarges it in its own box */
  figure.backpain-figure { overflow-x: auto; }
  figure.backpain-figure label { cursor: zoom-in; }
  figure.backpain-figure input.zoom:checked + label { cursor: zoom-out; }
  /* twice the screen (text of about 13 px), never beyond the drawn size */
  figure.backpain-figure input.zoom:checked + label img { max-width: 200%; }
  figure.backpain-figure input.zoom:focus-visible + label { outline: 2px solid var(--accent); }
  figure.backpain-figure figcaption::after { content: " (tap the figure to enlarge it)"; }
}
@media print {
  @page { margin: 16mm 14mm; }
  body { font-size: 10.5pt; }
  nav.toc, figure.backpain-figure input.zoom { display: none; }
  figure.backpain-figure figcaption::after { content: none; }
  .layout { display: block; max-width: none; }
  main { padding: 0; }
  h2 { break-before: page; }
  h2, h3, caption { break-after: avoid; }
  figure.backpain-figure, tr, .backpain-notice { break-inside: avoid; }
  /* a tall figure (a long forest plot) shrinks to one page rather than splitting */
  figure.backpain-figure img { max-height: 235mm; width: auto; }
  /* paper does not scroll: tables wrap to the page instead */
  main table { display: table; width: auto; max-width: 100%; overflow: visible; }
  table.backpain-table { font-size: 9pt; }
  table.backpain-table td, table.backpain-table th { overflow-wrap: break-word; }
  a { color: inherit; text-decoration: none; }
  .backpain-banner { border-color: #000; }
}
"""


def _reader_copy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook a reader sees: no parameter cells, no stderr, no papermill error banner."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & PARAMETER_TAGS or "papermill-error-cell-tag" in tags:
            continue
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        cells.append(cell)
    nb.cells = cells
    return nb


def _clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop run-specific metadata (papermill timings, execution counts)."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("papermill", None)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i + 1}"  # papermill gives its injected cell a random id
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.execution_count = None
            for output in cell.outputs:
                if "execution_count" in output:
                    output["execution_count"] = None
    return nb


def toc(body: str) -> tuple[str, str]:
    """The page title (first h1) and a nested list of the h2/h3 headings as links."""
    title, items, level = "Report", [], 2
    for depth, anchor, inner in HEADING.findall(body):
        text = html.unescape(TAG.sub("", inner)).replace("¶", "").strip()
        if depth == "1":
            title = title if title != "Report" else text
            continue
        depth = int(depth)
        while level < depth:
            items.append("<ol>")
            level += 1
        while level > depth:
            items.append("</ol>")
            level -= 1
        items.append(f'<li><a href="#{html.escape(anchor)}">{html.escape(text)}</a></li>')
    items += ["</ol>"] * (level - 2)
    return title, "<ol>" + "".join(items) + "</ol>"


def page(body: str, *, title: str | None = None, nav: str | None = None) -> str:
    """A complete HTML page around ``body``, with inline CSS and the table of contents."""
    found, contents = toc(body)
    title = title or found
    nav_html = ("" if nav is None else nav) + contents
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        '<div class="layout">\n<nav class="toc" aria-label="Contents"><h2>Contents</h2>'
        f"{nav_html}</nav>\n<main>\n{body}\n</main>\n</div>\n</body>\n</html>\n"
    )


def deterministic(text: str) -> str:
    """Replace random uuids by numbered ids (same order, same numbers, every run)."""
    seen: dict[str, str] = {}

    def number(match: re.Match) -> str:
        return seen.setdefault(match.group(0), f"id-{len(seen) + 1}")

    return UUID.sub(number, text)


def export_html(nb: nbformat.NotebookNode, *, reader: bool, nav: str | None = None) -> str:
    """An executed notebook as one self-contained page (``reader``: without code)."""
    nb = _clean(_reader_copy(nb) if reader else nb)
    exporter = HTMLExporter(template_name="basic", exclude_input=reader,
                            exclude_input_prompt=True, exclude_output_prompt=True,
                            embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return deterministic(page(body, nav=nav))


def write_text(path: Path, text: str) -> Path:
    """Write with ``\\n`` line ends whatever the platform, so the bytes match."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    return path
