"""The answering stages and their trace: Question → Retriever → Extractor → Judge, the
``reports`` restriction, the trace on the CLI and the API, and the fitted models as data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from robustfixtures import FakeEncoder

from qa import Settings, load_assistant
from qa.answer.question import Question
from qa.models import load_model, save_model
from qa.web import create_app

QUESTION = "签约了多少个项目？"


@pytest.fixture(scope="module")
def two_reports(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("two") / "src"
    src.mkdir()
    (src / "a.txt").write_text("招商引资\n\n全年签约项目36个，总投资364.2亿元。\n", encoding="utf-8")
    (src / "b.txt").write_text("项目建设\n\n全年签约项目12个，完成投资80亿元。\n\n新建学校3所。\n",
                               encoding="utf-8")
    return src


@pytest.fixture(scope="module")
def small(two_reports):
    return load_assistant(two_reports, two_reports.parent / "index", Settings(),
                          log=lambda _m: None, encoder=FakeEncoder())


def test_the_question_is_analysed_once_into_what_the_stages_read():
    q = Question.analyse("2021年签约了多少个项目？\x07")
    assert q.text.endswith("\x07") and q.matchable.endswith(" ")
    assert q.form == "number" and q.numbers == ("2021",) and q.has_cjk
    assert "签约" in q.words and q.tokens and q.word_weights == {}  # no index, no weights


def test_ask_traced_gives_the_answer_of_ask_and_what_each_stage_did(assistant):
    answer, trace = assistant.ask_traced(QUESTION, top_k=2)
    assert answer == assistant.ask(QUESTION, top_k=2)
    assert trace.question.text == QUESTION and trace.question.form == "number"
    assert trace.retrieval.ranking[0] == trace.extraction.best[0].chunk.id
    assert trace.verdict.confidence == answer.confidence and trace.verdict.found == answer.found
    assert set(trace.timings_ms) == {"question", "retrieve", "extract", "judge"}
    assert all(ms >= 0 for ms in trace.timings_ms.values())
    shown = json.loads(json.dumps(trace.to_dict(), ensure_ascii=False))
    assert shown["verdict"]["found"] is True and shown["retrieval"]["hits"]


def test_reports_restrict_retrieval_to_those_reports(small, two_reports):
    docs = {c.doc for c in small.index.chunks}
    b = next(d for d in docs if d.endswith("b.txt"))
    everywhere = small.ask(QUESTION)
    assert everywhere == small.ask(QUESTION, reports=None)
    only_b = small.ask(QUESTION, reports=[b])
    assert only_b.citations and {c.doc for c in only_b.citations} == {b}
    assert small.ask(QUESTION, reports=["b.txt"]) == only_b  # the path within the source
    nothing = small.ask(QUESTION, reports=["no-such.txt"])
    assert not nothing.found and nothing.citations == ()


def test_the_cli_explains_an_answer(small, two_reports, capsys, monkeypatch):
    from qa.cli import main

    monkeypatch.setenv("QA_WARM_UP_MAX", "0")
    code = main(["ask", "--json", "--explain", QUESTION, "--source", str(two_reports),
                 "--index", str(two_reports.parent / "index")], encoder=FakeEncoder())
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["trace"]["question"]["form"] == "number"
    assert out["answer"] == small.ask(QUESTION).answer


def test_the_api_returns_the_trace_only_when_asked(small):
    with TestClient(create_app(small, [])) as c:
        plain = c.post("/api/ask", json={"question": QUESTION}).json()
        explained = c.post("/api/ask", json={"question": QUESTION, "explain": True}).json()
        bad = c.post("/api/ask", json={"question": QUESTION, "explain": "yes"})
    assert "trace" not in plain
    assert {k: v for k, v in explained.items() if k != "trace"} == plain
    assert explained["trace"]["verdict"]["confidence"] == plain["confidence"]
    assert bad.status_code == 422 and "explain" in bad.json()["error"]


def test_the_fitted_models_are_data_read_at_start(tmp_path):
    confidence, spans = load_model("confidence"), load_model("spans")
    for model in (confidence, spans):
        assert model["fitted_on"] and model["fitted_at"]
    settings = Settings()
    assert settings.confidence_weights == confidence["weights"]
    assert settings.threshold == confidence["threshold"]
    assert settings.span_weights == spans["weights"]
    with pytest.raises(ValueError):
        save_model("spans", {"weights": {}}, tmp_path)  # no fitted_on / fitted_at
    path = save_model("spans", {**spans, "fitted_at": "now"}, tmp_path)
    assert json.loads(path.read_text("utf-8"))["fitted_at"] == "now"
