"""Fusion and extraction are pure functions: hand-made inputs, exact expected outputs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qa.answer import extract, fuse
from qa.answer.question import Question
from qa.schema import Chunk, Span
from qa.text.documents import clauses, sentences
from qa.text.spans import candidate_spans

# ---------------------------------------------------------------- fusion


def test_minmax_exact():
    assert np.array_equal(fuse.minmax(np.array([1.0, 2.0, 3.0])), [0.0, 0.5, 1.0])
    assert np.allclose(fuse.minmax([-2.0, 0.0, 6.0]), [0.0, 0.25, 1.0])
    assert np.array_equal(fuse.minmax([4.0, 4.0, 4.0]), [0.0, 0.0, 0.0])
    assert fuse.minmax(np.array([])).size == 0
    out = fuse.minmax([5])
    assert out.dtype == np.float64 and list(out) == [0.0]


def test_weighted_exact():
    bm25 = np.array([0.0, 10.0, 5.0])
    dense = np.array([1.0, 0.5, 0.0])
    # min-max: bm25 → [0, 1, .5], dense → [1, .5, 0]
    assert np.allclose(fuse.weighted(bm25, dense, 0.6, 0.4), [0.4, 0.8, 0.3])
    # weights are renormalised: (3·b + 1·d) / 4
    assert np.allclose(fuse.weighted(bm25, dense, 3, 1), [0.25, 0.875, 0.375])
    assert np.allclose(fuse.weighted(bm25, dense, 1, 0), [0.0, 1.0, 0.5])
    assert np.allclose(fuse.weighted(bm25, dense, 0, 2), [1.0, 0.5, 0.0])
    with pytest.raises(ValueError):
        fuse.weighted(bm25, dense, 0, 0)


def test_weighted_with_flat_bm25_ranks_by_dense_alone():
    """No query term matched (all BM25 equal): the flat list contributes nothing."""
    out = fuse.weighted(np.zeros(3), np.array([0.2, 0.9, 0.4]), 0.6, 0.4)
    assert np.allclose(out, [0.0, 0.4, 0.4 * 0.2 / 0.7])


def test_ranks_exact_and_stable():
    assert list(fuse.ranks(np.array([0.2, 0.9, 0.5]))) == [3, 1, 2]
    assert list(fuse.ranks(np.array([1.0, 1.0, 0.0, 1.0]))) == [1, 2, 4, 3]
    assert list(fuse.ranks(np.array([]))) == []


def test_rrf_exact():
    bm25 = np.array([3.0, 2.0, 1.0])
    dense = np.array([0.1, 0.2, 0.3])
    k = 60
    out = fuse.rrf(bm25, dense, k)
    # bm25 ranks 1,2,3; dense ranks 3,2,1; rescaled by (k+1)/2
    expected = np.array([1 / 61 + 1 / 63, 2 / 62, 1 / 63 + 1 / 61]) * 61 / 2
    assert np.allclose(out, expected, rtol=0, atol=1e-15)
    # first in both lists scores exactly 1
    assert fuse.rrf(np.array([2.0, 1.0]), np.array([0.9, 0.1]), 10)[0] == pytest.approx(1.0)
    assert fuse.rrf(np.array([]), np.array([])).size == 0


def test_rrf_ignores_score_gaps_weighted_does_not():
    bm25 = np.array([100.0, 1.0, 0.0])
    dense = np.array([0.0, 0.5, 1.0])
    r = fuse.rrf(bm25, dense, 60)
    assert r[0] == pytest.approx(r[2])  # ranks 1+3 vs 3+1
    w = fuse.weighted(bm25, dense, 0.5, 0.5)
    assert w[0] == pytest.approx(w[2])  # min-max also symmetric here
    w = fuse.weighted(bm25, dense, 0.6, 0.4)
    assert w[0] > w[2]


def test_fuse_dispatches_on_method():
    b, d = np.array([0.0, 2.0]), np.array([1.0, 0.0])
    assert np.allclose(fuse.fuse(b, d, "rrf", 0.6, 0.4, 60), fuse.rrf(b, d, 60))
    assert np.allclose(fuse.fuse(b, d, "weighted", 0.6, 0.4), [0.4, 0.6])


# ---------------------------------------------------------------- spans

PARAGRAPH = ("招商引资成效明显。今年以来，全区坚持项目为王，累计签约重点项目58个，"
             "总投资120.5亿元，带动就业明显增加。")
DOC = "synthetic.txt"
PREFIX = "标题\n\n"


@pytest.fixture()
def chunk() -> Chunk:
    source = PREFIX + PARAGRAPH + "\n"
    start = source.index(PARAGRAPH)
    return Chunk(0, DOC, start, start + len(PARAGRAPH), PARAGRAPH, "招商引资", "body")


def _source(doc: str) -> str:
    assert doc == DOC
    return PREFIX + PARAGRAPH + "\n"


def test_candidate_spans_are_verbatim_and_inside_their_sentence(chunk):
    text = _source(DOC)
    pairs = candidate_spans(chunk, text)
    assert len(pairs) >= 8
    sents = {(s.start, s.end) for s in sentences(chunk)}
    for span, sent in pairs:
        assert (sent.start, sent.end) in sents
        assert sent.start <= span.start < span.end <= sent.end
        piece = text[span.start:span.end]
        assert piece and piece[-1] not in "，。" and piece[0] not in "，。"
    texts = [text[s.start:s.end] for s, _ in pairs]
    assert "累计签约重点项目58个" in texts  # a clause
    assert "累计签约重点项目58个，总投资120.5亿元" in texts  # two adjacent clauses
    assert "招商引资成效明显" in texts  # a whole sentence


def _q(text: str, weights: dict[str, float]) -> Question:
    """The question analysed, with these term weights (what an index's idf would give)."""
    return replace(Question.analyse(text), term_weights=weights)


def test_best_span_picks_the_clause_with_the_number(chunk):
    weights = {"签约": 2.0, "重点": 1.0, "项目": 1.0}
    best = extract.best_spans(_q("签约了多少个重点项目？", weights), [(chunk, 1.0)], _source)
    assert len(best) == 1
    cand = best[0]
    text = _source(DOC)
    answer = text[cand.span.start:cand.span.end]
    assert answer == "累计签约重点项目58个"
    assert cand.form_ok == 1.0
    features = {text[s.start:s.end]: f for _, s, f in
                extract.span_features(_q("签约了多少个重点项目？", weights), [(chunk, 1.0)], _source)}
    assert features[answer]["local"] == 1.0  # every term of the question is in it
    assert cand.chunk is chunk


def test_best_span_follows_the_asked_unit(chunk):
    weights = {"总投资": 2.0}
    best = extract.best_spans(_q("总投资是多少？", weights), [(chunk, 1.0)], _source)
    answer = _source(DOC)[best[0].span.start:best[0].span.end]
    assert "120.5亿元" in answer and "58个" not in answer


def test_a_span_of_only_the_questions_words_is_no_candidate(chunk):
    text = _source(DOC)
    question = "招商引资成效明显中签约了什么？"
    spans = {text[s.start:s.end] for _, s, _ in
             extract.span_features(_q(question, {"招商": 1.0}), [(chunk, 1.0)], _source)}
    assert "招商引资成效明显" not in spans and "累计签约重点项目58个" in spans
    # … unless the question quotes every span of the paragraph
    spans = {text[s.start:s.end] for _, s, _ in
             extract.span_features(_q(PARAGRAPH, {"招商": 1.0}), [(chunk, 1.0)], _source)}
    assert "招商引资成效明显" in spans


def test_best_spans_rank_paragraphs_best_first(chunk):
    other_text = "招商工作扎实推进，各项工作有序开展。"
    source = _source(DOC)
    docs = {DOC: source, "other.txt": other_text}
    other = Chunk(1, "other.txt", 0, len(other_text), other_text, "", "body")
    weights = {"签约": 2.0, "重点": 1.0, "项目": 1.0}
    best = extract.best_spans(_q("签约了多少个重点项目？", weights), [(other, 1.0), (chunk, 0.5)],
                              docs.__getitem__)
    assert [c.chunk.id for c in best] == [0, 1]
    assert best[0].score > best[1].score


def test_similarity_is_used_when_there_is_no_lexical_evidence(chunk):
    text = _source(DOC)
    target = text.index("总投资120.5亿元")

    def similarity(c, spans):
        return [1.0 if s.start == target and text[s.start:s.end] == "总投资120.5亿元" else 0.0
                for s in spans]

    best = extract.best_spans(_q("What was the total investment?", {}), [(chunk, 1.0)], _source,
                              similarity)
    assert text[best[0].span.start:best[0].span.end] == "总投资120.5亿元"


def test_coverage():
    assert extract.coverage("签约项目36个", {"签约": 2.0, "项目": 1.0, "外资": 1.0}) == 0.75
    assert extract.coverage("anything", {}) == 0.0


def test_clause_offsets_map_back_into_the_sentence():
    text = "开展2次集中签约活动，签约项目36个，总投资364.2亿元。"
    spans = clauses(text, 10)
    assert [Span(s.start - 10, s.end - 10) for s in spans] == [Span(0, 11), Span(11, 19),
                                                                Span(19, 30)]


def test_span_features_carry_the_paragraph_rank(chunk):
    weights = {"签约": 2.0, "项目": 1.0}
    first = extract.span_features(_q("签约了多少个项目？", weights), [(chunk, 1.0)], _source)
    later = extract.span_features(_q("签约了多少个项目？", weights), [(chunk, 1.0)], _source,
                                  first_rank=1)
    assert {f["top_paragraph"] for _, _, f in first} == {1.0}
    assert {(f["top_paragraph"], f["second_paragraph"]) for _, _, f in later} == {(0.0, 1.0)}
    # the same span scores higher in the best-ranked paragraph under the fitted weights
    assert (extract.span_score(first[0][2], extract.SPAN_WEIGHTS)
            > extract.span_score(later[0][2], extract.SPAN_WEIGHTS))
