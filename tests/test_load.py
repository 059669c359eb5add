"""The load test (qa/bench/load.py, `python -m qa load-test`) in reduced form, against the real app served by
uvicorn on loopback: concurrent clients, good and bad requests mixed — no 5xx, no dropped
connection, every response identical to the sequential one for the same request.

The full run (16 clients, 2,000 requests against `python app.py`) is a benchmark:
`python -m qa load-test --clients 16 --requests 2000`; its figures are in the README.
"""

from __future__ import annotations

import json

import pytest
from robustfixtures import live_url

from qa.bench import load as load_test

CLIENTS = 8
REQUESTS = 200


@pytest.fixture(scope="module")
def url(assistant) -> str:  # type: ignore[no-untyped-def]
    return live_url(assistant)


def test_concurrent_clients_get_the_sequential_answers(url: str) -> None:
    report = load_test.run_load(url, clients=CLIENTS, total=REQUESTS, timeout=60,
                                deadline=240)
    summary = report.summary()
    print(json.dumps(summary, ensure_ascii=False))
    assert summary["completed"] == REQUESTS
    assert summary["baseline_failures"] == []
    assert summary["server_errors"] == 0, summary["examples"]
    assert summary["dropped"] == 0, summary["examples"]
    assert summary["mismatches"] == 0, summary["examples"]
    statuses = {int(k) for k in summary["statuses"]}
    assert 200 in statuses and statuses & {400, 413, 422}, statuses
    assert report.ok


def test_the_script_reports_and_exits_zero(url: str, capsys, tmp_path) -> None:
    out = tmp_path / "load.json"
    code = load_test.main(["--url", url, "--clients", "4", "--requests", "60",
                           "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "requests/s" in printed and "p95" in printed and printed.strip().endswith("PASS")
    figures = json.loads(out.read_text("utf-8"))
    assert figures["completed"] == 60 and figures["ok"] is True
    assert figures["latency_ms"]["p50"] <= figures["latency_ms"]["p95"]


@pytest.mark.parametrize("bad", ["http://10.0.0.1:7860", "http://example.com", "ftp://127.0.0.1"])
def test_the_script_refuses_non_loopback_urls(bad: str, capsys) -> None:
    assert load_test.main(["--url", bad, "--requests", "1"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
