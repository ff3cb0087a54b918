"""The blocks of a reader page (headings, paragraphs, tables, figures), in order."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from analysis.report.exports.tables import INDENT, ExportTable


class _ReportParser(HTMLParser):
    """Blocks of a reader page, in order: headings, paragraphs, tables, figures."""

    BLOCKS = frozenset({"p", "li", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple] = []
        self._main = False
        self._text: list[str] | None = None
        self._tag = ""
        self._skip = 0  # inside an anchor link or a nav
        self._table: dict | None = None
        self._cell: list[str] | None = None
        self._cell_level = False
        self._figure: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "main":
            self._main = True
        if not self._main:
            return
        classes = (a.get("class") or "").split()
        if tag == "a" and "anchor-link" in classes:
            self._skip += 1
        elif tag == "table" and "backpain-table" in classes:
            self._table = {"caption": "", "head": [], "rows": [], "note": "", "part": ""}
        elif self._table is not None:
            if tag in ("thead", "tbody", "tfoot", "caption"):
                self._table["part"] = tag
                if tag == "caption":
                    self._cell = []
            elif tag == "tr" and self._table["part"] == "tbody":
                self._table["rows"].append([])
            elif tag in ("td", "th"):
                self._cell, self._cell_level = [], "level" in classes
        elif tag == "figure":
            self._figure = {"src": "", "caption": ""}
        elif tag == "img" and self._figure is not None:
            self._figure["src"] = a.get("src") or ""
            self._figure["alt"] = a.get("alt") or ""
        elif tag == "figcaption" and self._figure is not None:
            self._text, self._tag = [], "figcaption"
        elif tag in self.BLOCKS and self._text is None:
            self._text, self._tag = [], tag

    def handle_endtag(self, tag):
        if tag == "main":
            self._main = False
        if not self._main:
            return
        if tag == "a" and self._skip:
            self._skip -= 1
        elif self._table is not None:
            t = self._table
            if tag == "caption":
                t["caption"], self._cell = "".join(self._cell or []).strip(), None
            elif tag in ("td", "th") and self._cell is not None:
                text = "".join(self._cell).strip()
                text = INDENT + text if self._cell_level else text
                if t["part"] == "thead":
                    t["head"].append(text)
                elif t["part"] == "tfoot":
                    t["note"] = text
                else:
                    t["rows"][-1].append(text)
                self._cell = None
            elif tag == "table":
                self.blocks.append(("table", ExportTable(t["caption"], t["head"], t["rows"],
                                                         t["note"])))
                self._table = None
        elif tag == "figcaption" and self._figure is not None and self._text is not None:
            self._figure["caption"] = "".join(self._text).strip()
            self._text = None
        elif tag == "figure" and self._figure is not None:
            self.blocks.append(("figure", self._figure))
            self._figure = None
        elif tag == self._tag and self._text is not None:
            text = re.sub(r"\s+", " ", "".join(self._text)).replace("¶", "").strip()
            if text:
                self.blocks.append((tag, text))
            self._text, self._tag = None, ""

    def handle_data(self, data):
        if self._skip or not self._main:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._text is not None:
            self._text.append(data)


def report_blocks(page: str) -> list[tuple]:
    """The blocks of a reader page (``<name>.html``): ``("h1", text)``, ``("p", text)``,
    ``("li", text)``, ``("table", ExportTable)``, ``("figure", {"src", "caption"})``."""
    parser = _ReportParser()
    parser.feed(page)
    return parser.blocks


def report_tables(page: str) -> list[ExportTable]:
    """The tables of a reader page, in the order shown, keyed ``table_1``, ``table_2``, ..."""
    tables = [content for kind, content in report_blocks(page) if kind == "table"]
    for i, table in enumerate(tables, start=1):
        table.key = f"table_{i}"
    return tables
