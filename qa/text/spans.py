"""What the index and the answer share about a paragraph's text: its candidate spans
(every clause, pair of adjacent clauses and sentence) and the text BM25 sees.

Both the build (the span index embeds every candidate span) and the answer (the extractor
chooses among them) need exactly the same spans, so they are cut here, below both.
"""

from __future__ import annotations

from qa.schema import Chunk, Span
from qa.text.documents import clauses, sentences, with_year

_TRIM = "，,：:；;。！？!?、 \t\r\n\u3000"


def trimmed(text: str, start: int, end: int) -> Span:
    """``[start, end)`` without the punctuation and spaces at either end."""
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    while start < end and text[start] in _TRIM:
        start += 1
    return Span(start, end)


def candidate_spans(chunk: Chunk, source_text: str) -> list[tuple[Span, Span]]:
    """(span, its sentence) pairs: every clause, pair of adjacent clauses and sentence."""
    out: list[tuple[Span, Span]] = []
    seen: set[tuple[int, int]] = set()
    for sent in sentences(chunk):
        parts = clauses(source_text[sent.start:sent.end], sent.start)
        ranges = [(i, j) for i in range(len(parts)) for j in range(i, min(i + 2, len(parts)))]
        spans = [trimmed(source_text, parts[i].start, parts[j].end) for i, j in ranges]
        spans.append(trimmed(source_text, sent.start, sent.end))
        for span in spans:
            if span.end > span.start and (span.start, span.end) not in seen:
                seen.add((span.start, span.end))
                out.append((span, sent))
    if not out:
        span = trimmed(source_text, chunk.start, chunk.end)
        out.append((span, span))
    return out


def lexical_text(chunk: Chunk, section_weight: int, year: str | None = None) -> str:
    """What BM25 sees: the section heading gives a paragraph its topic words, and the
    report's own year (``report_year``), which most of its paragraphs leave unsaid, its
    date: 2020年签约了多少个项目 matches 签约项目36个 of a review of 2020 no less than a
    paragraph that happens to write 2020年."""
    text = with_year(chunk.text, year) if chunk.kind == "body" else chunk.text
    if chunk.kind == "heading" or not chunk.section:
        return text
    return " ".join([chunk.section] * section_weight + [text])
