"""The web app in-process through an HTTP client: the JSON contract, every bad input, the
security headers, what is (not) reachable, the renderer's escaping, and start-up.

`assistant` and `index_dir` are the real engine's session fixtures from conftest.py."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webfixtures import ROOT

from app import main
from qa.web import create_app
from qa.web.render import (
    clip_after,
    clip_before,
    fold_breaks,
    highlight,
    render_answer,
    render_question,
)
from qa.web.security import parse_origins

ALLOWED = "https://intranet.example.com"
OTHER = "https://evil.example.net"
QUESTION = "签约了多少个项目？"


@pytest.fixture(scope="module")
def client(assistant):
    with TestClient(create_app(assistant, [ALLOWED]), base_url="http://127.0.0.1:7860") as c:
        yield c


@pytest.fixture(scope="module")
def answer(client):
    r = client.post("/api/ask", json={"question": QUESTION})
    assert r.status_code == 200, r.text
    return r.json()


# ------------------------------------------------------------------ the contract


def test_ask_returns_the_contract_object(answer, assistant):
    assert set(answer) == {"question", "found", "answer", "confidence", "citations", "reason",
                           "understood_as"}
    assert answer["question"] == QUESTION
    assert answer["understood_as"] == QUESTION  # no history: read as it is
    assert isinstance(answer["found"], bool)
    assert 0.0 <= answer["confidence"] <= 1.0
    assert answer["citations"], "the seed report should give at least one citation"
    for c in answer["citations"]:
        assert set(c) == {
            "doc",
            "start",
            "end",
            "text",
            "context",
            "context_start",
            "section",
            "score",
        }
        source = assistant.source_text(c["doc"])
        assert source[c["start"] : c["end"]] == c["text"]
        assert source[c["context_start"] : c["context_start"] + len(c["context"])] == c["context"]
        rel = c["start"] - c["context_start"]
        assert c["context"][rel : rel + len(c["text"])] == c["text"]
    if answer["found"]:
        assert answer["answer"] == answer["citations"][0]["text"]
    else:
        assert answer["answer"] == ""


def test_ask_matches_the_python_api(answer, assistant):
    assert answer == assistant.ask(QUESTION).to_dict()
    assert answer["found"] and answer["reason"] is None


def test_ask_off_topic_carries_the_reason(client):
    r = client.post("/api/ask", json={"question": "林肯郡在什么位置？"})
    assert r.status_code == 200
    body = r.json()
    assert body["found"] is False and body["answer"] == ""
    assert body["reason"] == "报告中没有提到“林肯郡”"


def test_ask_trims_whitespace_and_honours_top_k(client):
    r = client.post("/api/ask", json={"question": f"  {QUESTION}\n", "top_k": 1})
    assert r.status_code == 200
    assert r.json()["question"] == QUESTION
    assert len(r.json()["citations"]) <= 1
    r = client.post("/api/ask", json={"question": QUESTION, "top_k": 10, "extra": "ignored"})
    assert r.status_code == 200
    assert 1 <= len(r.json()["citations"]) <= 10


def test_a_500_character_question_is_accepted(client):
    r = client.post("/api/ask", json={"question": "签" * 500})
    assert r.status_code == 200, r.text


def test_json_is_utf8_not_escaped(client):
    r = client.post("/api/ask", json={"question": QUESTION})
    assert r.headers["content-type"].startswith("application/json")
    assert QUESTION.encode("utf-8") in r.content


def test_health(client, assistant):
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["documents"] == assistant.stats()["documents"] >= 1
    assert body["paragraphs"] >= 1


# ------------------------------------------------------------------ bad input

BAD_JSON_BODIES = {
    "question missing": {},
    "question null": {"question": None},
    "question a number": {"question": 42},
    "question a list": {"question": [QUESTION]},
    "question an object": {"question": {"text": QUESTION}},
    "question empty": {"question": ""},
    "question whitespace": {"question": " \t\n\u3000 "},
    "question 501 characters": {"question": "签" * 501},
    "top_k zero": {"question": QUESTION, "top_k": 0},
    "top_k eleven": {"question": QUESTION, "top_k": 11},
    "top_k negative": {"question": QUESTION, "top_k": -1},
    "top_k a string": {"question": QUESTION, "top_k": "3"},
    "top_k a float": {"question": QUESTION, "top_k": 2.5},
    "top_k a bool": {"question": QUESTION, "top_k": True},
    "top_k a list": {"question": QUESTION, "top_k": [3]},
    "body a list": [QUESTION],
    "body a string": QUESTION,
    "body a number": 3,
    "body null": None,
}


def _assert_error(r: httpx.Response, statuses: tuple[int, ...]) -> None:
    assert r.status_code in statuses, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"], str) and body["error"].strip()
    assert "Traceback" not in r.text


@pytest.mark.parametrize("body", BAD_JSON_BODIES.values(), ids=BAD_JSON_BODIES.keys())
def test_bad_json_bodies_get_422_with_an_error(client, body):
    r = client.post(
        "/api/ask", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    _assert_error(r, (422,))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"{'question': 'x'}",
        b'{"question": "x"',
        b"\xff\xfe\x00",
        b"question=x",
        b"[" * 8000 + b"]" * 8000,
        b'{"a":' * 2500 + b"1" + b"}" * 2500,
    ],
    ids=[
        "empty",
        "text",
        "single quotes",
        "truncated",
        "not utf-8",
        "form",
        "deep list",
        "deep object",
    ],
)
def test_non_json_bodies_get_400_with_an_error(client, raw):
    r = client.post("/api/ask", content=raw, headers={"Content-Type": "application/json"})
    _assert_error(r, (400,))


def test_an_oversized_body_gets_413(client):
    r = client.post("/api/ask", content=b'{"question": "' + b"a" * 100_000 + b'"}')
    _assert_error(r, (413,))


def test_the_error_explains_the_limit(client):
    r = client.post("/api/ask", json={"question": "签" * 501})
    assert "500" in r.json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/ask", 405),
        ("PUT", "/api/ask", 405),
        ("POST", "/api/health", 405),
        ("GET", "/api/nope", 404),
        ("POST", "/api/nope", 404),
    ],
)
def test_other_api_routes_answer_json_errors(client, method, path, status):
    _assert_error(client.request(method, path), (status,))


def test_an_engine_failure_is_a_logged_500_without_a_traceback(assistant, caplog):
    class Broken:
        settings = assistant.settings  # the question limit the page and the API show

        def stats(self):
            return assistant.stats()

        def ask(self, question, top_k=3, mode="hybrid", reports=None, history=None):
            raise RuntimeError("index exploded at /secret/path")

    with TestClient(create_app(Broken(), [])) as c:
        r = c.post("/api/ask", json={"question": QUESTION})
    assert r.status_code == 500 and r.json() == {"error": "internal error"}
    assert "index exploded" in caplog.text  # logged for the operator, not shown to the user


# ------------------------------------------------------------------ many threads at once


def test_concurrent_requests_get_their_own_answers(assistant):
    questions = [QUESTION, "吸引了多少名人才回乡？", "生活垃圾焚烧发电项目每天处理多少吨垃圾？"] * 4
    expected = {q: assistant.ask(q).to_dict() for q in set(questions)}

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(assistant, []))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await asyncio.gather(
                *(c.post("/api/ask", json={"question": q}) for q in questions)
            )

    responses = asyncio.run(run())
    for q, r in zip(questions, responses):
        assert r.status_code == 200
        assert r.json() == expected[q]


# ------------------------------------------------------------------ security headers


PAGES = ["/", "/embed/", "/api/health", "/docs", "/widget.js", "/openapi.json", "/config"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    r = client.get(path)
    assert r.status_code == 200, path
    csp = r.headers["content-security-policy"]
    ancestors = re.search(r"frame-ancestors ([^;]*)", csp).group(1).split()
    assert ancestors == ["'self'", ALLOWED]
    assert "connect-src 'self'" in csp and "default-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_without_an_allowlist_only_this_origin_may_frame(assistant):
    with TestClient(create_app(assistant, [])) as c:
        r = c.get("/embed/")
    assert re.search(r"frame-ancestors 'self'(;|$)", r.headers["content-security-policy"])
    assert r.headers["x-frame-options"] == "SAMEORIGIN"


@pytest.mark.parametrize("path", ["/api/health", "/config", "/gradio_api/info", "/embed/config"])
def test_cors_only_for_the_allowlist_even_on_a_public_host(client, path):
    # Gradio's own middleware reflects any Origin (with credentials) unless the Host is
    # localhost: ask as a public host name to prove ours replaced it.
    host = {"Host": "qa.corp.example"}
    r = client.get(path, headers={"Origin": OTHER, **host})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-credentials" not in r.headers
    r = client.get(path, headers={"Origin": ALLOWED, **host})
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in r.headers
    assert "Origin" in r.headers["vary"]


def test_preflight(client):
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    r = client.options("/api/ask", headers={"Origin": ALLOWED, **ask})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in r.headers
    r = client.options("/gradio_api/queue/join", headers={"Origin": OTHER, **ask})
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers


def test_cross_origin_posts_from_elsewhere_are_refused(client):
    r = client.post("/api/ask", json={"question": QUESTION}, headers={"Origin": OTHER})
    _assert_error(r, (403,))
    r = client.post("/gradio_api/queue/join", json={}, headers={"Origin": "null"})
    assert r.status_code == 403
    r = client.post("/api/ask", json={"question": QUESTION}, headers={"Origin": ALLOWED})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ALLOWED
    # The page's own calls carry its own origin.
    r = client.post(
        "/api/ask", json={"question": QUESTION}, headers={"Origin": "http://127.0.0.1:7860"}
    )
    assert r.status_code == 200


# ------------------------------------------------------------------ what is not served


def test_the_index_sources_and_code_are_not_reachable(client, assistant, answer, index_dir):
    doc = answer["citations"][0]["doc"]
    doc_path = Path(doc) if Path(doc).is_absolute() else ROOT / doc
    targets = [
        f"/gradio_api/file={index_dir.resolve() / 'manifest.json'}",
        f"/gradio_api/file={doc_path.resolve()}",
        f"/gradio_api/file={ROOT / 'app.py'}",
        f"/gradio_api/file={ROOT / 'qa' / 'web' / 'server.py'}",
        "/gradio_api/file=app.py",
        "/embed/gradio_api/file=app.py",
        "/gradio_api/file=https://example.com/",
        "/gradio_api/proxy=https://example.com/",
        "/index/manifest.json",
        "/seeds/" + doc_path.name,
        "/app.py",
        "/static/../app.py",
        "/qa-assets/../app.py",
        "/qa-assets/..%2Fserver.py",
        "/widget.js/../server.py",
        "/qa-assets/intranet-demo.html",
        "/docs-assets/redoc.standalone.js",
        "/monitoring",
        "/embed/monitoring",
        "/gradio_api/runs",
    ]
    secret = assistant.source_text(doc)[:40]
    for path in targets:
        r = client.get(path)
        assert r.status_code in (400, 403, 404, 405), (path, r.status_code)
        assert secret not in r.text, path
        assert "def create_app" not in r.text and "def main(" not in r.text, path
    assert client.post("/gradio_api/upload", files={"files": ("a.txt", b"x")}).status_code == 404


def test_docs_are_served_offline(client):
    page = client.get("/docs").text
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)""", page)
    assert urls, page
    assert all(u.startswith(("/", "data:")) for u in urls), urls
    for u in urls:
        if u.startswith("/docs-assets/"):
            assert client.get(u).status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/api/ask", "/api/health"} <= set(spec["paths"])
    assert "question" in json.dumps(spec["paths"]["/api/ask"]["post"]["requestBody"])


def test_widget_script(client):
    r = client.get("/widget.js")
    assert r.headers["content-type"].startswith("text/javascript")
    assert "/embed/" in r.text and "attachShadow" in r.text
    code = re.sub(r"/\*.*?\*/", "", r.text, flags=re.S)
    assert "http://" not in code and "https://" not in code  # no host but the script's own


def test_embed_redirects_to_its_mount(client):
    r = client.get("/embed", follow_redirects=False)
    assert r.status_code in (307, 308) and r.headers["location"] == "/embed/"


# ------------------------------------------------------------------ 查看原文 page


def test_source_page_highlights_the_span(client, answer, assistant):
    c = answer["citations"][0]
    r = client.get("/source", params={"doc": c["doc"], "start": c["start"], "end": c["end"]})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    hit = re.search(r'<mark id="hit">(.*?)</mark>', r.text, re.S).group(1)
    assert html.unescape(hit) == c["text"]
    body = re.search(r'<pre class="report">(.*)</pre>', r.text, re.S).group(1)
    assert html.unescape(re.sub(r"</?mark[^>]*>", "", body)) == assistant.source_text(c["doc"])


@pytest.mark.parametrize(
    "params",
    [
        {"doc": "/etc/passwd", "start": 0, "end": 1},
        {"doc": "app.py", "start": 0, "end": 1},
        {"doc": "../index/manifest.json", "start": 0, "end": 1},
        {"start": 0, "end": 1},
    ],
)
def test_source_page_only_shows_indexed_reports(client, params):
    r = client.get("/source", params=params)
    assert r.status_code == 404
    assert "root:" not in r.text and "import" not in r.text


@pytest.mark.parametrize(
    "bad",
    [
        {"start": -1, "end": 3},
        {"start": 5, "end": 2},
        {"start": 0, "end": 10**9},
        {"start": "x", "end": 1},
    ],
)
def test_source_page_rejects_bad_offsets(client, answer, bad):
    r = client.get("/source", params={"doc": answer["citations"][0]["doc"], **bad})
    assert r.status_code == 400


# ------------------------------------------------------------------ rendering is escaped


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


ALLOWED_TAGS = {"div", "span", "strong", "mark", "a", "details", "summary"}
ALLOWED_ATTRS = {"class", "href", "target", "rel", "title", "data-state"}


def _parse(markup: str) -> _Tags:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser


_PIECES = ["<img src=x onerror=alert(1)>", "<script>", "</div>", "&lt;", "javascript:", "**"]
hostile = st.lists(
    st.one_of(
        st.sampled_from(list("<>&\"'`=/ \n\r\t\u3000\u2028ab中文签约*_#$[]()!\\")),
        st.sampled_from(_PIECES),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=hostile,
    span=hostile.filter(bool),
    after=hostile,
    section=hostile,
    doc=hostile,
    found=st.booleans(),
    clip=st.sampled_from([0, 3, 60]),
    reason=hostile,
)
def test_render_answer_never_lets_markup_through(before, span, after, section, doc, found, clip,
                                                 reason):
    context = before + span + after
    cit = {
        "doc": doc,
        "start": 100 + len(before),
        "end": 100 + len(before) + len(span),
        "text": span,
        "context": context,
        "context_start": 100,
        "section": section,
        "score": 0.5,
    }
    ans = {
        "question": "q",
        "found": found,
        "answer": span if found else "",
        "confidence": 0.9,
        "citations": [cit, cit],
        "reason": None if found else reason,
    }
    out = render_answer(ans, clip=clip)
    assert "\n" not in out and "\r" not in out  # one line: Markdown leaves it alone
    parsed = _parse(out)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            assert name in ALLOWED_ATTRS, name
            if name == "href":
                assert value.startswith("/source?doc=")
    marks = re.findall(r'<mark class="qa-(?:hit|near)">(.*?)</mark>', out)
    assert len(marks) == 2
    # Folding only touches whitespace around line breaks; everything else is verbatim.
    assert re.sub(r"\s", "", html.unescape(marks[0])) == re.sub(r"\s", "", span)
    if not clip:
        shown = re.sub(r"\s", "", "".join(_parse(out).text))
        assert re.sub(r"\s", "", context) in shown


def test_hostile_question_renders_as_text():
    out = render_question("<img src=x onerror=alert(1)>")
    assert "<img" not in out
    assert _parse(out).tags == [("div", [("class", "qa-question")])]
    assert "".join(_parse(out).text) == "<img src=x onerror=alert(1)>"


def test_mark_wraps_exactly_the_cited_text(answer):
    c = answer["citations"][0]
    out = render_answer(answer)
    first = re.search(r'<mark class="qa-(?:hit|near)">(.*?)</mark>', out).group(1)
    assert html.unescape(first) == fold_breaks(c["text"])
    if answer["found"]:
        assert f'<strong class="qa-answer">{html.escape(answer["answer"])}</strong>' in out


def test_not_found_says_so_and_lists_the_nearest_passages(answer):
    miss = dict(answer, found=False, answer="", confidence=0.1)
    out = render_answer(miss)
    assert "报告中没有找到答案" in out
    assert out.count('class="qa-cite"') == len(answer["citations"])
    assert "qa-reason" not in out  # no reason given, none shown


def test_not_found_shows_the_reason_under_the_abstention(answer):
    miss = dict(answer, found=False, answer="", confidence=0.0,
                reason="报告中没有提到“<紫冠雉>”")
    out = render_answer(miss)
    head = out[:out.index('class="qa-cites"')]
    assert "报告中没有找到答案" in head
    assert '<div class="qa-reason">报告中没有提到“&lt;紫冠雉&gt;”</div>' in head
    assert out.index("报告中没有找到答案") < out.index("qa-reason")
    found = render_answer(dict(answer, found=True, reason="ignored"))
    assert "qa-reason" not in found


def test_the_compact_view_clips_paragraphs_at_clause_ends():
    context = "第一句很长很长。第二句，有逗号，签约项目36个，总投资364.2亿元。第三句。"
    rel = context.index("签约项目36个")
    out = highlight(context, rel, "签约项目36个", clip=10)  # a sentence end, a clause end
    assert out == '…第二句，有逗号，<mark class="qa-hit">签约项目36个</mark>，…'
    assert highlight(context, rel, "签约项目36个", clip=0).startswith("第一句")
    assert clip_before("abcdefghij", 4) == "…ghij"
    assert clip_after("abc。defghij", 6) == "abc。…"


def test_fold_breaks():
    assert fold_breaks("新政务大厅\n\n建设") == "新政务大厅建设"
    assert fold_breaks("GDP\ngrowth") == "GDP growth"
    assert fold_breaks("增长\n 5%") == "增长 5%"


# ------------------------------------------------------------------ origins and start-up


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", []),
        (" https://A.example.com/ , http://b:8080", ["https://a.example.com", "http://b:8080"]),
        ("https://a.example.com:443,http://b:80", ["https://a.example.com", "http://b"]),
        ("http://[::1]:9000", ["http://[::1]:9000"]),
    ],
)
def test_parse_origins(raw, expected):
    assert parse_origins(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "*",
        "intranet.example.com",
        "https://a.example.com/path",
        "ftp://a.example.com",
        "https://*.example.com",
        "http://a:99999",
    ],
)
def test_parse_origins_rejects(raw):
    with pytest.raises(ValueError):
        parse_origins(raw)


@pytest.fixture
def fake_run(monkeypatch, assistant):
    """main() with the real (already loaded) assistant and uvicorn.run captured."""
    import uvicorn

    import qa

    calls = {"load": 0, "run": []}

    def load(source, index, **_kw):
        calls["load"] += 1
        return assistant

    monkeypatch.setattr(qa, "load_assistant", load)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls["run"].append((app, kw)))
    for name in ("QA_HOST", "QA_PORT", "QA_ALLOWED_ORIGINS"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_main_loads_once_and_logs_startup(fake_run, caplog):
    caplog.set_level(logging.INFO, logger="qa.app")
    assert main(["--port", "7999"]) == 0
    assert fake_run["load"] == 1
    ((app, kw),) = fake_run["run"]
    assert kw["host"] == "127.0.0.1" and kw["port"] == 7999
    assert re.search(r"start-up took \d+\.\d s", caplog.text)
    assert "http://127.0.0.1:7999/" in caplog.text
    with TestClient(app) as c:
        for _ in range(3):
            assert c.post("/api/ask", json={"question": QUESTION}).status_code == 200
    assert fake_run["load"] == 1  # never per request


def test_main_reads_the_environment_and_flags_win(fake_run, monkeypatch):
    monkeypatch.setenv("QA_HOST", "0.0.0.0")
    monkeypatch.setenv("QA_PORT", "8123")
    monkeypatch.setenv("QA_ALLOWED_ORIGINS", f"{ALLOWED},http://localhost:3000")
    assert main([]) == 0
    app, kw = fake_run["run"][-1]
    assert (kw["host"], kw["port"]) == ("0.0.0.0", 8123)
    with TestClient(app) as c:
        csp = c.get("/api/health").headers["content-security-policy"]
    assert f"frame-ancestors 'self' {ALLOWED} http://localhost:3000" in csp
    assert main(["--host", "127.0.0.2", "--port", "9001", "--allowed-origins", ""]) == 0
    app, kw = fake_run["run"][-1]
    assert (kw["host"], kw["port"]) == ("127.0.0.2", 9001)


def test_main_rejects_a_bad_port(fake_run, monkeypatch):
    monkeypatch.setenv("QA_PORT", "http")
    with pytest.raises(SystemExit) as stop:
        main([])
    assert stop.value.code == 2 and fake_run["load"] == 0


def test_main_rejects_bad_origins_before_loading(fake_run, capsys):
    assert main(["--allowed-origins", "*"]) == 2
    assert fake_run["load"] == 0
    assert "allowed-origins" in capsys.readouterr().err
