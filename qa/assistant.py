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
from qa.documents import without_years
from qa.errors import BadQuestion, IndexStoreError
from qa.fuse import fuse, minmax
from qa.homophones import Homophones
from qa.indexer import Index, build_index
from qa.romanized import RomanizedCorpus
from qa.spanindex import embed_spans
from qa.store import (
    StaleIndex,
    build_lock,
    load_index,
    load_span_cache,
    load_vector_cache,
    save_index,
)
from qa.textnorm import has_cjk, normalize
from qa.tokenize import tokenize
from qa.types import Answer, Chunk, Citation, Span

Log = Callable[[str], None]
MODES = ("hybrid", "bm25", "dense")
#: below this many paragraphs every paragraph is scored; above, only each retriever's top.
_EXHAUSTIVE = 2000
_CANDIDATES = 100
#: paragraphs whose span vectors are kept in memory (for a corpus without a span index).
_SPAN_CACHE = 5000
#: corpora up to this many paragraphs get their pinyin (for English questions' names,
#: qa/romanized.py) built at load time; larger ones do without.
_PINYIN_MAX = 300
#: corpora up to this many paragraphs get what they build at load time built before the
#: first question, not on it (0: always on the first question).
_WARM_UP = _PINYIN_MAX


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
        self._built: dict[str, Any] = {}  # what is built on first need: see _once
        self._build_lock = threading.Lock()

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
                "vector_index": self.index.vector_index.kind,
                "span_index": self.index.spans is not None, "notices": self.notices}

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
        tokens = tokenize(text, s.char_ngram)
        bm25_all = self.index.bm25.scores(tokens)
        if qvec is None:
            qvec = self._question_vector(text)
        if len(chunks) <= _EXHAUSTIVE:
            cands = np.arange(len(chunks))
        else:
            top_b = np.argpartition(-bm25_all, _CANDIDATES)[:_CANDIDATES]
            top_d, _ = self.index.vector_index.search(qvec, _CANDIDATES)
            cands = np.unique(np.concatenate([top_b, top_d]))
        bm25 = bm25_all[cands]
        lexical = bm25
        spans = self.index.spans
        if spans is not None and s.sentence_weight > 0:
            w = s.sentence_weight
            lexical = (1 - w) * minmax(bm25) + w * minmax(spans.sentences.best(tokens)[cands])
        if spans is not None:  # every paragraph, by its best span
            dense = spans.best_similarity(qvec)[cands]
        else:  # einsum, not BLAS: see SpanIndex.best_similarity
            dense = np.einsum("ij,j->i", self.index.vectors[cands], qvec)
        if mode == "bm25":
            fused = minmax(lexical)
        elif mode == "dense":
            fused = minmax(dense)
        else:
            fused = fuse(lexical, dense, s.fusion, s.weight_bm25, s.weight_dense, s.rrf_k)
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
        q, qvec, hits, words, both = self._retrieve(question, mode)
        top = hits[:max(top_k, self.settings.extract_paragraphs)]
        best, rest = [], []
        for first, part in self._extraction_parts(top):
            chosen = extract.best_spans(q, part, self.source_text, both,
                                        self._span_similarity(qvec), has_cjk(q),
                                        self.settings.span_weights, first)
            (best if first == 0 else rest).extend(chosen)
        ordered = best + rest
        hit_of = {h.chunk_id: h for h in top}
        romanized = None if has_cjk(q) else self._romanized_corpus()
        features = (evidence.features(q, best[0], hit_of[best[0].chunk.id].dense, words,
                                      self.index.bm25, romanized, self._homophones,
                                      self._own_years().get(best[0].chunk.doc))
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

    def span_candidates(self, question: str, mode: str = "hybrid"
                        ) -> list[tuple[Chunk, Span, dict[str, float]]]:
        """Every candidate span the extractor chooses among, with its features: what
        eval/tune_spans.py fits the span weights on."""
        q, qvec, hits, _, both = self._retrieve(question, mode)
        out = []
        for first, part in self._extraction_parts(hits[:self.settings.extract_paragraphs]):
            out.extend(extract.span_features(q, part, self.source_text, both,
                                             self._span_similarity(qvec), has_cjk(q), first))
        return out

    def _retrieve(self, question: Any, mode: str
                  ) -> tuple[str, np.ndarray, list[Hit], dict[str, float], dict[str, float]]:
        """(cleaned question, its vector, ranked paragraphs, word and word+character
        weights of its terms)."""
        q = clean_question(question, self.settings.max_question_chars)
        text = _matchable(q)
        qvec = self._question_vector(text)
        words, both = evidence.term_weights(text, self.index.bm25)
        return q, qvec, self.search(text, mode, qvec), words, both

    def _extraction_parts(self, top: Sequence[Hit]) -> list[tuple[int, list[tuple[Chunk, float]]]]:
        """The top paragraphs as (first rank, [(chunk, score)]): the pool the answer is
        chosen from, then the further paragraphs that only supply citations."""
        chunks = self.index.chunks
        paragraphs = [(chunks[h.chunk_id], max(0.0, h.score)) for h in top]
        self._span_vectors_of([c for c, _ in paragraphs])  # one batch for all of them
        n = self.settings.extract_paragraphs
        return [(first, part) for first, part in ((0, paragraphs[:n]), (n, paragraphs[n:]))
                if part]

    def _question_vector(self, question: str) -> np.ndarray:
        # The encoder sees the question normalised like everything else that is matched
        # (簽約 and 签约 should land on the same paragraphs and spans), and without a
        # report's own year, which BM25 and the evidence checks read into every paragraph.
        years = self._once("distinct years", lambda: sorted(
            {y for y in self._own_years().values() if y}))
        return self.encoder.encode([normalize(without_years(question, years))])[0]

    def _span_similarity(self, qvec: np.ndarray) -> extract.SpanSimilarity:
        """Cosine between the question and each candidate span of a paragraph."""

        def similarity(chunk: Chunk, spans: Sequence[Span]) -> list[float]:
            vectors = self._span_vectors_of([chunk])[0]
            if len(vectors) != len(spans):  # not the spans candidate_spans gives: embed them
                text = self.source_text(chunk.doc)
                vectors = self.encoder.encode([text[s.start:s.end] for s in spans])
            return [float(v) for v in vectors @ qvec]

        return similarity

    def _span_vectors_of(self, chunks: Sequence[Chunk]) -> list[np.ndarray]:
        """Unit vectors of each chunk's candidate spans: from the span index, or embedded
        (all missing chunks in one batch) and kept in a bounded cache."""
        if self.index.spans is not None:
            return [self.index.spans.of(c.id) for c in chunks]
        with self._span_lock:
            cached = {c.id: self._span_vectors.get(c.id) for c in chunks}
            for cid, v in cached.items():
                if v is not None:
                    self._span_vectors.move_to_end(cid)
        missing = [c for c in chunks if cached[c.id] is None]
        if missing:
            for chunk, vectors in zip(missing, embed_spans(missing, self.source_text,
                                                           self.encoder)):
                cached[chunk.id] = vectors
            with self._span_lock:
                for chunk in missing:
                    self._span_vectors[chunk.id] = cached[chunk.id]
                while len(self._span_vectors) > _SPAN_CACHE:
                    self._span_vectors.popitem(last=False)
        return [cached[c.id] for c in chunks]

    def warm_up(self) -> None:
        """Build now, not on the first question, what a small corpus builds at load time:
        its pinyin."""
        self._romanized_corpus()

    def _romanized_corpus(self) -> RomanizedCorpus | None:
        """The reports in pinyin (about a second per 60,000 characters), built once, for a
        corpus of up to ``_PINYIN_MAX`` paragraphs; None for a larger one."""
        if not self.index.chunks or len(self.index.chunks) > _PINYIN_MAX:
            return None
        return self._once("pinyin", lambda: RomanizedCorpus(
            r.text for r in self.index.reports.values()))

    def _homophones(self) -> Homophones:
        """The reports' words, to tell a mistyped name (章秋区) from an unknown one; built
        on the first question that names a place no report mentions."""
        return self._once("homophones", lambda: Homophones(
            w for w in self.index.bm25.vocab if not w.startswith("·")))

    def _own_years(self) -> dict[str, str | None]:
        """The year each report is about (qa/documents.py: report_year), as the index
        dated its paragraphs (none when ``report_year`` is off)."""
        return self.index.years if self.settings.report_year else {}

    def _once(self, name: str, build: Callable[[], Any]) -> Any:
        """``build()``, run once however many threads ask at the same time."""
        if name not in self._built:
            with self._build_lock:
                if name not in self._built:
                    self._built[name] = build()
        return self._built[name]

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
            spans = load_span_cache(index_dir, encoder.model_id)
            index = build_index(source, settings, encoder, cache, progress, log, spans)
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


__all__ = ["Assistant", "Hit", "load_assistant", "clean_question", "MODES"]
