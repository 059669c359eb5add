"""The span index: every candidate span of every paragraph embedded, and BM25 over every
sentence, built with the index and saved with it.

A question matches one clause or sentence of a paragraph better than the paragraph as a
whole: with it a paragraph's dense score is its best span's similarity, and 70% of its
lexical score its best sentence's (eval/README.md: hybrid hit@1 0.903 → 0.942). It costs
a dozen or more vectors a paragraph, so it is built for corpora of up to
``SPAN_INDEX_MAX`` paragraphs; a larger corpus is searched by paragraph, and the spans of
the paragraphs a question retrieves are embedded when it is asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.index.bm25 import SentenceBM25, build_sentence_bm25
from qa.index.vectors import Encoder
from qa.schema import Chunk, Span
from qa.text.documents import sentences, with_year
from qa.text.spans import candidate_spans
from qa.text.tokens import tokenize

#: the largest corpus (in paragraphs) that gets a span index. The generated 5k bench corpus
#: (`python -m qa bench --sizes 5000`): index 209 MB on disk, built in 75 s (most of it
#: embedding spans), answering RSS 890 MB, ask p50 18 ms as every span is scored (the 10k
#: corpus, without one: 37 ms, embedding its top paragraphs' spans per question).
SPAN_INDEX_MAX = 5000


@dataclass
class SpanIndex:
    """Rows ``starts[i]`` up to ``starts[i + 1]`` of ``vectors`` are paragraph ``i``'s
    candidate spans, in the order ``extract.candidate_spans`` gives them."""

    vectors: np.ndarray  # (spans, dim) float32 unit vectors
    starts: np.ndarray  # (paragraphs,) int64
    sentences: SentenceBM25

    def of(self, row: int) -> np.ndarray:
        """The span vectors of paragraph ``row``."""
        end = self.starts[row + 1] if row + 1 < len(self.starts) else len(self.vectors)
        return self.vectors[self.starts[row]:end]

    def best_similarity(self, qvec: np.ndarray) -> np.ndarray:
        """Each paragraph's best span similarity to the question vector."""
        # einsum, not BLAS: a threaded gemv waits on its second thread (1000 rows: 0.15 ms
        # this way, 8 ms through OpenBLAS on a busy 2-core machine).
        return np.maximum.reduceat(np.einsum("ij,j->i", self.vectors, qvec), self.starts)

    FILES = ("spans.npy", "span_starts.npy") + SentenceBM25.FILES

    def save(self, folder: Path) -> None:
        np.save(folder / "spans.npy", self.vectors)
        np.save(folder / "span_starts.npy", self.starts)
        self.sentences.save(folder)

    @classmethod
    def load(cls, folder: Path, n_paragraphs: int) -> SpanIndex:
        """What ``save`` wrote, checked to fit a corpus of ``n_paragraphs``."""
        spans = cls(np.load(folder / "spans.npy", allow_pickle=False),
                    np.load(folder / "span_starts.npy", allow_pickle=False),
                    SentenceBM25.load(folder, n_paragraphs))
        spans.check(n_paragraphs)
        return spans

    def check(self, n_paragraphs: int) -> None:
        """ValueError unless the arrays fit each other and a corpus of ``n_paragraphs``."""
        s = self.starts
        if (len(s) != n_paragraphs or self.vectors.ndim != 2
                or (n_paragraphs and (s[0] != 0 or np.any(np.diff(s) <= 0)
                                      or s[-1] >= len(self.vectors)))
                or self.sentences.n_paragraphs != n_paragraphs
                or len(self.sentences.owner) != self.sentences.bm25.size
                or (len(self.sentences.owner) and not 0 <= self.sentences.owner.min()
                    <= self.sentences.owner.max() < n_paragraphs)):
            raise ValueError("the span index does not fit the paragraphs")


def embed_spans(chunks: Sequence[Chunk], text_of: Callable[[str], str],
                encoder: Encoder) -> list[np.ndarray]:
    """Unit vectors of each chunk's candidate spans, all chunks in one batch.

    Clauses and whole sentences are embedded; a pair of clauses gets the normalised sum of
    its clauses' vectors (embedding the pairs too would cost about 40% more text).
    """
    layouts = []
    texts: list[str] = []
    for chunk in chunks:
        text = text_of(chunk.doc)
        pairs = candidate_spans(chunk, text)
        spans = [span for span, _ in pairs]
        atoms = [s for s in spans if not any(
            o != s and s.start <= o.start and o.end <= s.end for o in spans)]
        whole: dict[Span, Span] = {}  # sentence → its longest span, the sentence itself
        for span, sent in pairs:
            whole[sent] = max(whole.get(sent, span), span, key=lambda x: x.end - x.start)
        direct = list(dict.fromkeys(atoms + list(whole.values())))
        layouts.append((spans, direct, len(texts)))
        texts.extend(text[d.start:d.end] for d in direct)
    direct_vectors = encoder.encode(texts) if texts else np.zeros((0, encoder.dim), np.float32)
    out = []
    for spans, direct, first in layouts:
        own = direct_vectors[first:first + len(direct)]
        index_of = {d: i for i, d in enumerate(direct)}
        rows = []
        for s in spans:
            if s in index_of:
                rows.append(own[index_of[s]])
                continue
            inside = [i for i, d in enumerate(direct)
                      if s.start <= d.start and d.end <= s.end and d != s]
            v = own[inside].sum(axis=0) if inside else np.zeros(encoder.dim)
            rows.append(v / (np.linalg.norm(v) or 1.0))
        out.append(np.asarray(rows, dtype=np.float32).reshape(len(rows), encoder.dim))
    return out


def sentence_bm25(chunks: Sequence[Chunk], text_of: Callable[[str], str],
                  settings: Settings, years: Mapping[str, str | None] | None = None
                  ) -> SentenceBM25:
    """BM25 over every sentence of the corpus, each sentence owned by its paragraph; a body
    paragraph's sentences are dated by ``years`` (its report's own year) as the paragraph
    is (qa/index/build.py: lexical_text)."""
    years = years or {}
    pairs = []
    for row, chunk in enumerate(chunks):
        text = text_of(chunk.doc)
        year = years.get(chunk.doc) if chunk.kind == "body" else None
        pairs.extend((row, tokenize(with_year(text[sent.start:sent.end], year),
                                    settings.char_ngram))
                     for sent in sentences(chunk))
    return build_sentence_bm25(pairs, len(chunks), settings.bm25_variant, settings.bm25_k1,
                               settings.bm25_b, settings.bm25_delta)


def build_span_index(chunks: Sequence[Chunk], text_of: Callable[[str], str],
                     encoder: Encoder, settings: Settings,
                     cached: dict[str, np.ndarray] | None = None,
                     keys: Sequence[str] = (),
                     years: Mapping[str, str | None] | None = None) -> SpanIndex:
    """``cached`` maps a chunk's key (``keys[i]`` for chunk ``i``: its content and kind)
    to its span vectors from the previous build, so adding a report to a folder embeds
    only the new paragraphs' spans; ``years``: each report's own year, by path."""
    cached = cached or {}
    vectors: list[np.ndarray | None] = [None] * len(chunks)
    for i, key in enumerate(keys):
        hit = cached.get(key)
        if (hit is not None and hit.shape[1:] == (encoder.dim,)
                and len(hit) == len(candidate_spans(chunks[i], text_of(chunks[i].doc)))):
            vectors[i] = hit
    todo = [i for i, v in enumerate(vectors) if v is None]
    for i, v in zip(todo, embed_spans([chunks[i] for i in todo], text_of, encoder)):
        vectors[i] = v
    done = [v for v in vectors if v is not None]
    starts = np.cumsum([0] + [len(v) for v in done[:-1]]).astype(np.int64)
    matrix = np.vstack(done) if done else np.zeros((0, encoder.dim), np.float32)
    return SpanIndex(matrix, starts[:len(chunks)], sentence_bm25(chunks, text_of, settings, years))
