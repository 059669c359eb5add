"""POST /api/feedback on the real engine and a real SQLite file: 201 with the id, spans
checked against the shelf (422), malformed bodies (400/422), the rate limit (429); then
`qa feedback export` and `qa eval --feedback` on the stored votes."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from qa.cli import main
from qa.evaluation.evalset import load_eval_set
from qa.feedback.store import FeedbackStore
from qa.web import create_app
from qa.web.ratelimit import Rate, RateLimiter

QUESTION = "签约了多少个项目？"
WRONG = "总投资364.2亿元"  # what a reader marks as the right span instead, for the test


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return FeedbackStore(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def client(assistant, store):
    app = create_app(assistant, feedback=store,
                     feedback_limiter=RateLimiter(Rate(1000, 1000.0), Rate(1000, 1000.0)))
    with TestClient(app, base_url="http://127.0.0.1:7860") as c:
        yield c


@pytest.fixture(scope="module")
def answer(client):
    r = client.post("/api/ask", json={"question": QUESTION})
    assert r.status_code == 200 and r.json()["found"], r.text
    return r.json()


def where(cit: dict, start: int | None = None, end: int | None = None) -> dict:
    return {"doc": cit["doc"], "start": cit["start"] if start is None else start,
            "end": cit["end"] if end is None else end}


def test_an_up_vote_is_stored_with_its_answer_citation_and_generation(client, store, answer,
                                                                      assistant):
    cit = answer["citations"][0]
    r = client.post("/api/feedback", json={"question": QUESTION, "vote": "up",
                                           "answer": answer["answer"], "citation": where(cit),
                                           "name": "小王"})
    assert r.status_code == 201, r.text
    got = {v.id: v for v in store.votes()}[r.json()["id"]]
    assert got.vote == "up" and got.answer == answer["answer"] and got.name == "小王"
    assert got.citation is not None and got.citation.text == cit["text"]
    assert got.generation == r.json()["generation"] == assistant.index.generation != ""
    assert cit["text"] in got.evidence


def test_a_correction_is_stored_as_the_report_text_it_slices(client, store, answer,
                                                             assistant):
    cit = answer["citations"][0]
    text = assistant.source_text(cit["doc"])
    at = text.index(WRONG, cit["context_start"])
    r = client.post("/api/feedback", json={
        "question": QUESTION, "vote": "down", "answer": answer["answer"],
        "citation": where(cit), "correction": where(cit, at, at + len(WRONG))})
    assert r.status_code == 201, r.text
    got = {v.id: v for v in store.votes()}[r.json()["id"]]
    assert got.correction is not None and got.correction.text == WRONG
    assert WRONG in got.evidence and got.evidence in text


def test_not_in_report_is_stored(client, store):
    r = client.post("/api/feedback", json={"question": "火星上有几座城市？", "vote": "down",
                                           "not_in_report": True})
    assert r.status_code == 201, r.text
    assert {v.id: v for v in store.votes()}[r.json()["id"]].not_in_report


@pytest.mark.parametrize("fix, says", [
    ({"start": -1, "end": 3}, "not a span"),
    ({"start": 10, "end": 10**7}, "not a span"),
    ({"start": 50, "end": 40}, "not a span"),
    ({"doc": "seeds/nowhere.txt"}, "no report"),
    ({"start": 0, "end": 1500}, "1 to 1000 characters"),
])
def test_a_correction_that_does_not_slice_a_report_is_refused(client, store, answer, fix, says):
    before = store.count()
    cit = answer["citations"][0]
    r = client.post("/api/feedback", json={"question": QUESTION, "vote": "down",
                                           "correction": {**where(cit), **fix}})
    assert r.status_code == 422 and says in r.json()["error"], r.text
    assert store.count() == before


@pytest.mark.parametrize("body", [
    [], {"vote": "up"}, {"question": "", "vote": "up"}, {"question": QUESTION},
    {"question": QUESTION, "vote": "meh"}, {"question": QUESTION, "vote": "up", "answer": 3},
    {"question": QUESTION, "vote": "up", "correction": {"doc": "x", "start": 1, "end": 2}},
    {"question": QUESTION, "vote": "down", "not_in_report": "yes"},
    {"question": QUESTION, "vote": "down", "correction": {"doc": "x", "start": "1", "end": 2}},
    {"question": QUESTION, "vote": "down", "correction": [1, 2]},
    {"question": QUESTION, "vote": "up", "name": "名" * 41},
    {"question": "问" * 501, "vote": "up"},
])
def test_a_malformed_vote_is_a_422(client, body):
    r = client.post("/api/feedback", json=body)
    assert r.status_code == 422 and r.json()["error"], r.text


def test_a_body_that_is_not_json_is_a_400_and_other_methods_a_405(client):
    r = client.post("/api/feedback", content=b"{not json",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert client.get("/api/feedback").status_code == 405


def test_a_flood_of_votes_is_answered_429(assistant, tmp_path):
    store = FeedbackStore(tmp_path)
    limiter = RateLimiter(Rate(5, 0.01), Rate(1000, 1000.0))
    with TestClient(create_app(assistant, feedback=store, feedback_limiter=limiter)) as c:
        codes = [c.post("/api/feedback", json={"question": f"问{i}？", "vote": "up"})
                 for i in range(12)]
    assert [r.status_code for r in codes] == [201] * 5 + [429] * 7
    assert int(codes[-1].headers["Retry-After"]) >= 1
    assert store.count() == 5


def test_the_rate_limiter_refills_and_forgets_full_buckets():
    now = [0.0]
    limiter = RateLimiter(Rate(2, 1.0), Rate(3, 1.0), clock=lambda: now[0])
    assert [limiter.wait("a"), limiter.wait("a")] == [0.0, 0.0]
    assert limiter.wait("a") == pytest.approx(1.0)
    assert limiter.wait("b") == 0.0
    assert limiter.wait("c") > 0  # the shared bucket is empty
    now[0] = 2.0
    assert limiter.wait("a") == 0.0
    limiter.MAX_KEYS = 1
    now[0] = 10.0
    limiter.wait("d")
    assert set(limiter._buckets) == {"d"}  # noqa: SLF001 - the refilled ones are forgotten


def test_export_then_eval_reads_the_votes(client, store, answer, tmp_path, capsys,
                                          index_dir, assistant):
    test_a_correction_is_stored_as_the_report_text_it_slices(client, store, answer, assistant)
    test_not_in_report_is_stored(client, store)
    out = tmp_path / "fb.jsonl"
    assert main(["feedback", "export", "--out", str(out), "--data", str(store.folder)]) == 0
    items = {i.question: i for i in load_eval_set(out)}
    assert items[QUESTION].answers == (WRONG,) and items[QUESTION].type == "numeric"
    assert items["火星上有几座城市？"].answers == ()
    capsys.readouterr()
    assert main(["eval", str(out), "--mode", "hybrid", "--index", str(index_dir)]) == 0
    table = capsys.readouterr().out
    assert "overall" in table and "hybrid" in table
    js = tmp_path / "fb.json"
    assert main(["eval", "--feedback", "--data", str(store.folder), "--mode", "hybrid",
                 "--index", str(index_dir), "--json", str(js)]) == 0
    rows = json.loads(js.read_text("utf-8"))["rows"]["hybrid"]
    assert {r["question"] for r in rows} == set(items)


def test_export_without_a_store_or_an_action_is_a_usage_error(tmp_path, capsys):
    assert main(["feedback", "export", "--data", str(tmp_path / "none")]) == 2
    assert "no feedback in" in capsys.readouterr().err
    assert main(["feedback"]) == 2
    assert "qa feedback export" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()  # looking did not create the folder
