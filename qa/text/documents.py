"""Read reports and cut them into paragraphs, sentences and clauses, keeping offsets.

Offsets are Python ``str`` indices into the decoded file, exactly as ``read_report`` returns
it: bytes decoded with no newline translation (``\\r\\n`` stays) and a UTF-8 BOM kept as a
character, so ``text[start:end]`` is the cited span for every chunk, sentence and clause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qa.errors import SourceError
from qa.schema import Chunk, Span
from qa.text.readers import SUFFIXES as CONVERTED_SUFFIXES
from qa.text.readers import Converted, convert

#: .txt and .md are read as they are; PDF, Word and HTML are converted (qa/text/readers).
SUFFIXES = (".txt", ".md", *CONVERTED_SUFFIXES)
#: sentence-final punctuation; a block ending in one of these is complete.
FINAL = "。！？!?…；;"
CLOSERS = "”’」』）)》】\"'"
#: punctuation that marks prose (a heading has none of it).
PROSE = "。！？!?；;，,、：:"
SPACE = " \t\r\n\u3000\ufeff\u00a0"
#: a paragraph longer than this is cut at sentence ends so answers and vectors stay local.
MAX_PARAGRAPH_CHARS = 1200


@dataclass(frozen=True)
class Report:
    path: str  # as it appears in citations
    text: str
    encoding: str
    rel: str = ""  # path relative to the source folder, as recorded in the index
    #: a PDF, Word or HTML report: its conversion (``text`` is its canonical text), which
    #: maps an offset to a page or paragraph (qa.text.readers.locate); None for .txt/.md.
    converted: Converted | None = None


def display_path(path: Path) -> str:
    """Relative to the working directory when the file lies under it, else absolute."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


#: what a text report should not hold: control characters other than tab, CR, LF and form
#: feed, and private-use characters (what a wrong decoding of binary data is full of).
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ue000-\uf8ff]")


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode UTF-8 (with or without BOM) or GB18030/GBK; refuse binary data."""
    if b"\x00" in data:
        raise SourceError(f"{name}: looks like a binary file (NUL bytes), not a text report; skipped")
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        bad = len(_BAD_CHARS.findall(text))
        if bad > max(2, len(text) // 100):
            break
        return text, encoding
    raise SourceError(
        f"{name}: cannot decode as UTF-8 or GB18030/GBK; save it as UTF-8 text; skipped"
    )


def read_report(path: Path, rel: str = "") -> Report:
    name = display_path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{name}: cannot read ({exc.strerror}); skipped") from None
    return report_from_bytes(data, name, rel or path.name)


def report_from_bytes(data: bytes, name: str, rel: str) -> Report:
    """A report from its file's bytes: a .txt or .md decoded, any other format converted
    once into its canonical text (its type checked by content, not by name)."""
    if rel.lower().endswith(CONVERTED_SUFFIXES):
        converted = convert(data, name)
        return Report(name, converted.text, converted.format, rel, converted)
    text, encoding = decode(data, name)
    if not text.strip(SPACE):
        raise SourceError(f"{name}: the file is empty; skipped")
    return Report(name, text, encoding, rel)


def list_reports(source: Path) -> list[Path]:
    if not source.exists():
        raise SourceError(f"source folder {source} does not exist; put reports there "
                          "(.txt, .md, .pdf, .docx or .html)")
    if not source.is_dir():
        raise SourceError(f"{source} is not a folder; pass the folder that holds the reports")
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(source).parts))
    if not files:
        raise SourceError(f"no .txt or .md reports (nor .pdf, .docx, .html) in {source}; "
                          "add at least one")
    return files


def printable_name(name: str) -> str:
    """``name`` with any undecodable byte (a lone surrogate from the OS) written as ``\\xNN``."""
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no undecodable byte stands for
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


def read_reports(source: Path) -> tuple[list[Report], list[str]]:
    """Every readable report under ``source``, and one notice per file that was skipped."""
    reports, notices = [], []
    for path in list_reports(source):
        name = display_path(path)
        if printable_name(name) != name:  # it could not be written to JSON or the index
            notices.append(f"{printable_name(name)}: the file name is not valid UTF-8; "
                           "rename the file; skipped")
            continue
        try:
            reports.append(read_report(path, path.relative_to(source).as_posix()))
        except SourceError as exc:
            notices.append(str(exc))
    if not reports:
        raise SourceError(f"no readable report in {source}: " + "; ".join(notices))
    return reports, notices


# ---------------------------------------------------------------- paragraphs

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)?")


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in SPACE:
        start += 1
    while end > start and text[end - 1] in SPACE:
        end -= 1
    return start, end


def _ends_sentence(s: str) -> bool:
    s = s.rstrip(SPACE + CLOSERS)
    return bool(s) and s[-1] in FINAL


def _blocks(text: str) -> list[tuple[int, int]]:
    """Blank-line separated blocks, further cut at a line that ends a sentence."""
    blocks: list[tuple[int, int]] = []
    start = None
    end = 0
    for m in _LINE.finditer(text):
        if m.start() == m.end():
            break
        a, b = _strip_span(text, m.start(), m.end())
        if a == b:  # blank line closes the block
            if start is not None:
                blocks.append((start, end))
                start = None
            continue
        line = text[a:b]
        if start is not None and line.startswith("#"):
            blocks.append((start, end))
            start = None
        if start is None:
            start = a
        end = b
        if _ends_sentence(line) or line.startswith("#"):
            blocks.append((start, end))
            start = None
    if start is not None:
        blocks.append((start, end))
    return blocks


def _is_heading(s: str, max_chars: int) -> bool:
    if s.startswith("#"):
        return True
    if "\n" in s or "\r" in s or len(s) > max_chars:
        return False
    return not any(c in s for c in "。！？!?；;：:") and s[-1] not in "，,、"


def _is_prose_fragment(s: str) -> bool:
    """A block the file broke mid-sentence: prose that does not end a sentence."""
    return any(c in s for c in PROSE) and not _ends_sentence(s)


def _cut_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    pieces = []
    while end - start > limit:
        window = text[start:start + limit]
        cut = max(window.rfind(c) for c in FINAL + "\n")
        cut = start + (cut + 1 if cut > limit // 4 else limit)
        a, b = _strip_span(text, start, cut)
        if b > a:
            pieces.append((a, b))
        start, _ = _strip_span(text, cut, end)
    if end > start:
        pieces.append((start, end))
    return pieces


def paragraphs(report: Report, first_id: int = 0, heading_max_chars: int = 40,
               minor_max_chars: int = 40) -> list[Chunk]:
    """Cut a report into chunks: headings label the paragraphs under them, and blocks the
    file broke mid-sentence are joined with the block that completes them."""
    text = report.text
    merged: list[list[int]] = []  # [start, end, 1 if repaired from fragments else 0]
    for a, b in _blocks(text):
        s = text[a:b]
        if (merged and not _is_heading(s, heading_max_chars)
                and _is_prose_fragment(text[merged[-1][0]:merged[-1][1]])
                and not _is_heading(text[merged[-1][0]:merged[-1][1]], heading_max_chars)):
            merged[-1][1] = b
            merged[-1][2] = 1
        else:
            merged.append([a, b, 0])
    chunks: list[Chunk] = []
    section = ""
    for a, b, repaired in merged:
        s = text[a:b]
        if _is_heading(s, heading_max_chars):
            section = s.lstrip("#").strip(SPACE)
            kind = "heading"
        else:
            # a repaired paragraph is prose however short: as ``minor`` its sentences would
            # be cut again at the very line break the repair joined.
            kind = "minor" if len(s) < minor_max_chars and not repaired else "body"
        for pa, pb in _cut_long(text, a, b, MAX_PARAGRAPH_CHARS):
            chunks.append(Chunk(first_id + len(chunks), report.path, pa, pb, text[pa:pb],
                                section, kind))
    return chunks


# ---------------------------------------------------------------- sentences and clauses

_SENTENCE = re.compile(r"[^。！？!?；;]+(?:[。！？!?；;]+[”’」』）)]*)?")
_CLAUSE = re.compile(r"[^，,：:]+[，,：:]?")
_LINE_BREAK = re.compile(r"[^\r\n]+")


def _spans(pattern: re.Pattern[str], text: str, offset: int) -> list[Span]:
    out = []
    for m in pattern.finditer(text):
        a, b = _strip_span(text, m.start(), m.end())
        if b > a:
            out.append(Span(offset + a, offset + b))
    return out


def sentences(chunk: Chunk) -> list[Span]:
    """Sentence spans (offsets into the source) of a chunk.

    In a body paragraph a line break is not a sentence end (a repaired paragraph keeps the
    break where the file cut it mid-sentence); in a byline or caption each line stands alone.
    """
    out = []
    for sent in _spans(_SENTENCE, chunk.text, chunk.start):
        if chunk.kind == "body":
            out.append(sent)
        else:
            text = chunk.text[sent.start - chunk.start:sent.end - chunk.start]
            out.extend(_spans(_LINE_BREAK, text, sent.start))
    return out


#: the longest opening sentence taken for a paragraph's own title (生态环境持续改善。).
TITLE_MAX_CHARS = 10


def title_sentence(chunk: Chunk) -> Span | None:
    """The opening sentence of a body paragraph that titles it — at most
    ``TITLE_MAX_CHARS`` characters, no comma, more sentences after it (生态环境持续改善。
    坚决打好…) — or None."""
    if chunk.kind != "body":
        return None
    found = sentences(chunk)
    if len(found) < 2:
        return None
    first = found[0]
    text = chunk.text[first.start - chunk.start:first.end - chunk.start].rstrip("。！？!?")
    return first if len(text) <= TITLE_MAX_CHARS and not re.search("[，,：:]", text) else None


def clauses(sentence_text: str, offset: int) -> list[Span]:
    """Comma/colon-separated clauses of one sentence; ``、`` lists stay whole."""
    return _spans(_CLAUSE, sentence_text, offset)


_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d\d)\s*年")
#: a report names its own year at least this often (and in most of its year mentions).
_OWN_YEAR_MIN = 3


def report_year(text: str) -> str | None:
    """The year a report is about, which its paragraphs mostly leave unsaid: the year it
    names most, named at least three times and in more than half of its year mentions
    (2020 in a review of 2020 that also names 2016 and 2018 once). None when no year
    stands out (a report on a five-year plan, a report with no years)."""
    counts: dict[str, int] = {}
    for m in _YEAR.finditer(text):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    if not counts:
        return None
    year, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return year if n >= _OWN_YEAR_MIN and 2 * n > sum(counts.values()) else None


def _whole(years: str) -> str:
    """A pattern for any of ``years`` (2020|2021) as a whole number: not in 12020 or 2020.5."""
    return rf"(?<![\d.])(?:{years})(?![\d.]?\d)"


def with_year(text: str, year: str | None) -> str:
    """``text`` dated by its report's own ``year`` (``report_year``) when it does not name
    it already: what BM25 and the evidence checks read for a paragraph or sentence."""
    if year and re.search(_whole(year), text) is None:
        return f"{text} {year}年"
    return text


def without_years(text: str, years: Iterable[str]) -> str:
    """``text`` without the reports' own ``years`` (2020年, "in 2020,"): the words an
    encoder is to match. The year is implicit in every paragraph of its report, so an
    encoder that sees it only pulls the question toward the few spans that spell it out.
    ``text`` itself when nothing else would be left."""
    alternatives = "|".join(sorted(set(years)))
    if not alternatives:
        return text
    english = rf"\b(?:in|during|for|of|by)\s+(?:{alternatives})\b,?"
    bare = _whole(alternatives) + r"(?:\s*年度?)?"
    out = re.sub(bare, "", re.sub(english, " ", text, flags=re.IGNORECASE))
    out = re.sub(r"\s{2,}", " ", out).strip()
    return out if out.strip(" ,.?？。，") else text
