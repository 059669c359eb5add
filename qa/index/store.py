"""Save and load the index folder: plain files, checksums, atomic replacement, no pickle.

Layout::

    index/manifest.json     format version, settings, model, sources and file checksums
    index/gen-<id>/         chunks.jsonl, bm25.npz (+ vocab/base/idf), vectors.npy, faiss.index
                            and the span index: span_starts.npy, sentence_bm25.npz (+ vocab/
                            base/idf), sentence_owner.npy and the span vectors, spans.npy
                            (float32) up to SPAN_EXACT_MAX paragraphs, else span_codes.npy
                            (8-bit codes), span_scale.npy and span_ann.faiss (IVF-PQ)

A build writes a new ``gen-<id>`` folder under a temporary name, renames it into place and
only then replaces ``manifest.json`` (write to a temporary file, ``os.replace``). The
manifest is what makes an index complete: a build killed at any point leaves the previous
manifest pointing at the previous, intact generation.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from qa.atomic import exclusive_lock
from qa.config import FORMAT_VERSION, Settings
from qa.errors import IndexStoreError, SourceError
from qa.index import milvus
from qa.index.bm25 import SparseBM25
from qa.index.build import Index, content_hash, dense_text, span_key
from qa.index.spans import SpanCache, SpanIndex, load_compact
from qa.index.vectors import VectorIndex
from qa.schema import Chunk
from qa.text.documents import (
    Conversions,
    Report,
    display_path,
    list_reports,
    printable_name,
    read_report,
    report_from_bytes,
)
from qa.text.readers import Converted, converted_from_json, converted_to_json

MANIFEST = "manifest.json"
#: each PDF, Word or HTML report's conversion, by the sha256 of its file: converted once.
CONVERSIONS = "converted.json"


class StaleIndex(Exception):
    """The index on disk cannot serve these sources and settings; the message says why."""


#: sha256_file reads this much at a time. Reading and hashing release the GIL, but a
#: thread waits up to 5 ms (the switch interval) to take it back between blocks while
#: another thread runs Python: few large blocks let a hashing thread run beside one that
#: parses, where 1 MB blocks made both slower.
_HASH_BLOCK = 16 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(min(_HASH_BLOCK, max(os.fstat(f.fileno()).st_size, 1)))
        view = memoryview(buf)
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def source_listing(source: Path) -> dict[str, str]:
    """``{path relative to source: sha256}`` of every report file, readable or not."""
    return {printable_name(p.relative_to(source).as_posix()): sha256_file(p)
            for p in list_reports(source)}


def build_lock(index_dir: Path) -> contextlib.AbstractContextManager[None]:
    """One build at a time per index folder, across processes."""
    return exclusive_lock(index_dir / ".lock", lambda exc: IndexStoreError(
        f"cannot write the index folder {index_dir} ({exc.strerror})"))


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save_index(index: Index, index_dir: Path, source: Path, settings: Settings,
               listing: dict[str, str] | None = None) -> None:
    """Write ``index`` as a new generation and make it current atomically."""
    generation = f"gen-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = index_dir / f".tmp-{generation}"
    backend = _publish(index, index_dir, settings, generation)  # BackendError: nothing written
    try:
        tmp.mkdir(parents=True)
        files = _write_generation(index, tmp)
        final = index_dir / generation
        os.rename(tmp, final)
        _fsync_dir(index_dir)
        # the listing taken before the build read the folder: a report added meanwhile stays new
        sources = source_listing(source) if listing is None else listing
        manifest = _manifest(index, settings, generation, files, sources)
        manifest["backend"] = backend
        manifest_tmp = index_dir / f".{MANIFEST}.{generation}"
        _write_json(manifest_tmp, manifest)
        with open(manifest_tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(manifest_tmp, index_dir / MANIFEST)
        _fsync_dir(index_dir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise IndexStoreError(f"cannot write the index folder {index_dir} ({exc.strerror})") from None
    _remove_old_generations(index_dir, keep=generation)
    index.generation = generation


def _publish(index: Index, index_dir: Path, settings: Settings, generation: str
             ) -> dict[str, Any]:
    """The index put into its backend; what the manifest records of that backend."""
    if settings.backend != "milvus":
        return {"name": "local"}
    index_dir.mkdir(parents=True, exist_ok=True)
    uri, recorded = milvus.where(settings.milvus_uri, index_dir)
    info = milvus.publish(index, uri, recorded, settings.milvus_alias, generation,
                          settings.ann_threshold)
    index.backend = milvus.open_backend(info, uri, index.bm25, index.vectors)
    return info


def _write_generation(index: Index, folder: Path) -> dict[str, str]:
    """Each part of ``index`` into ``folder``, synced; returns each file's sha256."""
    rel_of = {r.path: r.rel for r in index.reports.values()}
    hashes = index.hashes or [content_hash(index.model, dense_text(c)) for c in index.chunks]
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as f:
        for c, digest in zip(index.chunks, hashes):
            f.write(json.dumps({
                "id": c.id, "doc": rel_of[c.doc], "start": c.start, "end": c.end,
                "section": c.section, "kind": c.kind,
                "hash": digest,
            }, ensure_ascii=False) + "\n")
    index.bm25.save(folder)
    index.vector_index.save_with(folder, index.vectors)
    if index.spans is not None:
        index.spans.save(folder)
    _write_json(folder / CONVERSIONS, {r.sha256: converted_to_json(r.converted)
                                       for r in index.reports.values() if r.converted})
    files = {p.name: sha256_file(p) for p in sorted(folder.iterdir())}
    for p in folder.iterdir():
        with open(p, "rb") as f:
            os.fsync(f.fileno())
    return files


def _manifest(index: Index, settings: Settings, generation: str, files: dict[str, str],
              sources: dict[str, str]) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "generation": generation,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": settings.index_fingerprint(),
        "model": index.model,
        "dim": int(index.vectors.shape[1]) if index.vectors.ndim == 2 else 0,
        "vector_index": index.vector_index.kind,
        "tokenizer": {"name": "jieba+numbers", "jieba": _jieba_version(),
                      "char_ngram": settings.char_ngram},
        "sources": sources,
        "indexed": {r.rel: r.encoding for r in index.reports.values()},
        "years": {r.rel: index.years[r.path] for r in index.reports.values()
                  if index.years.get(r.path)},
        "notices": index.notices,
        "files": files,
        "span_index": index.spans is not None,
        "span_form": index.spans.form if index.spans is not None else None,
        "counts": {"documents": len(index.reports), "paragraphs": len(index.chunks),
                   "terms": len(index.bm25.vocab),
                   "spans": index.spans.n_spans if index.spans is not None else 0},
        "timings": {k: round(v, 3) for k, v in index.timings.items()},
    }


def _remove_old_generations(index_dir: Path, keep: str) -> None:
    for p in index_dir.iterdir():
        if p.name != keep and (p.name.startswith("gen-") or p.name.startswith(".tmp-gen-")
                               or p.name.startswith(f".{MANIFEST}.")):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()


def _jieba_version() -> str:
    try:
        from importlib.metadata import version

        return version("jieba")
    except Exception:
        return "unknown"


def read_manifest(index_dir: Path) -> dict[str, Any]:
    path = index_dir / MANIFEST
    if not path.exists():
        raise StaleIndex(f"no index in {index_dir}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise StaleIndex(f"the index manifest is unreadable ({exc})") from None
    return manifest


#: what load_index reads from a manifest, and the JSON type each must have.
_MANIFEST_FIELDS = {"generation": str, "model": str, "settings": dict, "sources": dict,
                    "indexed": dict, "files": dict, "notices": list, "years": dict}


def _check_manifest(manifest: dict[str, Any], settings: Settings) -> None:
    if manifest.get("format_version") != FORMAT_VERSION:
        raise StaleIndex(f"the index has format {manifest.get('format_version')!r}, "
                         f"this version reads {FORMAT_VERSION}")
    for key, kind in _MANIFEST_FIELDS.items():
        if not isinstance(manifest.get(key), kind):
            raise StaleIndex(f"the index manifest is malformed ({key} is missing or of the "
                             "wrong type)")
    if not all(isinstance(y, str) and re.fullmatch(r"\d{4}", y) for y in manifest["years"].values()):
        raise StaleIndex("the index manifest is malformed (years holds something not a year)")
    _check_backend(manifest, settings)
    want = settings.index_fingerprint()
    have = manifest.get("settings") or {}
    changed = [k for k in want if have.get(k) != want[k]]
    if changed:
        k = changed[0]
        raise StaleIndex(f"{k} changed ({have.get(k)!r} → {want[k]!r})")


def _recorded_backend(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's backend; an index from before backends were recorded is local."""
    backend = manifest.get("backend")
    return backend if isinstance(backend, dict) else {"name": "local"}


def _check_backend(manifest: dict[str, Any], settings: Settings) -> None:
    have = _recorded_backend(manifest)
    if have.get("name") != settings.backend:
        raise StaleIndex(f"backend changed ({have.get('name')!r} → {settings.backend!r})")
    if settings.backend == "milvus":
        recorded = milvus.where(settings.milvus_uri, Path("."))[1]
        if have.get("uri") != recorded:
            raise StaleIndex(f"Milvus URI changed ({have.get('uri')!r} → {recorded!r})")


def _open_backend(index: Index, manifest: dict[str, Any], index_dir: Path,
                  settings: Settings) -> None:
    """Set the index's backend to the one its manifest records (local: nothing to open)."""
    info = _recorded_backend(manifest)
    if info.get("name") != "milvus":
        return
    try:
        uri = milvus.where(settings.milvus_uri, index_dir)[0]
        index.backend = milvus.open_backend(info, uri, index.bm25, index.vectors)
    except milvus.MissingCollection as exc:
        raise StaleIndex(str(exc)) from None


def _check_sources(manifest: dict[str, Any], listing: dict[str, str]) -> None:
    recorded = manifest.get("sources") or {}
    if listing != recorded:
        added = sorted(set(listing) - set(recorded))
        removed = sorted(set(recorded) - set(listing))
        edited = sorted(k for k in set(listing) & set(recorded) if listing[k] != recorded[k])
        what = (f"added {added[0]}" if added else f"removed {removed[0]}" if removed
                else f"edited {edited[0]}")
        raise StaleIndex(f"the sources changed since the last build ({what})")


def _read_sources(source: Path, manifest: dict[str, Any], known: Conversions
                  ) -> dict[str, Report]:
    """The indexed reports, each file read once: its bytes give both the sha256 that
    ``_check_sources`` compares (as ``source_listing`` would) and the decoded text (a PDF,
    Word or HTML report's from ``known``, the generation's stored conversions)."""
    listing: dict[str, str] = {}
    raw: dict[str, tuple[Path, bytes, str]] = {}
    indexed = manifest.get("indexed") or {}
    for path in list_reports(source):
        rel = path.relative_to(source).as_posix()
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        listing[printable_name(rel)] = digest
        if rel in indexed:
            raw[rel] = (path, data, digest)
    _check_sources(manifest, listing)
    reports = {}
    for rel in indexed:
        if rel not in raw:  # what read_report would say about it
            reports[rel] = read_report(source / rel, rel, known)
            continue
        path, data, _digest = raw.pop(rel)
        reports[rel] = report_from_bytes(data, display_path(path), rel, known)  # as read_report
    return reports


def _parse_chunks(path: Path, reports: dict[str, Report]) -> list[Chunk]:
    """chunks.jsonl, one JSON object a line, parsed as one JSON array: one C call instead of
    one a line (save_index writes no raw newline inside a line; JSON escapes it)."""
    text = path.read_bytes().decode("utf-8")
    rows = json.loads("[" + text.rstrip("\n").replace("\n", ",") + "]")
    docs = {rel: (r.path, r.text) for rel, r in reports.items()}
    chunks = []
    append = chunks.append
    for row in rows:
        doc, source = docs[row["doc"]]
        start, end = row["start"], row["end"]
        append(Chunk(row["id"], doc, start, end, source[start:end], row["section"], row["kind"]))
    return chunks


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic GC paused: creating 100k chunks triggers full collections that walk every
    object torch and transformers left behind (~0.2 s at 100k paragraphs). Nothing made
    while loading is cyclic garbage; reference counting frees the rest as usual."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


#: the index files, in the order their problems are reported.
_FILES = ("chunks.jsonl",) + SparseBM25.files() + VectorIndex.FILES


def _span_form(manifest: dict[str, Any]) -> str | None:
    """The form of the manifest's span index (qa/index/spans.py), None without one."""
    if manifest.get("span_index") is not True:
        return None
    return "compact" if manifest.get("span_form") == "compact" else "exact"


def load_index(index_dir: Path, source: Path, settings: Settings) -> tuple[Index, dict[str, Any]]:
    """Load a complete, fresh, uncorrupted index or raise StaleIndex saying why not.

    Every index file's sha256 is checked against the manifest before its content is used,
    and every source's against the sources it was built from. The three large files are
    hashed, and once verified read, in two threads (hashlib, numpy and FAISS release the
    GIL) while this thread reads the sources and parses chunks.jsonl. ``vectors.npy`` is
    memory-mapped read-only: a generation's files are written once and never modified in
    place (a build writes a new folder, then replaces the manifest), so the mapping stays
    valid while it is in use, even after a later build removes the folder.
    """
    with _no_gc():
        return _load_index(index_dir, source, settings)


def _load_index(index_dir: Path, source: Path, settings: Settings) -> tuple[Index, dict[str, Any]]:
    manifest = read_manifest(index_dir)
    _check_manifest(manifest, settings)
    gen = index_dir / str(manifest.get("generation", ""))
    files = manifest.get("files") or {}
    form = _span_form(manifest)
    needed = _FILES + (SpanIndex.files(form) if form else ())
    complete = all(name in files and (gen / name).is_file() for name in needed)
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        work = _large_files(pool, gen, files, form) if complete else {}
        error: Exception | None = None
        try:
            known = _conversions(gen, files)
            reports = _read_sources(source, manifest, known)  # StaleIndex if sources changed
        except SourceError as exc:  # reported once the index files are checked, as before
            reports, error = {}, exc
        for name in needed:
            if name not in files or not (gen / name).is_file():
                raise StaleIndex(f"the index is incomplete ({name} is missing)")
        for name in needed:
            if name not in work:
                work[name] = _done(_verified(gen / name, files[name]))
        chunks: list[Chunk] = []
        if work["chunks.jsonl"].result()[0] and error is None:
            try:
                chunks = _parse_chunks(gen / "chunks.jsonl", reports)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                error = exc
        loaded: dict[str, Any] = {}
        for name in needed:
            ok, loaded[name] = work[name].result()
            if not ok:
                raise StaleIndex(f"the index is corrupted ({name} fails its checksum)")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    try:
        for problem in (error, loaded["bm25.npz"], loaded["faiss.index"]):
            if isinstance(problem, Exception):
                raise problem
        bm25 = SparseBM25.load(gen, "bm25", loaded["bm25.npz"])
        vectors = VectorIndex.load_vectors(gen)
        vector_index = loaded["faiss.index"]
        spans = SpanIndex.load(gen, len(chunks), form) if form else None
    except (OSError, ValueError, KeyError, TypeError, SourceError, RuntimeError) as exc:
        raise StaleIndex(f"the index cannot be read ({type(exc).__name__}: {exc})") from None
    if not (len(chunks) == bm25.size == len(vectors) == vector_index.index.ntotal):
        raise StaleIndex("the index files disagree on the number of paragraphs")
    years = {r.path: manifest["years"][r.rel] for r in reports.values()
             if r.rel in manifest["years"]}
    index = Index(chunks, {r.path: r for r in reports.values()}, bm25, vectors, vector_index,
                  str(manifest.get("model")), list(manifest.get("notices") or []), spans=spans,
                  years=years, generation=str(manifest.get("generation", "")))
    _open_backend(index, manifest, index_dir, settings)
    return index, manifest


def _large_files(pool: ThreadPoolExecutor, gen: Path, files: dict[str, Any], form: str | None
                 ) -> dict[str, Future]:
    """The large files of a complete generation, hashed (and some read) in ``pool``."""
    work = {"faiss.index": pool.submit(_verified, gen / "faiss.index", files["faiss.index"],
                                       VectorIndex.load),
            "bm25.npz": pool.submit(_verified, gen / "bm25.npz", files["bm25.npz"],
                                    SparseBM25.read_weights),
            "vectors.npy": pool.submit(_verified, gen / "vectors.npy", files["vectors.npy"])}
    if form == "compact":  # ~1 GB at 100k paragraphs
        work["span_codes.npy"] = pool.submit(_verified, gen / "span_codes.npy",
                                             files["span_codes.npy"])
    return work


def _verified(path: Path, digest: str, read: Callable[[Path], Any] | None = None
              ) -> tuple[bool, Any]:
    """(whether ``path`` has this sha256, ``read(path)`` when it has). A failure to read
    a verified file is returned, not raised, and reported by the caller."""
    if sha256_file(path) != digest:
        return False, None
    if read is None:
        return True, None
    try:
        return True, read(path)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        return True, exc


def _done(value: Any) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def _previous_build(index_dir: Path, model: str, names: tuple[str, ...]
                    ) -> tuple[Path, list[dict[str, Any]]]:
    """The current generation and its chunk rows, when it was built with ``model`` and
    ``names`` and chunks.jsonl pass their checksums (a damaged index must not lend its
    vectors); ValueError otherwise."""
    manifest = read_manifest(index_dir)
    if manifest.get("model") != model:
        raise ValueError("another model")
    gen = index_dir / str(manifest["generation"])
    files = manifest.get("files") or {}
    if any(name not in files or sha256_file(gen / name) != files[name]
           for name in names + ("chunks.jsonl",)):
        raise ValueError("a file fails its checksum")
    with open(gen / "chunks.jsonl", encoding="utf-8") as f:
        return gen, [json.loads(line) for line in f]


_CACHE_ERRORS = (StaleIndex, OSError, ValueError, KeyError, TypeError, AttributeError,
                 IndexError)


def _conversions(gen: Path, files: dict[str, Any]) -> dict[str, Converted]:
    """The conversions stored in generation ``gen`` by the sha256 of their file, when
    converted.json passes its checksum; {} otherwise (the reports are converted again)."""
    try:
        if CONVERSIONS not in files or sha256_file(gen / CONVERSIONS) != files[CONVERSIONS]:
            return {}
        stored = json.loads((gen / CONVERSIONS).read_text(encoding="utf-8"))
        return {digest: converted_from_json(data) for digest, data in stored.items()}
    except _CACHE_ERRORS:
        return {}


def load_conversions(index_dir: Path) -> dict[str, Converted]:
    """The current generation's stored conversions (see ``_conversions``), for a build."""
    try:
        manifest = read_manifest(index_dir)
        return _conversions(index_dir / str(manifest["generation"]), manifest.get("files") or {})
    except _CACHE_ERRORS:
        return {}


def load_vector_cache(index_dir: Path, model: str) -> dict[str, np.ndarray]:
    """Vectors of the previous build keyed by content hash, to skip re-embedding; {} if none
    (or if either file fails its checksum)."""
    try:
        gen, rows = _previous_build(index_dir, model, ("vectors.npy",))
        vectors = np.load(gen / "vectors.npy", allow_pickle=False)
        if len(rows) != len(vectors):
            return {}
        return dict(zip((row["hash"] for row in rows), vectors))
    except _CACHE_ERRORS:
        return {}


def load_span_cache(index_dir: Path, model: str) -> Mapping[str, np.ndarray]:
    """Span vectors of the previous build keyed by ``span_key`` (content hash and kind);
    {} if it had no span index or a file fails its checksum. A compact span index lends
    its codes, decoded when a key is asked for (``SpanCache``)."""
    try:
        if _span_form(read_manifest(index_dir)) == "compact":
            gen, rows = _previous_build(index_dir, model, ("span_codes.npy", "span_scale.npy",
                                                           "span_starts.npy"))
            starts = np.load(gen / "span_starts.npy", allow_pickle=False)
            if len(rows) != len(starts):
                return {}
            return SpanCache([span_key(row["hash"], row["kind"]) for row in rows], starts,
                             load_compact(gen))
        gen, rows = _previous_build(index_dir, model, ("spans.npy", "span_starts.npy"))
        vectors = np.load(gen / "spans.npy", allow_pickle=False)
        starts = np.load(gen / "span_starts.npy", allow_pickle=False)
        if len(rows) != len(starts):
            return {}
        ends = list(starts[1:]) + [len(vectors)]
        return {span_key(row["hash"], row["kind"]): vectors[a:b]
                for row, a, b in zip(rows, starts, ends)}
    except _CACHE_ERRORS:
        return {}


__all__ = ["StaleIndex", "load_index", "save_index", "build_lock", "load_vector_cache",
           "load_span_cache"]
