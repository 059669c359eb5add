"""The feedback store on real SQLite files: WAL, concurrent writers (threads and
processes), a writer killed with SIGKILL, the row cap and the length limits; and the
evidence window and the export of votes as eval items."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from qa.evaluation.evalset import validate_eval_set
from qa.feedback.export import eval_items, evidence_window, item_of, to_jsonl
from qa.feedback.store import FILE_NAME, FeedbackStore, Limits, Piece, Vote, data_dir

ROOT = Path(__file__).resolve().parent.parent


def vote(n: int = 0, **kw) -> Vote:
    return Vote(**{"question": f"问题{n}？", "vote": "up", **kw})


def test_the_database_is_in_wal_mode_and_keeps_every_field(tmp_path):
    store = FeedbackStore(tmp_path)
    assert store.journal_mode() == "wal"
    cit, fix = Piece("seeds/a.txt", 3, 9, "签约项目36个"), Piece("seeds/a.txt", 12, 20, "总投资364.2亿元")
    row_id = store.add(Vote("签约了多少个项目？", "down", "签约项目36个", cit, fix, False, "gen-1",
                            "小王", "，总投资364.2亿元，实现"))
    [got] = store.votes()
    assert got.id == row_id == 1 and got.created.endswith("Z")
    assert (got.question, got.vote, got.answer, got.citation, got.correction) == (
        "签约了多少个项目？", "down", "签约项目36个", cit, fix)
    assert (got.not_in_report, got.generation, got.name) == (False, "gen-1", "小王")
    columns = [r[1] for r in sqlite3.connect(store.path).execute("PRAGMA table_info(votes)")]
    assert not [c for c in columns if "ip" in c.split("_") or "addr" in c]


def test_the_data_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "elsewhere"))
    assert data_dir() == tmp_path / "elsewhere"
    assert FeedbackStore().path == tmp_path / "elsewhere" / FILE_NAME
    monkeypatch.delenv("QA_DATA_DIR")
    assert data_dir() == Path("data")


def test_threads_writing_at_once_lose_nothing(tmp_path):
    store = FeedbackStore(tmp_path)
    errors: list[BaseException] = []

    def write(t: int) -> None:
        try:
            for i in range(25):
                store.add(vote(t * 100 + i))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count() == 200
    assert sorted(v.question for v in store.votes()) == sorted(
        f"问题{t * 100 + i}？" for t in range(8) for i in range(25))


WRITER = textwrap.dedent("""
    import sys
    from qa.feedback.store import FeedbackStore, Vote
    store = FeedbackStore(sys.argv[1])
    tag, count = sys.argv[2], int(sys.argv[3])
    for i in range(count):
        store.add(Vote(f"{tag}-{i}", "up"))
        print(i, flush=True)
""")


def _writer(folder: Path, tag: str, count: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", WRITER, str(folder), tag, str(count)],
                            stdout=subprocess.PIPE, text=True, env=env)


def test_processes_writing_at_once_lose_nothing(tmp_path):
    FeedbackStore(tmp_path)
    procs = [_writer(tmp_path, f"p{n}", 60) for n in range(3)]
    for p in procs:
        p.communicate(timeout=120)
        assert p.returncode == 0
    assert FeedbackStore(tmp_path).count() == 180


def test_a_writer_killed_with_sigkill_leaves_a_database_that_holds_its_votes(tmp_path):
    FeedbackStore(tmp_path)
    proc = _writer(tmp_path, "killed", 100_000)
    acknowledged = -1
    assert proc.stdout is not None
    while acknowledged < 40:  # votes it has committed (it prints after each commit)
        acknowledged = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    db = sqlite3.connect(tmp_path / FILE_NAME)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = FeedbackStore(tmp_path)
    held = {v.question for v in store.votes()}
    assert {f"killed-{i}" for i in range(acknowledged + 1)} <= held
    store.add(vote(1))  # and it takes new votes
    assert store.count() == len(held) + 1


def test_beyond_the_cap_the_oldest_votes_are_dropped(tmp_path):
    store = FeedbackStore(tmp_path, max_rows=5)
    for i in range(12):
        store.add(vote(i))
    kept = store.votes()
    assert [v.question for v in kept] == [f"问题{i}？" for i in range(7, 12)]
    size = store.path.stat().st_size
    for i in range(200):
        store.add(vote(i, answer="长" * 500))
    assert store.count() == 5
    with sqlite3.connect(store.path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert store.path.stat().st_size < size + 64 * 1024  # the file did not grow with the flood


@pytest.mark.parametrize("bad", [
    vote(answer="长" * 2001), vote(name="名" * 41), vote(question="问" * 1001),
    vote(vote="maybe"), vote(question="  "),
    vote(vote="down", correction=Piece("d", 1, 2, "x"), not_in_report=True),
    vote(citation=Piece("d", 5, 2, "x")),
])
def test_a_vote_breaking_a_limit_is_refused(tmp_path, bad):
    store = FeedbackStore(tmp_path, limits=Limits())
    with pytest.raises(ValueError):
        store.add(bad)
    assert store.count() == 0


# ------------------------------------------------------------------ evidence and export

LINE = "产业稳链延链。参加第二届儒商大会，签约项目36个，总投资364.2亿元。\n下一段"


def test_the_evidence_window_holds_the_span_within_its_line_and_limits():
    start = LINE.index("签约项目36个")
    gold = evidence_window(LINE, start, start + len("签约项目36个"))
    assert gold is not None and gold.answer == "签约项目36个"
    assert gold.answer in gold.evidence and gold.evidence in LINE
    assert 6 <= len(gold.evidence) <= 40 and "\n" not in gold.evidence
    across = evidence_window(LINE, LINE.index("总投资"), len(LINE))  # across the break
    assert across is not None and across.answer == "总投资364.2亿元。"
    assert evidence_window("短句\n36个\n", 3, 6) is None  # a line too short for evidence
    long = evidence_window("甲" * 100, 10, 90)
    assert long is not None and len(long.answer) == len(long.evidence) == 40


def test_votes_become_eval_items_the_eval_set_accepts():
    fix_at = LINE.index("364.2亿元")
    fix = Piece("r.txt", fix_at, fix_at + 8, "364.2亿元")
    gold = evidence_window(LINE, fix.start, fix.end)
    assert gold is not None
    votes = [
        Vote("总投资多少？", "up", "签约项目36个", Piece("r.txt", 0, 7, "产业稳链延链。"),
             evidence="产业稳链延链。参加", id=1),
        Vote("总投资多少？", "down", "签约项目36个", None, fix, evidence=gold.evidence, id=2),
        Vote("火星上有城市吗？", "down", "签约项目36个", not_in_report=True, id=3),
        Vote("说了什么？", "down", "签约项目36个", id=4),  # a bare 👎: no item
    ]
    items = eval_items(votes)
    assert [(i.id, i.question, i.answers, i.type) for i in items] == [
        ("fb-000002", "总投资多少？", ("364.2亿元",), "numeric"),
        ("fb-000003", "火星上有城市吗？", (), "unanswerable")]
    assert validate_eval_set(items, {"r.txt": LINE}) == []
    assert item_of(votes[3]) is None
    assert to_jsonl(items).splitlines()[1] == (
        '{"id": "fb-000003", "question": "火星上有城市吗？", "answers": [], "evidence": "", '
        '"type": "unanswerable"}')
