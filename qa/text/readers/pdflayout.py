"""Lines of a PDF → paragraphs: drop running headers and footers, join broken lines.

Pure functions over ``Line`` (text and position), so they are tested without a PDF. A line
is dropped when it sits in the top or bottom margin (or is among the first or last two the
page draws) and either repeats, digits aside, on at least half the pages (a running header
or footer: title, chapter, 第3页) or holds nothing but page numbers, printed URLs and dates.
Lines are joined into a paragraph unless the next one is indented or centred, the line
before stops short of the right edge, the gap between them is wider than the body's line
pitch, or the font size changes (from one page to the next, where there is no gap: unless
the sentence ends with the page); a line break inside a number (4. / 2万亩) thus goes away.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    text: str
    x0: float  # left edge
    x1: float  # right edge (estimated from the font size)
    y: float  # baseline, from the bottom of the page
    size: float  # font size in page units
    page: int  # 1-based


FINAL = "。！？!?；;…"
CLOSERS = "”’」』）)》】\"' "
#: the share of the page height at its top and at its bottom that is margin.
MARGIN = 0.08
_URL = r"(?:(?:https?|ftp|file)://|www\.)\S+"
_DATE = (r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?|\d{1,2}/\d{1,2}/\d{2,4}"
         r"|\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AaPp][Mm])?")
_PAGE_NO = (r"第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?|共\s*\d+\s*页|(?:page|p\.)\s*\d+"
            r"(?:\s*of\s*\d+)?|\d+\s*/\s*\d+|(?:[-–—]\s*)?\d+(?:\s*[-–—])?|[-–—]\s*[ivxlc]+\s*[-–—]")
_NOISE = re.compile(rf"{_URL}|{_DATE}|{_PAGE_NO}", re.IGNORECASE)


def em(text: str) -> float:
    """Width of ``text`` in ems: CJK, full-width and ambiguous characters (“”·, set full
    width by a CJK font) one, others about half."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WFA" else 0.55 for c in text)


def is_noise(text: str) -> bool:
    """Nothing but page numbers, printed URLs and dates (``1/3``, ``- 2 -``, ``第3页 共9页``,
    ``https://…``, ``2024/5/6 09:30``)."""
    folded = unicodedata.normalize("NFKC", text)  # ﬁle:// (a ligature) is file://
    return bool(_NOISE.search(folded)) and not re.sub(r"[\s,，.:|·]+", "", _NOISE.sub("", folded))


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", "".join(text.split()))


def _candidates(lines: list[Line], height: float) -> list[int]:
    """Indices of the lines that may be a header or footer."""
    edge = {0, 1, len(lines) - 2, len(lines) - 1}
    return [i for i, line in enumerate(lines)
            if i in edge or line.y > height * (1 - MARGIN) or line.y < height * MARGIN]


def strip_margins(pages: list[list[Line]], heights: list[float]) -> list[list[Line]]:
    """``pages`` without running headers and footers, page numbers, URLs and dates."""
    candidates = [_candidates(lines, h) for lines, h in zip(pages, heights)]
    seen: dict[str, set[int]] = {}
    for lines, idx in zip(pages, candidates):
        for i in idx:
            seen.setdefault(_key(lines[i].text), set()).add(lines[i].page)
    running = {k for k, p in seen.items() if len(p) >= 2 and 2 * len(p) >= len(pages)}
    out = []
    for lines, idx in zip(pages, candidates):
        drop = {i for i in idx if _key(lines[i].text) in running or is_noise(lines[i].text)}
        out.append([line for i, line in enumerate(lines) if i not in drop])
    return out


@dataclass(frozen=True)
class _Body:
    left: float  # the usual left edge
    right: float  # the usual right edge
    size: float  # the usual font size
    pitch: float  # the usual distance between two lines of a paragraph


def _body(lines: list[Line]) -> _Body:
    sizes = [round(line.size, 1) for line in lines]
    size = statistics.mode(sizes) if sizes else 10.0
    lefts = [round(line.x0) for line in lines if abs(line.size - size) < 0.5]
    rights = sorted(line.x1 for line in lines if abs(line.size - size) < 0.5)
    gaps = [a.y - b.y for a, b in zip(lines, lines[1:])
            if a.page == b.page and 0 < a.y - b.y < 3 * size]
    return _Body(min(lefts, key=lambda x: (-lefts.count(x), x)) if lefts else 0.0,
                 rights[int(0.75 * (len(rights) - 1))] if rights else 0.0, size,
                 statistics.median(gaps) if gaps else 1.5 * size)


#: what a line cannot be broken inside: a number or Latin word with its quotes and signs.
_WORD = re.compile(r"[“‘\"'(（《]*[0-9A-Za-z][0-9A-Za-z.,%/:+\-]*[”’\"')）》]*")


def _first_word(text: str) -> str:
    m = _WORD.match(text)
    return m.group() if m else text[:1]


def _breaks(a: Line, b: Line, body: _Body) -> bool:
    """Whether a new paragraph starts at ``b``, the line after ``a``."""
    if b.x0 > body.left + 0.8 * body.size:
        return True  # b indented or centred
    room = body.right - a.x1
    if room > 2.5 * body.size and em(_first_word(b.text)) * b.size < room - body.size:
        return True  # a stopped short of the right edge, and not for want of room
    if abs(a.size - b.size) > 0.15 * max(a.size, b.size):
        return True
    if a.page != b.page:  # no gap to go by: a sentence that ends with its page ends there
        return a.text.rstrip(CLOSERS)[-1:] in FINAL
    return a.y - b.y > 1.3 * body.pitch


def paragraphs(pages: list[list[Line]]) -> Iterator[list[Line]]:
    """The lines of all pages grouped into paragraphs, in order."""
    lines = [line for page in pages for line in page]
    body = _body(lines)
    current: list[Line] = []
    for line in lines:
        if current and _breaks(current[-1], line, body):
            yield current
            current = []
        current.append(line)
    if current:
        yield current


def _glue(left: str, right: str) -> str:
    """What goes between two joined lines: a space between two Latin words, else nothing
    (Chinese has no spaces, and 4. / 2万亩 is one number)."""
    a, b = left[-1], right[0]
    if not (b.isascii() and b.isalnum()):
        return ""
    if a.isascii() and a.isalpha() or a in ",;:!?)":
        return " "
    return " " if a == "." and len(left) > 1 and not left[-2].isdigit() else ""


def join_lines(lines: list[Line]) -> list[tuple[str, int]]:
    """One paragraph's text as ``(segment, page)`` pairs: its lines joined, split where the
    page changes."""
    out: list[tuple[str, int]] = []
    prev = ""
    for line in lines:
        text = (_glue(prev, line.text) if prev else "") + line.text
        if out and out[-1][1] == line.page:
            out[-1] = (out[-1][0] + text, line.page)
        else:
            out.append((text, line.page))
        prev = line.text
    return out
