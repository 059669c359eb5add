"""PDF → canonical text, with pypdf: each line with its position, then pdflayout.py.

pypdf rather than pdfminer.six: on a 98-page Chinese PDF printed by Chromium both took
~11 s, but pypdf keeps the order the page draws its text in (a generated PDF draws it in
reading order) where pdfminer's layout analysis put 56% of the paragraphs out of order;
pypdf is also the smaller dependency (pure Python, BSD) and can write encrypted test files.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import threading
from collections.abc import Iterator
from typing import Any

from qa.errors import SourceError
from qa.text.readers.base import LIMITS, Converted, Limits, Origin, TextBuilder
from qa.text.readers.pdflayout import Line, em, join_lines, paragraphs, strip_margins
from qa.text.readers.pdfstream import parse_content_stream

#: fewer visible characters than this in the whole file: no text layer (a scan).
MIN_TEXT_CHARS = 20


#: one conversion at a time patches pypdf (``_shared_fonts``).
_FONT_PATCH = threading.Lock()


@contextlib.contextmanager
def _shared_fonts() -> Iterator[None]:
    """Load each font of the file once, not once for every page that lists it; and parse
    content streams with ``pdfstream.parse_content_stream``.

    pypdf builds every font in a page's resources for each page (character maps parsed
    again); Chromium's print-to-PDF lists ~150 fonts on every page, which made this half
    the conversion time (98 pages: 19 → 10 CPU s). Fonts are cached by the identity of
    their dictionary, which pypdf resolves once per file; without the hooks (another pypdf)
    nothing changes but the speed."""
    try:
        from pypdf.generic import ContentStream, _font

        original = _font.Font.from_font_resource
        parse = ContentStream._parse_content_stream
    except (ImportError, AttributeError):
        yield
        return
    cache: dict[int, tuple[Any, Any]] = {}

    def cached(font_dict: Any) -> Any:
        hit = cache.get(id(font_dict))
        if hit is None or hit[0] is not font_dict:
            hit = cache[id(font_dict)] = (font_dict, original(font_dict))
        return hit[1]

    def parse_stream(content: Any, stream: Any) -> None:
        parse_content_stream(content, stream, parse)

    with _FONT_PATCH:
        _font.Font.from_font_resource = cached
        ContentStream._parse_content_stream = parse_stream
        try:
            yield
        finally:
            _font.Font.from_font_resource = original
            ContentStream._parse_content_stream = parse


def read_pdf(data: bytes, name: str, limits: Limits = LIMITS) -> Converted:
    reader = _open(data, name, limits)
    try:
        with _shared_fonts():
            pages = [_page_lines(page, i + 1) for i, page in enumerate(reader.pages)]
        heights = [float(page.mediabox.height) for page in reader.pages]
    except SourceError:
        raise
    except Exception as exc:  # pypdf raises many types on a damaged file
        raise SourceError(f"{name}: the PDF is damaged and cannot be read "
                          f"({type(exc).__name__}: {exc}); skipped") from None
    if sum(len(line.text.strip()) for lines in pages for line in lines) < MIN_TEXT_CHARS:
        raise SourceError(f"{name}: the PDF has no text layer (a scanned document?); "
                          "text recognition (OCR) is not supported; skipped")
    builder = TextBuilder(name, limits)
    for paragraph in paragraphs(strip_margins(pages, heights)):
        builder.block([(text, Origin(page=page)) for text, page in join_lines(paragraph)])
    return builder.build("pdf", len(pages), _title(reader))


def _open(data: bytes, name: str, limits: Limits) -> Any:
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # recoverable damage is not news
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError(f"{name}: the PDF is encrypted (password protected); "
                              "save a copy without a password; skipped")
        count = len(reader.pages)
    except SourceError:
        raise
    except Exception as exc:
        raise SourceError(f"{name}: the PDF is damaged and cannot be read "
                          f"({type(exc).__name__}: {exc}); skipped") from None
    if count > limits.max_pages:
        raise SourceError(f"{name}: {count} pages, more than the limit of {limits.max_pages}; "
                          "split the report; skipped")
    return reader


def _title(reader: Any) -> str:
    try:
        title = (reader.metadata or {}).get("/Title") or ""
    except Exception:  # a damaged info dictionary is no reason to refuse the text
        return ""
    return str(title).strip()


def _right(frags: list[tuple[str, float, float, float]]) -> float:
    """A line's right edge: from each fragment's start, the width of the rest of the line,
    the furthest of these (pypdf gives the glyphs of one TJ array the array's position, so
    a fragment's own position may lag; a later, placed fragment corrects it)."""
    right, tail = 0.0, 0.0
    for text, x, _y, size in reversed(frags):
        tail += em(text) * size
        if text.strip():
            right = max(right, x + tail)
    return right


def _page_lines(page: Any, number: int) -> list[Line]:
    """The page's lines in drawing order, each with its left and right edge, baseline and
    font size in page coordinates (pypdf's own line breaks, positions from its visitor)."""
    lines: list[Line] = []
    frags: list[tuple[str, float, float, float]] = []  # text, x, y, font size

    def close() -> None:
        text = " ".join("".join(f[0] for f in frags).split())
        placed = [f for f in frags if f[0].strip()]
        if text and placed:
            lines.append(Line(text, min(f[1] for f in placed), _right(frags),
                              placed[0][2], max(f[3] for f in placed), number))
        frags.clear()

    def visit(text: str, cm: list, tm: list, _font: Any, size: float) -> None:
        parts = text.split("\n")
        for i, part in enumerate(parts):
            if i:
                close()
            if part:
                scale = math.sqrt(abs(cm[0] * cm[3] - cm[1] * cm[2]))
                scale *= math.sqrt(abs(tm[0] * tm[3] - tm[1] * tm[2])) or 1.0
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                frags.append((part, x, y, size * scale))

    page.extract_text(visitor_text=visit)
    close()
    return lines
