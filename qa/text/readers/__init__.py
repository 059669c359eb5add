"""Readers of the report formats other than plain text: PDF, Word (.docx), HTML.

``convert`` checks a file's size and decides its format by its content (not its name),
then hands it to the reader of that format, which returns a ``Converted``: the canonical
text the index stores and cites, and where each part of it came from (``locate``).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from qa.errors import SourceError
from qa.text.readers.base import LIMITS, Converted, Limits, Piece, locate

__all__ = ["LIMITS", "Converted", "Limits", "Piece", "SUFFIXES", "convert", "detect_format",
           "locate"]

#: file names the source folder is searched for, besides .txt and .md.
SUFFIXES = (".pdf", ".docx", ".html", ".htm")

_NAMES = {"pdf": "a PDF", "docx": "a Word document", "html": "an HTML page",
          "zip": "a zip archive that is not a Word document", None: "plain text or data"}


def detect_format(data: bytes) -> str | None:
    """"pdf", "docx", "html", "zip" (another or a broken zip archive) or None, from the
    bytes alone."""
    if b"%PDF-" in data[:1024]:  # the header may follow a little junk
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return "zip"
        return "docx" if "word/document.xml" in names else "zip"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")) or (
            head.startswith(b"<") and any(t in head for t in (b"<html", b"<head", b"<body"))):
        return "html"
    return None


def _readers() -> dict[str, Callable[[bytes, str, Limits], Converted]]:
    from qa.text.readers.docx import read_docx
    from qa.text.readers.htmlpage import read_html
    from qa.text.readers.pdf import read_pdf

    return {"pdf": read_pdf, "docx": read_docx, "html": read_html}


def convert(data: bytes, name: str, limits: Limits = LIMITS) -> Converted:
    """The canonical text of a PDF, Word or HTML file; a SourceError naming ``name`` when
    it is too large, of another type than these, damaged, encrypted or has no text."""
    if len(data) > limits.max_bytes:
        raise SourceError(f"{name}: {len(data) / 2**20:.1f} MB, more than the limit of "
                          f"{limits.max_bytes / 2**20:.0f} MB for one report; skipped")
    kind = detect_format(data)
    reader = _readers().get(kind or "")
    if reader is None:
        raise SourceError(f"{name}: the content is {_NAMES[kind]}, not a PDF, Word (.docx) "
                          "or HTML file; save it in one of these formats (or as .txt); skipped")
    converted = reader(data, name, limits)
    if not converted.text.strip():
        raise SourceError(f"{name}: no text found in the {kind} file; skipped")
    return converted
