"""A chosen span as a Citation: its text sliced from the source, its paragraph as context,
and, for a converted report (PDF, Word), where the span lies in the original file."""

from __future__ import annotations

from qa.index.build import Index
from qa.schema import Chunk, Citation, Span
from qa.text.readers import locate


def cite(index: Index, chunk: Chunk, span: Span, score: float) -> Citation:
    """The citation of ``span`` (offsets into ``chunk.doc``'s text), ranked by ``score``.

    The page or paragraph is that of the span's first character: a span never crosses a
    paragraph, and a PDF paragraph that runs on to the next page is cited at its start."""
    report = index.reports.get(chunk.doc)
    if report is None:
        raise KeyError(f"unknown document {chunk.doc!r}")
    piece = locate(report.converted, span.start) if report.converted else None
    where = {} if piece is None else {"page": piece.page, "paragraph": piece.paragraph,
                                      "table": piece.table, "row": piece.row}
    return Citation(chunk.doc, span.start, span.end, report.text[span.start:span.end],
                    chunk.text, chunk.start, chunk.section, score, **where)
