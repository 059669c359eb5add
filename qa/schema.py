"""Frozen dataclasses for what flows through the engine; ``Answer.to_dict`` is the contract,
``Trace`` what each answering stage did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` into a decoded source text."""

    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """One paragraph of a report: the unit that is indexed and cited.

    ``text == source_text[start:end]``; a paragraph repaired across a blank line keeps
    the break inside ``text``. ``kind`` is ``body`` for content, ``heading`` for a
    heading line and ``minor`` for short non-content lines (title, byline, caption).
    """

    id: int
    doc: str
    start: int
    end: int
    text: str
    section: str
    kind: str = "body"


@dataclass(frozen=True)
class Citation:
    doc: str
    start: int
    end: int
    text: str
    context: str
    context_start: int
    section: str
    score: float
    #: where the span is in the original file: a PDF's 1-based page, a Word document's
    #: 1-based paragraph (or, for a table row, its 1-based table and row); None otherwise.
    page: int | None = None
    paragraph: int | None = None
    table: int | None = None
    row: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The citation of docs/CONTRACT.md; ``page``, ``paragraph``, ``table``, ``row``
        only when known (a .txt or .md report has none of them)."""
        out: dict[str, Any] = {
            "doc": self.doc,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "context": self.context,
            "context_start": self.context_start,
            "section": self.section,
            "score": round(float(self.score), 4),
        }
        for key in ("page", "paragraph", "table", "row"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class Answer:
    question: str
    found: bool
    answer: str
    confidence: float
    citations: tuple[Citation, ...] = field(default_factory=tuple)
    #: why the report was taken not to answer (报告中没有提到“紫冠雉”); None when ``found``
    reason: str | None = None
    #: the question as it was read: ``question`` itself, or a follow-up with the earlier
    #: questions' topic carried in (qa/answer/followup.py); "" means ``question``
    understood_as: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The answer object of docs/CONTRACT.md, ready for ``json.dumps``."""
        return {
            "question": self.question,
            "found": self.found,
            "answer": self.answer,
            "confidence": round(float(self.confidence), 4),
            "citations": [c.to_dict() for c in self.citations],
            "reason": None if self.found else self.reason,
            "understood_as": self.understood_as or self.question,
        }


@dataclass(frozen=True)
class Trace:
    """What each answering stage saw and produced, and its time in milliseconds: the
    analysed question (qa/answer/question.py ``Question``), the ranked paragraphs
    (qa/answer/retrieve.py ``Retrieval``), the chosen spans (qa/answer/extract.py
    ``Extraction``) and the confidence (qa/answer/judge.py ``Verdict``). The eval runner,
    the tuners, the benchmark, ``qa ask --explain`` and ``"explain": true`` on the API read
    it. Typed loosely here because this module sits below the stages that define them."""

    question: Any
    retrieval: Any
    extraction: Any
    verdict: Any
    timings_ms: dict[str, float] = field(default_factory=dict)
    follow_up: Any = None  # qa/answer/followup.py FollowUp: how the question was read

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (top hits and chosen spans, not every candidate)."""
        return {
            "question": self.question.to_dict(),
            "retrieval": self.retrieval.to_dict(),
            "extraction": self.extraction.to_dict(),
            "verdict": self.verdict.to_dict(),
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
            **({"follow_up": self.follow_up.to_dict()} if self.follow_up is not None else {}),
        }
