"""Fusion and extraction are pure functions: hand-made inputs, exact expected outputs."""

from __future__ import annotations

import numpy as np
import pytest

from qa import extract, fuse
from qa.documents import clauses, sentences
from qa.types import Chunk, Span

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


# ---------------------------------------------------------------- question form


@pytest.mark.parametrize("question, form", [
    ("签约了多少个项目？", "number"),
    ("簽約了多少個項目？", "number"),
    ("建了几个招商工作站？", "number"),
    ("How many projects were signed?", "number"),
    ("总书记是哪年视察三涧溪村的？", "date"),
    ("什么时候完成目标？", "date"),
    ("谁视察了三涧溪村？", "person"),
    ("哪些龙头企业接通了断点？", "list"),
    ("建立了哪几个招商工作站？", "list"),
    ("章丘区在哪里？", "place"),
    ("章丘区为什么要扛起两面大旗", "other"),
    # 哪五种 asks for five of them (what a quoted term stands for: "term"); 哪几位 for
    # people; 哪家 for an organisation
    ("“五水共治”治的是哪五种水？", "term"),
    ("要治理哪五种水？", "list"),
    ("会议由哪几位专家主持？", "person"),
    ("新闻是哪家报纸发的？", "name"),
    ("项目由哪个单位承建？", "name"),
    ("市长叫什么名字？", "person"),
    ("那个计划叫什么？", "name"),
    # English "which": a list only before a plural
    ("Which companies moved to the park?", "list"),
    ("Which two hospitals were built?", "list"),
    ("Which platform was launched?", "name"),
    ("Which process was used?", "name"),
    ("Which town hosted the fair?", "place"),
    ("Which year was the plan made?", "date"),
    ("How many firms are on the emission-reduction list?", "number"),
    ("List the three zones.", "list"),
])
def test_question_form(question, form):
    assert extract.question_form(question) == form


@pytest.mark.parametrize("question, units", [
    # 个 is the general measure word: 36个, 5家, 160名 all count; 70.8亿元 is no count
    ("签约了多少个项目？", extract._COUNT_UNITS),
    ("派了多少个人？", ("人", "名", "位")),
    ("日处理生活垃圾多少吨？", ("吨",)),
    ("增长了百分之几？", ("%",)),
    ("总投资是多少？", ("元",)),
    ("引进了多少人才？", ("人", "名")),
    ("完成了多少？", ()),
    ("一共培训了多少人次？", ("人次",)),
    ("每天发多少趟车？", ("趟",)),
    ("签约金额是多少？", ("元",)),
    ("公园面积有多大？", extract._AREA),
    # English questions, in the units a Chinese report answers them in
    ("How many companies joined the list?", ("家",)),
    ("What share of villages meet the standard?", ("%",)),
    ("How many buses were bought?", ("辆",)),
    ("How much did the hall cost?", ("元",)),
    ("How many projects were signed?", extract._COUNT_UNITS),
])
def test_asked_unit(question, units):
    assert extract.asked_unit(question) == units


def test_a_count_is_not_answered_by_an_amount():
    question = "老旧小区改造一共改了多少个小区？"
    units = extract.asked_unit(question)
    assert extract.has_form("改造小区26个", "number", question, units) == 1.0
    assert extract.has_form("改造1500万平方米", "number", question, units) == extract.OTHER_UNIT
    # a count is given by a classifier right after the number, not one inside the next word
    assert extract.has_form("完成1.1万户入户核查", "number", question, units) == 1.0
    assert extract.has_form("带动近700贫困人口就业", "number", question, units) == extract.OTHER_UNIT


def test_a_unit_is_not_part_of_another():
    area = extract.asked_unit("公园面积有多大？")
    assert extract.has_form("水库扩容1500万立方米", "number", "", area) == extract.OTHER_UNIT
    assert extract.has_form("公园占地300亩", "number", "", area) == 1.0
    length = extract.asked_unit("全长是多少？")
    assert extract.has_form("改造1500万平方米", "number", "", length) == extract.OTHER_UNIT
    assert extract.has_form("全长12公里", "number", "", length) == 1.0
    visits = extract.asked_unit("一共培训了多少人次？")
    assert extract.has_form("带动700贫困人口就业", "number", "", visits) == extract.OTHER_UNIT


def test_a_number_in_quotes_is_a_name_not_an_amount():
    assert extract.has_form("完善全区“1266”工作思路", "number") == 0.0
    assert extract.has_form("聚力“八大名品”培育", "number") == 1.0  # 八大 still counts


def test_has_form():
    q = extract.normalize("签约了多少个项目？")
    assert extract.has_form("签约项目36个", "number", q, ("个",)) == 1.0
    assert extract.has_form("总投资364.2亿元", "number", q, ("个",)) == 0.6
    assert extract.has_form("签约项目", "number", q, ("个",)) == 0.0
    assert extract.has_form("2018年6月", "date") == 1.0
    assert extract.has_form("高端制造、新材料、新医药", "list") == 1.0
    assert extract.has_form("加强分类指导", "list") == 0.0
    assert extract.has_form("推行并联审批和一业一证改革", "list") == 1.0  # two, joined by 和
    # a number the question already holds is not an answer to it
    q2 = extract.normalize("2020年签约了多少个项目？")
    assert extract.has_form("2020年", "number", q2, ("个",)) == 0.0


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
    pairs = extract.candidate_spans(chunk, text)
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


def test_best_span_picks_the_clause_with_the_number(chunk):
    weights = {"签约": 2.0, "重点": 1.0, "项目": 1.0}
    best = extract.best_spans("签约了多少个重点项目？", [(chunk, 1.0)], _source, weights)
    assert len(best) == 1
    cand = best[0]
    text = _source(DOC)
    answer = text[cand.span.start:cand.span.end]
    assert answer == "累计签约重点项目58个"
    assert cand.form_ok == 1.0 and cand.coverage == 1.0
    assert cand.chunk is chunk


def test_best_span_follows_the_asked_unit(chunk):
    weights = {"总投资": 2.0}
    best = extract.best_spans("总投资是多少？", [(chunk, 1.0)], _source, weights)
    answer = _source(DOC)[best[0].span.start:best[0].span.end]
    assert "120.5亿元" in answer and "58个" not in answer


def test_best_spans_rank_paragraphs_best_first(chunk):
    other_text = "招商工作扎实推进，各项工作有序开展。"
    source = _source(DOC)
    docs = {DOC: source, "other.txt": other_text}
    other = Chunk(1, "other.txt", 0, len(other_text), other_text, "", "body")
    weights = {"签约": 2.0, "重点": 1.0, "项目": 1.0}
    best = extract.best_spans("签约了多少个重点项目？", [(other, 1.0), (chunk, 0.5)],
                              docs.__getitem__, weights)
    assert [c.chunk.id for c in best] == [0, 1]
    assert best[0].score > best[1].score


def test_similarity_is_used_when_there_is_no_lexical_evidence(chunk):
    text = _source(DOC)
    target = text.index("总投资120.5亿元")

    def similarity(c, spans):
        return [1.0 if s.start == target and text[s.start:s.end] == "总投资120.5亿元" else 0.0
                for s in spans]

    best = extract.best_spans("What was the total investment?", [(chunk, 1.0)], _source, {},
                              similarity, lexical=False)
    assert text[best[0].span.start:best[0].span.end] == "总投资120.5亿元"


def test_coverage():
    assert extract.coverage("签约项目36个", {"签约": 2.0, "项目": 1.0, "外资": 1.0}) == 0.75
    assert extract.coverage("anything", {}) == 0.0


def test_clause_offsets_map_back_into_the_sentence():
    text = "开展2次集中签约活动，签约项目36个，总投资364.2亿元。"
    spans = clauses(text, 10)
    assert [Span(s.start - 10, s.end - 10) for s in spans] == [Span(0, 11), Span(11, 19),
                                                                Span(19, 30)]


def test_name_questions_want_a_name_not_a_restatement():
    question = "新成立的幼教集团叫什么名字？"
    assert extract.question_form(question) == "name"
    qn = question
    assert extract.has_form("成立青未了幼教集团", "name", qn) == 1.0
    assert extract.has_form("教育资源更加优化", "name", qn) == 0.0
    assert extract.has_form("幼教集团", "name", qn) == 0.0  # only what the question says
    # a name in quotes is a name too (the “1266” work plan), and so is a newspaper
    assert extract.has_form("完善全区“1266”工作思路", "name", "工作思路叫什么") == 1.0
    assert extract.has_form("大众日报记者报道", "name", "哪家报纸") == 1.0


def test_a_lone_one_before_a_classifier_is_no_count():
    units = extract.asked_unit("一共建了几个站？")
    assert extract.has_form("集中新上一批大项目", "number", "一共建了几个站", units) == 0.0
    assert extract.has_form("建成十一个服务站", "number", "一共建了几个站", units) == 1.0


def test_span_features_carry_the_paragraph_rank(chunk):
    weights = {"签约": 2.0, "项目": 1.0}
    first = extract.span_features("签约了多少个项目？", [(chunk, 1.0)], _source, weights)
    later = extract.span_features("签约了多少个项目？", [(chunk, 1.0)], _source, weights,
                                  first_rank=1)
    assert {f["top_paragraph"] for _, _, f in first} == {1.0}
    assert {(f["top_paragraph"], f["second_paragraph"]) for _, _, f in later} == {(0.0, 1.0)}
    # the same span scores higher in the best-ranked paragraph under the fitted weights
    assert (extract.span_score(first[0][2], extract.SPAN_WEIGHTS)
            > extract.span_score(later[0][2], extract.SPAN_WEIGHTS))


def test_place_questions_name_the_kind_of_place():
    question = "精神卫生中心设在章丘哪个街道？"
    assert extract.question_form(question) == "place"
    kind = extract.asked_place(question)
    assert kind == ("街道",)
    assert extract.has_form("推广官庄街道经验", "place", question, kind) == 1.0
    # a 中心 is a place, but not the street asked for
    assert extract.has_form("东部医疗中心基本建成", "place", question, kind) == extract.OTHER_UNIT
    assert extract.asked_place("第二届儒商大会在哪座城市举办？") == ("市",)
    assert extract.asked_place("章丘区在哪里？") == ()


@pytest.mark.parametrize("question, role", [
    ("镇党委书记是谁？", ("党委书记",)),
    ("那个村的党组织书记叫什么名字？", ("党组织书记",)),
    ("这篇报道的记者是谁？", ("记者",)),
    ("谁视察了工地？", ()),
])
def test_asked_role(question, role):
    assert extract.asked_role(question) == role


def test_a_person_with_another_role_is_not_the_answer():
    question = "那个村的党组织书记叫什么名字？"
    role = extract.asked_role(question)
    assert extract.question_form(question) == "person"
    assert extract.has_form("习近平总书记视察该村时指出", "person", question, role) == 0.0
    assert extract.has_form("村党组织书记张三介绍", "person", question, role) == 1.0
    # 谁家的 asks for an organisation, whatever role the question names
    assert extract.question_form("那个专家工作站是谁家的") == "name"


def test_an_organisation_of_another_kind_is_a_weak_answer():
    question = "这座电厂由哪家公司运营？"
    kind = extract.asked_kind(question)
    assert extract.question_form(question) == "name" and "公司" in kind
    assert extract.has_form("由东方能源集团运营", "name", question, kind) == 1.0
    assert extract.has_form("东部医疗中心基本建成", "name", question, kind) == extract.OTHER_UNIT
    assert extract.asked_kind("新闻是哪家报纸发的？") == ("报",)
    assert extract.asked_kind("签约的电商平台是哪家？") == ()  # any organisation will do


def test_what_a_quoted_term_stands_for_must_be_said_not_just_named():
    question = "“四个一批”具体指什么？"
    assert extract.question_form(question) == "term"
    terms = extract.asked_term(question)
    assert terms == ("四个一批",)
    said = "健全“四个一批”（签约一批、开工一批、投产一批、储备一批）推进机制"
    assert extract.has_form(said, "term", question, terms) == 1.0
    assert extract.has_form("健全“四个一批”推进机制", "term", question, terms) == 0.0
    # an enumeration just before the term says it too
    assert extract.elaborates("实施数字化转型和融合发展双轮驱动", "双轮驱动")
    # a one-character quote (哪几个“有”) is no term: an enumeration answers it
    assert extract.question_form("要实现哪几个“有”？") == "list"
