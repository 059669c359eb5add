"""The shelf: the reports of a source folder, listed, added and removed — one place the
command line (`qa list`, `qa add`, `qa remove`) and the HTTP API both call.

A report's id is its path relative to the source folder (for a report added here, its file
name, e.g. ``qingshi-2024.pdf``): what ``Index.reports[...].rel`` holds and what
``Assistant.ask(..., reports=[id])`` takes. It stays the same while the file is on the shelf.

An added file is checked and converted first (its type decided by its content, its name
given the suffix of that type); only then is it written into the folder, atomically, so a
refused file leaves the shelf as it was. What the listing shows of each report (title,
format, paragraphs, when it was added, sha256) is kept in ``<source>/.shelf.json`` (a hidden
file: not a report) and recomputed for a file it does not describe. Updating the index is
the caller's job (qa/index/load.open_index rebuilds a stale index, re-embedding only the new
paragraphs).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa.atomic import exclusive_lock, write_atomically, write_text_atomically
from qa.config import Settings
from qa.errors import QAError, SourceError
from qa.index.build import make_chunks
from qa.text.documents import Report, display_path, report_from_bytes
from qa.text.documents import list_reports as report_files
from qa.text.readers import LIMITS, detect_format

RECORD = ".shelf.json"
_SUFFIX = {"pdf": ".pdf", "docx": ".docx", "html": ".html"}
#: what a file name may not hold: path separators, control characters, characters Windows
#: refuses, and a leading dot (a hidden file is not a report).
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


class ShelfConflict(QAError):
    """The file is already on the shelf (the same content, or another with its name)."""


class UnknownReport(QAError):
    """No report on the shelf has this id."""

    exit_code = 2


@dataclass(frozen=True)
class Entry:
    """One report on the shelf, as `qa list` and ``GET /api/reports`` show it."""

    id: str  # path relative to the source folder: the report's id everywhere
    title: str
    file: str  # the file's name
    format: str  # txt, md, pdf, docx or html
    paragraphs: int  # paragraphs indexed (headings included), as the index cuts them
    added: str  # UTC, ISO 8601 (the file's modification time when not added by the shelf)
    sha256: str
    bytes: int
    doc: str  # the path citations carry in ``doc``

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def title_of(report: Report) -> str:
    """The document's own title (PDF info, HTML <title>, Word core title), else its first
    non-blank line, at most 80 characters."""
    own = report.converted.title.strip() if report.converted else ""
    first = next((line.strip() for line in report.text.splitlines() if line.strip()), "")
    return (own or first.lstrip("\ufeff"))[:80]


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _entry(source: Path, report: Report, data: bytes, settings: Settings, added: str) -> Entry:
    path = source / report.rel
    fmt = report.converted.format if report.converted else path.suffix.lower().lstrip(".")
    return Entry(report.rel, title_of(report), path.name, fmt,
                 len(make_chunks([report], settings)), added,
                 hashlib.sha256(data).hexdigest(), len(data), display_path(path))


def _locked(source: Path) -> contextlib.AbstractContextManager[None]:
    """One shelf change (or record update) at a time across processes."""
    return exclusive_lock(source / ".shelf.lock", lambda exc: SourceError(
        f"cannot write the reports folder {source} ({exc.strerror})"))


def _read_record(source: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((source / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    reports = data.get("reports") if isinstance(data, dict) else None
    return reports if isinstance(reports, dict) else {}


def _write_record(source: Path, record: dict[str, dict[str, Any]]) -> None:
    text = json.dumps({"reports": record}, ensure_ascii=False, indent=1, sort_keys=True)
    write_text_atomically(source / RECORD, text + "\n")


def shelf_name(name: str, data: bytes) -> str:
    """The file name a report is stored under: the given name's last part, made safe, with
    the suffix of the type its content is (a .txt or .md name kept for plain text; a PDF,
    Word or HTML name kept for content of no known type, so its refusal says what is wrong)."""
    base = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip().lstrip(".")
    stem, dot, suffix = base.rpartition(".")
    stem, suffix = (stem, "." + suffix.lower()) if dot else (base, "")
    kind = detect_format(data)
    if kind in _SUFFIX:
        ext = _SUFFIX[kind]
    elif kind == "zip":
        ext = ".docx"  # converted, so that it is refused as a zip that is not a Word file
    elif suffix in (".md", ".pdf", ".docx", ".html", ".htm"):
        ext = suffix
    else:
        ext = ".txt"
    return (stem.strip() or "report")[:120] + ext


def _file_entry(source: Path, path: Path, known: Any, settings: Settings
                ) -> tuple[Entry | None, bool]:
    """(the entry of one file or None when it cannot be read, whether it was computed)."""
    rel = path.relative_to(source).as_posix()
    try:
        data = path.read_bytes()
    except OSError:
        return None, False
    digest = hashlib.sha256(data).hexdigest()
    known = known if isinstance(known, dict) else {}
    if known.get("sha256") == digest:
        with contextlib.suppress(TypeError):
            return Entry(**{**known, "id": rel, "doc": display_path(path)}), False
    try:
        report = report_from_bytes(data, display_path(path), rel)
    except SourceError:
        return None, False
    added = known.get("added") or _iso(path.stat().st_mtime)
    return _entry(source, report, data, settings, str(added)), True


def _scan(source: Path, settings: Settings) -> tuple[list[Entry], list[Entry]]:
    """(every readable report's entry, those not described by the record)."""
    try:
        files = report_files(source)
    except SourceError:
        if source.is_dir():
            return [], []  # an empty shelf
        raise
    record = _read_record(source)
    entries, fresh = [], []
    for path in files:
        entry, computed = _file_entry(source, path, record.get(
            path.relative_to(source).as_posix()), settings)
        if entry is not None:
            entries.append(entry)
            if computed:
                fresh.append(entry)
    return entries, fresh


def _remember(source: Path, entries: list[Entry], forget: tuple[str, ...] = ()) -> None:
    """Record ``entries`` (and drop ``forget``) in the record; the caller holds the lock."""
    record = _read_record(source)
    for e in entries:
        record[e.id] = {k: v for k, v in e.to_dict().items() if k not in ("id", "doc")}
    for rel in forget:
        record.pop(rel, None)
    _write_record(source, record)


def list_reports(source: Path, settings: Settings) -> list[Entry]:
    """Every readable report on the shelf, in file order (a file that cannot be read is left
    out: the build names it). What had to be computed is recorded when the folder can be
    written."""
    entries, fresh = _scan(source, settings)
    if fresh:
        with contextlib.suppress(OSError, SourceError), _locked(source):
            _remember(source, fresh)
    return entries


def _refused(exc: SourceError) -> SourceError:
    return SourceError(str(exc).removesuffix("; skipped") + "; not added")


def add_report(source: Path, name: str, data: bytes, settings: Settings) -> Entry:
    """Check and convert ``data`` (a file called ``name``), then put it on the shelf and
    return its entry. Refused — the shelf untouched — when it is too large, of no report
    type, damaged, encrypted or without text (SourceError, naming ``name``) or already on
    the shelf (ShelfConflict)."""
    if len(data) > LIMITS.max_bytes:
        raise SourceError(f"{name}: {len(data) / 2**20:.1f} MB, more than the limit of "
                          f"{LIMITS.max_bytes / 2**20:.0f} MB for one report; not added")
    rel = shelf_name(name, data)
    try:
        report = report_from_bytes(data, name, rel)
    except SourceError as exc:
        raise _refused(exc) from None
    source.mkdir(parents=True, exist_ok=True)
    with _locked(source):
        _check_new(source, rel, hashlib.sha256(data).hexdigest(), name)
        write_atomically(source / rel, lambda tmp: tmp.write_bytes(data))
        report = Report(display_path(source / rel), report.text, report.encoding, rel,
                        report.converted)
        entry = _entry(source, report, data, settings, _iso(time.time()))
        _remember(source, [entry])
    return entry


def _check_new(source: Path, rel: str, digest: str, name: str) -> None:
    if (source / rel).exists():
        raise ShelfConflict(f"{name}: a report called {rel} is already on the shelf; "
                            "remove it first or rename the file; not added")
    with contextlib.suppress(SourceError):
        for path in report_files(source):
            if hashlib.sha256(path.read_bytes()).hexdigest() == digest:
                other = path.relative_to(source).as_posix()
                raise ShelfConflict(f"{name}: the same file is already on the shelf as "
                                    f"{other}; not added")


def remove_report(source: Path, report_id: str, settings: Settings) -> Entry:
    """Take the report ``report_id`` (its id, or the path citations give) off the shelf and
    return its entry; UnknownReport when there is none, ShelfConflict for the last one (an
    index needs a report)."""
    with _locked(source):
        entries, _ = _scan(source, settings)
        entry = next((e for e in entries if report_id in (e.id, e.doc)), None)
        if entry is None:
            raise UnknownReport(f"no report {report_id!r} on the shelf (see: qa list)")
        if len(entries) == 1:
            raise ShelfConflict(f"{entry.id} is the last report on the shelf; add another "
                                "before removing it")
        os.unlink(source / entry.id)
        _remember(source, [], forget=(entry.id,))
    return entry
