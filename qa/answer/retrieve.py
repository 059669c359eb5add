"""Retrieval: the paragraphs of the index ranked for a question, by BM25, dense or both.

The index's backend (qa/index/backend.py: this process's BM25 matrix and FAISS, or Milvus)
gives the candidates' raw BM25 scores and paragraph cosines; the dense score is a paragraph's best
span's similarity when the corpus has a span index, else its own vector's. A small corpus
(up to ``Settings.exhaustive`` paragraphs) has every paragraph fused; a larger one only
each retriever's top ``Settings.candidates``. Fusion: qa/answer/fuse.py.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.answer.fuse import fuse, minmax
from qa.answer.question import Question
from qa.config import Settings
from qa.index.backend import TIE_DEPTH, Candidates, Scope, top_with_ties
from qa.index.build import Index
from qa.index.spans import SpanScores
from qa.index.vectors import Encoder
from qa.text.documents import without_years
from qa.text.normalize import normalize

MODES = ("hybrid", "bm25", "dense")
#: a compact span index is asked for this many spans for each paragraph wanted: a
#: paragraph has ~18 spans, and a question's nearest spans often share their paragraph.
SPAN_DEPTH = 4


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    score: float  # fused (or single-retriever) score in [0, 1], after the minor prior
    bm25: float  # raw BM25 score
    dense: float  # raw cosine similarity


@dataclass(frozen=True, eq=False)
class Retrieval:
    """Ranked paragraphs (best first), the question vector the extractor reuses, and how
    many candidates were scored."""

    mode: str
    hits: tuple[Hit, ...]
    vector: np.ndarray
    candidates: int
    encode_ms: float = 0.0  # embedding the question

    @property
    def ranking(self) -> tuple[int, ...]:
        """Chunk ids, best first."""
        return tuple(h.chunk_id for h in self.hits)

    def hit(self, chunk_id: int) -> Hit:
        return next(h for h in self.hits if h.chunk_id == chunk_id)

    def to_dict(self, limit: int = 10) -> dict[str, Any]:
        return {"mode": self.mode, "candidates": self.candidates,
                "encode_ms": round(self.encode_ms, 3),
                "hits": [{"chunk_id": h.chunk_id, "score": round(h.score, 4),
                          "bm25": round(h.bm25, 4), "dense": round(h.dense, 4)}
                         for h in self.hits[:limit]]}


class Retriever:
    """Ranks the paragraphs of one index for a question. Thread-safe (read-only)."""

    def __init__(self, index: Index, encoder: Encoder, settings: Settings) -> None:
        self.index, self.encoder, self.settings = index, encoder, settings
        own = index.years if settings.report_year else {}
        #: the reports' own years, left out of what the encoder sees (see ``vector``)
        self.years = sorted({y for y in own.values() if y})
        self._rows_of: dict[str, np.ndarray] | None = None
        self._minor_rows: np.ndarray | None = None

    def retrieve(self, question: Question, mode: str = "hybrid",
                 reports: Sequence[str] | None = None) -> Retrieval:
        """Paragraphs ranked for ``question``; ``reports`` (document paths, as cited, or
        paths relative to the source folder) restricts them to those reports."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        t = time.perf_counter()
        qvec = self.vector(question)
        encode_ms = (time.perf_counter() - t) * 1000
        if not self.index.chunks:
            return Retrieval(mode, (), qvec, 0, encode_ms)
        scope = None if reports is None else self._scope(reports)
        k = self._k()
        spans = None if self.index.spans is None else self.index.spans.scores(qvec)
        found = self.index.searcher().search(list(question.tokens), qvec, k, scope,
                                             dense=spans is None,
                                             extra=self._span_candidates(spans, k))
        hits = self._rank(question, found, qvec, mode, spans)
        if scope is not None:
            # Scored as without ``reports`` (the same candidates, normalised together, plus
            # the reports' own paragraphs), then filtered: min-max over only a report's one
            # or two paragraphs would make every score 0 or 1 and change what the extractor
            # sees.
            kept = set(scope.rows.tolist())
            hits = tuple(h for h in hits if h.chunk_id in kept)
        return Retrieval(mode, hits, qvec, len(found.rows), encode_ms)

    def vector(self, question: Question) -> np.ndarray:
        # The encoder sees the question normalised like everything else that is matched
        # (簽約 and 签约 should land on the same paragraphs and spans), and without a
        # report's own year, which BM25 and the evidence checks read into every paragraph.
        text = normalize(without_years(question.matchable, self.years))
        return self.encoder.encode([text])[0]

    def _span_candidates(self, spans: SpanScores | None, k: int | None) -> np.ndarray | None:
        """With a compact span index (qa/index/spans.py), the top ``k`` paragraphs by best
        span: those of the ``SPAN_DEPTH``·k span groups its ANN index finds nearest, each
        scored exactly. (The exact form scores every paragraph: nothing to add.)"""
        if spans is None or spans.spans.compact is None or k is None:
            return None
        rows, best = spans.nearest(SPAN_DEPTH * k, TIE_DEPTH * k)
        return top_with_ties(rows, best, k)

    def _k(self) -> int | None:
        """Each retriever's top k to score, or None for every paragraph of a small corpus."""
        s = self.settings
        return None if len(self.index.chunks) <= s.exhaustive else s.candidates

    def _scope(self, reports: Sequence[str]) -> Scope:
        """The named reports' paragraph rows and their ids in the index (unknown: none)."""
        rows = self._rows_of_reports(reports)
        rel_of = {r.path: r.rel for r in self.index.reports.values()}
        ids = {rel_of[self.index.chunks[int(i)].doc] for i in rows}
        return Scope(rows, tuple(sorted(ids)))

    def _rows_of_reports(self, reports: Sequence[str]) -> np.ndarray:
        """Every paragraph row of the named reports (unknown names: none)."""
        rows = [self._report_rows().get(r) for r in reports]
        found = [r for r in rows if r is not None]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)

    def _report_rows(self) -> dict[str, np.ndarray]:
        """Paragraph rows by report, keyed by both its cited path and its relative path."""
        if self._rows_of is None:
            rows: dict[str, list[int]] = {}
            for i, c in enumerate(self.index.chunks):
                rows.setdefault(c.doc, []).append(i)
            out = {doc: np.asarray(r, dtype=np.int64) for doc, r in rows.items()}
            for report in self.index.reports.values():
                if report.path in out:
                    out.setdefault(report.rel, out[report.path])
            self._rows_of = out
        return self._rows_of

    def _minor(self) -> np.ndarray:
        """Which paragraphs are not body text (headings, bylines): ranked below content."""
        if self._minor_rows is None:
            self._minor_rows = np.array([c.kind != "body" for c in self.index.chunks], dtype=bool)
        return self._minor_rows

    def _rank(self, question: Question, found: Candidates, qvec: np.ndarray, mode: str,
              scores: SpanScores | None = None) -> tuple[Hit, ...]:
        s = self.settings
        cands = found.rows
        if len(cands) == 0:
            return ()
        bm25 = found.bm25
        lexical = bm25
        spans = self.index.spans
        if spans is not None and s.sentence_weight > 0:
            w = s.sentence_weight
            best = spans.sentences.best(list(question.tokens))[cands]
            lexical = (1 - w) * minmax(bm25) + w * minmax(best)
        if spans is not None:  # each candidate by its best span
            dense = (scores or spans.scores(qvec)).best_of(cands)
        else:
            assert found.dense is not None
            dense = found.dense
        if mode == "bm25":
            fused = minmax(lexical)
        elif mode == "dense":
            fused = minmax(dense)
        else:
            fused = fuse(lexical, dense, s.fusion, s.weight_bm25, s.weight_dense, s.rrf_k)
        fused = fused - np.where(self._minor()[cands], s.minor_penalty, 0.0)
        order = np.argsort(-fused, kind="stable")
        return tuple(Hit(int(cands[i]), float(fused[i]), float(bm25[i]), float(dense[i]))
                     for i in order)
