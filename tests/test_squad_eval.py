"""SQuAD-format evaluation: the CMRC metric, THE SPLIT, passages as reports, the modes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from qa.evaluation.squad import (
    answer_type,
    choose,
    cmrc_em,
    cmrc_f1,
    contains,
    is_squad_file,
    load_squad,
    mixed_segmentation,
    split_of,
    write_reports,
)
from qa.evaluation.squad_report import check_floors

ROOT = Path(__file__).resolve().parent.parent

# Three made-up passages (not from any public set). Titles chosen for THE SPLIT:
# 长江 and 熊猫 fall in "fit", 西湖 in "test".
TINY = {"version": "tiny", "data": [
    {"title": "长江", "paragraphs": [{"context": (
        "长江是中国第一长河，全长约6300公里。长江发源于青藏高原的唐古拉山脉，"
        "流经十一个省级行政区，最后在上海注入东海。"),
        "qas": [
            {"id": "t1", "question": "长江全长约多少公里？",
             "answers": [{"text": "6300公里", "answer_start": 13}]},
            {"id": "t2", "question": "长江在哪里注入东海？",
             "answers": [{"text": "上海", "answer_start": 50}]}]}]},
    {"title": "熊猫", "paragraphs": [{"context": (
        "大熊猫主要生活在四川、陕西和甘肃的山区。大熊猫的食物以竹子为主，"
        "成年大熊猫每天要花十几个小时进食。"),
        "qas": [
            {"id": "t3", "question": "大熊猫主要吃什么？",
             "answers": [{"text": "竹子", "answer_start": 27}]}]}]},
    {"title": "西湖", "paragraphs": [{"context": (
        "西湖位于浙江省杭州市西部，湖面面积约6.4平方公里。"
        "2011年，杭州西湖文化景观被列入世界遗产名录。"),
        "qas": [
            {"id": "t4", "question": "西湖位于哪个城市？",
             "answers": [{"text": "杭州市", "answer_start": 7}]},
            {"id": "t5", "question": "西湖文化景观哪一年被列入世界遗产名录？",
             "answers": [{"text": "2011年", "answer_start": 26}]}]}]},
]}


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY, ensure_ascii=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------- the metric

def test_identical_spans_score_one() -> None:
    assert cmrc_f1("北京大学", ["北京大学"]) == 1.0
    assert cmrc_em("北京大学", ["北京大学"]) == 1.0


def test_disjoint_spans_score_zero() -> None:
    assert cmrc_f1("上海", ["北京大学"]) == 0.0
    assert cmrc_em("上海", ["北京大学"]) == 0.0


def test_partial_span_f1_from_longest_common_substring() -> None:
    # 4 of 5 predicted characters, all 4 gold: P 0.8, R 1.0
    assert cmrc_f1("在北京大学", ["北京大学"]) == pytest.approx(2 * 0.8 / 1.8)
    assert cmrc_em("在北京大学", ["北京大学"]) == 0.0
    # a common *substring*, not a bag of characters: 北京 (2), P 2/5, R 2/4
    assert cmrc_f1("北京的大学", ["北京大学"]) == pytest.approx(2 * 0.4 * 0.5 / 0.9)


def test_punctuation_is_removed_before_scoring() -> None:
    assert cmrc_em("《红楼梦》", ["红楼梦"]) == 1.0
    assert cmrc_f1("“红楼梦”，", ["红楼梦"]) == 1.0


def test_latin_and_digit_runs_are_single_tokens() -> None:
    assert mixed_segmentation("Apple Inc于2018年发布", rm_punc=True) == [
        "apple", "inc", "于", "2018", "年", "发", "布"]
    # 2018 | 年: one of two predicted tokens
    assert cmrc_f1("2018年", ["2018"]) == pytest.approx(2 * 0.5 * 1.0 / 1.5)


def test_best_over_golds_and_nothing_for_no_answer() -> None:
    assert cmrc_f1("杭州", ["浙江", "杭州"]) == 1.0
    assert cmrc_em("杭州", ["浙江", "杭州"]) == 1.0
    assert cmrc_f1("", ["杭州"]) == 0.0
    assert cmrc_em("", ["杭州"]) == 0.0
    assert not contains("", ["杭州"])


def test_contain_folds_traditional_punctuation_and_space() -> None:
    assert contains("這是國立臺灣大學的校區", ["台湾大学"])
    assert contains("北京，大学 的校区", ["北京大学"])
    assert contains("ＧＤＰ增长5%", ["gdp"])
    assert not contains("北京大学", ["清华大学"])


# ---------------------------------------------------------------- split, format, reports

def test_the_split_rule() -> None:
    import hashlib

    for title in ("长江", "熊猫", "西湖", "北京大学", "鳥類", "Python"):
        h = int(hashlib.sha1(title.encode("utf-8")).hexdigest(), 16) % 10
        assert split_of(title) == ("fit" if h < 6 else "test")
    assert [split_of(t) for t in ("长江", "熊猫", "西湖", "鳥類")] == ["fit", "fit", "test", "test"]


def test_parts_follow_the_split(tiny: Path) -> None:
    assert [p.title for p in load_squad(tiny, "fit")] == ["长江", "熊猫"]
    assert [p.title for p in load_squad(tiny, "test")] == ["西湖"]
    assert len(load_squad(tiny, "all")) == 3


def test_format_detection(tiny: Path, tmp_path: Path) -> None:
    assert is_squad_file(tiny)
    jsonl = tmp_path / "qa.jsonl"
    jsonl.write_text('{"id": "q1", "question": "?", "answers": [], "evidence": "", '
                     '"type": "unanswerable"}\n', encoding="utf-8")
    assert not is_squad_file(jsonl)
    assert not is_squad_file(ROOT / "eval" / "qa.jsonl")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    assert not is_squad_file(tmp_path / "list.json")
    (tmp_path / "obj.json").write_text('{"rows": []}', encoding="utf-8")
    assert not is_squad_file(tmp_path / "obj.json")
    assert not is_squad_file(tmp_path / "missing.json")


def test_reports_hold_title_then_context_with_gold_offsets(tiny: Path, tmp_path: Path) -> None:
    passages = load_squad(tiny, "all")
    paths = write_reports(passages, tmp_path / "reports")
    for p in passages:
        text = paths[p.key].read_bytes().decode("utf-8")
        assert text.split("\n")[0] == p.title and text.split("\n")[1] == ""
        for q in p.questions:
            assert -1 not in q.starts
            for answer, start in zip(q.answers, q.starts):
                assert text[start:start + len(answer)] == answer
    assert passages[2].questions[0].starts == (len("西湖") + 2 + 7,)


def test_reports_are_rewritten_only_when_changed(tiny: Path, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    passages = load_squad(tiny, "all")
    paths = write_reports(passages, folder)
    os.utime(paths[passages[0].key], (1, 1))
    (folder / "stray.txt").write_text("x", encoding="utf-8")
    write_reports(passages, folder)
    assert paths[passages[0].key].stat().st_mtime == 1
    assert sorted(f.name for f in folder.iterdir()) == sorted(p.name for p in paths.values())
    write_reports(passages[:1], folder)
    assert len(list(folder.glob("*.txt"))) == 1


def test_a_wrong_answer_start_is_marked() -> None:
    from qa.evaluation.squad import passage_of

    p = passage_of("0000-00", "题", {"context": "甲乙丙", "qas": [
        {"id": "x", "question": "?", "answers": [{"text": "乙", "answer_start": 0}]}]})
    assert p.questions[0].starts == (-1,)


# ---------------------------------------------------------------- types, sample, floors

@pytest.mark.parametrize("question, kind", [
    ("谁发明了电话？", "who"), ("誰發明了電話？", "who"), ("林肯郡在什么位置？", "where"),
    ("他出生在哪裡？", "where"), ("长江全长约多少公里？", "how many"),
    ("基氏软汉鱼体长是多少？", "how much"), ("队里有几名队员？", "how many"),
    ("為什麼會下雨？", "why"), ("哪一年建成？", "when"), ("何時開始？", "when"),
    ("它是否有毒？", "yes-no"), ("这是真的吗？", "yes-no"), ("甲午战争的结果是什么？", "what"),
    ("它屬於甚麼科？", "what"), ("哪支球队夺冠？", "which"), ("如何制作？", "how"),
    ("逝世的时间是？", "when"), ("花了多少时间？", "how much"), ("是第几张专辑？", "how many"),
    ("德國的第一大邦為？", "what"), ("金正恩的母親是?", "what"), ("哪一個人當選？", "who"),
    ("请介绍一下", "other")])
def test_answer_type(question: str, kind: str) -> None:
    assert answer_type(question) == kind


def test_a_sample_is_fixed_by_its_seed(tiny: Path) -> None:
    qs = [q for p in load_squad(tiny, "all") for q in p.questions]
    a, b = choose(qs, sample=3, seed=7), choose(qs, sample=3, seed=7)
    assert [q.id for q in a] == [q.id for q in b] and len(a) == 3
    assert [q.id for q in a] == sorted(q.id for q in a)  # file order kept
    assert [q.id for q in choose(qs, limit=2)] == ["t1", "t2"]
    assert len(choose(qs, sample=99)) == 5


def test_floors_name_the_failing_figure() -> None:
    report = {"set": "cmrc", "results": {
        "open": {"overall": {"right_first": 0.9, "contain": 0.5, "f1": 0.2}},
        "ood": {"overall": {"found": 0.3}}}}
    floors = {"_comment": "x", "hybrid": {"hit@1": 0.9},
              "cmrc/open": {"right_first": 0.95, "contain": 0.4},
              "drcd/open": {"contain": 0.99}, "cmrc/closed": {"f1": 0.9},
              "ood": {"found_max": 0.02}}
    problems = check_floors(report, floors)
    assert len(problems) == 2
    assert "cmrc/open right_first = 0.900 is below its floor 0.95" in problems[0]
    assert "cmrc/ood found = 0.300 is above its ceiling 0.02" in problems[1]
    assert check_floors(report, {"cmrc/open": {"contain": 0.5}, "ood": {"found_max": 0.3}}) == []


# ---------------------------------------------------------------- end to end

@pytest.mark.slow
def test_closed_and_ood_end_to_end(tiny: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from qa.evaluation.squad_cli import main

    out = tmp_path / "out.json"
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"tiny/ood": {"found_max": -1}}), encoding="utf-8")
    code = main([str(tiny), "--squad-modes", "closed,ood", "--part", "all", "--no-progress",
                 "--cache", str(tmp_path / "cache"), "--source", str(ROOT / "seeds"),
                 "--index", str(tmp_path / "seeds-index"), "--set", "tiny",
                 "--json", str(out), "--floors", str(floors)])
    assert code == 1  # the impossible ceiling is reported as broken
    assert "tiny/ood found" in capsys.readouterr().err
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["results"]) == {"closed", "ood"}
    closed, ood = report["rows"]["closed"], report["rows"]["ood"]
    assert len(closed) == len(ood) == 5
    assert all(r["cited"] == r["doc"] for r in closed)  # only its own passage is cited
    assert sum(r["span_contain"] for r in closed) >= 3
    for r in closed:  # F1/EM/contain recomputed from the row agree
        assert r["f1"] == pytest.approx(cmrc_f1(r["got"], r["golds"]))
        assert r["contain"] == contains(r["got"], r["golds"])
        assert r["found"] or (r["got"] == "" and r["f1"] == 0)
    assert all(r["cited"] != r["doc"] and not r["contain"] for r in ood)
    assert report["results"]["ood"]["overall"]["n"] == 5
    cached = tmp_path / "cache" / "tiny-all" / "reports"
    assert sorted(f.name for f in cached.glob("*.txt")) == ["0000-00.txt", "0001-00.txt",
                                                            "0002-00.txt"]


def test_a_refused_or_unfound_answer_scores_zero() -> None:
    from qa.evaluation.squad import Question, score
    from qa.schema import Answer, Citation

    q = Question("e", "", ("杭州",), (9,), "0002-00", "other")
    row = score(q, "open", "hybrid", None, 1.0, "the question is empty")
    assert (row.found, row.f1, row.em, row.contain, row.cited) == (False, 0.0, 0.0, False, "")
    cite = Citation("x/0002-00.txt", 9, 11, "杭州", "西湖位于杭州", 5, "", 1.0)
    unfound = score(q, "open", "hybrid", Answer("q", False, "", 0.2, (cite,)), 1.0)
    assert unfound.right_first and unfound.span_contain
    assert (unfound.f1, unfound.contain) == (0.0, False)
    found = score(q, "ood", "hybrid", Answer("q", True, "杭州", 0.9, (cite,)), 1.0)
    assert found.f1 == 1.0 and found.em == 1.0 and found.contain and not found.right_first


# ---------------------------------------------------------------- closed mode, the CLI

@pytest.fixture(scope="module")
def tiny_assistant(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real assistant (USE model, FAISS) over the three tiny passages as reports."""
    from qa import load_assistant

    root = tmp_path_factory.mktemp("tiny")
    path = root / "tiny.json"
    path.write_text(json.dumps(TINY, ensure_ascii=False), encoding="utf-8")
    write_reports(load_squad(path, "all"), root / "reports")
    return load_assistant(root / "reports", root / "index", log=lambda _m: None)


@pytest.mark.slow
def test_closed_mode_scores_its_passage_as_open_mode_does(tiny_assistant) -> None:
    """``reports=`` filters the ranking; it does not re-normalise the scores over the one
    or two paragraphs of a report (which made a lone paragraph score 0 and changed the
    extractor's paragraph feature)."""
    question = "西湖位于哪个城市？"
    _, open_trace = tiny_assistant.ask_traced(question)
    answer, closed_trace = tiny_assistant.ask_traced(question, 1, "hybrid", ["0002-00.txt"])
    chunks = tiny_assistant.index.chunks
    hits = closed_trace.retrieval.hits
    assert hits and {chunks[h.chunk_id].doc for h in hits} == {answer.citations[0].doc}
    assert answer.citations[0].doc.endswith("0002-00.txt")
    scores = {h.chunk_id: h.score for h in open_trace.retrieval.hits}
    assert [h.score for h in hits] == [scores[h.chunk_id] for h in hits]
    assert hits[0].score > 0.5  # the right passage of a good question: not a 0 from min-max
    assert contains(answer.citations[0].text, ("杭州市",))
    assert tiny_assistant.ask(question, 1, reports=["0002-00.txt"]) == answer


@pytest.mark.slow
def test_qa_eval_detects_the_squad_format(tiny: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from qa.cli import main

    out = tmp_path / "out.json"
    code = main(["eval", str(tiny), "--squad-modes", "closed", "--part", "test",
                 "--no-progress", "--cache", str(tmp_path / "cache"), "--mode", "hybrid",
                 "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "tiny (test part, 1 passages)" in printed and "closed" in printed
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [r["id"] for r in report["rows"]["closed"]] == ["t4", "t5"]
    assert not list(tmp_path.glob("index*")) and (tmp_path / "cache" / "tiny-test").is_dir()


def test_the_abstained_rate_of_an_unanswerable_set_is_printed() -> None:
    from qa.evaluation.report import abstained_lines

    rows = [{"expected": [], "found": False}, {"expected": [], "found": True},
            {"expected": [], "found": False}, {"expected": ["36个"], "found": False}]
    assert abstained_lines({"rows": {"hybrid": rows}}) == [
        "abstained (hybrid): 0.667 (2 of 3 unanswerable questions)"]
    assert abstained_lines({"rows": {"hybrid": rows[3:]}}) == []
