"""Bad and odd questions through all three doors — the Python API, the command line and
POST /api/ask on a real server on loopback. Each gets a clear refusal (BadQuestion /
exit 2 with one line on stderr / a 4xx with {"error": …}) or a valid contract answer,
never a traceback, a 500 or a hung request, and the server keeps serving afterwards."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest
from robustfixtures import ROOT, SEED_FILE, check_contract, live_url

import qa.assistant
from qa import BadQuestion
from qa.cli import main

GOOD = "签约了多少个项目？"
GOOD_ANSWER = "签约项目36个"
SEED = SEED_FILE.read_bytes().decode("utf-8")
#: the longest paragraph of the seed report, pasted whole as a "question".
PARAGRAPH = max((p.strip() for p in SEED.split("\n")), key=len)

# (id, question, expectation): "bad" = refused as bad input; "any" = a valid answer;
# "notfound" = a valid answer with found false; "found:<text>" = found, answer contains text.
CASES = [
    ("empty", "", "bad"),
    ("whitespace", " \t\r\n\u3000\u00a0\u2028 ", "bad"),
    ("10k-chinese", GOOD * 1200, "bad"),
    ("10k-ascii", "a" * 10_001, "bad"),
    ("501-chars", "签" * 501, "bad"),
    ("lone-high-surrogate", "签约\ud800了多少个项目", "bad"),
    ("lone-low-surrogate", "\udcff\udcfe", "bad"),
    ("nul-inside", "签约了\x00多少个项目？", "any"),
    ("control-chars", "\x01\x02\x1b[31m签约了多少个项目？\x7f\x08\x0b\x0c", "any"),
    ("controls-only", "\x00\x01\x02\x1b\x7f", "notfound"),
    ("bidi-zero-width", "\u202e签约\u200b了多少\u200d个项目\ufeff？", "any"),
    ("format-chars-only", "\u200b\u200c\u200d\ufeff\u2060", "notfound"),
    ("html-js", "<script>alert('x')</script><img src=x onerror=alert(1)>", "notfound"),
    ("html-around-question", "<b>签约了多少个项目？</b>", "any"),
    ("sql", "1' OR '1'='1'; DROP TABLE reports; --", "notfound"),
    ("sql-select", "SELECT * FROM reports WHERE 1=1 UNION SELECT password FROM users", "notfound"),
    ("emoji-only", "😀🎉👍🏽🇨🇳", "notfound"),
    ("punctuation-only", "？！。，、……——《》“”？?!.,;:", "notfound"),
    ("digits-only", "1234567890", "notfound"),
    ("mixed-english-chinese", "How many 项目 were signed (签约) in 2020?", "any"),
    ("full-width-digits", "２０１６年至２０２０年全区累计实施了多少个产业扶贫项目？", "found:141"),
    ("traditional", "簽約了多少個項目？", f"found:{GOOD_ANSWER}"),
    ("pasted-paragraph", PARAGRAPH, "any"),
    ("newlines-inside", "签约\n了多少\r\n个项目？", "any"),
    ("astral-cjk", "𠀀𪚥𫝀", "notfound"),
    ("private-use", "\ue000\uf8ff\U000f0000", "notfound"),
]
IDS = [c[0] for c in CASES]


@pytest.fixture(scope="module")
def url(assistant) -> str:  # type: ignore[no-untyped-def]
    return live_url(assistant)


@pytest.fixture(scope="module")
def http(url: str):  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=url, timeout=httpx.Timeout(60.0, connect=10.0)) as client:
        yield client


def _expect(answer: dict, expectation: str, assistant) -> None:  # type: ignore[no-untyped-def]
    check_contract(answer, assistant.source_text)
    check_contract(answer)  # against the file on disk, decoded as the contract says
    if expectation == "notfound":
        assert answer["found"] is False, answer
    elif expectation.startswith("found:"):
        assert answer["found"] is True, answer
        assert expectation[len("found:"):] in answer["answer"], answer


# ---------------------------------------------------------------------------- Python API


@pytest.mark.parametrize(("name", "question", "expectation"), CASES, ids=IDS)
def test_python_api(assistant, name: str, question: str, expectation: str) -> None:
    if expectation == "bad":
        with pytest.raises(BadQuestion) as info:
            assistant.ask(question)
        message = str(info.value)
        assert message and "\n" not in message
        return
    t = time.perf_counter()
    answer = assistant.ask(question).to_dict()
    assert time.perf_counter() - t < 30, "an answer must not take this long"
    _expect(answer, expectation, assistant)


def test_python_api_rejects_non_text_and_bad_top_k(assistant) -> None:
    for value in (None, 42, b"bytes", ["list"], {"q": 1}):
        with pytest.raises(BadQuestion):
            assistant.ask(value)
    for top_k in (0, 11, -1, True, 2.5, "3", None):
        with pytest.raises(BadQuestion):
            assistant.ask(GOOD, top_k=top_k)


def test_pasted_paragraph_cites_itself(assistant) -> None:
    """A whole paragraph asked back is answered from that very paragraph."""
    answer = assistant.ask(PARAGRAPH).to_dict()
    start = SEED.index(PARAGRAPH)
    first = answer["citations"][0]
    assert first["context_start"] <= start < first["context_start"] + len(first["context"])


def test_traditional_and_full_width_match_the_plain_question(assistant) -> None:
    plain = assistant.ask(GOOD).to_dict()
    assert plain["found"] and plain["answer"] == GOOD_ANSWER
    for variant in ("簽約了多少個項目？", "签约了多少个项目?", "签约了多少个项目？　"):
        other = assistant.ask(variant).to_dict()
        assert other["answer"] == plain["answer"], variant


# ---------------------------------------------------------------------------- command line


@pytest.fixture()
def cli(monkeypatch, assistant):  # type: ignore[no-untyped-def]
    """Run `qa.cli.main` in this process against the session assistant (no model reload)."""
    monkeypatch.setattr(qa.assistant, "load_assistant", lambda *a, **k: assistant)
    return main


@pytest.mark.parametrize(("name", "question", "expectation"), CASES, ids=IDS)
def test_cli_json(cli, capsys, assistant, name: str, question: str, expectation: str) -> None:
    code = cli(["ask", "--json", question])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if expectation == "bad":
        assert code == 2
        assert out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        return
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    answer = json.loads(lines[0])
    _expect(answer, expectation, assistant)
    assert answer == assistant.ask(question).to_dict()


@pytest.mark.parametrize(("name", "question", "expectation"), CASES, ids=IDS)
def test_cli_human(cli, capsys, name: str, question: str, expectation: str) -> None:
    code = cli(["ask", question])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if expectation == "bad":
        assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    else:
        assert code == 0, err
        assert out.startswith(("答案：", "报告中没有找到答案")), out[:80]


def test_cli_bad_top_k(cli, capsys) -> None:
    for value in ("0", "11", "-3"):
        assert cli(["ask", "--top-k", value, GOOD]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "top-k" in err and len(err.strip().splitlines()) == 1
    assert cli(["ask", "--top-k", "x", GOOD]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_cli_stdin_batch(cli, capsys, monkeypatch, assistant) -> None:
    """`ask --json -`: one JSON object per non-blank line, an error object (with its line
    number) for each line that is not valid UTF-8 or not a valid question; never a crash."""
    lines = [
        "\ufeff" + GOOD,  # a BOM on the first line is not part of the question
        "\xff\xfe not utf-8",  # (encoded below as raw bytes)
        "\ud800 CESU-8 surrogate",  # (encoded below as raw bytes)
        "   ",
        "签" * 10_001,
        "<script>alert(1)</script>",
        "1' OR '1'='1",
        "😀😀",
        "簽約了多少個項目？",
        "a\x00b\x01c",
        "",
        GOOD,
    ]
    raw = []
    for line in lines:
        if line.startswith("\xff"):
            raw.append(b"\xff\xfe not utf-8")
        elif line.startswith("\ud800"):
            raw.append(b"\xed\xa0\x80 CESU-8 surrogate")
        else:
            raw.append(line.encode("utf-8"))
    data = b"\r\n".join(raw) + b"\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    assert cli(["ask", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 10  # every line but the two blank ones
    errors = {r["line"]: r["error"] for r in rows if "error" in r}
    assert set(errors) == {2, 3, 5}, errors
    assert "UTF-8" in errors[2] and "UTF-8" in errors[3] and "limit" in errors[5]
    answers = [r for r in rows if "error" not in r]
    for a in answers:
        check_contract(a, assistant.source_text)
    assert answers[0]["question"] == GOOD and answers[0]["answer"] == GOOD_ANSWER
    assert answers[-1] == answers[0]


def test_cli_stdin_batch_human_errors_go_to_stderr(cli, capsys, monkeypatch) -> None:
    data = GOOD.encode() + b"\n\xc3\x28\n" + b"x" * 600 + b"\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    assert cli(["ask", "-"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("答案：")
    assert err.splitlines() == [
        "error: line 2: line 2 is not valid UTF-8",
        "error: line 3: the question is 600 characters long; the limit is 500",
    ]


def _run_qa(*args: str | bytes, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "qa", *args], cwd=ROOT, env=env,
                          capture_output=True, timeout=timeout)


@pytest.mark.parametrize("arg", ["", "   ", "签" * 10_001, b"\xff\xfe\xfd", b"\xed\xa0\x80"],
                         ids=["empty", "blank", "10k", "invalid-utf8", "cesu-surrogate"])
def test_cli_process_refuses_bad_question_fast(arg: str | bytes, tmp_path) -> None:
    """A real `python -m qa ask` process: exit 2, one line, and before loading the model."""
    t = time.perf_counter()
    proc = _run_qa("ask", "--index", str(tmp_path / "index"), arg)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.decode("utf-8")
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and proc.stdout == b""
    assert time.perf_counter() - t < 20, "bad input should be refused before the model loads"
    assert not (tmp_path / "index").exists()


# ---------------------------------------------------------------------------- HTTP


def _post(http: httpx.Client, question: str, **extra) -> httpx.Response:  # type: ignore[no-untyped-def]
    body = json.dumps({"question": question, **extra})  # ASCII-escaped: carries surrogates
    return http.post("/api/ask", content=body.encode("ascii"),
                     headers={"Content-Type": "application/json"})


def _still_serving(http: httpx.Client) -> None:
    assert http.get("/api/health").status_code == 200
    r = _post(http, GOOD)
    assert r.status_code == 200 and r.json()["answer"] == GOOD_ANSWER


@pytest.mark.parametrize(("name", "question", "expectation"), CASES, ids=IDS)
def test_http(http, assistant, name: str, question: str, expectation: str) -> None:
    r = _post(http, question)
    assert r.headers["content-type"].startswith("application/json")
    if expectation == "bad":
        assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
        assert set(r.json()) == {"error"} and r.json()["error"]
    else:
        assert r.status_code == 200, r.text[:300]
        _expect(r.json(), expectation, assistant)
        assert r.json() == assistant.ask(question).to_dict()
    _still_serving(http)


def test_http_raw_utf8_body(http, assistant) -> None:
    for q in ("簽約了多少個項目？", "😀", "<b>签约</b>", "签约了\x00多少个项目"):
        body = json.dumps({"question": q}, ensure_ascii=False).encode("utf-8")
        r = http.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        check_contract(r.json(), assistant.source_text, question=q)


BAD_BODIES = [
    ("not-json", b"question=hi"),
    ("invalid-utf8", b'{"question": "\xff\xfe"}'),
    ("truncated-json", b'{"question": "\xe7\xad\xbe'),
    ("json-null", b"null"),
    ("json-list", b'["question"]'),
    ("json-string", json.dumps(GOOD).encode("utf-8")),
    ("missing-question", b'{"q": "hi"}'),
    ("question-null", b'{"question": null}'),
    ("question-number", b'{"question": 36}'),
    ("question-list", b'{"question": ["a"]}'),
    ("top-k-zero", b'{"question": "hi", "top_k": 0}'),
    ("top-k-big", b'{"question": "hi", "top_k": 1000000000000}'),
    ("top-k-string", b'{"question": "hi", "top_k": "3"}'),
    ("top-k-float", b'{"question": "hi", "top_k": 2.5}'),
    ("top-k-bool", b'{"question": "hi", "top_k": true}'),
    ("nan", b'{"question": "hi", "top_k": NaN}'),
    ("huge-body", b'{"question": "' + b"a" * 100_000 + b'"}'),
    ("empty-body", b""),
    ("deep-nesting-list", b"[" * 15_000),
    ("deep-nesting-object", b'{"a":' * 3_000),
]


@pytest.mark.parametrize(("name", "body"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_http_bad_bodies(http, name: str, body: bytes) -> None:
    r = http.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert set(r.json()) == {"error"} and r.json()["error"]
    _still_serving(http)


def test_http_wrong_method_and_content_type(http) -> None:
    assert http.get("/api/ask").status_code == 405
    r = http.post("/api/ask", content=json.dumps({"question": GOOD}).encode(),
                  headers={"Content-Type": "text/plain"})
    assert r.status_code in (200, 415), r.text  # either answered or refused, never 5xx
    _still_serving(http)


def test_http_broken_connections_do_not_hurt_the_server(http, url: str) -> None:
    """A client that stalls mid-body, one that hangs up mid-body and one that sends
    garbage: the server answers everyone else meanwhile and afterwards."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    head = (b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n")
    stalled = socket.create_connection((host, port), timeout=10)
    stalled.sendall(head + b'{"question": "')
    try:
        _still_serving(http)  # the stalled request must not block anyone
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(head + b'{"question"')  # then hang up
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64) + b"\r\n\r\n")
            s.settimeout(10)
            try:
                reply = s.recv(200)
            except (TimeoutError, ConnectionResetError):
                reply = b""
            assert not reply.startswith(b"HTTP/1.1 5"), reply
        _still_serving(http)
    finally:
        stalled.close()
    _still_serving(http)
