"""`python app.py` on loopback, driven through gradio_client and plain HTTP."""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from gradio_client import Client
from webfixtures import live_server

QUESTION = "签约了多少个项目？"


@pytest.fixture(scope="module")
def live():
    return live_server()


@pytest.fixture(scope="module")
def client(live):
    return Client(live.url + "/", verbose=False, download_files=False)


def api_ask(live, question: str, **extra) -> dict:
    r = httpx.post(f"{live.url}/api/ask", json={"question": question, **extra}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_startup_log_says_how_long_and_where(live):
    log = live.log()
    assert re.search(r"start-up took \d+\.\d s", log), log
    assert f"chat at {live.url}/" in log
    assert live.allowed in log  # the allowlist in force


def test_the_api_lists_the_chat_endpoints(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/chat", "/clear", "/ask"} <= set(endpoints)


def test_ask_endpoint_returns_the_contract_object(client, live):
    via_gradio = client.predict(QUESTION, 3, api_name="/ask")
    assert via_gradio == api_ask(live, QUESTION)


def test_ask_endpoint_reads_a_follow_up_with_its_history(client, live):
    history = [QUESTION]
    via_gradio = client.predict("总投资呢？", 3, history, api_name="/ask")
    via_http = api_ask(live, "总投资呢？", history=history)
    assert via_gradio == via_http
    assert via_gradio["understood_as"] != "总投资呢？"  # read with the earlier question
    alone = client.predict("总投资呢？", 3, None, api_name="/ask")
    assert alone == api_ask(live, "总投资呢？") and alone["understood_as"] == "总投资呢？"


def test_chat_marks_the_same_span_the_api_answers(client, live):
    expected = api_ask(live, QUESTION)
    chat, box = client.predict(QUESTION, api_name="/chat")
    assert box == ""
    user, reply = chat[-2], chat[-1]
    assert user["role"] == "user" and reply["role"] == "assistant"
    content = _text(reply)
    first = expected["citations"][0]
    mark = re.search(r'<mark class="qa-(hit|near)">(.*?)</mark>', content)
    assert html.unescape(mark.group(2)) == first["text"]
    assert html.escape(first["section"]) in content
    assert html.escape(first["doc"]) in content
    assert "查看原文" in content
    if expected["found"]:
        assert mark.group(1) == "hit"
        assert f'<strong class="qa-answer">{html.escape(expected["answer"])}</strong>' in content
        assert "置信度" in content
    else:
        assert "报告中没有找到答案" in content


def test_chat_escapes_the_question(client):
    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    chat, _ = client.predict(hostile, api_name="/chat")
    shown = _text(chat[-2])
    assert "<img" not in shown and "<script" not in shown
    assert html.escape(hostile, quote=True) in shown


def test_chat_reports_a_bad_question_in_the_conversation(client):
    chat, _ = client.predict("问" * 501, api_name="/chat")
    assert 'data-state="error"' in _text(chat[-1])
    assert "500" in _text(chat[-1])


def test_clear_empties_the_conversation(client):
    client.predict(QUESTION, api_name="/chat")
    chat, box = client.predict(api_name="/clear")
    assert chat == [] and box == ""


def test_ask_endpoint_rejects_bad_questions(client):
    with pytest.raises(Exception, match="500"):
        client.predict("问" * 501, 3, api_name="/ask")


def test_many_threads_at_once(live, client):
    questions = [
        QUESTION,
        "吸引了多少名人才回乡？",
        "2016年至2020年全区累计实施了多少个产业扶贫项目？",
    ]
    expected = {q: api_ask(live, q) for q in questions}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda q: api_ask(live, q), questions * 4))
        via_gradio = pool.submit(client.predict, QUESTION, 3, api_name="/ask")
        assert via_gradio.result(timeout=120) == expected[QUESTION]
    for q, a in zip(questions * 4, answers):
        assert a == expected[q]


def test_gradio_monitoring_and_file_routes_are_off(live):
    for path in ("/monitoring", "/gradio_api/file=app.py", "/gradio_api/upload"):
        assert httpx.get(f"{live.url}{path}").status_code == 404, path


def _text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):  # Gradio 6 normalises content to a list of parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)
