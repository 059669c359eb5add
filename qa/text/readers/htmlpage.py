"""HTML → canonical text: the article body, without navigation, footers, scripts or styles.

trafilatura finds the main text (measured against readability-lxml on Chinese news pages:
see bench/formats/README.md); its plain-text output has one paragraph a line, a table's row
as ``| a | b |``. Scripts, styles and templates are removed before it sees the page, so none
of their text can reach the canonical text whatever the extractor keeps.
"""

from __future__ import annotations

import re

from qa.errors import SourceError
from qa.text.readers.base import LIMITS, Converted, Limits, Origin, TextBuilder

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.IGNORECASE)


def decode_html(data: bytes, name: str) -> str:
    """The page as text: its declared charset, else UTF-8, else GB18030."""
    m = _CHARSET.search(data[:4096])
    for encoding in ([m.group(1).decode("ascii")] if m else []) + ["utf-8", "gb18030"]:
        try:
            return data.decode(encoding).lstrip("\ufeff")
        except (LookupError, UnicodeDecodeError):
            continue
    raise SourceError(f"{name}: the HTML page is neither UTF-8 nor GB18030 nor its declared "
                      "charset; skipped")


def _without_code(page: str) -> str:
    """``page`` with script, style, noscript and template elements removed (their content
    too), via lxml."""
    import lxml.html
    from lxml import etree

    tree = lxml.html.document_fromstring(page)
    etree.strip_elements(tree, "script", "style", "noscript", "template", etree.Comment,
                         with_tail=False)
    return lxml.html.tostring(tree, encoding="unicode")


def read_html(data: bytes, name: str, limits: Limits = LIMITS) -> Converted:
    import trafilatura

    page = decode_html(data, name)
    try:
        clean = _without_code(page)
        text = trafilatura.extract(clean, include_comments=False, include_tables=True,
                                   deduplicate=False) or ""
        meta = trafilatura.extract_metadata(clean)
    except SourceError:
        raise
    except Exception as exc:  # lxml and trafilatura raise many types on broken markup
        raise SourceError(f"{name}: the HTML page cannot be parsed "
                          f"({type(exc).__name__}: {exc}); skipped") from None
    builder = TextBuilder(name, limits)
    for block, sep in _blocks(text):
        builder.block(block, sep)
    return builder.build("html", title=(meta.title or "") if meta else "")


_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?$")  # |---|---|


def _blocks(text: str) -> list[tuple[list[tuple[str, Origin]], str]]:
    """trafilatura's lines as blocks: a paragraph each, and the rows of a table (its
    ``| a | b |`` lines, without the ``|---|`` rule) together, a row a line."""
    blocks: list[tuple[list[tuple[str, Origin]], str]] = []
    lines = [" ".join(x.split()) for x in text.splitlines()]
    for i, line in enumerate(x for x in lines if x and not _RULE.match(x)):
        origin = Origin(paragraph=i + 1)
        if line.startswith("|"):
            row = " | ".join(c.strip() for c in line.strip("| ").split("|"))
            if blocks and blocks[-1][1] == "\n":
                blocks[-1][0].append((row, origin))
            else:
                blocks.append(([(row, origin)], "\n"))
        else:
            blocks.append(([(line, origin)], ""))
    return blocks
