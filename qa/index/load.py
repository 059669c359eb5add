"""Open the index of a source folder: load it from the index folder, or build it when it is
missing, partial, corrupted or stale (and save it, or keep it in memory when the folder
cannot be written, saying so). The one way the CLI, the web server and the library get an
index."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

from qa.config import Settings
from qa.errors import IndexStoreError
from qa.index.build import Index, build_index
from qa.index.store import (
    StaleIndex,
    build_lock,
    load_conversions,
    load_index,
    load_span_cache,
    load_vector_cache,
    save_index,
    source_listing,
)
from qa.index.vectors import Encoder

Log = Callable[[str], None]


def stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def open_index(source: Path, index_dir: Path, settings: Settings, encoder: Encoder,
               rebuild: bool = False, progress: bool = False,
               log: Log = stderr) -> tuple[Index, list[str]]:
    """(the index, the notices to show with it); ``rebuild`` forces a build that must be
    saved (what `qa build` asks for)."""
    if not rebuild:
        try:
            loaded, manifest = load_index(index_dir, source, settings)
            return loaded, list(manifest.get("notices") or [])
        except StaleIndex as why:
            if (index_dir / "manifest.json").exists():
                log(f"notice: {why}; rebuilding the index")
    index, extra = _build(source, index_dir, settings, encoder, progress, log, rebuild)
    return index, index.notices + extra


def _build(source: Path, index_dir: Path, settings: Settings, encoder: Encoder,
           progress: bool, log: Log, force: bool = False) -> tuple[Index, list[str]]:
    notices: list[str] = []
    t = time.perf_counter()
    try:
        with build_lock(index_dir):
            if not force:  # another process may have finished the same build while we waited
                with contextlib.suppress(StaleIndex):
                    return load_index(index_dir, source, settings)[0], notices
            listing = source_listing(source)  # before the build reads the folder
            cache = load_vector_cache(index_dir, encoder.model_id)
            spans = load_span_cache(index_dir, encoder.model_id)
            index = build_index(source, settings, encoder, cache, progress, log, spans,
                                load_conversions(index_dir))
            save_index(index, index_dir, source, settings, listing)
    except IndexStoreError as exc:
        if force:  # `qa build` exists to write the index: failing to is an error
            raise
        msg = f"{exc}: answering from an index built in memory, not saved"
        log(f"notice: {msg}")
        notices.append(msg)
        index = build_index(source, settings, encoder, None, progress, log)
    log(f"index: built {len(index.chunks)} paragraphs from {len(index.reports)} report(s) "
        f"in {time.perf_counter() - t:.1f}s")
    return index, notices
