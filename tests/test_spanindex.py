"""The span index (qa/index/spans.py): built with the index for every corpus (compact above
SPAN_EXACT_MAX paragraphs), saved with it, and what search and extraction use."""

from __future__ import annotations

import numpy as np
import pytest
from robustfixtures import FakeEncoder, load_assistant, use_encoder

import qa.answer.extract
import qa.index.spans
from qa import Settings
from qa.index.spans import SpanIndex, embed_spans, sentence_bm25
from qa.text.spans import candidate_spans

#: a sentence per paragraph, each with a number of its own, so that 401 paragraphs differ
_TOPICS = "道路 学校 医院 公园 水库 工厂 农田 社区 车站 图书馆".split()


def _corpus(folder, paragraphs: int) -> None:
    folder.mkdir()
    lines = [f"第{i}项工作，新建{_TOPICS[i % 10]}{i}处，投资{i + 3}万元。当年完成验收，群众满意。"
             for i in range(paragraphs)]
    (folder / "big.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture()
def fake(monkeypatch) -> FakeEncoder:
    encoder = FakeEncoder()
    use_encoder(monkeypatch, encoder)
    return encoder


def test_a_corpus_of_hundreds_of_paragraphs_gets_a_span_index_saved_with_it(tmp_path, fake):
    # 401 paragraphs: more than the 300 that used to be the limit of span search
    _corpus(tmp_path / "src", 401)
    built = load_assistant(tmp_path / "src", tmp_path / "index", Settings(), log=lambda _m: None)
    spans = built.index.spans
    assert spans is not None and len(spans.starts) == len(built.index.chunks) == 401
    chunk = built.index.chunks[7]
    text = built.source_text(chunk.doc)
    # one row per candidate span of the paragraph, the very vectors extraction would embed
    own = spans.of(chunk.id)
    assert len(own) == len(candidate_spans(chunk, text))
    np.testing.assert_allclose(own, embed_spans([chunk], built.source_text, fake)[0], atol=1e-6)

    loaded = load_assistant(tmp_path / "src", tmp_path / "index", Settings(),
                            log=lambda _m: None)
    assert loaded.index.spans is not None and loaded.stats()["span_index"] is True
    np.testing.assert_array_equal(loaded.index.spans.vectors, spans.vectors)
    np.testing.assert_array_equal(loaded.index.spans.starts, spans.starts)
    tokens = ["医院", "·医", "·院", "127处"]
    np.testing.assert_allclose(loaded.index.spans.sentences.best(tokens),
                               spans.sentences.best(tokens))
    # search scores each paragraph by its best span: the dense score is that span's
    question = "新建社区127处投资了多少？"
    retrieval = loaded.ask_traced(question, mode="dense")[1].retrieval
    hit, qvec = retrieval.hits[0], retrieval.vector
    assert hit.dense == pytest.approx(float((spans.of(hit.chunk_id) @ qvec).max()), abs=1e-5)
    answer = loaded.ask(question)
    assert answer.citations[0].context.startswith("第127项工作")


def test_a_corpus_above_the_exact_limit_gets_a_compact_span_index(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(qa.index.spans, "SPAN_EXACT_MAX", 20)
    _corpus(tmp_path / "src", 41)
    built = load_assistant(tmp_path / "src", tmp_path / "index", Settings(), log=lambda _m: None)
    assert built.index.spans is not None and built.index.spans.form == "compact"
    assistant = load_assistant(tmp_path / "src", tmp_path / "index", Settings(),
                               log=lambda _m: None)
    spans = assistant.index.spans
    assert spans is not None and spans.form == "compact" and spans.vectors is None
    assert assistant.stats()["span_index"] is True
    chunk = assistant.index.chunks[17]
    exact = embed_spans([chunk], assistant.source_text, fake)[0]
    # 8-bit codes: each decoded vector within a step of the embedded one
    assert np.abs(spans.of(chunk.id) - exact).max() < 0.02
    np.testing.assert_allclose(spans.of(chunk.id), built.index.spans.of(chunk.id))
    question = "新建社区17处投资了多少？"
    retrieval = assistant.ask_traced(question, mode="dense")[1].retrieval
    hit = retrieval.hits[0]
    assert hit.dense == pytest.approx(float((spans.of(hit.chunk_id) @ retrieval.vector).max()),
                                      abs=1e-5)
    # nothing but the question is embedded when it is asked
    monkeypatch.setattr(qa.answer.extract, "embed_spans", None)
    answer = assistant.ask(question)
    assert answer.citations[0].context.startswith("第17项工作")
    # above ``exhaustive``, the paragraphs of the spans the ANN index finds join the
    # candidates, each scored exactly from its codes
    few = load_assistant(tmp_path / "src", tmp_path / "index",
                         Settings(exhaustive=10, candidates=3), log=lambda _m: None)
    retrieval = few.ask_traced(question, mode="dense")[1].retrieval
    assert retrieval.candidates < 41 and retrieval.hits[0].chunk_id == hit.chunk_id
    assert retrieval.hits[0].dense == pytest.approx(hit.dense, abs=1e-6)
    assert few.ask(question).citations[0] == answer.citations[0]


def test_a_span_index_that_does_not_fit_its_paragraphs_is_refused(tmp_path, fake):
    _corpus(tmp_path / "src", 3)
    assistant = load_assistant(tmp_path / "src", tmp_path / "index", Settings(),
                               log=lambda _m: None)
    spans = assistant.index.spans
    spans.check(3)
    with pytest.raises(ValueError):
        spans.check(4)  # another number of paragraphs
    with pytest.raises(ValueError):  # a paragraph with no span rows
        SpanIndex(spans.vectors, np.array([0, 0, 2]), spans.sentences).check(3)
    with pytest.raises(ValueError):  # sentences owned by a paragraph that is not there
        chunks = assistant.index.chunks
        other = sentence_bm25(chunks + chunks, assistant.source_text, Settings())
        SpanIndex(spans.vectors, spans.starts, other).check(3)


class _Counting(FakeEncoder):
    """Counts the texts it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def encode(self, texts, batch_size=64, progress=False):  # type: ignore[no-untyped-def]
        self.texts += len(texts)
        return super().encode(texts, batch_size, progress)


@pytest.mark.parametrize("exact_max", [5000, 20], ids=["exact", "compact"])
def test_adding_a_report_embeds_only_the_new_paragraphs_and_their_spans(tmp_path, monkeypatch,
                                                                       exact_max):
    monkeypatch.setattr(qa.index.spans, "SPAN_EXACT_MAX", exact_max)
    encoder = _Counting()
    use_encoder(monkeypatch, encoder)
    _corpus(tmp_path / "src", 40)
    first = load_assistant(tmp_path / "src", tmp_path / "index", Settings(), log=lambda _m: None)
    assert encoder.texts > 0
    new = tmp_path / "new"
    new.mkdir()
    (new / "extra.txt").write_text("新增工作一项，新建广场2处。\n\n另有公园改造，投资9万元。\n",
                                   encoding="utf-8")
    alone = _Counting()
    use_encoder(monkeypatch, alone)
    load_assistant(new, tmp_path / "alone-index", Settings(), log=lambda _m: None)

    (tmp_path / "src" / "extra.txt").write_bytes((new / "extra.txt").read_bytes())
    encoder.texts = 0
    use_encoder(monkeypatch, encoder)
    second = load_assistant(tmp_path / "src", tmp_path / "index", Settings(), log=lambda _m: None)
    assert encoder.texts == alone.texts  # what the new report alone needs, nothing more
    # … and the old paragraphs keep the very same span vectors
    old = first.index.chunks[5]
    same = next(c for c in second.index.chunks if c.text == old.text)
    np.testing.assert_array_equal(second.index.spans.of(same.id), first.index.spans.of(old.id))


def test_many_distinct_spans_are_searched_by_ivf_pq(monkeypatch):
    """Above FLAT_MAX distinct span vectors the ANN index is IVF-PQ; the paragraphs of the
    spans it finds are scored exactly from their codes."""
    from qa.index import spancodes
    from qa.index.spans import CompactSpans

    monkeypatch.setattr(spancodes, "FLAT_MAX", 1000)
    rng = np.random.default_rng(0)
    dim, paragraphs, per = 64, 1000, 10
    x = rng.normal(size=(paragraphs * per, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    scale = spancodes.Scale.fit(x)
    codes = spancodes.CodeFile.spool(dim)
    coded = scale.encode(x)
    codes.append(coded)
    groups = spancodes.Groups.of_hashes(spancodes.code_hashes(coded))
    ann = spancodes.SpanANN.build(codes, scale, groups)
    assert not ann.exact and ann.ntotal == len(groups) == len(x)
    spans = SpanIndex(None, np.arange(0, len(x), per), None, CompactSpans(scale, codes, ann, groups))
    decoded = scale.decode(coded)
    for i in rng.integers(0, len(x), 20):
        q = x[i] + 0.05 * rng.normal(size=dim).astype(np.float32)
        q /= np.linalg.norm(q)
        rows, best = spans.nearest(q, 400, 200)
        assert rows[np.argmax(best)] == i // per
        exact = (decoded[(i // per) * per:(i // per + 1) * per] @ q).max()
        assert best.max() == pytest.approx(float(exact), abs=1e-4)
