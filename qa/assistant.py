"""Wiring: Question (analysed once) → Retriever → Extractor → Judge → Answer (+ Trace).

The stages live in qa/answer/; the index is opened (loaded or built) by qa/index/load.py.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.answer.cite import cite
from qa.answer.extract import Extractor
from qa.answer.followup import read_question
from qa.answer.judge import Judge
from qa.answer.question import Question, clean_question
from qa.answer.retrieve import MODES, Hit, Retriever
from qa.config import TOP_K_MAX, TOP_K_MIN, Settings, valid_top_k
from qa.errors import BadQuestion
from qa.index.build import Index
from qa.index.load import Log, open_index, stderr
from qa.index.vectors import Encoder
from qa.schema import Answer, Trace
from qa.text.documents import list_reports


class Assistant:
    """Answers questions about the reports of one source folder. Thread-safe."""

    def __init__(self, index: Index, encoder: Encoder, settings: Settings,
                 notices: list[str] | None = None) -> None:
        self.index, self.encoder, self.settings = index, encoder, settings
        self.notices = list(notices or [])
        self.retriever = Retriever(index, encoder, settings)
        self.extractor = Extractor(index, encoder, settings)
        self.judge = Judge(index, settings)

    def ask(self, question: Any, top_k: int = 3, mode: str = "hybrid",
            reports: Sequence[str] | None = None, history: Sequence[str] | None = None) -> Answer:
        """A verbatim span answering ``question``, up to ``top_k`` citations, from ``reports``
        (all when None), read after ``history`` (earlier questions: answer/followup.py)."""
        return self.ask_traced(question, top_k, mode, reports, history)[0]

    def ask_traced(self, question: Any, top_k: int = 3, mode: str = "hybrid", reports:
                   Sequence[str] | None = None, history: Sequence[str] | None = None
                   ) -> tuple[Answer, Trace]:
        """``ask``, and the Trace of what each stage saw, scored and how long it took."""
        if not valid_top_k(top_k):
            raise BadQuestion(f"top_k must be an integer from {TOP_K_MIN} to {TOP_K_MAX}")
        laps, t = {}, time.perf_counter()

        def lap(name: str) -> None:
            nonlocal t
            laps[name], t = (time.perf_counter() - t) * 1000, time.perf_counter()

        read = read_question(question, history, self.settings.max_question_chars)
        q = Question.analyse(read.understood_as, self.settings.char_ngram, self.index.bm25)
        lap("question")
        retrieval = self.retriever.retrieve(q, mode, reports)
        lap("retrieve")
        extraction = self.extractor.extract(q, retrieval, top_k)
        lap("extract")
        top = retrieval.hits[:max(top_k, self.settings.extract_paragraphs)]
        hit_of = {h.chunk_id: h for h in top}
        dense = hit_of[extraction.best[0].chunk.id].dense if extraction.best else 0.0
        verdict = self.judge.judge(q, extraction, dense)
        lap("judge")
        citations = tuple(cite(self.index, c.chunk, c.span, hit_of[c.chunk.id].score)
                          for c in extraction.chosen[:top_k])
        answer = citations[0].text if verdict.found and citations else ""
        trace = Trace(q, retrieval, extraction, verdict, laps, read)
        return Answer(read.original, verdict.found, answer, verdict.confidence, citations,
                      verdict.reason, read.understood_as), trace

    def search(self, question: str, mode: str = "hybrid") -> list[Hit]:
        """Paragraphs ranked for ``question`` by BM25, dense or both fused, best first."""
        q = Question.analyse(question, self.settings.char_ngram, self.index.bm25)
        return list(self.retriever.retrieve(q, mode).hits)

    def source_text(self, doc: str) -> str:
        """The decoded text of a cited document (the text all offsets index into)."""
        report = self.index.reports.get(doc)
        if report is None:
            raise KeyError(f"unknown document {doc!r}")
        return report.text

    def stats(self) -> dict[str, Any]:
        kinds = dict(Counter(c.kind for c in self.index.chunks))
        return {"documents": len(self.index.reports), "paragraphs": len(self.index.chunks),
                "kinds": kinds, "model": self.index.model,
                "vector_index": self.index.vector_index.kind,
                "span_index": self.index.spans is not None, "notices": self.notices,
                "backend": self.index.searcher().describe()}

    def warm_up(self) -> None:
        """Build now, not on the first question, what a small corpus builds (Judge.warm_up)."""
        self.judge.warm_up()


def load_assistant(source: str | Path = "seeds", index: str | Path = "index",
                   settings: Settings | None = None, rebuild: bool = False, progress: bool = False,
                   log: Log | None = None, encoder: Encoder | None = None) -> Assistant:
    """Open the index for ``source`` in ``index`` (built when missing, partial, corrupted
    or stale) and the embedding model, once; ``encoder`` replaces the model (tests)."""
    settings = settings or Settings.from_env()
    settings.check()
    source, index_dir = Path(source), Path(index)
    list_reports(source)  # a missing or empty source folder fails before the model loads
    encoder = encoder or Encoder(settings.model, settings.threads)
    loaded, notices = open_index(source, index_dir, settings, encoder, rebuild, progress,
                                 log or stderr)
    assistant = Assistant(loaded, encoder, settings, notices)
    if len(loaded.chunks) <= settings.warm_up_max:
        assistant.warm_up()
    return assistant


__all__ = ["MODES", "Assistant", "Hit", "clean_question", "load_assistant"]
