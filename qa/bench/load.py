"""Load test of POST /api/ask on loopback: concurrent clients, mixed good and bad requests.

    python -m qa load-test                          # starts `python app.py` on a free port
    python -m qa load-test --clients 16 --requests 2000 --json bench/out/load.json
    python -m qa load-test --url http://127.0.0.1:7860   # an already running server

First every distinct request is sent once, one at a time: that is the reference answer.
Then ``--requests`` requests drawn from the same mix go out from ``--clients`` threads,
each on its own keep-alive connection. Passing means: no 5xx, no dropped connection
(connect/read error, reset, timeout), and every response — status and JSON body — equal to
the reference for the same request. It prints throughput and latency percentiles and
exits 1 on any failure, 2 on a usage error. Only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

GOOD_QUESTIONS = [
    "签约了多少个项目？",
    "签约项目的总投资额是多少？",
    "章丘在外地设立了几个招商工作站？",
    "2016年至2020年全区累计实施了多少个产业扶贫项目？",
    "吸引了多少名人才回乡？",
    "生活垃圾焚烧发电项目每天处理多少吨垃圾？",
    "簽約了多少個項目？",
    "How many projects were signed?",
    "２０２０年有多少个重点项目开工？",
    "章丘区的GDP是多少？",
    "北京有多少个招商工作站？",
]


@dataclass(frozen=True)
class Req:
    """One kind of request of the mix."""

    name: str
    method: str = "POST"
    path: str = "/api/ask"
    body: bytes = b""
    content_type: str = "application/json"


def _ask(name: str, question: Any, **extra: Any) -> Req:
    return Req(name, body=json.dumps({"question": question, **extra}).encode("ascii"))


def default_mix(eval_file: Path | None = Path("eval/qa.jsonl"),
                n_eval: int = 40) -> list[tuple[Req, int]]:
    """(request, weight): about two thirds good questions, one third bad or odd input."""
    mix: list[tuple[Req, int]] = [(_ask(f"good:{q}", q), 6) for q in GOOD_QUESTIONS]
    if eval_file is not None and eval_file.exists():
        rows = [json.loads(line) for line in eval_file.read_text("utf-8").splitlines()
                if line.strip()]
        step = max(1, len(rows) // n_eval)
        for row in rows[::step][:n_eval]:
            mix.append((_ask(f"eval:{row.get('id', '?')}", row["question"]), 2))
    mix.append((_ask("good:top_k=1", GOOD_QUESTIONS[0], top_k=1), 3))
    mix.append((_ask("good:top_k=10", GOOD_QUESTIONS[1], top_k=10), 3))
    odd = {
        "odd:emoji": "😀🎉👍",
        "odd:sql": "1' OR '1'='1'; DROP TABLE reports; --",
        "odd:html": "<script>alert(1)</script>",
        "odd:nul": "签约了\x00多少个项目？",
        "odd:punct": "？？？！！！",
        "odd:digits": "1234567890",
        "odd:mixed": "How many 项目 were 签约 in 2020?",
    }
    mix += [(_ask(name, q), 2) for name, q in odd.items()]
    bad = [
        _ask("bad:empty", ""),
        _ask("bad:blank", " \t\u3000\n"),
        _ask("bad:too-long", "签" * 600),
        _ask("bad:surrogate", "\ud800签约"),
        _ask("bad:not-string", 36),
        _ask("bad:top_k", GOOD_QUESTIONS[0], top_k=0),
        Req("bad:huge-body", body=b'{"question": "' + b"a" * 20_000 + b'"}'),
        Req("bad:not-json", body=b"question=hi"),
        Req("bad:invalid-utf8", body=b'{"question": "\xff\xfe"}'),
        Req("bad:empty-body", body=b""),
        Req("bad:list", body=b"[1, 2, 3]"),
    ]
    mix += [(r, 2) for r in bad]
    mix.append((Req("health", method="GET", path="/api/health"), 2))
    return mix


# ---------------------------------------------------------------------------- measuring


@dataclass
class Outcome:
    req: Req
    status: int | None  # None: the connection dropped
    body: Any
    seconds: float
    error: str = ""


def _parse(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def send(client: httpx.Client, req: Req) -> Outcome:
    t = time.perf_counter()
    try:
        if req.method == "GET":
            r = client.get(req.path)
        else:
            r = client.request(req.method, req.path, content=req.body,
                               headers={"Content-Type": req.content_type})
        return Outcome(req, r.status_code, _parse(r), time.perf_counter() - t)
    except httpx.TransportError as exc:  # connect/read/write error, reset, timeout
        return Outcome(req, None, None, time.perf_counter() - t, f"{type(exc).__name__}: {exc}")


def _client(url: str, timeout: float) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=httpx.Timeout(timeout, connect=10.0),
                        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                        trust_env=False)


@dataclass
class Report:
    clients: int
    requests: int
    completed: int = 0
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    dropped: int = 0
    server_errors: int = 0
    mismatches: int = 0
    not_run: int = 0
    latencies: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    baseline_failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.dropped or self.server_errors or self.mismatches or self.not_run
                    or self.baseline_failures)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        k = min(len(data) - 1, max(0, round(p / 100 * len(data) + 0.5) - 1))
        return data[k]

    def summary(self) -> dict[str, Any]:
        return {
            "clients": self.clients,
            "requests": self.requests,
            "completed": self.completed,
            "seconds": round(self.seconds, 3),
            "throughput_rps": round(self.completed / self.seconds, 1) if self.seconds else 0.0,
            "latency_ms": {
                "p50": round(1000 * self.percentile(50), 1),
                "p95": round(1000 * self.percentile(95), 1),
                "p99": round(1000 * self.percentile(99), 1),
                "max": round(1000 * max(self.latencies, default=float("nan")), 1),
                "mean": round(1000 * statistics.fmean(self.latencies), 1)
                if self.latencies else None,
            },
            "statuses": {str(k): v for k, v in sorted(self.statuses.items(), key=str)},
            "dropped": self.dropped,
            "server_errors": self.server_errors,
            "mismatches": self.mismatches,
            "not_run": self.not_run,
            "baseline_failures": self.baseline_failures,
            "examples": self.examples,
            "ok": self.ok,
        }


def _baseline(url: str, timeout: float, kinds: list[Req], report: Report
              ) -> dict[Req, Outcome]:
    """Every kind of request sent once, one at a time: the reference answers."""
    baseline: dict[Req, Outcome] = {}
    with _client(url, timeout) as client:
        for req in kinds:
            out = send(client, req)
            baseline[req] = out
            if out.status is None or out.status >= 500:
                report.baseline_failures.append(f"{req.name}: {out.status} {out.error}")
    return baseline


def _jobs(mix: list[tuple[Req, int]], total: int, seed: int) -> list[Req]:
    """Every kind at least once (as far as ``total`` allows), the rest drawn by weight."""
    kinds = [r for r, _ in mix]
    rng = random.Random(seed)
    jobs = rng.sample(kinds, min(total, len(kinds)))
    jobs += rng.choices(kinds, weights=[w for _, w in mix], k=max(0, total - len(kinds)))
    rng.shuffle(jobs)
    return jobs


def run_load(url: str, clients: int = 16, total: int = 2000,
             mix: list[tuple[Req, int]] | None = None, timeout: float = 60.0,
             seed: int = 0, deadline: float = 1800.0) -> Report:
    """The sequential reference pass, then ``total`` requests from ``clients`` threads."""
    check_loopback(url)
    mix = mix or default_mix()
    kinds = [r for r, _ in mix]
    report = Report(clients, total)

    baseline = _baseline(url, timeout, kinds, report)
    jobs = _jobs(mix, total, seed)
    lock = threading.Lock()
    cursor = iter(range(len(jobs)))
    stop_at = time.monotonic() + deadline

    def record(out: Outcome) -> None:
        ref = baseline[out.req]
        with lock:
            report.completed += 1
            report.latencies.append(out.seconds)
            report.statuses[out.status if out.status is not None else "dropped"] += 1
            problem = ""
            if out.status is None:
                report.dropped += 1
                problem = f"dropped: {out.error}"
            elif out.status >= 500:
                report.server_errors += 1
                problem = f"{out.status}"
            elif (out.status, out.body) != (ref.status, ref.body):
                report.mismatches += 1
                problem = f"differs from the sequential answer: {str(out.body)[:300]}"
            if problem and len(report.examples) < 10:
                report.examples.append(f"{out.req.name}: {problem}")

    def worker() -> None:
        with _client(url, timeout) as client:
            while time.monotonic() < stop_at:
                with lock:
                    i = next(cursor, None)
                if i is None:
                    return
                record(send(client, jobs[i]))

    threads = [threading.Thread(target=worker, name=f"client-{n}", daemon=True)
               for n in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(max(1.0, stop_at - time.monotonic() + timeout + 10))
    report.seconds = time.perf_counter() - t
    report.not_run = total - report.completed
    return report


# ---------------------------------------------------------------------------- the server


def check_loopback(url: str) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"not an http URL: {url}")
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"{url}: only loopback addresses (127.0.0.1, ::1, localhost) are allowed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`python -m qa serve` (what `python app.py` runs) on a free loopback port, stopped on exit."""

    def __init__(self, source: str, index: str, startup_timeout: float = 600.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
                   PYTHONUNBUFFERED="1")
        self.log = tempfile.NamedTemporaryFile(prefix="qa-load-server-", suffix=".log",
                                               delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--source", source, "--index", index],
            cwd=os.getcwd(), env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + startup_timeout
        with httpx.Client(timeout=5.0, trust_env=False) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"app.py exited with {self.proc.returncode}; "
                                       f"see {self.log.name}")
                try:
                    if client.get(f"{self.url}/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"app.py did not become healthy in {startup_timeout}s")
                time.sleep(0.5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self.log.close()
        if self.proc.returncode in (0, -signal.SIGTERM):
            Path(self.log.name).unlink(missing_ok=True)


def print_report(report: Report, url: str, out=None) -> None:  # type: ignore[no-untyped-def]
    out = out or sys.stdout
    s = report.summary()
    lat = s["latency_ms"]
    print(f"load test against {url}: {s['clients']} clients, {s['requests']} requests",
          file=out)
    print(f"  completed   {s['completed']} in {s['seconds']:.1f} s "
          f"= {s['throughput_rps']} requests/s", file=out)
    print(f"  latency     p50 {lat['p50']} ms · p95 {lat['p95']} ms · p99 {lat['p99']} ms · "
          f"max {lat['max']} ms", file=out)
    print(f"  statuses    {', '.join(f'{k}: {v}' for k, v in s['statuses'].items())}", file=out)
    print(f"  5xx {s['server_errors']} · dropped {s['dropped']} · mismatches "
          f"{s['mismatches']} · not run {s['not_run']}", file=out)
    for line in s["baseline_failures"]:
        print(f"  reference pass failed: {line}", file=out)
    for line in s["examples"]:
        print(f"  e.g. {line}", file=out)
    print("PASS" if report.ok else "FAIL", file=out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="qa load-test", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running server (loopback only); default: start app.py")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--source", default="seeds")
    p.add_argument("--index", default="index")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    p.add_argument("--deadline", type=float, default=1800.0, help="seconds for the whole run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the figures here as JSON")
    args = p.parse_args(argv)
    if not (1 <= args.clients <= 256 and 1 <= args.requests <= 1_000_000):
        print("error: --clients must be 1-256 and --requests 1-1000000", file=sys.stderr)
        return 2
    server = None
    try:
        if args.url:
            check_loopback(args.url)
            url = args.url.rstrip("/")
        else:
            print("starting app.py on loopback …", file=sys.stderr)
            server = Server(args.source, args.index)
            url = server.url
        report = run_load(url, args.clients, args.requests, timeout=args.timeout,
                          seed=args.seed, deadline=args.deadline)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
    print_report(report, url)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        summary = report.summary()
        summary.update(url=url, cpus=os.cpu_count(), python=sys.version.split()[0],
                       date=time.strftime("%Y-%m-%d %H:%M:%S"))
        path.write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
