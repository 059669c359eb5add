"""The shelf as the server sees it: the assistant that answers now, the reports on the
shelf, and the background rebuild that replaces the one with a generation holding the other.

An upload or a removal changes the source folder at once (qa/index/shelf.py: a report is
converted, and refused, before it is stored). The index is then rebuilt from that folder in
a background thread (the previous build's vectors are reused, so only a new report's
paragraphs are embedded) while questions keep being answered by the generation already
loaded. The new generation replaces the old one in one reference assignment: a question
holds one generation from its first stage to its last. A report removed from the shelf is
left out of every answer at once, before the rebuild that drops it is done. A report put
in the folder or taken out of it another way (`qa add` while the server runs, a file copied
in) is noticed by ``watch``, which looks at the folder every few seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import SourceError, UsageError
from qa.index import shelf
from qa.text.documents import list_reports

if TYPE_CHECKING:
    from qa.assistant import Assistant
    from qa.config import Settings
    from qa.schema import Answer, Trace

log = logging.getLogger(__name__)

Build = Callable[["Assistant"], "Assistant"]


class UnknownReport(UsageError):
    """A report id that is not on the shelf."""


class NotIndexedYet(UsageError):
    """A report on the shelf whose index is still being built."""


class ShelfError(Exception):
    """A shelf edit refused: ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def rebuild_from(source: Path, index_dir: Path) -> Build:
    """The default rebuild: the index of ``source`` opened (rebuilt when stale, with the
    previous build's vectors as a cache) with the current assistant's settings and model."""

    def build(current: Assistant) -> Assistant:
        from qa.assistant import load_assistant

        return load_assistant(source, index_dir, settings=current.settings,
                              encoder=current.encoder, log=lambda msg: log.info("%s", msg))

    return build


class Library:
    """The current generation, the shelf, and the rebuild between them. Thread-safe.

    Offers what the web layer asks of an ``Assistant`` (``ask``, ``ask_traced``,
    ``source_text``, ``stats``, ``settings``) from whichever generation is current.
    ``source`` None (an assistant handed in without its folder) makes a read-only shelf
    listing the indexed reports."""

    def __init__(self, assistant: Assistant, source: Path | None = None,
                 build: Build | None = None) -> None:
        self._current = assistant
        self.source = source
        self._build = build
        self._cond = threading.Condition()
        self._entries: list[dict[str, Any]] | None = None  # the shelf's listing, cached
        self._listing_changes = 0  # times the cached listing was dropped (_forget_listing)
        self._edits = 0  # shelf edits made
        self._built = 0  # shelf edits the current generation holds
        self._worker: threading.Thread | None = None
        self._hidden: frozenset[str] = frozenset()  # removed, still in the current generation
        self.generation = 1
        self.error = ""
        self._seen = folder_state(source)  # the folder as the last (re)build found it
        self._stop = threading.Event()

    # ------------------------------------------------------------ answering

    @property
    def current(self) -> Assistant:
        return self._current

    @property
    def settings(self) -> Settings:
        return self._current.settings

    def ask(self, question: Any, top_k: int = 3, mode: str = "hybrid",
            reports: Sequence[str] | None = None,
            history: Sequence[str] | None = None) -> Answer:
        """``Assistant.ask`` of the current generation; ``reports`` are cited paths."""
        assistant = self._current
        return assistant.ask(question, top_k, mode, self._shown(assistant, reports), history)

    def ask_traced(self, question: Any, top_k: int = 3, mode: str = "hybrid",
                   reports: Sequence[str] | None = None,
                   history: Sequence[str] | None = None) -> tuple[Answer, Trace]:
        assistant = self._current
        return assistant.ask_traced(question, top_k, mode, self._shown(assistant, reports),
                                    history)

    def _shown(self, assistant: Assistant, reports: Sequence[str] | None
               ) -> Sequence[str] | None:
        """``reports`` less those taken off the shelf since ``assistant`` was built."""
        hidden = self._hidden
        if not hidden:
            return reports
        shown = [r.path for r in assistant.index.reports.values() if r.rel not in hidden]
        return shown if reports is None else [r for r in reports if r in shown]

    def source_text(self, doc: str) -> str:
        return self._current.source_text(doc)

    @property
    def index_generation(self) -> str:
        """The stored generation answering now (the manifest's name), or ``memory-N`` for
        an index built in memory: recorded with every vote, keys the suggestions' cache."""
        return self._current.index.generation or f"memory-{self.generation}"

    def stats(self) -> dict[str, Any]:
        return {**self._current.stats(), **self.status()}

    def backend_health(self) -> dict[str, Any]:
        """The index backend, and whether it answers now (``ok``, ``error``)."""
        return self._current.index.searcher().health()

    def status(self) -> dict[str, Any]:
        """Whether a rebuild is running, the generation answering, the last build error."""
        with self._cond:
            return {"building": self._worker is not None, "generation": self.generation,
                    "error": self.error}

    # ------------------------------------------------------------ the shelf

    @property
    def editable(self) -> bool:
        return self.source is not None and self._build is not None

    def entries(self) -> list[dict[str, Any]]:
        """Every report on the shelf as JSON (qa/index/shelf.py ``Entry``), with whether the
        generation answering now holds it (``indexed``). Read from the folder once per
        shelf edit and generation, not once per question."""
        with self._cond:
            if self._entries is not None:
                return self._entries
            current, hidden, stamp = self._current, self._hidden, self._listing_changes
        if self.source is None:
            listed = [self._indexed_entry(r) for r in current.index.reports.values()]
        else:
            held = {r.rel for r in current.index.reports.values()}
            listed = [{**e.to_dict(), "indexed": e.id in held and e.id not in hidden}
                      for e in shelf.list_reports(self.source, current.settings)]
        with self._cond:
            # A swap or an edit while this listing was read: it is stale, do not keep it.
            if self._listing_changes == stamp:
                self._entries = listed
        return listed

    def _forget_listing(self) -> None:
        """Drop the cached listing (the caller holds ``_cond``)."""
        self._entries = None
        self._listing_changes += 1

    def _indexed_entry(self, report: Any) -> dict[str, Any]:
        return {"id": report.rel, "title": Path(report.rel).stem,
                "file": Path(report.rel).name, "format": Path(report.rel).suffix.lstrip("."),
                "doc": report.path, "indexed": True}

    def resolve(self, ids: Sequence[str]) -> list[str]:
        """The cited paths of the reports ``ids`` name; UnknownReport for an id not on the
        shelf, NotIndexedYet for one the answering generation does not hold yet."""
        by_id = {e["id"]: e for e in self.entries()}
        docs = []
        for report_id in ids:
            entry = by_id.get(report_id)
            if entry is None:
                raise UnknownReport(f"no report with id {report_id!r} on the shelf"
                                    "（书架上没有这份报告）")
            if not entry["indexed"]:
                raise NotIndexedYet(f"report {report_id!r} is still being indexed; ask again "
                                    "in a moment（这份报告正在建立索引，请稍候）")
            docs.append(entry["doc"])
        return docs

    def add(self, name: str, data: bytes) -> dict[str, Any]:
        """Convert and store one report, then rebuild in the background; ShelfError when it
        is refused (422; 409 when it is already on the shelf), the shelf untouched."""
        self._check_editable()
        try:
            entry = shelf.add_report(self.source, name, data, self.settings).to_dict()
        except shelf.ShelfConflict as exc:
            raise ShelfError(409, str(exc)) from None
        except SourceError as exc:
            raise ShelfError(422, str(exc)) from None
        with self._cond:
            self._hidden = self._hidden - {entry["id"]}
            self._forget_listing()
            self._seen = folder_state(self.source)
        self.refresh()
        return {**entry, "indexed": False}

    def remove(self, report_id: str) -> dict[str, Any]:
        """Take one report off the shelf: out of every answer at once, out of the index
        after the background rebuild. ShelfError 404 for an unknown id, 409 for the last
        report."""
        self._check_editable()
        try:
            entry = shelf.remove_report(self.source, report_id, self.settings).to_dict()
        except shelf.UnknownReport as exc:
            raise ShelfError(404, str(exc)) from None
        except shelf.ShelfConflict as exc:
            raise ShelfError(409, str(exc)) from None
        with self._cond:
            self._hidden = self._hidden | {entry["id"]}
            self._forget_listing()
            self._seen = folder_state(self.source)
        self.refresh()
        return {**entry, "indexed": False}

    def _check_editable(self) -> None:
        if not self.editable:
            raise ShelfError(403, "this server's shelf is read-only")

    # ------------------------------------------------------------ rebuilding

    def refresh(self) -> None:
        """Rebuild from the source folder in the background; edits made while a rebuild
        runs are taken up by one more rebuild after it."""
        with self._cond:
            self._edits += 1
            if self._worker is None:
                self._worker = threading.Thread(target=self._rebuild, name="qa-rebuild",
                                                daemon=True)
                self._worker.start()

    def notice_changes(self) -> bool:
        """Rebuild (in the background) when the reports folder is not as last seen; True
        when it changed."""
        if not self.editable:
            return False
        state = folder_state(self.source)
        with self._cond:
            if state == self._seen:
                return False
            self._seen = state
            self._forget_listing()
        log.info("the reports folder changed: rebuilding")
        self.refresh()
        return True

    def watch(self, seconds: float) -> threading.Thread | None:
        """Look at the reports folder every ``seconds`` from a daemon thread (0: never)."""
        if seconds <= 0 or not self.editable:
            return None

        def loop() -> None:
            while not self._stop.wait(seconds):
                try:
                    self.notice_changes()
                except Exception:  # a folder that cannot be read now may be readable later
                    log.exception("looking at the reports folder failed")

        watcher = threading.Thread(target=loop, name="qa-watch", daemon=True)
        watcher.start()
        return watcher

    def close(self) -> None:
        """Stop watching the folder."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no rebuild is running (True) or ``timeout`` seconds pass (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._worker is None, timeout)

    def _rebuild(self) -> None:
        assert self._build is not None
        while True:
            with self._cond:
                if self._built >= self._edits:
                    self._worker = None
                    self._cond.notify_all()
                    return
                target = self._edits
            try:
                fresh = self._build(self._current)
            except Exception as exc:  # the shelf stays answerable by the old generation
                log.exception("rebuilding the index failed")
                with self._cond:
                    self.error, self._built = f"rebuilding the index failed: {exc}", target
                continue
            self._swap(fresh, target)

    def _swap(self, fresh: Assistant, target: int) -> None:
        held = {r.rel for r in fresh.index.reports.values()}
        with self._cond:
            self._current = fresh
            self._forget_listing()
            self._hidden = frozenset(self._hidden & held)
            self.generation += 1
            self._built, self.error = target, ""
        log.info("generation %d answering: %d report(s)", self.generation, len(held))


def folder_state(source: Path | None) -> tuple[tuple[str, int, int], ...]:
    """Each report file of ``source`` with its size and modification time: what changes
    when a report is added, replaced or removed (empty when the folder cannot be listed)."""
    if source is None:
        return ()
    try:
        files = list_reports(source)
    except (SourceError, OSError):
        return ()
    out = []
    for path in files:
        try:
            st = path.stat()
        except OSError:  # removed between the listing and now
            continue
        out.append((str(path.relative_to(source)), st.st_size, st.st_mtime_ns))
    return tuple(out)
