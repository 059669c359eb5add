"""Word (.docx) → canonical text, with python-docx.

Body paragraphs and tables in document order. A paragraph styled as a heading (Heading N,
标题 N, Title, 标题) becomes a Markdown-style heading line (``## …``), so the paragraph rules
of qa/text/documents.py make it the section of what follows whatever its punctuation; a table
becomes one block, a row a line, its cells joined by `` | ``. Each paragraph records its
1-based index among the document's paragraphs (python-docx's ``Document.paragraphs``), each
row its table and row number. The zip is checked for a bomb before anything is parsed.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from qa.errors import SourceError
from qa.text.readers.base import LIMITS, Converted, Limits, Origin, TextBuilder

_HEADING = re.compile(r"^(?:heading|标题)\s*(\d)$|^(?:title|标题)$", re.IGNORECASE)


def check_zip(data: bytes, name: str, limits: Limits = LIMITS) -> None:
    """Refuse a zip whose members would unpack too large, or too much larger than they are
    packed (a zip bomb), or that is not a readable zip at all."""
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SourceError(f"{name}: not a readable Word (.docx) file: the zip archive is "
                          f"damaged ({exc}); skipped") from None
    total = sum(i.file_size for i in infos)
    worst = max((i.file_size / max(i.compress_size, 1) for i in infos), default=0)
    if (len(infos) > limits.max_zip_members or total > limits.max_unzipped_bytes
            or worst > limits.max_zip_ratio):
        raise SourceError(
            f"{name}: refused as a possible zip bomb ({len(infos)} members, "
            f"{total / 2**20:.0f} MB unpacked, up to {worst:.0f}× compression; limits "
            f"{limits.max_zip_members}, {limits.max_unzipped_bytes / 2**20:.0f} MB, "
            f"{limits.max_zip_ratio}×); skipped")


def read_docx(data: bytes, name: str, limits: Limits = LIMITS) -> Converted:
    check_zip(data, name, limits)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(_blocks(document))
    except Exception as exc:  # python-docx and lxml raise many types on a broken file
        raise SourceError(f"{name}: not a readable Word (.docx) file "
                          f"({type(exc).__name__}: {exc}); skipped") from None
    builder = TextBuilder(name, limits)
    for segments, sep in blocks:
        builder.block(segments, sep)
    title = (document.core_properties.title or "").strip()
    return builder.build("docx", title=title)


def _heading_level(paragraph: Any) -> int:
    """1–9 for a heading paragraph, 0 for body text."""
    style = paragraph.style
    names = [style.name or "", getattr(style, "style_id", "") or ""] if style is not None else []
    for style_name in names:
        m = _HEADING.match(style_name.strip())
        if m:
            return int(m.group(1) or 1)
    return 0


def _clean(text: str) -> str:
    """One paragraph's text: soft line breaks kept, blank lines and edge space removed (a
    blank line would end the paragraph in the canonical text)."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _blocks(document: Any) -> Iterator[tuple[list[tuple[str, Origin]], str]]:
    """``(segments, separator)`` for each paragraph and table of the body, in order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    index = {p._p: i + 1 for i, p in enumerate(document.paragraphs)}
    tables = 0
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(element, document)
            text = _clean(paragraph.text)
            level = _heading_level(paragraph)
            if text and level:
                text = "#" * level + " " + " ".join(text.split())
            yield [(text, Origin(paragraph=index.get(element)))], ""
        elif tag == "tbl":
            tables += 1
            yield list(_rows(Table(element, document), tables)), "\n"


def _rows(table: Any, number: int) -> Iterator[tuple[str, Origin]]:
    for r, row in enumerate(table.rows, start=1):
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if not cells or text != cells[-1]:  # a merged cell repeats in python-docx
                cells.append(text)
        line = " | ".join(cells).strip(" |")
        yield line, Origin(table=number, row=r)
