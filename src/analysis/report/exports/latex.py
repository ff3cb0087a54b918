"""LaTeX: booktabs tables, as floats or a standalone document."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from analysis.report.exports.tables import INDENT, ExportTable

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                 "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
                 "\u00b7": r"\textperiodcentered{}", "\u2009": r"\,", "\u2013": "--",
                 "\u2014": "---", "\u2212": r"\textminus{}", "\u00d7": r"$\times$",
                 "\u00b1": r"$\pm$", "\u2264": r"$\leq$", "\u2265": r"$\geq$",
                 "\u03b1": r"$\alpha$", "\u03c7": r"$\chi$", "\u00b2": r"\textsuperscript{2}"}
LATEX_PATTERN = re.compile("|".join(re.escape(k) for k in LATEX_SPECIAL))


def latex_escape(text: str) -> str:
    """Text safe in LaTeX: special characters escaped, typographic marks as commands."""
    return LATEX_PATTERN.sub(lambda m: LATEX_SPECIAL[m.group(0)], text)


def latex_table(table: ExportTable) -> str:
    """One table as a LaTeX ``table`` float with a booktabs ``tabular``."""
    # long or multi-line text wraps in a paragraph column; the first column names rows
    # (left), the others hold numbers (right)
    wide = [max([len(c), *(len(r[j]) for r in table.rows)]) > 40
            or any("\n" in r[j] for r in table.rows) for j, c in enumerate(table.columns)]
    width = 0.9 / max(sum(wide), 1)
    spec = "".join(f"p{{{width:.2f}\\linewidth}}" if w else ("l" if j == 0 else "r")
                   for j, w in enumerate(wide))
    label = re.sub(r"[^a-z0-9]+", "-", table.key.lower()).strip("-") or "table"

    def cell(value: str) -> str:
        if value.startswith(INDENT):
            return r"\quad " + latex_escape(value.strip())
        return r" \newline ".join(latex_escape(line) for line in value.split("\n"))

    lines = [r"\begin{table}[htbp]", r"\centering", r"\small",
             rf"\caption{{{latex_escape(table.title)}}}", rf"\label{{tab:{label}}}",
             rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(rf"\textbf{{{latex_escape(c)}}}" for c in table.columns) + r" \\",
             r"\midrule"]
    lines += [" & ".join(cell(v) for v in row) + r" \\" for row in table.rows]
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabular}")
    if table.note:
        lines += [r"\par\smallskip", rf"\parbox{{\linewidth}}{{\footnotesize "
                                     rf"{latex_escape(table.note)}}}"]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def tables_to_latex(tables: Sequence[ExportTable], path: str | Path, *,
                    standalone: bool = True) -> Path:
    """Write ``tables`` as LaTeX: a document (``standalone``) or the table floats only."""
    body = "\n".join(latex_table(t) for t in tables)
    if standalone:
        body = ("% Made by backpain: tables as shown in the report (small counts suppressed).\n"
                "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n"
                "\\usepackage[utf8]{inputenc}\n\\usepackage{textcomp}\n"
                "\\usepackage{booktabs}\n\\usepackage[margin=2cm,landscape]{geometry}\n"
                "\\begin{document}\n" + body + "\\end{document}\n")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8", newline="\n")
    return path
