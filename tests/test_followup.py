"""Follow-up questions (issue 20): the detector on its own, then the real engine through
the Python API, POST /api/ask, the command line's batch mode and the dialogue evaluation."""

from __future__ import annotations

import functools
import io
import json
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.answer.followup import follow_up, topic_runs, understand
from qa.cli import main, parse_line
from qa.errors import BadQuestion
from qa.evaluation.dialogue_cli import check_floors
from qa.evaluation.dialogues import (
    Dialogue,
    load_dialogues,
    problems_of,
    run_dialogue,
    summarise,
)
from qa.evaluation.evalset import EvalItem
from qa.evaluation.squad import load_squad
from qa.web import create_app
from qa.web.api import MAX_HISTORY

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- the detector alone

#: (earlier question, follow-up, how it is read): one per signal the detector knows.
READ_AS = [
    ("签约了多少个项目？", "总投资呢？", "签约项目的总投资是多少？"),  # a bare slot with 呢
    ("上半年工业产值是多少？", "增长了多少？", "上半年工业产值增长了多少？"),  # hardly a noun
    ("三涧溪村在哪个区？", "习近平什么时候去视察的？", "习近平什么时候去三涧溪村视察的？"),
    ("三涧溪村在哪个区？", "白云湖呢？", "白云湖在哪个区？"),  # a name takes a name's place
    ("2019年的工业产值是多少？", "2020年呢？", "2020年的工业产值是多少？"),  # a time, a time's
    ("淮海中路街道属于哪个区？", "它的面积有多大？", "淮海中路街道的面积有多大？"),  # 它
    ("马飚是哪一年入党的？", "他是哪里人？", "马飚是哪里人？"),  # 他: the person
    ("放线菌酮是哪种菌的产物？", "那里的人口有多少？", "放线菌酮的人口有多少？"),  # 那里
    ("生活垃圾焚烧发电项目每天处理多少垃圾？", "这个项目一年能发电多少？",
     "生活垃圾焚烧发电项目一年能发电多少？"),  # a determiner with its noun
    ("东部医疗中心建成了吗？", "精神卫生中心呢？", "精神卫生中心建成了吗？"),  # the same head
    ("香港羽毛球公开赛从哪一年开始举办？", "由谁主办？", "香港羽毛球公开赛由谁主办？"),
]

#: follow-ups with a topic of their own: read as they are.
FRESH = [
    ("签约了多少个项目？", "吸引了多少名人才回乡？"),
    ("签约了多少个项目？", "章丘区购置了多少辆新能源公交车？"),
    ("上半年工业产值是多少？", "实际利用外资多少？"),
    ("三涧溪村在哪个区？", "习近平总书记视察三涧溪村时说了什么？"),
]


@pytest.mark.parametrize(("earlier", "question", "expected"), READ_AS)
def test_an_elliptical_question_carries_the_earlier_topic(earlier, question, expected):
    read = follow_up(question, [earlier])
    assert read.understood_as == expected
    assert read.original == question and read.is_follow_up
    # carried: the earlier topic words put in (none when a name took a name's place)
    assert all(w in read.understood_as for w in read.carried)
    assert not read.reason.startswith("fresh")


@pytest.mark.parametrize(("earlier", "question"), FRESH)
def test_a_question_with_its_own_topic_starts_fresh(earlier, question):
    read = follow_up(question, [earlier])
    assert read.understood_as == question and not read.is_follow_up
    assert read.carried == () and read.reason.startswith("fresh")


def test_a_question_in_english_is_read_as_it_is():
    read = follow_up("What is its total investment?", ["签约了多少个项目？"])
    assert read.understood_as == "What is its total investment?"
    assert read.reason == "fresh: only Chinese questions are followed"


def test_without_history_nothing_is_carried():
    for history in (None, [], ["", "  "]):
        read = follow_up("总投资呢？", history)
        assert read.understood_as == "总投资呢？" and read.reason == "fresh: no earlier question"


def test_a_chain_of_follow_ups_keeps_its_topic():
    """The third turn is read after the second as understood, not as typed."""
    history = ["上半年工业产值是多少？", "增长了多少？"]
    assert follow_up("全年呢？", history).understood_as == "全年工业产值增长了多少？"
    assert follow_up("利用外资多少？", ["签约了多少个项目？", "总投资呢？"]).carried == ()


def test_the_topic_is_its_nouns_not_its_predicate():
    assert [r.text for r in topic_runs("签约了多少个项目？")] == ["签约项目"]
    assert [r.text for r in topic_runs("三涧溪村在哪个区？")] == ["三涧溪村"]  # not 区
    assert [r.text for r in topic_runs("“六攻”是什么？")] == ["“六攻”"]  # a quoted term whole
    assert [(r.text, r.kind) for r in topic_runs("2020年有多少个区级以上重点项目？")] == \
        [("2020年", "time"), ("区级以上重点项目", "thing")]


def test_understand_strips_and_keeps_the_original():
    read = understand("  总投资呢？ ", "签约了多少个项目？")
    assert read.original == "总投资呢？" and read.to_dict()["carried"] == ["签约项目"]


# ---------------------------------------------------------------- the Python API


def test_ask_with_history_answers_the_follow_up(assistant):
    alone = assistant.ask("总投资呢？").to_dict()
    assert alone["understood_as"] == "总投资呢？"
    answer = assistant.ask("总投资呢？", history=["签约了多少个项目？"]).to_dict()
    assert answer["question"] == "总投资呢？"
    assert answer["understood_as"] == "签约项目的总投资是多少？"
    assert answer["found"] and "364.2亿元" in answer["answer"]
    c = answer["citations"][0]
    assert assistant.source_text(c["doc"])[c["start"]:c["end"]] == answer["answer"]


def test_the_trace_says_how_the_question_was_read(assistant):
    _, trace = assistant.ask_traced("增长了多少？", history=["上半年工业产值是多少？"])
    read = trace.to_dict()["follow_up"]
    assert read["understood_as"] == "上半年工业产值增长了多少？"
    assert read["carried"] == ["上半年工业产值"] and read["reason"] == "few content words"


@pytest.mark.parametrize("history", ["签约了多少个项目？", [1, 2], ["ok", None]])
def test_a_history_that_is_not_a_list_of_strings_is_refused(assistant, history):
    with pytest.raises(BadQuestion, match="history"):
        assistant.ask("总投资呢？", history=history)


# ---------------------------------------------------------------- POST /api/ask


@pytest.fixture(scope="module")
def client(assistant):
    with TestClient(create_app(assistant, []), base_url="http://127.0.0.1:7860") as c:
        yield c


def test_api_reads_a_three_turn_conversation(client):
    history: list[str] = []
    read = []
    for question in ("三涧溪村在哪个区？", "习近平什么时候去视察的？", "他当时说了什么？"):
        r = client.post("/api/ask", json={"question": question, "history": history})
        assert r.status_code == 200, r.text
        read.append(r.json())
        history.append(question)
    assert read[0]["understood_as"] == "三涧溪村在哪个区？"
    assert read[1]["understood_as"] == "习近平什么时候去三涧溪村视察的？"
    assert read[1]["found"] and "2018年" in read[1]["answer"]
    assert read[2]["question"] == "他当时说了什么？" and read[2]["understood_as"] != "他当时说了什么？"
    assert "习近平" in read[2]["understood_as"]


def test_api_history_null_is_no_history(client):
    r = client.post("/api/ask", json={"question": "总投资呢？", "history": None})
    assert r.status_code == 200 and r.json()["understood_as"] == "总投资呢？"


def test_api_explain_has_the_follow_up(client):
    r = client.post("/api/ask", json={"question": "总投资呢？", "explain": True,
                                      "history": ["签约了多少个项目？"]})
    assert r.status_code == 200
    assert r.json()["trace"]["follow_up"]["understood_as"] == r.json()["understood_as"]


@pytest.mark.parametrize(("history", "says"), [
    ("签约了多少个项目？", "must be a list"),
    ([1], "must be a list"),
    (["问"] * (MAX_HISTORY + 1), f"the limit is {MAX_HISTORY}"),
    (["问" * 501], "longer than 500"),
])
def test_api_refuses_a_bad_history_with_422(client, history, says):
    r = client.post("/api/ask", json={"question": "总投资呢？", "history": history})
    assert r.status_code == 422
    assert says in r.json()["error"] and set(r.json()) == {"error"}


# ---------------------------------------------------------------- the command line


def test_a_batch_line_may_be_a_json_object():
    assert parse_line(1, "签约了多少个项目？") == (1, "签约了多少个项目？", None, None)
    assert parse_line(2, '{"question": "总投资呢？", "history": ["签约了多少个项目？"]}') == \
        (2, "总投资呢？", ["签约了多少个项目？"], None)
    assert parse_line(3, "{不是 JSON 的问题") == (3, "{不是 JSON 的问题", None, None)
    assert parse_line(4, '{"history": []}')[3] == 'a JSON line needs "question" (a string)'
    assert parse_line(5, '{"question": "q", "history": "x"}')[3] == \
        '"history" must be a list of strings'


def test_cli_batch_reads_history_from_json_lines(monkeypatch, capsys, assistant, index_dir):
    lines = ["签约了多少个项目？",
             json.dumps({"question": "总投资呢？", "history": ["签约了多少个项目？"]},
                        ensure_ascii=False),
             '{"history": ["签约了多少个项目？"]}', "总投资呢？"]
    monkeypatch.setenv("QA_WARM_UP_MAX", "0")
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(
        ("\n".join(lines) + "\n").encode("utf-8")), encoding="utf-8"))
    run = functools.partial(main, encoder=assistant.encoder)
    code = run(["ask", "--json", "-", "--source", "seeds", "--index", str(index_dir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 4
    assert rows[0]["understood_as"] == "签约了多少个项目？" and "36个" in rows[0]["answer"]
    assert rows[1]["question"] == "总投资呢？"
    assert rows[1]["understood_as"] == "签约项目的总投资是多少？"
    assert "364.2亿元" in rows[1]["answer"]
    assert rows[2] == {"question": "", "line": 3,
                       "error": 'a JSON line needs "question" (a string)'}
    assert rows[3]["understood_as"] == "总投资呢？"  # a plain line has no history


def test_cli_history_flag_and_the_human_output(monkeypatch, capsys, assistant, index_dir):
    monkeypatch.setenv("QA_WARM_UP_MAX", "0")
    monkeypatch.chdir(ROOT)
    code = main(["ask", "增长了多少？", "--history", "上半年工业产值是多少？", "--source",
                 "seeds", "--index", str(index_dir)], encoder=assistant.encoder)
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[0] == "理解为：上半年工业产值增长了多少？"
    assert "13.2%" in out.splitlines()[1]


# ---------------------------------------------------------------- the dialogue evaluation


def test_the_dialogue_set_loads_and_is_large_enough():
    dialogues = load_dialogues(ROOT / "eval" / "dialogues.jsonl")
    own = [d for d in dialogues if not d.set]
    public = [d for d in dialogues if d.set]
    assert len(own) >= 60 and len(public) >= 10
    assert all(2 <= len(d.turns) <= 3 for d in dialogues)
    assert {d.set for d in public} <= {"cmrc2018_trial", "drcd_dev"}
    report = next((ROOT / "seeds").glob("*.txt"))
    assert problems_of(own, {str(report): report.read_text("utf-8")}) == []


def test_the_public_dialogues_are_over_fit_passages_only():
    """THE SPLIT: nothing of the test part is written into a dialogue."""
    for d in load_dialogues(ROOT / "eval" / "dialogues.jsonl"):
        if d.set:
            passages = {p.key: p for p in load_squad(ROOT / "eval" / "external" /
                                                     f"{d.set}.json", "fit")}
            assert d.passage in passages, d.id
            assert problems_of([d], {f"{d.passage}.txt": passages[d.passage].text}) == []


def test_a_dialogue_is_asked_turn_by_turn_with_its_history(assistant):
    turns = (EvalItem("t1", "签约了多少个项目？", ("36个",), "签约项目36个", "numeric"),
             EvalItem("t2", "总投资呢？", ("364.2亿元",), "总投资364.2亿元", "numeric"))
    rows = run_dialogue(assistant, Dialogue("d", turns))
    assert [r.turn for r in rows] == [1, 2]
    assert rows[0].alone_contained is None and rows[0].contained
    assert rows[1].understood_as == "签约项目的总投资是多少？" and rows[1].contained
    figures = summarise(rows)
    assert figures["single_contain"] == 1.0 and figures["followup_contain"] == 1.0
    assert figures["gap"] == 0.0 and figures["read_as_followup"] == 1.0
    floors = {"dialogues": {"followup_contain": 0.9, "gap_max": 0.05, "report/single_n": 2}}
    assert check_floors({"all": figures, "report": figures}, floors) == [
        "dialogues report/single_n = 1.000 is below its floor 2"]
