"""What every reader returns: one canonical text and where each stretch of it came from.

A reader turns a PDF, Word or HTML file into a canonical text laid out as a ``.txt`` report
is (paragraphs separated by a blank line, a heading on a line of its own, a table's rows on
consecutive lines), so the paragraph rules of qa/text/documents.py and the offsets of every
citation (``text[start:end]``) apply to it unchanged. ``Piece`` records for a stretch of that
text the page (PDF) or paragraph (Word) it was read from; ``locate`` maps an offset back.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from qa.errors import SourceError

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one report may be: checked before and while it is converted."""

    max_bytes: int = 50 * MB
    max_pages: int = 2000  # PDF
    max_paragraphs: int = 100_000  # paragraphs, headings and table rows of one report
    max_unzipped_bytes: int = 200 * MB  # .docx: all members together
    max_zip_ratio: int = 100  # .docx: uncompressed / compressed size of any member
    max_zip_members: int = 10_000


#: the limits in force; the one place to change them.
LIMITS = Limits()


@dataclass(frozen=True)
class Piece:
    """``text[start:end]`` of the canonical text came from this place of the original."""

    start: int
    end: int
    page: int | None = None  # PDF: 1-based page number
    paragraph: int | None = None  # Word: 1-based index among the document's paragraphs
    table: int | None = None  # Word: 1-based table number, for a table row
    row: int | None = None  # Word: 1-based row in that table


@dataclass(frozen=True)
class Converted:
    """A report converted once: the canonical text that is stored, indexed and cited."""

    text: str
    format: str  # "pdf", "docx" or "html"
    pieces: tuple[Piece, ...]
    pages: int = 0  # PDF: pages in the file
    title: str = ""  # the document's own title when it has one (HTML <title>, PDF info)


def locate(converted: Converted, offset: int) -> Piece | None:
    """The piece of the original that holds character ``offset`` of the canonical text (the
    piece that starts next when ``offset`` falls on a separator), or None past the end."""
    starts = [p.start for p in converted.pieces]
    i = bisect.bisect_right(starts, offset) - 1
    if i >= 0 and offset < converted.pieces[i].end:
        return converted.pieces[i]
    return converted.pieces[i + 1] if i + 1 < len(converted.pieces) else None


@dataclass(frozen=True)
class Origin:
    """Where one segment of a paragraph comes from (the fields of ``Piece`` but offsets)."""

    page: int | None = None
    paragraph: int | None = None
    table: int | None = None
    row: int | None = None


class TextBuilder:
    """Assembles the canonical text block by block and records each segment's origin."""

    def __init__(self, name: str, limits: Limits = LIMITS) -> None:
        self.name = name
        self.limits = limits
        self._parts: list[str] = []
        self._pieces: list[Piece] = []
        self._length = 0
        self._count = 0

    def block(self, segments: Sequence[tuple[str, Origin]], sep: str = "") -> None:
        """One paragraph (``sep=""``: its segments are parts of one line) or one table
        (``sep="\\n"``: a row a line). Empty segments are skipped."""
        segments = [(t, o) for t, o in segments if t]
        if not segments:
            return
        self._count += len(segments) if sep else 1
        if self._count > self.limits.max_paragraphs:
            raise SourceError(f"{self.name}: more than {self.limits.max_paragraphs:,} "
                              "paragraphs; split the report; skipped")
        if self._parts:
            self._add("\n\n", None)
        for i, (text, origin) in enumerate(segments):
            if i and sep:
                self._add(sep, None)
            self._add(text, origin)

    def _add(self, text: str, origin: Origin | None) -> None:
        start, self._length = self._length, self._length + len(text)
        self._parts.append(text)
        if origin is None:
            return
        last = self._pieces[-1] if self._pieces else None
        if last and last.end == start and _origin(last) == origin:
            self._pieces[-1] = Piece(last.start, self._length, **vars(origin))
        else:
            self._pieces.append(Piece(start, self._length, **vars(origin)))

    def build(self, fmt: str, pages: int = 0, title: str = "") -> Converted:
        return Converted("".join(self._parts), fmt, tuple(self._pieces), pages, title)


def _origin(piece: Piece) -> Origin:
    return Origin(piece.page, piece.paragraph, piece.table, piece.row)
