"""The benchmark: its corpus generator, the exactness checks it relies on, and a smoke run.

Timings are never asserted here (CI machines vary); the smoke run fails only on a crash or
a malformed result.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Plus

from qa.bench.corpus import generate
from qa.config import Settings
from qa.index.bm25 import build_bm25
from qa.index.build import content_hash, make_chunks
from qa.index.vectors import VectorIndex
from qa.text.documents import read_reports
from qa.text.spans import lexical_text
from qa.text.tokens import tokenize

ROOT = Path(__file__).resolve().parent.parent
SEED_FILE = next((ROOT / "seeds").glob("*.txt"))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    corpus = generate(SEED_FILE, 450, per_file=100)
    folder = tmp_path_factory.mktemp("gen")
    corpus.write(folder)
    reports, notices = read_reports(folder)
    assert not notices
    return corpus, make_chunks(reports, Settings())


def test_generator_is_deterministic_and_chunks_are_its_paragraphs(generated, tmp_path):
    corpus, chunks = generated
    again = generate(SEED_FILE, 450, per_file=100)
    assert again.files == corpus.files
    assert len(corpus.files) == 5 and corpus.n_paragraphs == 450 == len(chunks)
    expected = [text for name in sorted(corpus.files) for text, _ in corpus.files[name]]
    # the composed vector cache is keyed by these texts, so they must be the chunks exactly
    assert [c.text for c in chunks] == expected
    assert {c.kind for c in chunks} >= {"heading", "body"}
    # numbers and places vary: far more distinct paragraphs than template sentences
    assert len(set(expected)) > 0.85 * len(expected)


def test_composed_vectors_are_a_vector_cache_for_every_paragraph(generated):
    corpus, chunks = generated
    rng = np.random.default_rng(0)
    pool = rng.normal(size=(len(corpus.pool), 8)).astype(np.float32)
    cache = corpus.composed_vectors(pool, "usem3")
    for c in chunks:
        v = cache[content_hash("usem3", c.text)]
        assert v.shape == (8,) and abs(float(np.linalg.norm(v)) - 1) < 1e-5


def test_sparse_bm25_equals_rank_bm25_on_generated_reports(generated):
    from qa.bench.run import corpus_tokens, questions_for

    _, chunks = generated
    s = Settings()
    corpus = [tokenize(lexical_text(c, s.section_weight), s.char_ngram) for c in chunks]
    assert corpus_tokens(chunks, s) == corpus  # the bench's memoised tokeniser is exact
    ref = BM25Plus(corpus, k1=s.bm25_k1, b=s.bm25_b, delta=s.bm25_delta)
    mine = build_bm25(corpus, "plus", s.bm25_k1, s.bm25_b, s.bm25_delta)
    for q in questions_for(450, True)[:60]:
        toks = tokenize(q, s.char_ngram)
        expected = ref.get_scores(toks)
        assert np.allclose(mine.scores(toks), expected, rtol=1e-12, atol=1e-12)


def test_approximate_index_recall_with_duplicates():
    """IVF above the threshold; near-duplicate clusters and exact duplicates (which break
    HNSW graphs) still give recall@10 ≥ 0.95 against exact search, ties counted."""
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(60, 32))
    x = centres[rng.integers(0, 60, 6000)] + 0.3 * rng.normal(size=(6000, 32))
    x[3000:4000] = x[:1000]  # exact duplicates
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    vi = VectorIndex.build(x, ann_threshold=1000)
    assert vi.kind == "IndexIVFScalarQuantizer"
    queries = x[rng.integers(0, 6000, 100)] + 0.05 * rng.normal(size=(100, 32)).astype(np.float32)
    hits = []
    for q in queries.astype(np.float32):
        scores = x @ q
        kth = -np.partition(-scores, 9)[9]
        ids, _ = vi.search(q, 10)
        hits.append(np.sum(scores[ids] >= kth - 1e-6) / 10)
    assert np.mean(hits) >= 0.95


@pytest.mark.slow
def test_bench_smoke_writes_results(tmp_path):
    """The CI smoke test: a tiny run end to end (real build, cold start, references)."""
    from qa.cli import main

    out = tmp_path / "bench.json"
    chart = tmp_path / "bench.png"
    assert main(["bench", "--sizes", "200", "--out", str(out), "--plot", str(chart)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert {"runs", "targets", "machine", "wall_s", "method", "settings"} <= set(result)
    assert [r["paragraphs"] for r in result["runs"]][1] == 200
    for run in result["runs"]:
        assert {"build", "serve", "reference", "disk_mb"} <= set(run)
        assert {"tokenize", "bm25", "embed", "vector_index"} <= set(run["build"]["timings"])
        assert {"bm25", "dense", "hybrid", "ask"} <= set(run["serve"]["latency_ms"])
        assert run["serve"]["cold_start"]["total_s"] > 0
        assert run["reference"]["bm25_max_rel_diff"] <= 1e-9
        assert run["reference"]["recall10"] == 1.0  # flat below the threshold
    # only the added report's paragraphs are embedded (minus any already in the index)
    assert 90 <= result["runs"][1]["rebuild"]["timings"]["embedded"] <= 100
    assert out.with_suffix(".md").read_text(encoding="utf-8").startswith("|")
    assert chart.stat().st_size > 10_000
