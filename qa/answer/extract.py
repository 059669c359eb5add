"""Choose the answer: the shortest verbatim span (a clause or a sentence) that answers.

Candidates are clauses, pairs of adjacent clauses and whole sentences of the top
paragraphs. Each is scored by how much of the question it (and its sentence) covers, by
its embedding similarity to the question, by whether it holds what the question's form asks
for (qa/answer/forms.py: 多少 → a number in the asked unit, 哪年 → a date, 谁 → a person …), by its
paragraph's retrieval score and rank, and by its length: a linear score whose weights are
fitted on an eval set by `qa tune spans`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qa.answer.forms import OTHER_UNIT, has_form
from qa.answer.question import Question
from qa.answer.ranker import fitted_ranker
from qa.answer.retrieve import Retrieval
from qa.config import SPAN_WEIGHTS, Settings
from qa.index.build import Index
from qa.index.spans import embed_spans
from qa.index.vectors import Encoder
from qa.schema import Chunk, Span
from qa.text.documents import title_sentence
from qa.text.normalize import normalize
from qa.text.spans import candidate_spans

#: the features a candidate span is scored by (``span_features``), weighed by
#: ``SPAN_WEIGHTS`` (qa/models/spans.json, written by `qa tune spans`).
SPAN_FEATURES = (
    "paragraph",  # the paragraph's retrieval score in [0, 1]
    "top_paragraph",  # 1 in the best-ranked paragraph
    "second_paragraph",  # 1 in the second
    "local",  # weighted share of the question's terms inside the span (Chinese questions)
    "context",  # … inside the span's sentence
    "similarity",  # cosine between question and span embeddings (Chinese questions)
    "foreign_similarity",  # the same for a question in another language
    "fit",  # holds what the question's form asks for: 1, 0.15 for a number in another unit
    "no_form",  # 1 when it holds nothing of the asked form
    "extra_length",  # characters beyond 12, in tens
    "short_length",  # characters up to 12, in tens
    "restated",  # how far the share of characters new to the question falls below 0.4
)


@dataclass(frozen=True)
class Candidate:
    chunk: Chunk
    span: Span
    score: float
    form_ok: float
    similarity: float = 0.0
    #: the clause, pair or sentence the linear chooser scored (form_ok and similarity are
    #: its own) when the ranker (qa/answer/ranker.py) chose ``span`` inside its paragraph
    region: Span | None = None
    expected_f1: float | None = None  # of ``span``, under the ranker's probabilities


def coverage(text_norm: str, weights: dict[str, float]) -> float:
    """Weighted share of the question's terms that occur in ``text_norm``."""
    total = math.fsum(weights.values())
    if total <= 0:
        return 0.0
    return math.fsum(w for t, w in weights.items() if t in text_norm) / total


SpanSimilarity = Callable[[Chunk, Sequence[Span]], Sequence[float]]


def span_features(question: Question, paragraphs: list[tuple[Chunk, float]],
                  source_text: Callable[[str], str],
                  similarity: SpanSimilarity | None = None,
                  first_rank: int = 0) -> list[tuple[Chunk, Span, dict[str, float]]]:
    """Every candidate span of ``paragraphs`` with the ``SPAN_FEATURES`` it is scored by.

    ``paragraphs`` are (chunk, retrieval score in [0, 1]) in rank order, the first at rank
    ``first_rank``; the question's ``term_weights`` map each normalised term (word or
    character) to its weight (idf); ``similarity`` gives the cosine between the question and
    each span. Without lexical evidence (a question in another language) the overlap
    features are 0 and the similarity counts as ``foreign_similarity``.
    """
    lex = 1.0 if question.has_cjk else 0.0
    out: list[tuple[Chunk, Span, dict[str, float]]] = []
    for rank, (chunk, para_score) in enumerate(paragraphs, first_rank):
        text = source_text(chunk.doc)
        for (span, sent), sim in _candidates(question, chunk, text, similarity):
            out.append((chunk, span, _features(question, text, span, sent, sim, lex,
                                               para_score, rank)))
    return out


def _candidates(question: Question, chunk: Chunk, text: str,
                similarity: SpanSimilarity | None) -> list[tuple[tuple[Span, Span], float]]:
    """The chunk's candidate (span, sentence) pairs worth scoring, with their similarity."""
    qn = question.normalized
    pairs = candidate_spans(chunk, text)
    sims = similarity(chunk, [p[0] for p in pairs]) if similarity else [0.0] * len(pairs)
    scored = list(zip(pairs, sims))
    # A span made only of the question's own words (a heading it names) tells nothing:
    # it is no candidate, unless the question quotes the whole paragraph.
    new = [(p, sim) for p, sim in scored if normalize(text[p[0].start:p[0].end]) not in qn]
    # A paragraph's title (生态环境持续改善。) may tell how something is going, but it is
    # no method, number or name: for a question of a recognised form, no candidate.
    title = title_sentence(chunk) if question.form != "other" else None
    if title is not None:
        new = [(p, sim) for p, sim in new if p[1] != title] or new
    return new or scored


def _features(question: Question, text: str, span: Span, sent: Span, sim: float, lex: float,
              para_score: float, rank: int) -> dict[str, float]:
    qn = question.normalized
    s_text = text[span.start:span.end]
    s_norm = normalize(s_text)
    ok = has_form(s_text, question.form, qn, question.units)
    # An answer tells something the question does not: a span that only restates
    # the question (a heading it names, say) is a poor answer however well it matches.
    novelty = sum(1 for ch in s_norm if ch not in qn) / max(1, len(s_norm))
    weights = question.term_weights
    return {
        "paragraph": para_score,
        "top_paragraph": 1.0 if rank == 0 else 0.0,
        "second_paragraph": 1.0 if rank == 1 else 0.0,
        "local": lex * coverage(s_norm, weights),
        "context": lex * coverage(normalize(text[sent.start:sent.end]), weights),
        "similarity": lex * float(sim),
        "foreign_similarity": (1.0 - lex) * float(sim),
        # A number in another unit than the asked one is hardly better than none.
        "fit": 0.15 if ok == OTHER_UNIT else ok,
        "no_form": 1.0 if ok == 0 else 0.0,
        "extra_length": max(0, len(s_text) - 12) / 10,
        "short_length": min(len(s_text), 12) / 10,
        "restated": max(0.0, 0.4 - novelty),
        # not scored, kept for the confidence model (qa/answer/evidence.py)
        "form_ok": ok,
        "cosine": float(sim),
    }


def span_score(features: dict[str, float], weights: dict[str, float]) -> float:
    """A candidate's score: its ``SPAN_FEATURES`` weighed by ``weights``."""
    return sum(weights.get(k, 0.0) * features[k] for k in SPAN_FEATURES)


def choose(scored: Sequence[tuple[Chunk, Span, dict[str, float]]],
           weights: dict[str, float]) -> list[Candidate]:
    """The best of the ``scored`` candidates of each paragraph, best first."""
    best: dict[int, Candidate] = {}
    for chunk, span, f in scored:
        score = span_score(f, weights)
        if chunk.id not in best or score > best[chunk.id].score:
            best[chunk.id] = Candidate(chunk, span, score, f["form_ok"], f["cosine"])
    return sorted(best.values(), key=lambda c: -c.score)


def best_spans(question: Question, paragraphs: list[tuple[Chunk, float]],
               source_text: Callable[[str], str], similarity: SpanSimilarity | None = None,
               weights: dict[str, float] | None = None, first_rank: int = 0,
               ) -> list[Candidate]:
    """The best candidate span of each paragraph, best first (see ``span_features``);
    ``weights`` default to the fitted ``SPAN_WEIGHTS``."""
    weights = SPAN_WEIGHTS if weights is None else weights
    return choose(span_features(question, paragraphs, source_text, similarity, first_rank),
                  weights)


@dataclass(frozen=True)
class Extraction:
    """The extractor's output: the best span of each paragraph of the answer pool (``best``,
    best first) and of the further paragraphs that only supply citations (``rest``), and
    every candidate of the pool with its features (what `qa tune spans` fits on)."""

    best: tuple[Candidate, ...]
    rest: tuple[Candidate, ...]
    candidates: tuple[tuple[Chunk, Span, dict[str, float]], ...]
    embed_ms: float = 0.0  # embedding spans (a corpus without a span index)

    @property
    def chosen(self) -> tuple[Candidate, ...]:
        return self.best + self.rest

    def to_dict(self) -> dict[str, Any]:
        return {"spans": [{"chunk_id": c.chunk.id, "doc": c.chunk.doc, "start": c.span.start,
                           "end": c.span.end, "score": round(c.score, 4),
                           "form": c.form_ok, "similarity": round(c.similarity, 4)}
                          for c in self.chosen],
                "candidates": len(self.candidates), "embed_ms": round(self.embed_ms, 3)}


def _titles(chunk: Chunk, span: Span, region: Candidate) -> bool:
    """``span`` lies in the paragraph's title sentence (项目做大做强。) and the chooser's
    region does not: the chooser, which knows when a title can answer (span_features),
    decides; the ranker never saw titles apart from other sentences."""
    title = title_sentence(chunk)

    def inside(s: Span) -> bool:
        return title is not None and title.start <= s.start and s.end <= title.end

    return inside(span) and not inside(region.span)


class Extractor:
    """Chooses the answer span in the top paragraphs of a retrieval. Thread-safe."""

    def __init__(self, index: Index, encoder: Encoder, settings: Settings) -> None:
        self.index, self.encoder, self.settings = index, encoder, settings
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def extract(self, question: Question, retrieval: Retrieval, top_k: int = 3) -> Extraction:
        """The best span of each of the top ``max(top_k, extract_paragraphs)`` paragraphs."""
        n = self.settings.extract_paragraphs
        chunks = self.index.chunks
        top = retrieval.hits[:max(top_k, n)]
        paragraphs = [(chunks[h.chunk_id], max(0.0, h.score)) for h in top]
        t = time.perf_counter()
        self._span_vectors_of([c for c, _ in paragraphs])  # one batch for all of them
        embed_ms = (time.perf_counter() - t) * 1000
        similarity = self._similarity(retrieval.vector)
        pool = span_features(question, paragraphs[:n], self._text, similarity, 0)
        rest = (span_features(question, paragraphs[n:], self._text, similarity, n)
                if paragraphs[n:] else [])
        weights = self.settings.span_weights
        best = choose(pool, weights)
        if best and self.settings.span_ranker != "off":
            best[0] = self._refined(question, best[0])
        return Extraction(tuple(best), tuple(choose(rest, weights)), tuple(pool), embed_ms)

    def _refined(self, question: Question, region: Candidate) -> Candidate:
        """The ranker's span in the paragraph of the chosen ``region``. With the "overlap"
        policy it is kept only when it overlaps the region: where the linear chooser and the
        ranker disagree on the place, the region (fitted on the reports' own questions)
        stands."""
        chunk = region.chunk
        refined = fitted_ranker().refine(question.text, self._text(chunk.doc), chunk.start,
                                         chunk.end)
        if refined is None:
            return region
        span = refined.span
        apart = span.end <= region.span.start or span.start >= region.span.end
        unsure = refined.expected_f1 < fitted_ranker().gate_for(refined.kind)
        if self.settings.span_ranker == "gated" and (unsure or _titles(chunk, span, region)):
            return replace(region, expected_f1=refined.expected_f1)
        if self.settings.span_ranker == "overlap" and apart:
            return region
        return replace(region, span=span, region=region.span, expected_f1=refined.expected_f1)

    def _text(self, doc: str) -> str:
        return self.index.reports[doc].text

    def _similarity(self, qvec: np.ndarray) -> SpanSimilarity:
        """Cosine between the question and each candidate span of a paragraph."""

        def similarity(chunk: Chunk, spans: Sequence[Span]) -> list[float]:
            vectors = self._span_vectors_of([chunk])[0]
            if len(vectors) != len(spans):  # not the spans candidate_spans gives: embed them
                text = self._text(chunk.doc)
                vectors = self.encoder.encode([text[s.start:s.end] for s in spans])
            return [float(v) for v in vectors @ qvec]

        return similarity

    def _span_vectors_of(self, chunks: Sequence[Chunk]) -> list[np.ndarray]:
        """Unit vectors of each chunk's candidate spans: from the span index, or embedded
        (all missing chunks in one batch) and kept in a bounded cache."""
        if self.index.spans is not None:
            return [self.index.spans.of(c.id) for c in chunks]
        with self._lock:
            cached = {c.id: self._cache.get(c.id) for c in chunks}
            for cid, v in cached.items():
                if v is not None:
                    self._cache.move_to_end(cid)
        missing = [c for c in chunks if cached[c.id] is None]
        if missing:
            for chunk, vectors in zip(missing, embed_spans(missing, self._text, self.encoder)):
                cached[chunk.id] = vectors
            with self._lock:
                for chunk in missing:
                    self._cache[chunk.id] = cached[chunk.id]
                while len(self._cache) > self.settings.span_cache:
                    self._cache.popitem(last=False)
        return [cached[c.id] for c in chunks]
