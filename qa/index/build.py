"""Build an index in memory: reports → paragraphs → BM25 weights and vectors."""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Settings
from qa.index.backend import LocalBackend, SearchBackend
from qa.index.bm25 import SparseBM25, build_bm25
from qa.index.spans import SpanIndex, build_span_index
from qa.index.vectors import Encoder, VectorIndex
from qa.schema import Chunk
from qa.text.documents import Conversions, Report, paragraphs, read_reports, report_year
from qa.text.spans import lexical_text
from qa.text.tokens import tokenize


@dataclass
class Index:
    """Everything a query needs. Row ``i`` of ``vectors`` and of the BM25 matrix is chunk ``i``."""

    chunks: list[Chunk]
    reports: dict[str, Report]
    bm25: SparseBM25
    vectors: np.ndarray
    vector_index: VectorIndex
    model: str
    notices: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: every paragraph's spans embedded and its sentences indexed (qa/index/spans.py); None
    #: only for an index built without (``build_index(..., span_index=False)``).
    spans: SpanIndex | None = None
    #: each report's own year (``report_years``) by path, read into its paragraphs.
    years: dict[str, str | None] = field(default_factory=dict)
    #: each chunk's ``content_hash`` (model and text), computed once by the build and
    #: written to chunks.jsonl: the key of the vector and span caches of the next build.
    hashes: list[str] = field(default_factory=list)
    #: the stored generation this index was loaded from or saved as (the manifest's
    #: ``generation``); "" for an index built in memory and not saved.
    generation: str = ""
    #: where retrieval's raw scores come from (qa/index/backend.py); None: this process's
    #: own BM25 matrix and FAISS index.
    backend: SearchBackend | None = None

    def searcher(self) -> SearchBackend:
        """The backend set on this index, or the local one over its own arrays."""
        if self.backend is None:
            self.backend = LocalBackend(self.bm25, self.vectors, self.vector_index)
        return self.backend


#: paragraphs per encoder call at build time (the encoder batches again inside).
_EMBED_BATCH = 512


def _bar(items: Any, show: bool, what: str, total: int | None = None) -> Any:
    """A tqdm progress bar in paragraphs per second on stderr, or a silent stand-in."""
    from tqdm import tqdm

    return tqdm(items, total=total, desc=what, unit="para", disable=not show or
                (total if total is not None else len(items)) < 200, file=sys.stderr,
                mininterval=0.5, leave=False)


def report_years(reports: Iterable[Report], settings: Settings) -> dict[str, str | None]:
    """Each report's own year (``report_year``) by path; none when ``settings.report_year``
    is off."""
    return {r.path: report_year(r.text) for r in reports} if settings.report_year else {}


def dense_text(chunk: Chunk) -> str:
    return chunk.text


def content_hash(model: str, text: str) -> str:
    return hashlib.sha1(f"{model}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()


def span_key(text_hash: str, kind: str) -> str:
    """What a chunk's span vectors depend on: its text and the model (``content_hash``: spans
    are cut from the text) and its kind (a byline's lines are sentences of their own)."""
    return f"{text_hash}:{kind}"


def make_chunks(reports: list[Report], settings: Settings) -> list[Chunk]:
    chunks: list[Chunk] = []
    for report in reports:
        chunks.extend(paragraphs(report, len(chunks), settings.heading_max_chars,
                                 settings.minor_max_chars))
    return chunks


def _bm25(chunks: list[Chunk], settings: Settings, years: dict[str, str | None],
          progress: bool) -> tuple[SparseBM25, float]:
    """BM25 over the paragraphs' lexical text, and the seconds spent tokenising."""
    spent = [0.0]

    def token_lists() -> Iterator[list[str]]:
        # One paragraph's tokens at a time: build_bm25 counts them and drops them, so the
        # ~20M tokens of 100k paragraphs are never all alive (they cost ~300 MB as lists).
        for c in _bar(chunks, progress, "tokenise"):
            t0 = time.perf_counter()
            tokens = tokenize(lexical_text(c, settings.section_weight, years.get(c.doc)),
                              settings.char_ngram)
            spent[0] += time.perf_counter() - t0
            yield tokens

    bm25 = build_bm25(token_lists(), settings.bm25_variant, settings.bm25_k1, settings.bm25_b,
                      settings.bm25_delta)
    return bm25, spent[0]


def _vectors(chunks: list[Chunk], hashes: list[str], encoder: Encoder,
             cached_vectors: dict[str, np.ndarray] | None, progress: bool
             ) -> tuple[np.ndarray, int]:
    """Each paragraph's vector, from the previous build's cache (emptied once copied), from
    an earlier paragraph of this build with the same ``content_hash`` or embedded; and how
    many were embedded."""
    cache = cached_vectors or {}
    vectors = np.zeros((len(chunks), encoder.dim), dtype=np.float32)
    first: dict[str, int] = {}  # content hash → the first paragraph to embed that has it
    copies = []
    hit = None
    for i, h in enumerate(hashes):
        hit = cache.get(h)
        if hit is not None and hit.shape == (encoder.dim,):
            vectors[i] = hit
        elif first.setdefault(h, i) != i:
            copies.append(i)
    del cache, hit  # hit: a view that would keep the cache's whole array alive
    if cached_vectors:
        cached_vectors.clear()
    todo = list(first.values())
    with _bar(None, progress, "embed", total=len(todo)) as bar:
        for a in range(0, len(todo), _EMBED_BATCH):
            block = todo[a:a + _EMBED_BATCH]
            vectors[block] = encoder.encode([dense_text(chunks[i]) for i in block])
            bar.update(len(block))
    for i in copies:
        vectors[i] = vectors[first[hashes[i]]]
    return vectors, len(todo)


def build_index(source: Path, settings: Settings, encoder: Encoder,
                cached_vectors: dict[str, np.ndarray] | None = None,
                progress: bool = False, log: Callable[[str], None] | None = None,
                cached_spans: dict[str, np.ndarray] | None = None,
                cached_conversions: Conversions | None = None,
                span_index: bool = True) -> Index:
    """Read every report under ``source`` and build the index in memory.

    ``cached_vectors`` maps ``content_hash`` → vector from a previous build with the same
    model, so adding one report to a large folder embeds only the new paragraphs (and
    ``cached_spans``, keyed by ``span_key``, their spans: see qa/index/spans.py). It is
    emptied once its vectors are copied: at 100k paragraphs it holds ~200 MB that would
    otherwise stay alive through the vector-index build, the peak of a build's memory.
    ``cached_conversions`` (sha256 of a file → its Converted) spares converting again a PDF,
    Word or HTML report the previous build converted. ``span_index=False`` leaves the span
    index out (a comparison of search without it: `qa sweep`, the backend tests).
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    timings: dict[str, float] = {}
    t = time.perf_counter()
    reports, notices = read_reports(source, cached_conversions)
    for notice in notices:
        log(f"warning: {notice}")
    chunks = make_chunks(reports, settings)
    years = report_years(reports, settings)
    timings["read"] = time.perf_counter() - t

    t = time.perf_counter()
    bm25, timings["tokenize"] = _bm25(chunks, settings, years, progress)
    timings["bm25"] = time.perf_counter() - t - timings["tokenize"]

    t = time.perf_counter()
    hashes = [content_hash(encoder.model_id, dense_text(c)) for c in chunks]
    vectors, embedded = _vectors(chunks, hashes, encoder, cached_vectors, progress)
    timings["embed"] = time.perf_counter() - t
    timings["embedded"] = float(embedded)

    t = time.perf_counter()
    vector_index = VectorIndex.build(vectors, settings.ann_threshold)
    timings["vector_index"] = time.perf_counter() - t

    t = time.perf_counter()
    texts = {r.path: r.text for r in reports}
    spans = (build_span_index(chunks, texts.__getitem__, encoder, settings, cached_spans,
                              [span_key(h, c.kind) for h, c in zip(hashes, chunks)], years)
             if span_index else None)
    timings["span_index"] = time.perf_counter() - t
    return Index(chunks, {r.path: r for r in reports}, bm25, vectors, vector_index,
                 encoder.model_id, notices, timings, spans, years, hashes)
