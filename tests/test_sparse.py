"""BM25 as a sparse matrix: equal to rank-bm25's get_scores, and the choice of variant."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25L, BM25Okapi, BM25Plus

from qa.config import Settings
from qa.index.bm25 import build_bm25, build_sentence_bm25
from qa.text.documents import paragraphs, read_report
from qa.text.spans import lexical_text
from qa.text.tokens import tokenize

SEED_FILE = next((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))

QUESTIONS = [
    "签约了多少个项目？",
    "上半年完成工业产值多少？增长了多少？",
    "章丘区 章丘区 全面小康",  # repeated terms count again
    "簽約項目的總投資是多少？",
    "实际利用外资5400万美元",
    "哪些养老服务设施进行了改建扩建？",
    "What is the GDP of Qingdao?",  # no term in the corpus
    "区",  # a term found in most paragraphs
]


@pytest.fixture(scope="module")
def corpus() -> list[list[str]]:
    settings = Settings()
    chunks = paragraphs(read_report(SEED_FILE))
    return [tokenize(lexical_text(c, settings.section_weight)) for c in chunks]


@pytest.fixture(scope="module")
def queries() -> list[list[str]]:
    return [tokenize(q) for q in QUESTIONS]


@pytest.mark.parametrize("variant, reference, params", [
    ("plus", BM25Plus, {"k1": 1.2, "b": 0.75, "delta": 1.0}),
    ("plus", BM25Plus, {"k1": 1.5, "b": 0.3, "delta": 0.5}),
    ("okapi", BM25Okapi, {"k1": 1.2, "b": 0.75, "epsilon": 0.25}),
    ("okapi", BM25Okapi, {"k1": 2.0, "b": 1.0, "epsilon": 0.1}),
    ("l", BM25L, {"k1": 1.2, "b": 0.75, "delta": 1.0}),
    ("l", BM25L, {"k1": 1.5, "b": 0.75, "delta": 0.5}),
])
def test_sparse_scores_equal_rank_bm25(corpus, queries, variant, reference, params):
    ref = reference(corpus, **params)
    mine = build_bm25(corpus, variant, params["k1"], params["b"], params.get("delta", 1.0),
                      params.get("epsilon", 0.25))
    assert mine.size == len(corpus)
    for q in queries:
        expected = ref.get_scores(q)
        got = mine.scores(q)
        assert got.shape == expected.shape
        assert np.allclose(got, expected, rtol=1e-9, atol=1e-9), (variant, q)
    # and the ranking is the same, not just the numbers
    q = queries[0]
    assert int(np.argmax(mine.scores(q))) == int(np.argmax(ref.get_scores(q)))


def test_synthetic_corpus_with_repeats_matches_rank_bm25():
    corpus = [["a", "b", "a"], ["b", "c"], ["a", "a", "a", "d", "e"], ["e"], ["a", "b", "c", "d"]]
    for variant, ref in (("plus", BM25Plus(corpus, k1=1.2, b=0.75, delta=1.0)),
                         ("okapi", BM25Okapi(corpus, k1=1.2, b=0.75, epsilon=0.25)),
                         ("l", BM25L(corpus, k1=1.2, b=0.75, delta=1.0))):
        mine = build_bm25(corpus, variant, 1.2, 0.75, 1.0, 0.25)
        for q in (["a"], ["a", "a", "e"], ["z"], [], ["b", "c", "d", "z"]):
            assert np.allclose(mine.scores(q), ref.get_scores(q)), (variant, q)


def test_default_variant_is_bm25plus():
    assert Settings().bm25_variant == "plus"


def test_bm25plus_scores_a_common_term_positively(corpus):
    """A term found in most paragraphs still counts (BM25Okapi would floor it to ~0)."""
    n = len(corpus)
    df = Counter(t for doc in corpus for t in set(doc))
    term, count = max(((t, c) for t, c in df.items() if c < n), key=lambda tc: tc[1])
    assert count > n / 2, "the seed report should have a term in most paragraphs"
    plus = build_bm25(corpus, "plus")
    assert plus.idf[plus.vocab[term]] > 0
    scores = plus.scores([term])
    has = np.array([term in doc for doc in corpus])
    assert (scores[has] > 0).all()
    # a paragraph with the term beats every paragraph without it
    assert scores[has].min() > scores[~has].max()
    # the stored idf is positive too, so no paragraph is pushed below one lacking the term
    assert (plus.idf > 0).all()


def test_term_in_half_the_documents_okapi_zero_plus_positive():
    """The trap BM25Plus avoids: Okapi's idf is exactly 0 at df = N/2."""
    corpus = [["x", "a"], ["x", "b"], ["c"], ["d"]]
    okapi = build_bm25(corpus, "okapi")
    assert okapi.idf[okapi.vocab["x"]] == pytest.approx(0.0)
    assert not okapi.scores(["x"]).any()
    plus = build_bm25(corpus, "plus")
    scores = plus.scores(["x"])
    assert scores[0] > scores[2] > 0 and scores[1] > scores[3]


def test_bm25plus_idf_positive_for_term_in_every_document():
    corpus = [["x", "a"], ["x", "b"], ["x", "c"], ["x"]]
    plus = build_bm25(corpus, "plus")
    assert plus.idf[plus.vocab["x"]] > 0
    assert (plus.scores(["x"]) > 0).all()
    okapi = build_bm25(corpus, "okapi")
    assert okapi.idf[okapi.vocab["x"]] <= 0.25 * okapi.idf.mean() + 1e-12


def test_unknown_query_terms_score_zero_everywhere(corpus):
    bm25 = build_bm25(corpus, "plus")
    assert not bm25.scores(["不存在的词语", "zzzz"]).any()
    assert not bm25.scores([]).any()


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="variant"):
        build_bm25([["a"]], "bm42")


def _coo_reference(corpus, variant, k1, b, delta, epsilon):
    """The matrix as first built: (row, col, tf) triples → csc_matrix((w, (r, c))), with
    the same formulas. build_bm25 now builds it block by block from compact arrays; the
    result must be the same matrix bit for bit (same weights, same canonical layout)."""
    import math

    import scipy.sparse as sp

    vocab, rows, cols, tfs = {}, [], [], []
    doc_len = np.array([len(d) for d in corpus], dtype=np.float64)
    for d, doc in enumerate(corpus):
        for term, tf in Counter(doc).items():
            rows.append(d)
            cols.append(vocab.setdefault(term, len(vocab)))
            tfs.append(tf)
    n_docs, n_terms = len(corpus), len(vocab)
    r, c = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    tf = np.asarray(tfs, dtype=np.float64)
    df = np.bincount(c, minlength=n_terms).astype(np.float64)
    norm = 1 - b + b * doc_len[r] / (doc_len.sum() / n_docs)
    if variant == "okapi":
        idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
        idf = np.where(idf < 0, epsilon * (idf.sum() / n_terms), idf)
        w = idf[c] * (tf * (k1 + 1) / (tf + k1 * norm))
    elif variant == "l":
        idf = math.log(n_docs + 1) - np.log(df + 0.5)
        ctd = tf / norm
        w = idf[c] * tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)
    else:
        idf = np.log((n_docs + 1) / np.maximum(df, 1))
        w = idf[c] * (delta + tf * (k1 + 1) / (k1 * norm + tf)) - (idf * delta)[c]
    return vocab, sp.csc_matrix((w, (r, c)), shape=(n_docs, n_terms), dtype=np.float64)


@pytest.mark.parametrize("variant", ["plus", "okapi", "l"])
def test_matrix_is_bit_identical_to_the_coo_construction(corpus, variant, monkeypatch):
    import qa.index.bm25

    monkeypatch.setattr(qa.index.bm25, "_BLOCK", 97)  # many blocks, one cut inside a paragraph
    vocab, ref = _coo_reference(corpus, variant, 1.2, 0.75, 1.0, 0.25)
    mine = build_bm25(iter(corpus), variant, 1.2, 0.75, 1.0, 0.25)  # a generator is enough
    assert list(mine.vocab.items()) == list(vocab.items())
    got = mine.weights
    assert got.format == "csc" and got.shape == ref.shape
    assert np.array_equal(got.indptr, ref.indptr)
    assert np.array_equal(got.indices, ref.indices)
    assert got.data.tobytes() == ref.data.tobytes()
    assert got.indices.dtype == np.int32


def test_empty_corpus_and_empty_paragraphs():
    empty = build_bm25([], "plus")
    assert empty.size == 0 and empty.weights.shape == (0, 0)
    assert not empty.scores(["a"]).size
    corpus = [[], ["a", "b"], [], ["a"]]
    mine = build_bm25(iter(corpus), "plus")
    expected = BM25Plus(corpus, k1=1.2, b=0.75, delta=1.0).get_scores(["a", "b"])
    assert np.allclose(mine.scores(["a", "b"]), expected, rtol=1e-12, atol=1e-12)


def test_sentence_bm25_scores_a_paragraph_by_its_best_sentence():
    sentences = [(0, ["签约", "项目"]), (0, ["会议"]), (1, ["签约"]), (1, ["项目"])]
    index = build_sentence_bm25(sentences, n_paragraphs=3)
    each = build_bm25([tokens for _, tokens in sentences]).scores(["签约", "项目"])
    best = index.best(["签约", "项目"])
    assert best.tolist() == pytest.approx([max(each[0], each[1]), max(each[2], each[3]), 0.0])
    assert best[0] > best[1]  # both terms in one sentence beat the same terms apart
