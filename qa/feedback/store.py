"""The feedback store: one SQLite file (``feedback.sqlite3``) under the data folder.

Written by the web server's threads and read by ``qa feedback export`` in another process,
so the database runs in WAL mode (readers never block the writer), every write takes the
write lock first (``BEGIN IMMEDIATE``) and waits up to ``BUSY_SECONDS`` for it, and each
commit is synced (``synchronous=FULL``): a process killed with SIGKILL loses at most the
vote it was writing, never one already answered 201.

Bounded: at most ``max_rows`` votes are kept, the oldest dropped first (a flood of votes
can push out old ones but cannot grow the file), and every text has a length limit.
Nothing about the voter is stored but the optional ``name`` they typed: no IP address.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "feedback.sqlite3"
DEFAULT_MAX_ROWS = 50_000
BUSY_SECONDS = 10.0
VOTES = ("up", "down")


@dataclass(frozen=True)
class Limits:
    """The longest text each field may hold, in characters."""

    question: int = 1000
    answer: int = 2000
    span: int = 1000
    name: int = 40
    doc: int = 500
    generation: int = 200


LIMITS = Limits()


@dataclass(frozen=True)
class Piece:
    """``text == report(doc)[start:end]``: a cited or a corrected span of a report."""

    doc: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Vote:
    """One vote on one answer. ``evidence`` is a short verbatim window of the report around
    the span the vote says is right (the correction, or the cited answer of an up-vote),
    made when the vote is taken, for the exported eval item."""

    question: str
    vote: str
    answer: str = ""
    citation: Piece | None = None
    correction: Piece | None = None
    not_in_report: bool = False
    generation: str = ""
    name: str = ""
    evidence: str = ""
    id: int = 0
    created: str = ""


def data_dir() -> Path:
    """The data folder: ``QA_DATA_DIR``, else ``data/`` in the working directory."""
    return Path(os.environ.get("QA_DATA_DIR") or "data")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    question TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    answer TEXT NOT NULL DEFAULT '',
    cite_doc TEXT, cite_start INTEGER, cite_end INTEGER, cite_text TEXT,
    fix_doc TEXT, fix_start INTEGER, fix_end INTEGER, fix_text TEXT,
    not_in_report INTEGER NOT NULL DEFAULT 0 CHECK (not_in_report IN (0, 1)),
    generation TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    evidence TEXT NOT NULL DEFAULT ''
)
"""
_COLUMNS = ("id, created, question, vote, answer, cite_doc, cite_start, cite_end, cite_text, "
            "fix_doc, fix_start, fix_end, fix_text, not_in_report, generation, name, evidence")


def check_vote(vote: Vote, limits: Limits = LIMITS) -> None:
    """ValueError when ``vote`` breaks a rule of the store (the API says why first)."""
    if vote.vote not in VOTES:
        raise ValueError(f"vote must be one of {VOTES}")
    if not vote.question.strip():
        raise ValueError("the question is empty")
    if vote.correction is not None and vote.not_in_report:
        raise ValueError("a correction and not_in_report exclude each other")
    sized = [(vote.question, limits.question, "question"), (vote.answer, limits.answer, "answer"),
             (vote.name, limits.name, "name"), (vote.generation, limits.generation, "generation"),
             (vote.evidence, limits.span, "evidence")]
    for piece, what in ((vote.citation, "citation"), (vote.correction, "correction")):
        if piece is not None:
            sized += [(piece.text, limits.span, what), (piece.doc, limits.doc, f"{what} doc")]
            if not 0 <= piece.start <= piece.end:
                raise ValueError(f"{what}: start and end out of order")
    for text, most, what in sized:
        if len(text) > most:
            raise ValueError(f"{what} is longer than {most} characters")


class FeedbackStore:
    """Votes in ``<folder>/feedback.sqlite3``. Thread- and process-safe: every call opens
    its own connection (cheap for SQLite), so no connection is shared between threads."""

    def __init__(self, folder: Path | str | None = None, max_rows: int = DEFAULT_MAX_ROWS,
                 limits: Limits = LIMITS) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self.folder = Path(folder) if folder is not None else data_dir()
        self.path = self.folder / FILE_NAME
        self.max_rows, self.limits = max_rows, limits
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
            db.execute("PRAGMA synchronous=FULL")
            yield db
        finally:
            db.close()

    def journal_mode(self) -> str:
        with self._connect() as db:
            return str(db.execute("PRAGMA journal_mode").fetchone()[0])

    def add(self, vote: Vote) -> int:
        """Store ``vote`` (ValueError if it breaks a limit) and return its id; the oldest
        votes beyond ``max_rows`` are dropped in the same transaction."""
        check_vote(vote, self.limits)
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        c, f = vote.citation, vote.correction
        values = (created, vote.question, vote.vote, vote.answer,
                  c and c.doc, c and c.start, c and c.end, c and c.text,
                  f and f.doc, f and f.start, f and f.end, f and f.text,
                  int(vote.not_in_report), vote.generation, vote.name, vote.evidence)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row_id = int(db.execute(
                    f"INSERT INTO votes ({_COLUMNS.removeprefix('id, ')}) "
                    f"VALUES ({', '.join('?' * len(values))})", values).lastrowid or 0)
                db.execute("DELETE FROM votes WHERE id <= ?", (row_id - self.max_rows,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return row_id

    def votes(self) -> list[Vote]:
        """Every vote kept, oldest first."""
        with self._connect() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM votes ORDER BY id").fetchall()
        return [_vote(row) for row in rows]

    def count(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT count(*) FROM votes").fetchone()[0])


def _piece(doc: str | None, start: int | None, end: int | None, text: str | None
           ) -> Piece | None:
    if doc is None or start is None or end is None:
        return None
    return Piece(doc, int(start), int(end), text or "")


def _vote(row: tuple) -> Vote:
    (row_id, created, question, vote, answer, *rest) = row
    citation, correction = _piece(*rest[0:4]), _piece(*rest[4:8])
    not_in_report, generation, name, evidence = rest[8:]
    return Vote(question, vote, answer, citation, correction, bool(not_in_report), generation,
                name, evidence, int(row_id), created)
