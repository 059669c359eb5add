"""Wiring: load or build the index once, then answer questions from it."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa import confidence, evidence, extract
from qa.config import Settings
from qa.dense import Encoder
from qa.errors import BadQuestion, IndexStoreError
from qa.fuse import fuse, minmax
from qa.indexer import Index, build_index
from qa.store import (
    StaleIndex,
    build_lock,
    check_fresh,
    load_index,
    load_vector_cache,
    read_manifest,
    save_index,
)
from qa.textnorm import has_cjk
from qa.tokenize import tokenize
from qa.types import Answer, Chunk, Citation, Span

Log = Callable[[str], None]
MODES = ("hybrid", "bm25", "dense")
#: below this many paragraphs every paragraph is scored; above, only each retriever's top.
_EXHAUSTIVE = 2000
_CANDIDATES = 100
#: paragraphs whose span vectors are kept in memory.
_SPAN_CACHE = 5000
#: corpora up to this many paragraphs get their span vectors computed at load time.
_WARM_UP = 300


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def clean_question(question: Any, max_chars: int) -> str:
    """The question as it will be answered, or BadQuestion saying why it cannot be."""
    if not isinstance(question, str):
        raise BadQuestion(f"the question must be text, not {type(question).__name__}")
    q = question.strip()
    if not q:
        raise BadQuestion("the question is empty; type a question about the report")
    if len(q) > max_chars:
        raise BadQuestion(f"the question is {len(q)} characters long; the limit is {max_chars}")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in q):
        raise BadQuestion("the question is not valid Unicode text (it has a lone surrogate)")
    return q


def _matchable(question: str) -> str:
    """Control characters become spaces so that they cannot glue or split tokens."""
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf") else c for c in question)


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    score: float  # fused (or single-retriever) score in [0, 1], after the minor prior
    bm25: float  # raw BM25 score
    dense: float  # raw cosine similarity


class Assistant:
    """Answers questions about the reports of one source folder. Thread-safe."""

    def __init__(self, index: Index, encoder: Encoder, settings: Settings,
                 notices: list[str] | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.settings = settings
        self.notices = list(notices or [])
        self._span_vectors: OrderedDict[int, np.ndarray] = OrderedDict()
        self._span_lock = threading.Lock()

    # ------------------------------------------------------------ public API

    def ask(self, question: Any, top_k: int = 3, mode: str = "hybrid") -> Answer:
        """Answer ``question`` with a verbatim span and up to ``top_k`` citations."""
        answer, _ = self.ask_explained(question, top_k, mode)
        return answer

    def source_text(self, doc: str) -> str:
        """The decoded text of a cited document (the text all offsets index into)."""
        report = self.index.reports.get(doc)
        if report is None:
            raise KeyError(f"unknown document {doc!r}")
        return report.text

    def stats(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for c in self.index.chunks:
            kinds[c.kind] = kinds.get(c.kind, 0) + 1
        return {"documents": len(self.index.reports), "paragraphs": len(self.index.chunks),
                "kinds": kinds, "model": self.index.model,
                "vector_index": self.index.vector_index.kind, "notices": self.notices}

    # ------------------------------------------------------------ retrieval

    def search(self, question: str, mode: str = "hybrid",
               qvec: np.ndarray | None = None) -> list[Hit]:
        """Paragraphs ranked for ``question`` by BM25, dense or both fused, best first."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        s = self.settings
        chunks = self.index.chunks
        if not chunks:
            return []
        text = _matchable(question)
        bm25_all = self.index.bm25.scores(tokenize(text, s.char_ngram))
        if qvec is None:
            qvec = self.encoder.encode([text])[0]
        if len(chunks) <= _EXHAUSTIVE:
            cands = np.arange(len(chunks))
        else:
            top_b = np.argpartition(-bm25_all, _CANDIDATES)[:_CANDIDATES]
            top_d, _ = self.index.vector_index.search(qvec, _CANDIDATES)
            cands = np.unique(np.concatenate([top_b, top_d]))
        bm25 = bm25_all[cands]
        # einsum, not BLAS: a threaded gemv waits on its second thread (1000 rows: 0.15 ms
        # this way, 8 ms through OpenBLAS on a busy 2-core machine).
        dense = np.einsum("ij,j->i", self.index.vectors[cands], qvec)
        if mode == "bm25":
            fused = minmax(bm25)
        elif mode == "dense":
            fused = minmax(dense)
        else:
            fused = fuse(bm25, dense, s.fusion, s.weight_bm25, s.weight_dense, s.rrf_k)
        prior = np.array([s.minor_penalty if chunks[i].kind != "body" else 0.0 for i in cands])
        fused = fused - prior
        order = np.argsort(-fused, kind="stable")
        return [Hit(int(cands[i]), float(fused[i]), float(bm25[i]), float(dense[i]))
                for i in order]

    # ------------------------------------------------------------ answering

    def ask_explained(self, question: Any, top_k: int = 3,
                      mode: str = "hybrid") -> tuple[Answer, dict[str, Any]]:
        """``ask`` plus the features its confidence was computed from and the paragraph
        ranking (chunk ids, best first): what the eval runner measures and tunes on."""
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 10:
            raise BadQuestion("top_k must be an integer from 1 to 10")
        q = clean_question(question, self.settings.max_question_chars)
        text = _matchable(q)
        qvec = self.encoder.encode([text])[0]
        hits = self.search(text, mode, qvec)
        n_para = max(top_k, self.settings.extract_paragraphs)
        top = hits[:n_para]
        words, both = evidence.term_weights(text, self.index.bm25)
        chunks = self.index.chunks
        paragraphs = [(chunks[h.chunk_id], max(0.0, h.score)) for h in top]
        pool = paragraphs[: self.settings.extract_paragraphs]
        similarity = self._span_similarity(qvec)
        lexical = has_cjk(q)
        best = extract.best_spans(q, pool, self.source_text, both, similarity, lexical)
        rest = extract.best_spans(q, paragraphs[len(pool):], self.source_text, both,
                                  similarity, lexical)
        ordered = best + rest
        hit_of = {h.chunk_id: h for h in top}
        features = (evidence.features(q, best[0], hit_of[best[0].chunk.id].dense, words, both,
                                      self.index.bm25, self.source_text)
                    if best else {"n_terms": 0.0})
        features["ranking"] = [h.chunk_id for h in hits]
        confidence = self._confidence(features)
        found = bool(best) and confidence >= self.settings.threshold
        citations = tuple(
            Citation(c.chunk.doc, c.span.start, c.span.end,
                     self.source_text(c.chunk.doc)[c.span.start:c.span.end], c.chunk.text,
                     c.chunk.start, c.chunk.section, hit_of[c.chunk.id].score)
            for c in ordered[:top_k]
        )
        answer = citations[0].text if found and citations else ""
        return Answer(q, found, answer, confidence, citations), features

    def _span_similarity(self, qvec: np.ndarray) -> extract.SpanSimilarity:
        """Cosine between the question and candidate spans; span vectors are cached per
        paragraph (bounded), so a paragraph's spans are embedded once."""

        def similarity(chunk: Chunk, spans: Sequence[Span]) -> list[float]:
            with self._span_lock:
                vectors = self._span_vectors.get(chunk.id)
                if vectors is not None:
                    self._span_vectors.move_to_end(chunk.id)
            if vectors is None or len(vectors) != len(spans):
                text = self.source_text(chunk.doc)
                vectors = self.encoder.encode([text[s.start:s.end] for s in spans])
                with self._span_lock:
                    self._span_vectors[chunk.id] = vectors
                    while len(self._span_vectors) > _SPAN_CACHE:
                        self._span_vectors.popitem(last=False)
            return [float(v) for v in vectors @ qvec]

        return similarity

    def warm_up(self) -> None:
        """Embed every paragraph's candidate spans now (small corpora), not on first ask."""
        spans = extract.candidate_spans
        for chunk in self.index.chunks[:_SPAN_CACHE]:
            self._span_similarity(np.zeros(self.encoder.dim, dtype=np.float32))(
                chunk, [p[0] for p in spans(chunk, self.source_text(chunk.doc))])

    def _confidence(self, f: dict[str, float]) -> float:
        if f["n_terms"] == 0:
            return 0.0
        return confidence.logistic(f, self.settings.confidence_weights)


def _build(source: Path, index_dir: Path, settings: Settings, encoder: Encoder,
           progress: bool, log: Log, force: bool = False) -> tuple[Index, list[str]]:
    notices: list[str] = []
    t = time.perf_counter()
    try:
        with build_lock(index_dir):
            if not force:  # another process may have finished the same build while we waited
                with contextlib.suppress(StaleIndex):
                    return load_index(index_dir, source, settings)[0], notices
            cache = load_vector_cache(index_dir, encoder.model_id)
            index = build_index(source, settings, encoder, cache, progress, log)
            save_index(index, index_dir, source, settings)
    except IndexStoreError as exc:
        if force:  # `qa build` exists to write the index: failing to is an error
            raise
        msg = f"{exc}: answering from an index built in memory, not saved"
        log(f"notice: {msg}")
        notices.append(msg)
        index = build_index(source, settings, encoder, None, progress, log)
    log(f"index: built {len(index.chunks)} paragraphs from {len(index.reports)} report(s) "
        f"in {time.perf_counter() - t:.1f}s")
    return index, notices


def load_assistant(source: str | Path = "seeds", index: str | Path = "index",
                   settings: Settings | None = None, rebuild: bool = False,
                   progress: bool = False, log: Log | None = None) -> Assistant:
    """Load the index for ``source`` from ``index`` — building it when it is missing,
    partial, corrupted or stale — and the embedding model, once."""
    log = log or _stderr
    settings = settings or Settings.from_env()
    settings.check()
    source, index_dir = Path(source), Path(index)
    from qa.documents import list_reports

    list_reports(source)  # a missing or empty source folder fails before the model loads
    encoder = Encoder(settings.model, settings.threads)
    loaded: Index | None = None
    notices: list[str] = []
    if not rebuild:
        try:
            loaded, manifest = load_index(index_dir, source, settings)
            notices = list(manifest.get("notices") or [])
        except StaleIndex as why:
            if (index_dir / "manifest.json").exists():
                log(f"notice: {why}; rebuilding the index")
    if loaded is None:
        loaded, extra = _build(source, index_dir, settings, encoder, progress, log, rebuild)
        notices = loaded.notices + extra
    assistant = Assistant(loaded, encoder, settings, notices)
    if len(loaded.chunks) <= _WARM_UP:
        assistant.warm_up()
    return assistant


__all__ = ["Assistant", "Hit", "load_assistant", "clean_question", "MODES",
           "check_fresh", "read_manifest"]
