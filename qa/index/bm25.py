"""BM25 as a sparse matrix whose scores equal rank-bm25's ``get_scores``.

rank-bm25 defines the score, but its ``get_scores`` loops in Python over every document
for each query term (about 350 ms a question at 100k paragraphs). Here every
(term, paragraph) weight is computed once at build time from rank-bm25's own idf and
formulas, so a query is one sparse column slice and a dot product.

Which variant: ``BM25Okapi`` gives a term found in half of the paragraphs an idf of zero and
one found in more than half only a small floor (its issues #29/#39/#43), a real trap for a
30-paragraph report where 章丘 or 全面 sit in most paragraphs. ``BM25Plus`` keeps every idf
positive (log((N+1)/df)) and lower-bounds the term-frequency part by ``delta``, so long
paragraphs are not punished for lacking repeats. On eval/qa.jsonl it put the evidence
paragraph first as often as Okapi (85.6%) and more often than BM25L (81.5%), without
Okapi's trap, so it is the default (eval/README.md).
"""

from __future__ import annotations

import json
import math
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp


@dataclass
class SparseBM25:
    vocab: dict[str, int]
    #: (paragraphs × terms) CSC matrix: weight of a present term minus ``base``.
    weights: sp.csc_matrix
    #: per-term score every paragraph gets even without the term (BM25+ ``idf·delta``).
    base: np.ndarray
    idf: np.ndarray

    @property
    def size(self) -> int:
        return self.weights.shape[0]

    @staticmethod
    def files(name: str = "bm25") -> tuple[str, ...]:
        """The files ``save`` writes under ``name``."""
        return (f"{name}.npz", f"{name}_vocab.json", f"{name}_base.npy", f"{name}_idf.npy")

    def save(self, folder: Path, name: str = "bm25") -> None:
        """``name``.npz (the weights), ``name``_vocab.json, ``name``_base.npy and
        ``name``_idf.npy: plain numpy, scipy and JSON files, no pickle."""
        sp.save_npz(folder / f"{name}.npz", self.weights, compressed=False)
        terms = [""] * len(self.vocab)
        for term, i in self.vocab.items():
            terms[i] = term
        (folder / f"{name}_vocab.json").write_text(
            json.dumps(terms, ensure_ascii=False, indent=1), encoding="utf-8")
        np.save(folder / f"{name}_base.npy", self.base)
        np.save(folder / f"{name}_idf.npy", self.idf)

    @staticmethod
    def read_weights(path: Path) -> sp.csc_matrix:
        return sp.load_npz(path).tocsc()

    @classmethod
    def load(cls, folder: Path, name: str = "bm25", weights: Any = None) -> SparseBM25:
        """What ``save`` wrote; ``weights`` when the matrix was already read
        (``read_weights``, in another thread)."""
        if weights is None:
            weights = cls.read_weights(folder / f"{name}.npz")
        terms = json.loads((folder / f"{name}_vocab.json").read_text(encoding="utf-8"))
        return cls(dict(zip(terms, range(len(terms)))), weights,
                   np.load(folder / f"{name}_base.npy", allow_pickle=False),
                   np.load(folder / f"{name}_idf.npy", allow_pickle=False))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every paragraph; repeated query tokens count again, as in rank-bm25."""
        counts = Counter(t for t in query_tokens if t in self.vocab)
        if not counts:
            return np.zeros(self.size, dtype=np.float64)
        cols = np.fromiter((self.vocab[t] for t in counts), dtype=np.int64)
        reps = np.fromiter(counts.values(), dtype=np.float64)
        out = self.weights[:, cols] @ reps
        return np.asarray(out, dtype=np.float64).ravel() + float(self.base[cols] @ reps)


#: weights are computed this many (paragraph, term) entries at a time, so the formulas'
#: temporaries stay small (100k paragraphs hold ~15M entries).
_BLOCK = 1 << 20


def _idf(variant: str, n_docs: int, df: np.ndarray, delta: float, epsilon: float
         ) -> tuple[np.ndarray, np.ndarray]:
    """(idf, base) of each term, as rank-bm25's variant computes them."""
    n_terms = len(df)
    if variant == "okapi":
        idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
        if n_terms:
            eps = epsilon * (idf.sum() / n_terms)  # rank-bm25 averages before flooring
            idf = np.where(idf < 0, eps, idf)
        return idf, np.zeros(n_terms)
    if variant == "l":
        return math.log(n_docs + 1) - np.log(df + 0.5), np.zeros(n_terms)
    idf = np.log((n_docs + 1) / np.maximum(df, 1))
    return idf, idf * delta


def build_bm25(corpus: Iterable[list[str]], variant: str = "plus", k1: float = 1.2,
               b: float = 0.75, delta: float = 1.0, epsilon: float = 0.25) -> SparseBM25:
    """Precompute every BM25 weight. ``variant`` is ``plus``, ``okapi`` or ``l`` (rank-bm25's
    BM25Plus, BM25Okapi, BM25L).

    ``corpus`` may be a generator: each paragraph's tokens are counted and dropped, so only
    the (term, tf) pairs are kept, in compact arrays (4 bytes each), not the token lists.
    """
    if variant not in ("plus", "okapi", "l"):
        raise ValueError(f"unknown BM25 variant {variant!r}")
    vocab: dict[str, int] = {}
    cols = array("i")  # term id of each (paragraph, term) entry, paragraph by paragraph
    tfs = array("i")  # its term frequency
    nnz = array("q")  # entries per paragraph
    lengths = array("d")  # tokens per paragraph
    for doc in corpus:
        counts = Counter(doc)
        lengths.append(len(doc))
        nnz.append(len(counts))
        cols.extend([vocab.setdefault(term, len(vocab)) for term in counts])
        tfs.extend(counts.values())
    n_docs, n_terms, n_entries = len(lengths), len(vocab), len(cols)
    c = np.frombuffer(cols, dtype=np.int32) if n_entries else np.zeros(0, np.int32)
    doc_len = np.frombuffer(lengths, dtype=np.float64) if n_docs else np.zeros(0)
    per_doc = np.frombuffer(nnz, dtype=np.int64) if n_docs else np.zeros(0, np.int64)
    df = np.bincount(c, minlength=n_terms).astype(np.float64)
    avgdl = doc_len.sum() / max(n_docs, 1) or 1.0
    # rank-bm25's length normalisation, per paragraph (the same value for all its entries)
    norm_doc = 1 - b + b * doc_len / avgdl

    idf, base = _idf(variant, n_docs, df, delta, epsilon)
    # Row-major (CSR) arrays, built in place block by block with rank-bm25's formulas
    # written exactly as before, element for element, so the weights are bit-identical.
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(per_doc, out=indptr[1:])
    rows = np.repeat(np.arange(n_docs, dtype=np.int32), per_doc)
    w = np.empty(n_entries, dtype=np.float64)
    for a in range(0, n_entries, _BLOCK):
        cb = c[a:a + _BLOCK]
        tf = np.frombuffer(tfs, dtype=np.int32, count=len(cb), offset=4 * a).astype(np.float64)
        norm = norm_doc[rows[a:a + _BLOCK]]
        if variant == "okapi":
            w[a:a + len(cb)] = idf[cb] * (tf * (k1 + 1) / (tf + k1 * norm))
        elif variant == "l":
            ctd = tf / norm
            w[a:a + len(cb)] = idf[cb] * tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)
        else:
            w[a:a + len(cb)] = idf[cb] * (delta + tf * (k1 + 1) / (k1 * norm + tf)) - base[cb]
    del rows, tfs, nnz
    index_dtype = np.int32 if max(n_entries, n_docs, n_terms) < 2**31 else np.int64
    csr = sp.csr_matrix((w, c.astype(index_dtype, copy=False), indptr.astype(index_dtype)),
                        shape=(n_docs, n_terms))
    del w, c, cols
    # CSR → CSC in compiled code: each column's paragraphs come out in increasing order,
    # exactly the canonical matrix the (row, col) COO constructor used to give.
    weights = csr.tocsc()
    del csr
    return SparseBM25(vocab, weights, np.asarray(base, dtype=np.float64), np.asarray(idf))


@dataclass
class SentenceBM25:
    """BM25 over sentences, each belonging to a paragraph: scores a paragraph by its best
    sentence, so that a question's terms found together count more than the same terms
    spread over a long paragraph."""

    bm25: SparseBM25
    #: the paragraph (row) each sentence belongs to
    owner: np.ndarray
    n_paragraphs: int

    def best(self, query_tokens: list[str]) -> np.ndarray:
        """Each paragraph's best sentence score (0 for a paragraph without sentences)."""
        out = np.zeros(self.n_paragraphs, dtype=np.float64)
        np.maximum.at(out, self.owner, self.bm25.scores(query_tokens))
        return out

    FILES = SparseBM25.files("sentence_bm25") + ("sentence_owner.npy",)

    def save(self, folder: Path) -> None:
        self.bm25.save(folder, "sentence_bm25")
        np.save(folder / "sentence_owner.npy", self.owner)

    @classmethod
    def load(cls, folder: Path, n_paragraphs: int) -> SentenceBM25:
        return cls(SparseBM25.load(folder, "sentence_bm25"),
                   np.load(folder / "sentence_owner.npy", allow_pickle=False), n_paragraphs)


def build_sentence_bm25(sentences: Iterable[tuple[int, list[str]]], n_paragraphs: int,
                        variant: str = "plus", k1: float = 1.2, b: float = 0.75,
                        delta: float = 1.0) -> SentenceBM25:
    """``sentences`` are (paragraph row, tokens) pairs, possibly a generator: each
    sentence's tokens are counted and dropped as ``build_bm25`` reads them (the ~260k
    sentences of 100k paragraphs held as token lists cost a few hundred MB)."""
    owners = array("q")

    def tokens() -> Iterator[list[str]]:
        for row, toks in sentences:
            owners.append(row)
            yield toks

    bm25 = build_bm25(tokens(), variant, k1, b, delta)
    owner = np.frombuffer(owners, dtype=np.int64).copy() if owners else np.zeros(0, np.int64)
    return SentenceBM25(bm25, owner, n_paragraphs)
