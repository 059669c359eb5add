"""Suggested questions: made from clauses holding a figure, each asked of the real
engine and kept only when found with high confidence; on the bundled report over HTTP,
and on a passage of the public CMRC 2018 set (its test part) written as a report."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa import load_assistant
from qa.answer.suggest import candidates, question_of
from qa.schema import Chunk
from qa.web import create_app
from qa.web.library import Library
from qa.web.suggestions import HIGH, SuggestionCache, suggest

ROOT = Path(__file__).resolve().parent.parent
CMRC = ROOT.parent / "shared" / "data" / "cmrc2018_trial.json"


@pytest.mark.parametrize("clause, question", [
    ("全县新建污水处理厂7座，", "全县新建污水处理厂多少座？"),
    ("全市共建成12个文化广场。", "全市共建成多少个文化广场？"),
    ("其中粮食总产量达到52.3万吨", "粮食总产量达到多少万吨？"),
    ("在全省评比中获得第3名", "在全省评比中获得第几名？"),
    ("城镇居民收入增长6.5%", "城镇居民收入增长多少？"),
    ("该馆始建于1958年", "该馆始建于哪一年？"),
    ("提前完成下达的2020年目标", None),  # a year naming a thing, not a when
    ("于3月15日正式开放", None),  # a date is not asked as 多少
    ("共有3支车队参加比赛", "共有多少支车队参加比赛？"),
    ("增长7%", None),  # too little left to ask about
    ("工作取得明显成效", None),
    ("青石水库位于县城东北", "青石水库位于哪里？"),
    ("它位于县城东北", None),
    ("侧线鳞片数45至49枚", None),  # the end of a range
    ("它的面积约为3平方公里", None),  # about what?
    ("经历了低迷的2012赛季", None),  # a year, not an amount
    ("青石博物館位於縣城東北", "青石博物館位於哪裡？"),
])
def test_a_clause_ending_in_a_figure_makes_a_question(clause, question):
    assert question_of(clause) == question


def test_candidates_come_from_every_section_in_turn():
    texts = {"甲": "今年新建道路公里数达到120公里。全县新建污水处理厂7座。",
             "乙": "全市共建成12个文化广场，新增绿地面积35万平方米。"}
    chunks, at = [], 0
    for i, (section, text) in enumerate(texts.items()):
        chunks.append(Chunk(i, "r.txt", at, at + len(text), text, section))
        at += len(text) + 2
    made = candidates(chunks)
    assert [c.section for c in made[:2]] == ["甲", "乙"]
    assert {c.question for c in made} == {"今年新建道路公里数达到多少公里？", "全县新建污水处理厂多少座？",
                                         "全市共建成多少个文化广场？", "新增绿地面积多少万平方米？"}
    whole = "\n\n".join(texts.values())  # the report the chunks' offsets index
    for c in made:  # each candidate points at the clause it was made from
        assert whole[c.start:c.end].startswith(c.question[:4])


@pytest.fixture(scope="module")
def client(assistant):
    with TestClient(create_app(assistant), base_url="http://127.0.0.1:7860") as c:
        yield c


def test_every_suggestion_for_the_bundled_report_is_answered(client):
    r = client.get("/api/suggestions")
    assert r.status_code == 200, r.text
    made = r.json()["suggestions"]
    assert 3 <= len(made) <= 5
    assert len({s["section"] for s in made}) >= 3  # spread over the report's headings
    for s in made:
        answer = client.post("/api/ask", json={"question": s["question"]}).json()
        assert answer["found"] and answer["confidence"] >= HIGH, (s, answer)
        assert answer["answer"] == s["answer"]
    report = client.get("/api/reports").json()["reports"][0]["id"]
    scoped = client.get("/api/suggestions", params={"report": report}).json()["suggestions"]
    assert scoped and all(s["doc"] == made[0]["doc"] for s in scoped)
    assert client.get("/api/suggestions", params={"report": "nowhere.txt"}).status_code == 400


def test_suggestions_are_worked_out_once_per_generation(assistant):
    library = Library(assistant)
    cache = SuggestionCache(library)
    first = cache.get()
    assert cache.get() is first
    library.generation += 1  # what a swap to a new generation does (no saved name: memory-N)
    assistant.index.generation, saved = "", assistant.index.generation
    try:
        assert cache.get() is not first
    finally:
        assistant.index.generation = saved


def _test_part_passage(min_candidates: int = 3) -> tuple[str, str]:
    """The first passage of CMRC 2018's test part (COMMON split) with enough candidates."""
    data = json.loads(CMRC.read_text("utf-8"))
    for article in data["data"] if isinstance(data, dict) else data:
        title = article["title"]
        if int(hashlib.sha1(title.encode("utf-8")).hexdigest(), 16) % 10 < 6:
            continue
        for paragraph in article["paragraphs"]:
            text = paragraph["context"]
            chunk = Chunk(0, "r.txt", 0, len(text), text, title)
            if len(candidates([chunk])) >= min_candidates:
                return title, text
    raise AssertionError("no passage of the test part has enough candidates")


@pytest.mark.skipif(not CMRC.exists(), reason="the public sets are not in ../shared/data")
def test_suggestions_on_a_public_passage_are_answered_there(tmp_path, assistant):
    title, passage = _test_part_passage()
    source = tmp_path / "reports"
    source.mkdir()
    (source / "passage.txt").write_text(f"{title}\n\n{passage}\n", "utf-8")
    other = load_assistant(source, tmp_path / "index", encoder=assistant.encoder,
                           log=lambda _: None)
    made = suggest(Library(other), None)
    assert len(made) >= 3
    for s in made:
        answer = other.ask(s.question)
        assert answer.found and answer.confidence >= HIGH
        assert answer.answer == s.answer and answer.answer in passage


def test_no_eval_question_is_written_into_the_generator():
    code = "".join((ROOT / p).read_text("utf-8") for p in
                   ("qa/answer/suggest.py", "qa/web/suggestions.py"))
    for path in sorted((ROOT / "eval").glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            # a dialogue set holds its questions in turns
            for turn in row.get("turns", [row]):
                question = turn["question"]
                assert question.rstrip("？?") not in code, (path.name, question)
