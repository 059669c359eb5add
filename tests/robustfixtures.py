"""Shared pieces of the robustness tests (test_robust_*.py, test_load.py, test_properties.py).

* ``check_contract`` — every rule of docs/CONTRACT.md for one answer object, including
  ``source[start:end] == text`` against the file's bytes decoded as the contract says.
* ``FakeEncoder`` / ``use_encoder`` / ``load_assistant`` — a cheap, deterministic stand-in for the embedding model
  (or the real one, shared), so that tests which build many indexes do not reload a model.
* ``live_url`` — the real web app (app.create_app) served by uvicorn on a loopback port in
  a background thread, one per assistant, shared by the question and load tests.
* ``fake_cli`` — the real ``python -m qa`` entry point with the fake encoder and optional
  pauses injected, for build processes that a test kills with SIGKILL.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
SEEDS = ROOT / "seeds"
SEED_FILE = next(SEEDS.glob("*.txt"))
if str(ROOT) not in sys.path:  # app.py and bench/ live at the project root
    sys.path.insert(0, str(ROOT))

ANSWER_KEYS = {"question", "found", "answer", "confidence", "citations", "reason",
               "understood_as"}
CITATION_KEYS = {"doc", "start", "end", "text", "context", "context_start", "section", "score"}
#: where a span is in a converted original (PDF page, Word paragraph or table row), when known
ORIGIN_KEYS = {"page", "paragraph", "table", "row"}


# ---------------------------------------------------------------------------- the contract


def raw_text(doc: str, cwd: Path | None = None) -> str:
    """A cited document decoded as docs/CONTRACT.md defines offsets: the file's bytes,
    UTF-8 (else GB18030), no newline translation, a BOM kept as a character."""
    path = Path(doc)
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def check_contract(answer: dict[str, Any], source_text: Callable[[str], str] = raw_text,
                   top_k: int = 3, question: str | None = None) -> None:
    """Assert that ``answer`` is a valid answer object of docs/CONTRACT.md."""
    assert isinstance(answer, dict), answer
    assert set(answer) == ANSWER_KEYS, sorted(answer)
    assert isinstance(answer["question"], str) and answer["question"].strip() == answer["question"]
    if question is not None:
        assert answer["question"] == question.strip()
    # no history was sent: the question is read as it is
    assert answer["understood_as"] == answer["question"]
    assert isinstance(answer["found"], bool)
    assert isinstance(answer["answer"], str)
    conf = answer["confidence"]
    assert isinstance(conf, (int, float)) and not isinstance(conf, bool)
    assert math.isfinite(conf) and 0.0 <= conf <= 1.0, conf
    cites = answer["citations"]
    assert isinstance(cites, list) and len(cites) <= top_k
    if answer["found"]:
        assert cites, "found without a citation"
        assert answer["answer"] and answer["answer"] == cites[0]["text"]
        assert answer["reason"] is None
    else:
        assert answer["answer"] == ""
        assert isinstance(answer["reason"], str) and answer["reason"], answer["reason"]
    for c in cites:
        assert CITATION_KEYS <= set(c) <= CITATION_KEYS | ORIGIN_KEYS, sorted(c)
        for key in ("doc", "text", "context", "section"):
            assert isinstance(c[key], str), (key, c[key])
        for key in ("start", "end", "context_start"):
            assert isinstance(c[key], int) and not isinstance(c[key], bool), (key, c[key])
        assert isinstance(c["score"], (int, float)) and math.isfinite(c["score"])
        source = source_text(c["doc"])
        assert 0 <= c["start"] < c["end"] <= len(source), c
        assert source[c["start"]:c["end"]] == c["text"], c
        cs = c["context_start"]
        assert 0 <= cs <= c["start"], c
        assert source[cs:cs + len(c["context"])] == c["context"], c
        rel = c["start"] - cs
        assert c["context"][rel:rel + len(c["text"])] == c["text"], c
    # What the HTTP API and `ask --json` print: valid JSON, valid UTF-8 (no lone surrogate).
    json.dumps(answer, ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------- encoders


class FakeEncoder:
    """Deterministic hashed character-bigram vectors: what qa.index.vectors.Encoder offers, in
    microseconds and with no model to load. Same text → same vector in every process."""

    def __init__(self, model_id: str = "usem3", dim: int = 64) -> None:
        self.model_id = model_id
        self.dim = dim

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            data = text.encode("utf-8", "surrogatepass")
            grams = [text[i:i + 2] for i in range(max(1, len(text) - 1))] if text else [""]
            for g in grams[:4000]:
                out[row, zlib.crc32(g.encode("utf-8", "surrogatepass")) % self.dim] += 1.0
            out[row, zlib.crc32(data) % self.dim] += 0.5
            out[row] /= float(np.linalg.norm(out[row])) or 1.0
        return out


_ENCODER: dict[str, Any] = {"encoder": None}


def use_encoder(monkeypatch: Any, encoder: Any) -> None:
    """Make ``load_assistant`` below use ``encoder`` for its model (and really load any
    other), until the test ends."""
    monkeypatch.setitem(_ENCODER, "encoder", encoder)


def load_assistant(source: Any, index: Any, settings: Any = None, **kwargs: Any) -> Any:
    """``qa.load_assistant`` handed the encoder of ``use_encoder`` when it serves the
    settings' model (``encoder=``: no monkeypatching of qa)."""
    from qa import load_assistant as load
    from qa.config import Settings
    from qa.errors import QAError

    encoder = _ENCODER["encoder"]
    try:
        model = (settings or Settings.from_env()).model
    except QAError:  # load reports the bad setting itself
        model = None
    if encoder is not None and model == encoder.model_id and "encoder" not in kwargs:
        kwargs["encoder"] = encoder
    return load(source, index, settings, **kwargs)


def main(argv: list[str]) -> int:
    """``qa.cli.main`` in this process, handed the encoder of ``use_encoder`` when it serves
    the model the settings name."""
    from qa.cli import main as cli
    from qa.config import Settings
    from qa.errors import QAError

    encoder = _ENCODER["encoder"]
    try:
        model = Settings.from_env().model
    except QAError:  # the CLI reports the bad setting itself
        model = None
    return cli(argv, encoder=encoder if encoder is not None and encoder.model_id == model
               else None)


def fake_cli(argv: list[str] | None = None) -> int:
    """``python -m qa`` with the fake encoder; ``QA_TEST_PAUSE`` = ``save`` pauses a build
    half-way through writing its generation, ``manifest`` just before the manifest switch;
    the pause touches ``QA_TEST_MARK`` so a test knows when to kill."""
    import qa.index.store
    from qa.cli import main
    from qa.config import Settings
    from qa.errors import QAError

    try:
        model = Settings.from_env().model
    except QAError:  # main reports a bad setting itself
        model = "usem3"
    pause = os.environ.get("QA_TEST_PAUSE", "")
    mark = Path(os.environ.get("QA_TEST_MARK", os.devnull))

    def hold() -> None:
        mark.write_text(str(os.getpid()))
        time.sleep(600)

    if pause == "save":
        real_save = np.save

        def slow_save(file: Any, arr: Any, *args: Any, **kwargs: Any) -> None:
            real_save(file, arr, *args, **kwargs)
            if str(file).endswith("bm25_base.npy"):
                hold()

        qa.index.store.np.save = slow_save  # type: ignore[assignment]
    elif pause == "manifest":
        real_replace = os.replace

        def slow_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if Path(dst).name == "manifest.json":
                hold()
            real_replace(src, dst, *args, **kwargs)

        qa.index.store.os.replace = slow_replace  # type: ignore[assignment]
    return main(argv if argv is not None else sys.argv[1:], encoder=FakeEncoder(model))


# ---------------------------------------------------------------------------- live server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_servers: dict[int, str] = {}
_servers_lock = threading.Lock()


def live_url(assistant: Any) -> str:
    """The real app for ``assistant`` served by uvicorn on 127.0.0.1 (started once)."""
    with _servers_lock:
        key = id(assistant)
        if key in _servers:
            return _servers[key]
        import uvicorn

        import app as web

        application = web.create_app(assistant, [])
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port,
                                               log_level="warning", timeout_keep_alive=30))
        thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the test server on port {port} did not start")
            time.sleep(0.02)

        def stop() -> None:
            server.should_exit = True
            thread.join(10)

        atexit.register(stop)
        url = f"http://127.0.0.1:{port}"
        _servers[key] = url
        return url


if __name__ == "__main__":  # python tests/robustfixtures.py build --source … --index …
    sys.exit(fake_cli())
