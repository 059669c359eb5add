"""Where retrieval's raw scores come from: one interface, two engines.

The retriever (qa/answer/retrieve.py) asks a backend for a question's candidate paragraphs
with each one's raw BM25 score and paragraph cosine, then fuses them itself, the same way
whatever the backend. ``LocalBackend`` (the scipy sparse BM25 matrix and FAISS, in this
process) is the default: nothing to start, fastest on one box. qa/index/milvus.py stores the
same weights and vectors in Milvus.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from qa.index.bm25 import SparseBM25
from qa.index.vectors import VectorIndex

#: each retriever's top k is read from its best ``TIE_DEPTH``·k, so that every paragraph
#: tied with the k-th (a duplicate paragraph) is kept, whatever order an engine returns ties
#: in; scores within ``TIE`` (relative) of the k-th count as tied (float32 rounding).
TIE_DEPTH = 2
TIE = 1e-6


def top_with_ties(rows: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """The ``rows`` of the best ``k`` ``scores``, and every row tied with the k-th."""
    if len(rows) <= k:
        return rows
    kth = -np.partition(-scores, k - 1)[k - 1]
    return rows[scores >= kth - TIE * abs(kth)]


@dataclass(frozen=True, eq=False)
class Scope:
    """A search restricted to some reports: their paragraph rows, and their ids as the
    index stores them (the report's path relative to the source folder)."""

    rows: np.ndarray
    reports: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Candidates:
    """The paragraph rows to rank (increasing), each one's raw BM25 score and, when asked
    for, the cosine of its paragraph vector with the question."""

    rows: np.ndarray
    bm25: np.ndarray
    dense: np.ndarray | None


@dataclass(frozen=True, eq=False)
class QueryTerms:
    """A question's BM25 terms: their columns, how often each is asked, and the score every
    paragraph gets even without them (BM25+'s ``idf·delta`` per term, ``SparseBM25.base``)."""

    cols: np.ndarray
    reps: np.ndarray
    constant: float

    @classmethod
    def of(cls, bm25: SparseBM25, tokens: list[str]) -> QueryTerms:
        counts = Counter(t for t in tokens if t in bm25.vocab)
        cols = np.fromiter((bm25.vocab[t] for t in counts), dtype=np.int64, count=len(counts))
        reps = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        return cls(cols, reps, float(bm25.base[cols] @ reps) if len(cols) else 0.0)


class SearchBackend(Protocol):
    """What the retriever needs from an index engine."""

    name: str

    def search(self, tokens: list[str], qvec: np.ndarray, k: int | None,
               scope: Scope | None = None, dense: bool = True,
               extra: np.ndarray | None = None) -> Candidates:
        """Every paragraph when ``k`` is None, else the union of the BM25 top ``k`` and the
        vector top ``k``; plus every paragraph of ``scope`` and the rows ``extra`` (the
        span index's top k). ``dense``: also the paragraph cosines (a corpus with a span
        index scores paragraphs by their spans instead)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Name and where it lives (no secret), for the manifest and /api/health."""
        ...

    def health(self) -> dict[str, Any]:
        """``describe()`` and whether it answers now (``ok``; ``error`` when not)."""
        ...


class LocalBackend:
    """The scipy sparse BM25 matrix and the FAISS index of this process."""

    name = "local"

    def __init__(self, bm25: SparseBM25, vectors: np.ndarray, vector_index: VectorIndex) -> None:
        self.bm25, self.vectors, self.vector_index = bm25, vectors, vector_index

    def search(self, tokens: list[str], qvec: np.ndarray, k: int | None,
               scope: Scope | None = None, dense: bool = True,
               extra: np.ndarray | None = None) -> Candidates:
        scores = self.bm25.scores(tokens)
        if k is None:
            rows = np.arange(self.bm25.size)
        else:
            rows = np.union1d(self._top_bm25(tokens, scores, k), self._top_dense(qvec, k))
        if scope is not None:
            rows = np.union1d(rows, scope.rows)
        if extra is not None and len(extra):
            rows = np.union1d(rows, extra)
        # einsum, not BLAS: see SpanIndex.best_similarity
        cos = np.einsum("ij,j->i", self.vectors[rows], qvec) if dense else None
        return Candidates(rows, scores[rows], cos)

    def _top_bm25(self, tokens: list[str], scores: np.ndarray, k: int) -> np.ndarray:
        """The best k paragraphs that hold a term of the question, with ties."""
        rows = np.flatnonzero(scores > QueryTerms.of(self.bm25, tokens).constant)
        depth = TIE_DEPTH * k
        if len(rows) > depth:
            rows = rows[np.argpartition(-scores[rows], depth - 1)[:depth]]
        return top_with_ties(rows, scores[rows], k)

    def _top_dense(self, qvec: np.ndarray, k: int) -> np.ndarray:
        ids, sims = self.vector_index.search(qvec, TIE_DEPTH * k)
        return top_with_ties(ids.astype(np.int64), sims, k)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def health(self) -> dict[str, Any]:
        return {**self.describe(), "ok": True}
