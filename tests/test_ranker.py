"""The span ranker: verbatim candidates, question analysis, the flat trees, expected-F1
decoding, the fitted model, the fit tool."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from qa.answer import decode, phrases, ranker, rankfeatures, trees
from qa.answer.asktype import analyse_question
from qa.evaluation.squad import cmrc_em as exact
from qa.evaluation.squad import cmrc_f1 as char_f1
from qa.evaluation.squad import contains

MODEL = Path(__file__).resolve().parents[1] / "qa" / "models" / "ranker.json"
# A made-up passage (not from any data set), traditional and full-width parts included.
PASSAGE = (
    "前言\n\n绿河县位于北部山区，全县面积1,250平方公里。2019年，绿河县新建学校12所，"
    "投资4.5亿元；县长王明山主持了开工仪式。該縣盛產蘋果和梨，《绿河年鉴》记载了这些成就。\n"
)


def _paragraph() -> tuple[int, int]:
    start = PASSAGE.index("绿河县位于")
    return start, len(PASSAGE.rstrip())


def test_every_candidate_slices_the_source_exactly():
    start, end = _paragraph()
    cands = phrases.candidates(PASSAGE, start, end)
    assert len(cands) > 20
    for c in cands:
        assert PASSAGE[c.start:c.end] == c.text
        assert start <= c.start < c.end <= end
    grains = {c.grain for c in cands}
    assert {"sentence", "clause", "phrase", "number", "quoted"} <= grains
    texts = {c.text for c in cands}
    assert "12所" in texts and "《绿河年鉴》" in texts and "4.5亿元" in texts


# Made-up sentences: numbers followed by words, dates, a percent, a prefix inside a word.
BOUNDARY = "2017年3月，农场评选出45名青年骑手，共签约118个订单，产量提高37%，收入2.6亿元。"


def _short_texts(text: str) -> set[str]:
    return {c.text for c in phrases.candidates(text, 0, len(text))
            if c.grain not in ("sentence", "clause")}


def test_numbers_keep_their_unit_and_percent_and_stop_before_words():
    texts = _short_texts(BOUNDARY)
    assert {"45名", "118个", "37%", "2.6亿元", "2017年", "2017年3月"} <= texts
    assert "45名青年骑" not in texts and "45名青" not in texts  # no swallowed hanzi
    assert "37" not in texts and "提高37" not in texts  # the percent stays
    assert "2.6" not in texts and "2." not in texts


def test_a_number_keeps_a_unit_of_two_or_more_characters():
    src = "全年调整村干部198人次，进度超出12个百分点，工期18个月。"
    numbers = {c.text for c in phrases.candidates(src, 0, len(src)) if c.grain == "number"}
    assert {"198人次", "12个百分点", "18个月"} <= numbers
    assert not {"198人", "12个", "18个"} & numbers


def test_no_candidate_cuts_a_date_or_a_number_from_its_unit():
    texts = _short_texts(BOUNDARY)
    assert "2017年3" not in texts and "年3月" not in texts and "年118个" not in texts
    for t in texts:  # no span starts on the unit of a preceding number
        start = BOUNDARY.index(t)
        assert not (start and BOUNDARY[start - 1].isdigit() and not t[0].isdigit())


def test_a_number_prefix_inside_a_word_is_dropped():
    texts = _short_texts(BOUNDARY)
    assert "约118个" not in texts  # 约 belongs to 签约
    assert "签约118个" in texts


def test_question_analysis_reads_word_type_and_sides():
    q = analyse_question("2019年绿河县新建了多少所学校？")
    assert (q.kind, q.word, q.slot) == ("count", "多少", "所")
    assert q.left == "2019年绿河县新建了" and q.right == "所学校"
    assert analyse_question("誰主持了開工儀式？").kind == "who"
    assert analyse_question("绿河县位于哪里？").kind == "where"
    assert analyse_question("哪一年新建了学校？").kind == "when"
    assert analyse_question("该县盛产哪些水果？").kind == "list"


def test_features_have_one_row_per_candidate_and_named_columns():
    start, end = _paragraph()
    cands = phrases.candidates(PASSAGE, start, end)
    para = phrases.read_paragraph(PASSAGE, start, end)
    X = rankfeatures.features(analyse_question("投资多少亿元？"), para, cands)
    assert X.shape == (len(cands), len(rankfeatures.FEATURE_NAMES))
    assert np.isfinite(X[:, rankfeatures.FEATURE_NAMES.index("suffix")]).all()


@pytest.mark.parametrize("question, answer", [
    ("2019年绿河县新建了多少所学校？", "12所"),
    ("谁主持了开工仪式？", "王明山"),
    ("全县面积是多少平方公里？", "1,250"),
    ("投资了多少亿元？", "4.5亿元"),
])
def test_fitted_ranker_answers_a_made_up_passage_short_and_verbatim(question, answer):
    start, end = _paragraph()
    refined = ranker.fitted_ranker().refine(question, PASSAGE, start, end)
    text = PASSAGE[refined.span.start:refined.span.end]
    assert answer in text
    assert len(text) <= 20
    assert 0.0 < refined.expected_f1 <= 1.0


def test_flat_trees_score_exactly_as_lightgbm():
    lightgbm = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 5))
    X[::7, 2] = np.nan
    X[::5, 4] = 0.0
    y = (X[:, 0] + np.nan_to_num(X[:, 2]) > 0).astype(float)
    booster = lightgbm.train({"objective": "regression", "num_leaves": 7, "verbose": -1,
                              "min_data_in_leaf": 5, "num_threads": 1}, lightgbm.Dataset(X, y),
                             num_boost_round=12)
    flat = trees.from_lightgbm_dump(booster.dump_model())
    assert np.allclose(flat.predict(X), booster.predict(X), atol=1e-12)
    again = trees.Trees.from_dict(json.loads(json.dumps(flat.to_dict())))
    assert np.allclose(again.predict(X[:9]), booster.predict(X[:9]), atol=1e-12)


def _cands(spans):
    return [phrases.SpanCandidate(a, b, "", "phrase", 0, ()) for a, b in spans]


def test_decoding_returns_a_confident_phrase_short_and_covers_competitors():
    para = phrases.read_paragraph("甲乙丙丁戊己庚辛壬癸", 0, 10)
    cands = _cands([(0, 2), (4, 6), (0, 10)])
    sure = decode.DecodeParams(1.0, 1.0, 1.0)
    assert decode.choose(para, cands, np.array([9.0, 0.0, 0.0]), "who", sure)[:2] == (0, 2)
    split = decode.choose(para, cands, np.array([5.0, 5.0, -9.0]), "who", sure)
    assert split[:2] == (0, 6)  # the merge of the two likely phrases in one sentence
    wide = decode.DecodeParams(1.0, 1.0, 8.0)
    assert decode.choose(para, cands, np.array([5.0, 5.0, 4.0]), "why", wide)[:2] == (0, 10)


def test_model_file_is_data_with_provenance():
    meta = json.loads(MODEL.read_text(encoding="utf-8"))
    assert meta["feature_names"] == list(rankfeatures.FEATURE_NAMES)
    assert "fitted_at" in meta and "held_out_closed_mode" in meta and "model" not in meta
    assert set(meta["weights"]["decode"]) == {"temperature", "beta", "beta_wide"}
    assert meta["fitted_on"]["counts"]["cmrc"]["fit"] > 0


def test_metrics_follow_cmrc():
    assert char_f1("2019年", ["2019年"]) == 1.0
    assert exact("“王明山”", ["王明山"]) == 1.0
    assert round(char_f1("县长王明山", ["王明山"]), 3) == 0.75
    assert contains("縣長王明山主持", ["县长王明山"]) == 1.0


def test_fit_tool_runs_on_a_tiny_sample(tmp_path):
    from qa.evaluation import fit_ranker

    data = tmp_path / "data"
    data.mkdir()
    passage = PASSAGE.strip()
    qas = [{"id": f"q{i}", "question": q, "answers": [{"text": a,
            "answer_start": passage.index(a)}]}
           for i, (q, a) in enumerate([("新建了多少所学校？", "12所"),
                                       ("谁主持了开工仪式？", "王明山"),
                                       ("投资多少亿元？", "4.5亿元")])]
    squad = {"data": [{"title": t, "paragraphs": [{"context": passage, "qas": qas}]}
                      for t in ("甲", "乙", "丙", "丁", "戊", "己")]}
    for name in fit_ranker.PUBLIC.values():
        (data / name).write_text(json.dumps(squad, ensure_ascii=False), encoding="utf-8")
    own = tmp_path / "qa.jsonl"
    own.write_text(json.dumps({"id": "o1", "question": "县长是谁？", "answers": ["王明山"],
                               "evidence": "县长王明山", "type": "entity"},
                              ensure_ascii=False) + "\n", encoding="utf-8")
    report = tmp_path / "report.txt"
    report.write_text(PASSAGE, encoding="utf-8")
    out = tmp_path / "ranker.json"
    assert fit_ranker.main(["--data", str(data), "--own", str(own), "--report", str(report),
                            "--out", str(out), "--rounds", "3"]) == 0
    meta = json.loads(out.read_text(encoding="utf-8"))
    assert meta["fitted_on"]["counts"]["own"]["fit"] == 1
    assert {"fitted_at", "fitted_on", "trees", "feature_names", "params"} <= set(meta)
    model = ranker.SpanRanker(meta)
    assert model.trees.predict(np.zeros((2, len(rankfeatures.FEATURE_NAMES)))).shape == (2,)


@pytest.fixture(scope="module")
def passage_dir(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("ranker") / "src"
    src.mkdir()
    (src / "greenriver.txt").write_text(PASSAGE, encoding="utf-8")
    return src


@pytest.mark.parametrize("policy", ["off", "ranker", "gated"])
def test_the_extractor_answers_verbatim_under_every_policy(passage_dir, policy):
    from robustfixtures import FakeEncoder

    from qa import Settings, load_assistant

    settings = dataclasses.replace(Settings(), span_ranker=policy)
    assistant = load_assistant(passage_dir, passage_dir.parent / f"index-{policy}", settings,
                               log=lambda _m: None, encoder=FakeEncoder())
    answer, trace = assistant.ask_traced("谁主持了开工仪式？")
    best = trace.extraction.best[0]
    cited = answer.citations[0]
    assert assistant.source_text(cited.doc)[cited.start:cited.end] == cited.text
    assert "王明山" in cited.text
    if policy == "ranker":
        assert len(cited.text) <= 6 and best.region is not None
        assert best.expected_f1 is not None and best.expected_f1 > 0.3
    if policy == "off":
        assert best.region is None and best.expected_f1 is None


def test_settings_refuse_an_unknown_ranker_policy():
    from qa import Settings
    from qa.errors import UsageError

    with pytest.raises(UsageError):
        dataclasses.replace(Settings(), span_ranker="sometimes").check()


def test_gates_by_kind_keep_the_clause_where_the_short_span_loses_the_own_answer():
    from qa.evaluation.fit_gate import GATES, choose_gates_by_kind

    # who: the short span is right in both sets; list: short spans win publicly but drop
    # the own answers (a list in the clause), so the list gate must keep the clause.
    public = [("王明山", "县长王明山主持了开工仪式", 0.8, ["王明山"], "who")] * 10 + \
             [("苹果", "盛产苹果和梨", 0.9, ["苹果"], "list")] * 10
    own = [("李华", "主任李华出席", 0.8, ["李华"], "who")] * 10 + \
          [("苹果", "盛产苹果和梨", 0.9, ["苹果和梨"], "list")] * 10
    gates = choose_gates_by_kind(public, own, own_contain=0.95)
    assert gates["who"] <= 0.8
    assert gates["list"] > 0.9  # above every list span's expected F1: the clause stays
    assert GATES[-1] > 1.0


def test_answer_score_weighs_containment_and_f1_alike():
    from qa.evaluation.fit_ranker import answer_score

    assert answer_score("王明山", ["王明山"]) == 1.0
    assert answer_score("县长王明山", ["王明山"]) == pytest.approx((0.75 + 1.0) / 2)
    assert answer_score("王明", ["王明山"]) == pytest.approx(char_f1("王明", ["王明山"]) / 2)
    assert answer_score("李华", ["王明山"]) == 0.0


def test_gates_by_kind_count_containment_not_only_f1():
    from qa.evaluation.fit_gate import choose_gates_by_kind

    # The short span has the better mean F1 on these (0.94 against 0.85 for the clause),
    # but it cuts the answer half the time; the clause always contains it. By F1 alone the
    # short span would win; F1 and containment together keep the clause.
    public = [("甲乙丙丁", "甲乙丙丁戊己", 0.5, ["甲乙丙丁"], "what")] * 5 + \
             [("甲乙丙丁", "甲乙丙丁戊己", 0.5, ["甲乙丙丁戊"], "what")] * 5
    gates = choose_gates_by_kind(public, [], own_contain=0.0)
    assert gates["what"] > 0.5
