"""The Milvus backend (qa/index/milvus.py) against the local one (qa/index/backend.py).

milvus-lite runs embedded (a folder inside the index folder) for most tests, and once as
``milvus-lite server`` on a loopback port reached by URI with the same client code. The
equality tests ask every eval question on both backends and require the same answers,
offsets and rankings, with BM25 scores equal to 1e-6 relative.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.assistant import Assistant
from qa.bench.corpus import generate
from qa.cli import main
from qa.index import milvus
from qa.index.build import build_index
from qa.index.store import load_index, read_manifest, save_index

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = next(SEEDS.glob("*.txt"))
QUESTIONS = [json.loads(line)["question"]
             for line in (ROOT / "eval" / "qa.jsonl").read_text("utf-8").splitlines()
             if line.strip()]


def _milvus(settings, uri: str = ""):  # type: ignore[no-untyped-def]
    return replace(settings, backend="milvus", milvus_uri=uri)


def assert_same(local: Assistant, other: Assistant, questions: list[str],
                reports: list[str] | None = None) -> int:
    """Every question answered alike; returns how many hits were compared."""
    compared = 0
    for q in questions:
        a, ta = local.ask_traced(q, reports=reports)
        b, tb = other.ask_traced(q, reports=reports)
        assert b.to_dict() == a.to_dict(), q
        assert tb.retrieval.ranking == ta.retrieval.ranking, q
        x = np.array([(h.bm25, h.dense) for h in ta.retrieval.hits])
        y = np.array([(h.bm25, h.dense) for h in tb.retrieval.hits])
        if len(x):
            np.testing.assert_allclose(y[:, 0], x[:, 0], rtol=1e-6, atol=0, err_msg=q)
            np.testing.assert_array_equal(y[:, 1], x[:, 1], err_msg=q)  # the same vectors
        compared += len(x)
    return compared


@pytest.fixture(scope="module")
def on_milvus(assistant, tmp_path_factory) -> Assistant:
    """The bundled report indexed into milvus-lite in its index folder."""
    from qa import load_assistant

    folder = tmp_path_factory.mktemp("milvus-index")
    return load_assistant(SEEDS, folder, settings=_milvus(assistant.settings),
                          encoder=assistant.encoder)


@pytest.mark.slow
def test_bundled_report_every_eval_question_alike(assistant, on_milvus):
    assert on_milvus.index.searcher().name == "milvus"
    assert assistant.index.searcher().name == "local"
    assert assert_same(assistant, on_milvus, QUESTIONS) > 0


def test_manifest_records_backend_and_lite_file(on_milvus):
    backend = on_milvus.index.searcher()
    index_dir = Path(backend.uri).parent
    manifest = read_manifest(index_dir)
    assert manifest["backend"]["name"] == "milvus"
    assert manifest["backend"]["uri"] == milvus.LITE_FILE  # inside the index folder
    assert (index_dir / milvus.LITE_FILE).is_dir()
    assert manifest["backend"]["collection"] == backend.collection
    assert on_milvus.stats()["backend"]["collection"] == backend.collection
    assert on_milvus.index.searcher().health()["ok"] is True


def test_a_changed_backend_rebuilds_the_index(assistant, tmp_path):
    from qa.index.load import open_index

    log: list[str] = []
    local = assistant.settings
    open_index(SEEDS, tmp_path, local, assistant.encoder, log=log.append)
    index, _ = open_index(SEEDS, tmp_path, _milvus(local), assistant.encoder, log=log.append)
    assert any("backend changed ('local' → 'milvus')" in m for m in log)
    assert index.searcher().name == "milvus"
    assert read_manifest(tmp_path)["backend"]["name"] == "milvus"


def test_rebuild_switches_the_alias_and_the_old_collection_still_answers(on_milvus, tmp_path):
    from qa.index.load import open_index

    settings, encoder = on_milvus.settings, on_milvus.encoder
    first, _ = open_index(SEEDS, tmp_path, settings, encoder)
    names = []
    for _ in range(2):
        index, _ = open_index(SEEDS, tmp_path, settings, encoder, rebuild=True)
        names.append(index.searcher().collection)
    client = milvus.connect(str(tmp_path / milvus.LITE_FILE))
    assert client.describe_alias(settings.milvus_alias)["collection_name"] == names[-1]
    # the current and the one before are kept; older ones dropped
    kept = [c for c in client.list_collections() if c.startswith("qa_paragraphs_gen")]
    assert sorted(kept) == sorted(names)
    assert first.searcher().collection not in kept
    hits = index.searcher().search(["章丘"], np.ones(index.vectors.shape[1], np.float32), None)
    assert len(hits.rows) == len(index.chunks)


@pytest.fixture(scope="module")
def generated_pair(assistant, tmp_path_factory) -> tuple[Assistant, Assistant]:
    """A generated corpus of 3,000 paragraphs in 30 reports (more than ``exhaustive``, so each
    retriever's top 100 are searched), with composed vectors and no span index (so the
    paragraph cosines come from the backend), saved once per backend."""
    encoder, settings = assistant.encoder, assistant.settings
    corpus = generate(SEED_FILE, 3000, per_file=100, variants=4)
    source = tmp_path_factory.mktemp("gen-source")
    corpus.write(source)
    pool = encoder.encode(corpus.pool)
    cache = corpus.composed_vectors(pool, encoder.model_id)
    index = build_index(source, settings, encoder, dict(cache), log=lambda m: None,
                        span_index=False)
    assert index.spans is None and index.timings["embedded"] == 0
    out = []
    for s in (settings, _milvus(settings)):
        folder = tmp_path_factory.mktemp(f"gen-{s.backend}")
        save_index(index, folder, source, s)
        index.backend = None  # _publish set it: each copy is loaded from its own folder
        loaded, manifest = load_index(folder, source, s)
        out.append(Assistant(loaded, encoder, s, list(manifest.get("notices") or [])))
    return out[0], out[1]


@pytest.mark.slow
def test_generated_corpus_every_eval_question_alike(generated_pair):
    local, other = generated_pair
    assert len(local.index.chunks) > local.settings.exhaustive
    assert other.index.searcher().name == "milvus"
    # every third eval question (each costs ~0.2 s a backend here: without a span index the
    # spans of its top paragraphs are embedded when it is asked), half with other places
    places = ["历城", "淄川", "青州", "寿光"]
    questions = [q.replace("章丘", places[i % 4]) if i % 2 else q
                 for i, q in enumerate(QUESTIONS[::3])]
    assert assert_same(local, other, questions) > 0


def test_scoped_search_alike(generated_pair):
    local, other = generated_pair
    reports = sorted({r.rel for r in local.index.reports.values()})
    scopes = [[reports[3]], [reports[0], reports[17]], ["no-such-report.txt"]]
    for scope in scopes:
        assert_same(local, other, QUESTIONS[:8], reports=scope)
        hits = other.retriever.retrieve(_question(other, QUESTIONS[0]), reports=scope).hits
        docs = {other.index.chunks[h.chunk_id].doc for h in hits}
        assert docs <= {r.path for r in other.index.reports.values() if r.rel in scope}
        assert bool(hits) == (scope != scopes[-1])


@pytest.mark.slow
def test_compact_span_index_alike(assistant, tmp_path_factory, monkeypatch):
    """A generated corpus above ``SPAN_EXACT_MAX`` (lowered to 1,000 here): its compact span
    index stays local files beside the collection, and adds the paragraphs of a question's
    nearest spans to Milvus's candidates, scored from the stored BM25 weights."""
    from qa.bench.corpus import pool_span_texts
    from qa.bench.worker import MemoEncoder
    from qa.index import spans as spans_module

    encoder, settings = assistant.encoder, assistant.settings
    corpus = generate(SEED_FILE, 3000, per_file=100, variants=2)
    source = tmp_path_factory.mktemp("compact-source")
    corpus.write(source)
    cache = corpus.composed_vectors(encoder.encode(corpus.pool), encoder.model_id)
    texts = pool_span_texts(corpus.pool)
    memo = MemoEncoder(encoder, dict(zip(texts, encoder.encode(texts))))
    monkeypatch.setattr(spans_module, "SPAN_EXACT_MAX", 1000)
    index = build_index(source, settings, memo, dict(cache), log=lambda m: None)
    assert index.spans is not None and index.spans.form == "compact"
    pair = []
    for s in (settings, _milvus(settings)):
        folder = tmp_path_factory.mktemp(f"compact-{s.backend}")
        save_index(index, folder, source, s)
        index.backend = None
        loaded, manifest = load_index(folder, source, s)
        assert loaded.spans is not None and loaded.spans.form == "compact"
        pair.append(Assistant(loaded, encoder, s, list(manifest.get("notices") or [])))
    places = ["历城", "淄川", "青州", "寿光"]
    questions = [q.replace("章丘", places[i % 4]) if i % 2 else q
                 for i, q in enumerate(QUESTIONS[::12])]
    assert assert_same(pair[0], pair[1], questions) > 0


def _question(assistant: Assistant, text: str):  # type: ignore[no-untyped-def]
    from qa.answer.question import Question

    return Question.analyse(text, assistant.settings.char_ngram, assistant.index.bm25)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"milvus-lite server did not listen on {port}")


@pytest.mark.slow
def test_milvus_lite_server_by_uri(assistant, tmp_path):
    """A real `milvus-lite server` subprocess on loopback, reached by URI; once it is gone,
    health says so and a question fails with one line naming the URI."""
    from qa import load_assistant
    from qa.errors import BackendError

    port = _free_port()
    server = [sys.executable, "-m", "milvus_lite", "server", "--data-dir",
              str(tmp_path / "data"), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(server, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_for(port, proc)
        remote = load_assistant(SEEDS, tmp_path / "index", settings=_milvus(
            assistant.settings, uri), encoder=assistant.encoder)
        assert read_manifest(tmp_path / "index")["backend"]["uri"] == uri
        assert not (tmp_path / "index" / milvus.LITE_FILE).exists()
        assert_same(assistant, remote, QUESTIONS[:40])
        assert remote.index.searcher().health()["ok"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    health = remote.index.searcher().health()
    assert health["ok"] is False and uri in health["error"]
    from fastapi.testclient import TestClient

    from qa.web.server import create_app

    with TestClient(create_app(remote, [])) as c:
        r = c.get("/api/health")
        assert r.status_code == 503 and r.json()["status"] == "backend unavailable"
        assert uri in r.json()["backend"]["error"]
        r = c.post("/api/ask", json={"question": QUESTIONS[0]})
        assert r.status_code == 503 and uri in r.json()["error"]
    with pytest.raises(BackendError) as err:
        remote.ask(QUESTIONS[0])
    assert uri in str(err.value) and "\n" not in str(err.value)


def test_unreachable_uri_is_one_line_naming_it(assistant, tmp_path, monkeypatch, capsys):
    uri = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("QA_MILVUS_URI", uri)
    code = main(["build", "--source", str(SEEDS), "--index", str(tmp_path), "--backend",
                 "milvus"], encoder=assistant.encoder)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("error: ") and uri in err[0], err
    assert not (tmp_path / "manifest.json").exists()
    # the local backend keeps working
    monkeypatch.setenv("QA_BACKEND", "local")
    assert main(["build", "--source", str(SEEDS), "--index", str(tmp_path)],
                encoder=assistant.encoder) == 0
    assert read_manifest(tmp_path)["backend"] == {"name": "local"}


def test_shown_uri_hides_credentials():
    assert milvus.shown_uri("https://user:secret@host:19530") == "https://host:19530"
    assert milvus.shown_uri("/data/index/milvus.db") == "/data/index/milvus.db"
    from qa.config import Settings

    shown = Settings(backend="milvus", milvus_uri="https://user:secret@host:19530").to_dict()
    assert shown["milvus_uri"] == "https://host:19530"


def test_backend_setting_is_checked():
    from qa.config import Settings
    from qa.errors import UsageError

    assert Settings.from_env({"QA_BACKEND": "milvus"}).backend == "milvus"
    with pytest.raises(UsageError, match="backend must be one of local, milvus"):
        Settings.from_env({"QA_BACKEND": "elastic"})


def test_bench_measures_local_first(capsys):
    assert main(["bench", "--backend", "milvus", "--sizes", "10"]) == 2
    assert "local first" in capsys.readouterr().err
    assert main(["bench", "--backend", "local,elastic", "--sizes", "10"]) == 2
