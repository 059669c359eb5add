"""Shared pieces of the web tests: `python app.py` running on loopback, and two "intranet"
pages on other ports (one allowlisted, one not).

Made once per test process and shared by test_app_gradio and test_browser (the server
loads the real model, ~15 s). Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_TMP = Path(tempfile.mkdtemp(prefix="qa-web-tests-"))
atexit.register(shutil.rmtree, _TMP, True)
INDEX = _TMP / "index"

# The README's iframe snippet, with the server's origin filled in by the test.
IFRAME_SNIPPET = (
    '<iframe src="{origin}/embed/" title="报告问答" '
    'style="width:400px;height:640px;border:1px solid #ddd;border-radius:8px"></iframe>'
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _IntranetHandler(BaseHTTPRequestHandler):
    pages: dict[str, str] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = self.pages.get(self.path.split("?")[0])
        if body is None:
            self.send_error(404)
            return
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        pass


def _serve_intranet(pages: dict[str, str]) -> tuple[ThreadingHTTPServer, str]:
    handler = type("Handler", (_IntranetHandler,), {"pages": pages})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    atexit.register(server.shutdown)
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@dataclass
class Live:
    url: str  # the chat server, e.g. http://127.0.0.1:43111 (no trailing slash)
    allowed: str  # origin of the allowlisted intranet page
    denied: str  # origin of an intranet page that is not on the list
    log_path: Path
    process: subprocess.Popen
    data: Path = _TMP / "data"  # QA_DATA_DIR of the server: the feedback store


    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")


@lru_cache(maxsize=1)
def live_server() -> Live:
    """`python app.py` on a free loopback port, allowlisting one intranet page's origin."""
    pages: dict[str, str] = {}
    _, allowed = _serve_intranet(pages)
    _, denied = _serve_intranet(pages)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    demo = (ROOT / "qa" / "web" / "static" / "intranet-demo.html").read_text("utf-8")
    pages["/intranet.html"] = demo.replace("http://127.0.0.1:7860", url)
    pages["/iframe.html"] = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>iframe</title><body>'
        + IFRAME_SNIPPET.format(origin=url)
        + "</body></html>"
    )
    pages["/iframe-root.html"] = pages["/iframe.html"].replace("/embed/", "/")

    log_path = _TMP / "server.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1")
    env.pop("QA_ALLOWED_ORIGINS", None)
    env["QA_DATA_DIR"] = str(_TMP / "data")
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "app.py",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--source",
                "seeds",
                "--index",
                str(INDEX),
                "--allowed-origins",
                allowed,
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    atexit.register(_stop, process)
    live = Live(url, allowed, denied, log_path, process)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with {process.returncode}:\n{live.log()}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return live
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    _stop(process)
    raise RuntimeError(f"app.py did not come up within 180 s:\n{live.log()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
