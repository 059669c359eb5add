"""The span index: every candidate span of every paragraph embedded, and BM25 over every
sentence, built with the index and saved with it, for a corpus of any size.

A question matches one clause or sentence of a paragraph better than the paragraph as a
whole: with it a paragraph's dense score is its best span's similarity, and 70% of its
lexical score its best sentence's (eval/README.md: hybrid hit@1 0.903 → 0.942). It costs
about 18 vectors a paragraph. Up to ``SPAN_EXACT_MAX`` paragraphs they are float32 in
memory and every paragraph is scored by them at each question, exactly; above, they are
stored compactly (qa/index/spancodes.py: 8-bit codes read per paragraph from the file, and
an IVF-PQ index in memory that finds the spans nearest a question), and only a question's
candidate paragraphs are scored, exactly, from their codes. Nothing but the question is
embedded when it is asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.index.bm25 import SentenceBM25, build_sentence_bm25
from qa.index.spancodes import CodeFile, Groups, Scale, SpanANN, code_hashes
from qa.index.vectors import Encoder
from qa.schema import Chunk, Span
from qa.text.documents import sentences, with_year
from qa.text.spans import candidate_spans
from qa.text.tokens import tokenize

#: the largest corpus (in paragraphs) whose span vectors are float32 in memory and all
#: scored at each question (the 5k bench corpus: ask p50 18 ms, 209 MB on disk); a larger
#: one gets the compact form.
SPAN_EXACT_MAX = 5000
#: paragraphs whose spans are embedded (or taken from the cache) at a time by a compact
#: build, so that only their float32 vectors are alive at once.
_BLOCK = 2048
#: paragraphs whose spans fit the 8-bit scale (~17k spans).
_SCALE_SAMPLE = 1000


@dataclass
class CompactSpans:
    """The compact form: 8-bit codes in paragraph order, and the ANN index over the spans
    (None when loaded only to lend a rebuild its vectors)."""

    scale: Scale
    codes: CodeFile
    ann: SpanANN | None
    groups: Groups | None = None  # the span rows of each vector of ``ann``
    #: the group of each span row, when ``ann`` is a flat scan: a paragraph's best span is
    #: then read from the group similarities the scan computed, not from the codes
    group_of: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.group_of is None and self.groups is not None and self.ann is not None \
                and self.ann.exact:
            self.group_of = self.groups.of_rows()


@dataclass
class SpanIndex:
    """Rows ``starts[i]`` up to ``starts[i + 1]`` of the span vectors are paragraph ``i``'s
    candidate spans, in the order ``candidate_spans`` gives them: ``vectors`` (float32 unit
    vectors) for a corpus of up to SPAN_EXACT_MAX paragraphs, else ``compact``."""

    vectors: np.ndarray | None  # (spans, dim) float32 unit vectors, or None when compact
    starts: np.ndarray  # (paragraphs,) int64
    sentences: SentenceBM25
    compact: CompactSpans | None = None

    @property
    def form(self) -> str:
        return "exact" if self.compact is None else "compact"

    @property
    def n_spans(self) -> int:
        return len(self.vectors) if self.compact is None else len(self.compact.codes)

    def _end(self, row: int) -> int:
        return int(self.starts[row + 1]) if row + 1 < len(self.starts) else self.n_spans

    def of(self, row: int) -> np.ndarray:
        """The span vectors of paragraph ``row`` (decoded from its codes when compact)."""
        if self.compact is None:
            return self.vectors[self.starts[row]:self._end(row)]
        return self.compact.scale.decode(self.compact.codes.read(int(self.starts[row]),
                                                                 self._end(row)))

    def best_similarity(self, qvec: np.ndarray) -> np.ndarray:
        """Each paragraph's best span similarity to the question vector (exact form)."""
        # einsum, not BLAS: a threaded gemv waits on its second thread (1000 rows: 0.15 ms
        # this way, 8 ms through OpenBLAS on a busy 2-core machine).
        return np.maximum.reduceat(np.einsum("ij,j->i", self.vectors, qvec), self.starts)

    def scores(self, qvec: np.ndarray) -> SpanScores:
        """One question's span similarities, computed as they are asked for, once."""
        return SpanScores(self, qvec)

    def nearest(self, qvec: np.ndarray, spans: int, paragraphs: int
                ) -> tuple[np.ndarray, np.ndarray]:
        """``SpanScores.nearest``."""
        return self.scores(qvec).nearest(spans, paragraphs)

    def span_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every span row of the paragraphs ``rows``, one paragraph after the other, and
        where each paragraph's rows start in that list."""
        starts = self.starts[rows]
        nxt = rows + 1
        ends = np.where(nxt < len(self.starts),
                        self.starts[np.minimum(nxt, len(self.starts) - 1)], self.n_spans)
        lens = ends - starts
        first = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
        return np.repeat(starts - first, lens) + np.arange(int(lens.sum())), first

    EXACT_FILES = ("spans.npy", "span_starts.npy") + SentenceBM25.FILES
    COMPACT_FILES = (("span_codes.npy", "span_scale.npy", "span_ann.faiss", "span_groups.npy",
                      "span_group_starts.npy", "span_starts.npy") + SentenceBM25.FILES)

    @classmethod
    def files(cls, form: str) -> tuple[str, ...]:
        """The files ``save`` writes for an index of this ``form``."""
        return cls.COMPACT_FILES if form == "compact" else cls.EXACT_FILES

    def save(self, folder: Path) -> None:
        if self.compact is None:
            np.save(folder / "spans.npy", self.vectors)
        else:
            self.compact.codes.save(folder / "span_codes.npy")
            self.compact.scale.save(folder / "span_scale.npy")
            assert self.compact.ann is not None and self.compact.groups is not None
            self.compact.ann.save(folder / "span_ann.faiss")
            self.compact.groups.save(folder)
        np.save(folder / "span_starts.npy", self.starts)
        self.sentences.save(folder)

    @classmethod
    def load(cls, folder: Path, n_paragraphs: int, form: str = "exact") -> SpanIndex:
        """What ``save`` wrote, checked to fit a corpus of ``n_paragraphs``."""
        starts = np.load(folder / "span_starts.npy", allow_pickle=False)
        sentences = SentenceBM25.load(folder, n_paragraphs)
        if form == "compact":
            compact = load_compact(folder, SpanANN.load(folder / "span_ann.faiss"),
                                   Groups.load(folder))
            spans = cls(None, starts, sentences, compact)
        else:
            spans = cls(np.load(folder / "spans.npy", allow_pickle=False), starts, sentences)
        spans.check(n_paragraphs)
        return spans

    def check(self, n_paragraphs: int) -> None:
        """ValueError unless the arrays fit each other and a corpus of ``n_paragraphs``."""
        s = self.starts
        ann = self.compact.ann if self.compact is not None else None
        if (len(s) != n_paragraphs
                or (self.compact is None and (self.vectors is None or self.vectors.ndim != 2))
                or (ann is not None and (self.compact.groups is None
                                         or ann.ntotal != len(self.compact.groups)
                                         or len(self.compact.groups.rows) != self.n_spans))
                or (n_paragraphs and (s[0] != 0 or np.any(np.diff(s) <= 0)
                                      or s[-1] >= self.n_spans))
                or self.sentences.n_paragraphs != n_paragraphs
                or len(self.sentences.owner) != self.sentences.bm25.size
                or (len(self.sentences.owner) and not 0 <= self.sentences.owner.min()
                    <= self.sentences.owner.max() < n_paragraphs)):
            raise ValueError("the span index does not fit the paragraphs")


class SpanScores:
    """A question's similarities to the spans of the index, each computed once: every
    paragraph's best span in the exact form; in the compact form every group's when the
    ANN index is a flat scan, else each asked paragraph's from its codes."""

    def __init__(self, spans: SpanIndex, qvec: np.ndarray) -> None:
        self.spans, self.qvec = spans, qvec.astype(np.float32)
        self._all: np.ndarray | None = None  # by paragraph (exact) or by group (flat scan)
        self._known: dict[int, float] = {}  # by paragraph, read from the codes

    def _every(self) -> np.ndarray:
        if self._all is None:
            c = self.spans.compact
            self._all = (self.spans.best_similarity(self.qvec) if c is None
                         else c.ann.scores(self.qvec))  # type: ignore[union-attr]
        return self._all

    def best_of(self, rows: np.ndarray) -> np.ndarray:
        """The best span similarity of each paragraph of ``rows``, exactly."""
        c = self.spans.compact
        if c is None:
            return self._every()[rows]
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        if c.group_of is not None:
            spans, first = self.spans.span_rows(np.asarray(rows))
            return np.maximum.reduceat(self._every()[c.group_of[spans]], first)
        todo = np.array([r for r in rows.tolist() if r not in self._known], dtype=np.int64)
        if len(todo):
            self._known.update(zip(todo.tolist(), self._decoded(todo).tolist()))
        return np.array([self._known[r] for r in rows.tolist()], dtype=np.float32)

    def _decoded(self, rows: np.ndarray) -> np.ndarray:
        """Each paragraph's best span similarity, from its codes."""
        c = self.spans.compact
        assert c is not None
        starts = self.spans.starts[rows].tolist()
        ends = [self.spans._end(r) for r in rows.tolist()]
        first = np.cumsum([0] + [b - a for a, b in zip(starts[:-1], ends[:-1])])
        # decoded·q = codes·(step·q) + lo·q: one pass over the codes
        q = self.qvec
        sims = np.einsum("ij,j->i", c.codes.read_ranges(starts, ends).astype(np.float32),
                         c.scale.step * q)
        return np.maximum.reduceat(sims + float(c.scale.lo @ q), first)

    def nearest(self, spans: int, paragraphs: int) -> tuple[np.ndarray, np.ndarray]:
        """About ``paragraphs`` paragraphs (increasing rows) holding the spans nearest the
        question, each with its exact best span similarity: the ANN index gives its
        ``spans`` nearest span groups (equal codes), ordered by their exact similarity
        (read again from the codes unless the index is a flat scan); their paragraphs are
        taken group by group."""
        c = self.spans.compact
        assert c is not None and c.ann is not None and c.groups is not None
        ids, sims = c.ann.search(self.qvec, spans, self._every() if c.ann.exact else None)
        if not len(ids):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if not c.ann.exact:
            first = c.groups.rows[c.groups.starts[ids]].tolist()
            codes = c.codes.read_ranges(first, [r + 1 for r in first])
            sims = np.einsum("ij,j->i", codes.astype(np.float32), c.scale.step * self.qvec)
        taken: dict[int, None] = {}
        for g in ids[np.argsort(-sims, kind="stable")]:
            owners = np.searchsorted(self.spans.starts, c.groups.members(int(g)), side="right")
            taken.update(dict.fromkeys((owners - 1).tolist()))
            if len(taken) >= paragraphs:
                break
        rows = np.array(sorted(taken), dtype=np.int64)
        return rows, self.best_of(rows)


def load_compact(folder: Path, ann: SpanANN | None = None, groups: Groups | None = None
                 ) -> CompactSpans:
    """The codes and scale ``SpanIndex.save`` wrote in compact form (with ``ann``)."""
    return CompactSpans(Scale.load(folder / "span_scale.npy"),
                        CodeFile.open(folder / "span_codes.npy"), ann, groups)


class SpanCache(Mapping[str, np.ndarray]):
    """A compact span index's vectors by ``span_key``, decoded when asked: a rebuild's
    cache without 3.6 GB of float32 at 100k paragraphs. ``scale`` is reused by the
    rebuild, so that a kept paragraph's codes come out the same."""

    def __init__(self, keys: Sequence[str], starts: np.ndarray, compact: CompactSpans) -> None:
        self.scale = compact.scale
        self._spans = SpanIndex(None, starts, SentenceBM25.__new__(SentenceBM25), compact)
        self._row = {k: i for i, k in enumerate(keys)}

    def __getitem__(self, key: str) -> np.ndarray:
        return self._spans.of(self._row[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)


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

    def pairs() -> Iterator[tuple[int, list[str]]]:  # one sentence's tokens at a time
        for row, chunk in enumerate(chunks):
            text = text_of(chunk.doc)
            year = years.get(chunk.doc) if chunk.kind == "body" else None
            for sent in sentences(chunk):
                yield row, tokenize(with_year(text[sent.start:sent.end], year),
                                    settings.char_ngram)

    return build_sentence_bm25(pairs(), len(chunks), settings.bm25_variant, settings.bm25_k1,
                               settings.bm25_b, settings.bm25_delta)


def _span_vectors(chunks: Sequence[Chunk], rows: Sequence[int], text_of: Callable[[str], str],
                  encoder: Encoder, cached: Mapping[str, np.ndarray], keys: Sequence[str]
                  ) -> list[np.ndarray]:
    """The span vectors of the paragraphs ``rows``: from the previous build's ``cached``
    (by ``keys[i]``) when they still fit, the others embedded in one batch."""
    out: dict[int, np.ndarray] = {}
    for i in rows:
        hit = cached.get(keys[i]) if i < len(keys) else None
        if (hit is not None and hit.shape[1:] == (encoder.dim,)
                and len(hit) == len(candidate_spans(chunks[i], text_of(chunks[i].doc)))):
            out[i] = hit
    todo = [i for i in rows if i not in out]
    out.update(zip(todo, embed_spans([chunks[i] for i in todo], text_of, encoder)))
    return [out[i] for i in rows]


def _starts(counts: Sequence[int]) -> np.ndarray:
    return np.cumsum([0] + list(counts[:-1])).astype(np.int64)[:len(counts)]


def _compact(chunks: Sequence[Chunk], text_of: Callable[[str], str], encoder: Encoder,
             cached: Mapping[str, np.ndarray], keys: Sequence[str]
             ) -> tuple[CompactSpans, np.ndarray]:
    """The compact form, built ``_BLOCK`` paragraphs at a time: the 8-bit scale is fitted
    on the spans of a seeded sample of ``_SCALE_SAMPLE`` paragraphs (embedded first and
    kept until their block); every block's codes are written, then the spans are grouped
    by equal codes and the ANN index built over one vector a group."""
    n = len(chunks)
    rng = np.random.default_rng(0)
    sampled = np.sort(rng.choice(n, min(n, _SCALE_SAMPLE), replace=False)).tolist()
    early = dict(zip(sampled, _span_vectors(chunks, sampled, text_of, encoder, cached, keys)))
    scale = getattr(cached, "scale", None)
    if scale is None or scale.lo.shape != (encoder.dim,):
        scale = Scale.fit(np.vstack(list(early.values())))
    codes = CodeFile.spool(encoder.dim)
    counts: list[int] = []
    hashes = []
    for a in range(0, n, _BLOCK):
        rows = list(range(a, min(n, a + _BLOCK)))
        todo = [i for i in rows if i not in early]
        got = dict(zip(todo, _span_vectors(chunks, todo, text_of, encoder, cached, keys)))
        block = [early.pop(i) if i in early else got[i] for i in rows]
        counts.extend(len(v) for v in block)
        coded = scale.encode(np.vstack(block))
        hashes.append(code_hashes(coded))
        codes.append(coded)
    groups = Groups.of_hashes(np.concatenate(hashes))
    ann = SpanANN.build(codes, scale, groups)
    return CompactSpans(scale, codes, ann, groups), _starts(counts)


def build_span_index(chunks: Sequence[Chunk], text_of: Callable[[str], str],
                     encoder: Encoder, settings: Settings,
                     cached: Mapping[str, np.ndarray] | None = None,
                     keys: Sequence[str] = (),
                     years: Mapping[str, str | None] | None = None) -> SpanIndex:
    """``cached`` maps a chunk's key (``keys[i]`` for chunk ``i``: its content and kind)
    to its span vectors from the previous build, so adding a report to a folder embeds
    only the new paragraphs' spans; ``years``: each report's own year, by path."""
    cached = cached if cached is not None else {}
    bm25 = sentence_bm25(chunks, text_of, settings, years)
    if len(chunks) > SPAN_EXACT_MAX:
        compact, starts = _compact(chunks, text_of, encoder, cached, keys)
        return SpanIndex(None, starts, bm25, compact)
    done = _span_vectors(chunks, range(len(chunks)), text_of, encoder, cached, keys)
    matrix = np.vstack(done) if done else np.zeros((0, encoder.dim), np.float32)
    return SpanIndex(matrix, _starts([len(v) for v in done]), bm25)
