"""What a CSV file holds besides its values: control characters, mojibake, where records start.

One pass over the decoded text finds NUL bytes and other control characters
(they are removed, each with a read note), text that looks like a wrong
encoding guess (``Ã©`` for ``é``: a warning naming the line), and counts
the physical lines. When the count shows that records and lines differ (a
quoted newline, a blank line), :func:`record_lines` finds the line on
which each record starts, so messages, the ledger and ``survey.data``'s
index name the line a person sees in an editor.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# C0 controls other than tab, line feed and carriage return, and DEL.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# UTF-8 read as Windows-1252/Latin-1: "Ã©" for "é", "â€™" for "'"; and the
# replacement character left by an earlier lossy conversion.
MOJIBAKE = re.compile("[ÃÂ][\u00a0-\u00bf\u0152-\u0178\u2018-\u203a\u20ac]|â€|\ufffd")
_BLOCK = 1 << 24


@dataclass
class Note:
    """One thing the reader did or noticed, recorded in the ledger at step ``read``."""

    rule: str
    action: str
    lines: list[int] | None = None
    values: list[str] | None = None
    column: str | None = None


@dataclass
class Scan:
    """The result of :func:`scan_text`."""

    n_lines: int = 0
    quotes: bool = False  # any '"': values may then hold newlines
    control: dict[int, list[str]] = field(default_factory=dict)  # line -> characters
    mojibake: dict[int, str] = field(default_factory=dict)  # line -> first suspicious text


def scan_text(path: Path, encoding: str) -> Scan:
    """Decode the file once in blocks; count lines, find control characters and mojibake."""
    out = Scan()
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            text = decoder.decode(block)
            _find(text, line, out)
            line += text.count("\n")
        text = decoder.decode(b"", final=True)
        _find(text, line, out)
        line += text.count("\n")
    out.n_lines = line
    return out


def _find(text: str, first_line: int, out: Scan) -> None:
    if not text:
        return
    out.quotes = out.quotes or '"' in text
    # Substring tests are far faster than the regular expression on long text.
    suspicious = any(c in text for c in ("Ã", "Â", "â€", "\ufffd"))
    for pattern, store in ((CONTROL, "control"), (MOJIBAKE, "mojibake")):
        if store == "mojibake" and not suspicious:
            continue
        matches = list(pattern.finditer(text))
        if not matches:
            continue
        starts = np.array([m.start() for m in matches])
        newlines = np.flatnonzero(np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
                                  == ord("\n"))
        lines = first_line + np.searchsorted(newlines, starts)
        for m, ln in zip(matches, lines.tolist(), strict=True):
            if store == "control":
                out.control.setdefault(ln, []).append(m.group())
            else:
                end = text.find("\n", m.start())
                out.mojibake.setdefault(ln, text[max(0, m.start() - 10):
                                                 m.end() + 10 if end < 0 else
                                                 min(end, m.end() + 10)].strip())


def control_note(scan: Scan) -> Note:
    lines = sorted(scan.control)
    values = [" ".join(f"U+{ord(c):04X}" for c in scan.control[ln]) for ln in lines]
    return Note("control characters removed (NUL or other)", "removed", lines, values)


def mojibake_note(scan: Scan, encoding: str) -> Note:
    lines = sorted(scan.mojibake)
    return Note(f"possible mojibake (text read as {encoding} looks like a wrong encoding)",
                "warned", lines, [scan.mojibake[ln] for ln in lines])


def clean_text(path: Path, encoding: str) -> str:
    """The whole file as text without control characters."""
    return CONTROL.sub("", path.read_text(encoding=encoding, errors="strict"))


def record_lines(text_stream: io.TextIOBase, delimiter: str) -> list[int]:
    """The physical line on which each non-blank record starts (header included).

    Follows CSV quoting as pandas does, so a quoted newline keeps a record on
    its first line, and a blank line, which pandas skips, is skipped here too.
    """
    reader = csv.reader(text_stream, delimiter=delimiter)
    starts: list[int] = []
    last = 0
    for row in reader:
        if row:
            starts.append(last + 1)
        last = reader.line_num
    return starts
