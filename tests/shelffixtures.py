"""A server with an editable shelf for the shelf tests (test_shelf_api, test_shelf_browser):
the real web app on a copy of seeds/, served by uvicorn on a loopback port in a background
thread, with the fake encoder (robustfixtures) so that each rebuild takes well under a
second, and a gate in front of every rebuild that a test can close to hold one open.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from robustfixtures import SEEDS, FakeEncoder, free_port

from qa.assistant import load_assistant
from qa.web import create_app
from qa.web.library import Library, rebuild_from

TOKEN = "test-admin-token-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class ShelfServer:
    url: str
    library: Library
    source: Path
    gate: threading.Event  # set: rebuilds run; cleared: a rebuild waits until it is set
    fail: threading.Event  # set: a rebuild fails (as a full disk would make it)
    server: Any

    def reports(self) -> dict[str, Any]:
        r = httpx.get(f"{self.url}/api/reports", timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def entry(self, report_id: str) -> dict[str, Any] | None:
        return next((e for e in self.reports()["reports"] if e["id"] == report_id), None)

    def ask(self, question: str, **fields: Any) -> httpx.Response:
        return httpx.post(f"{self.url}/api/ask", json={"question": question, **fields},
                          timeout=60)

    def upload(self, name: str, data: bytes, headers: dict[str, str] | None = None
               ) -> httpx.Response:
        return httpx.post(f"{self.url}/api/reports", files={"file": (name, data)},
                          headers=AUTH if headers is None else headers, timeout=120)

    def stop(self) -> None:
        self.library.close()
        self.gate.set()
        self.library.wait(60)
        self.server.should_exit = True


def shelf_server(token: str | None = TOKEN, max_upload: int | None = None,
                 watch: float = 0.0) -> ShelfServer:
    """A fresh server on a fresh copy of seeds/ (stop it with ``.stop()``); ``watch``: how
    often it looks at the folder for reports added another way (0: never)."""
    import uvicorn

    root = Path(tempfile.mkdtemp(prefix="qa-shelf-"))
    source, index = root / "reports", root / "index"
    source.mkdir()
    for path in SEEDS.glob("*.txt"):
        (source / path.name).write_bytes(path.read_bytes())
    encoder = FakeEncoder()
    assistant = load_assistant(source, index, encoder=encoder, log=lambda _msg: None)
    gate, fail = threading.Event(), threading.Event()
    gate.set()
    rebuild = rebuild_from(source, index)

    def gated(current: Any) -> Any:
        gate.wait(120)
        if fail.is_set():
            raise OSError(28, "No space left on device")
        return rebuild(current)

    library = Library(assistant, source, gated)
    library.watch(watch)
    extra = {} if max_upload is None else {"max_upload": max_upload}
    app = create_app(library, [], admin_token=token, **extra)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the shelf test server did not start"
        time.sleep(0.02)
    return ShelfServer(f"http://127.0.0.1:{port}", library, source, gate, fail, server)


def wait_indexed(shelf: ShelfServer, report_id: str, timeout: float = 60) -> dict[str, Any]:
    """The report's entry once the answering generation holds it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = shelf.entry(report_id)
        if entry is not None and entry["indexed"]:
            return entry
        time.sleep(0.1)
    raise AssertionError(f"report {report_id} was not indexed within {timeout} s")
