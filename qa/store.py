"""Save and load the index folder: plain files, checksums, atomic replacement, no pickle.

Layout::

    index/manifest.json     format version, settings, model, sources and file checksums
    index/gen-<id>/         chunks.jsonl, bm25.npz (+ vocab/base/idf), vectors.npy, faiss.index

A build writes a new ``gen-<id>`` folder under a temporary name, renames it into place and
only then replaces ``manifest.json`` (write to a temporary file, ``os.replace``). The
manifest is what makes an index complete: a build killed at any point leaves the previous
manifest pointing at the previous, intact generation.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from qa.config import FORMAT_VERSION, Settings
from qa.dense import VectorIndex
from qa.documents import display_path, list_reports, printable_name, read_report
from qa.errors import IndexStoreError, SourceError
from qa.indexer import Index, content_hash, dense_text
from qa.sparse import SparseBM25
from qa.types import Chunk

MANIFEST = "manifest.json"


class StaleIndex(Exception):
    """The index on disk cannot serve these sources and settings; the message says why."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_listing(source: Path) -> dict[str, str]:
    """``{path relative to source: sha256}`` of every report file, readable or not."""
    return {printable_name(p.relative_to(source).as_posix()): sha256_file(p)
            for p in list_reports(source)}


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index folder, across processes."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / ".lock", "a")
    except OSError as exc:
        raise IndexStoreError(f"cannot write the index folder {index_dir} ({exc.strerror})") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save_index(index: Index, index_dir: Path, source: Path, settings: Settings) -> None:
    """Write ``index`` as a new generation and make it current atomically."""
    generation = f"gen-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = index_dir / f".tmp-{generation}"
    try:
        tmp.mkdir(parents=True)
        rel_of = {r.path: r.rel for r in index.reports.values()}
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in index.chunks:
                f.write(json.dumps({
                    "id": c.id, "doc": rel_of[c.doc], "start": c.start, "end": c.end,
                    "section": c.section, "kind": c.kind,
                    "hash": content_hash(index.model, dense_text(c)),
                }, ensure_ascii=False) + "\n")
        sp.save_npz(tmp / "bm25.npz", index.bm25.weights, compressed=False)
        terms = [""] * len(index.bm25.vocab)
        for term, i in index.bm25.vocab.items():
            terms[i] = term
        _write_json(tmp / "bm25_vocab.json", terms)
        np.save(tmp / "bm25_base.npy", index.bm25.base)
        np.save(tmp / "bm25_idf.npy", index.bm25.idf)
        np.save(tmp / "vectors.npy", index.vectors)
        index.vector_index.save(tmp / "faiss.index")
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}
        for p in tmp.iterdir():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
        final = index_dir / generation
        os.rename(tmp, final)
        _fsync_dir(index_dir)
        manifest = {
            "format_version": FORMAT_VERSION,
            "generation": generation,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "settings": settings.index_fingerprint(),
            "model": index.model,
            "dim": int(index.vectors.shape[1]) if index.vectors.ndim == 2 else 0,
            "vector_index": index.vector_index.kind,
            "tokenizer": {"name": "jieba+numbers", "jieba": _jieba_version(),
                          "char_ngram": settings.char_ngram},
            "sources": source_listing(source),
            "indexed": {r.rel: r.encoding for r in index.reports.values()},
            "notices": index.notices,
            "files": files,
            "counts": {"documents": len(index.reports), "paragraphs": len(index.chunks),
                       "terms": len(index.bm25.vocab)},
            "timings": {k: round(v, 3) for k, v in index.timings.items()},
        }
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
                    "indexed": dict, "files": dict, "notices": list}


def check_fresh(manifest: dict[str, Any], source: Path, settings: Settings) -> None:
    """Raise StaleIndex unless the manifest matches the format, settings and sources."""
    if manifest.get("format_version") != FORMAT_VERSION:
        raise StaleIndex(f"the index has format {manifest.get('format_version')!r}, "
                         f"this version reads {FORMAT_VERSION}")
    for key, kind in _MANIFEST_FIELDS.items():
        if not isinstance(manifest.get(key), kind):
            raise StaleIndex(f"the index manifest is malformed ({key} is missing or of the "
                             "wrong type)")
    want = settings.index_fingerprint()
    have = manifest.get("settings") or {}
    changed = [k for k in want if have.get(k) != want[k]]
    if changed:
        k = changed[0]
        raise StaleIndex(f"{k} changed ({have.get(k)!r} → {want[k]!r})")
    listing = source_listing(source)
    recorded = manifest.get("sources") or {}
    if listing != recorded:
        added = sorted(set(listing) - set(recorded))
        removed = sorted(set(recorded) - set(listing))
        edited = sorted(k for k in set(listing) & set(recorded) if listing[k] != recorded[k])
        what = (f"added {added[0]}" if added else f"removed {removed[0]}" if removed
                else f"edited {edited[0]}")
        raise StaleIndex(f"the sources changed since the last build ({what})")


def load_index(index_dir: Path, source: Path, settings: Settings) -> tuple[Index, dict[str, Any]]:
    """Load a complete, fresh, uncorrupted index or raise StaleIndex saying why not."""
    manifest = read_manifest(index_dir)
    check_fresh(manifest, source, settings)
    gen = index_dir / str(manifest.get("generation", ""))
    files = manifest.get("files") or {}
    needed = ("chunks.jsonl", "bm25.npz", "bm25_vocab.json", "bm25_base.npy", "bm25_idf.npy",
              "vectors.npy", "faiss.index")
    for name in needed:
        path = gen / name
        if name not in files or not path.is_file():
            raise StaleIndex(f"the index is incomplete ({name} is missing)")
        if sha256_file(path) != files[name]:
            raise StaleIndex(f"the index is corrupted ({name} fails its checksum)")
    try:
        reports = {}
        for rel in manifest.get("indexed", {}):
            report = read_report(source / rel, rel)
            reports[rel] = report
        chunks = []
        with open(gen / "chunks.jsonl", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                report = reports[row["doc"]]
                chunks.append(Chunk(row["id"], report.path, row["start"], row["end"],
                                    report.text[row["start"]:row["end"]], row["section"],
                                    row["kind"]))
        terms = json.loads((gen / "bm25_vocab.json").read_text(encoding="utf-8"))
        bm25 = SparseBM25({t: i for i, t in enumerate(terms)},
                          sp.load_npz(gen / "bm25.npz").tocsc(),
                          np.load(gen / "bm25_base.npy", allow_pickle=False),
                          np.load(gen / "bm25_idf.npy", allow_pickle=False))
        vectors = np.load(gen / "vectors.npy", allow_pickle=False)
        vector_index = VectorIndex.load(gen / "faiss.index")
    except (OSError, ValueError, KeyError, TypeError, SourceError, RuntimeError) as exc:
        raise StaleIndex(f"the index cannot be read ({type(exc).__name__}: {exc})") from None
    if not (len(chunks) == bm25.size == len(vectors) == vector_index.index.ntotal):
        raise StaleIndex("the index files disagree on the number of paragraphs")
    index = Index(chunks, {r.path: r for r in reports.values()}, bm25, vectors, vector_index,
                  str(manifest.get("model")), list(manifest.get("notices") or []))
    return index, manifest


def load_vector_cache(index_dir: Path, model: str) -> dict[str, np.ndarray]:
    """Vectors of the previous build keyed by content hash, to skip re-embedding; {} if none."""
    try:
        manifest = read_manifest(index_dir)
        if manifest.get("model") != model:
            return {}
        gen = index_dir / str(manifest["generation"])
        vectors = np.load(gen / "vectors.npy", allow_pickle=False)
        hashes = [json.loads(line)["hash"] for line in open(gen / "chunks.jsonl", encoding="utf-8")]
        if len(hashes) != len(vectors):
            return {}
        return dict(zip(hashes, vectors))
    except (StaleIndex, OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


__all__ = ["StaleIndex", "load_index", "save_index", "build_lock", "load_vector_cache",
           "display_path"]
