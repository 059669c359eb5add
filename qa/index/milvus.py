"""The Milvus backend: the index's BM25 weights and paragraph vectors in a Milvus collection.

By default milvus-lite, embedded (a folder ``milvus.db`` inside the index folder, no server;
one process at a time may open it), or any Milvus server or cluster by URI
(``QA_MILVUS_URI=http://host:19530``, token in ``QA_MILVUS_TOKEN``). Layout: one collection
a build, named after its generation and then pointed to by an alias, with

- ``id`` (the paragraph row), ``report`` (the report's id: its path relative to the source
  folder), ``start`` and ``end`` (its offsets in the report's text) as scalar fields;
- ``sparse``, a SPARSE_FLOAT_VECTOR of our own BM25 weights (inner product): the BM25+
  weight of each present term minus its floor ``idf·delta``, so every weight is positive.
  The floor every paragraph gets is added back per question (``QueryTerms.constant``),
  so scores equal the local engine's to float32 precision;
- ``dense``, the paragraph vector (inner product; FLAT, IVF_FLAT above ``ann_threshold``).

The sparse and dense searches are run apart and fused by the retriever exactly as for the
local backend (Milvus's own rankers normalise differently). A paragraph the sparse search
did not return but the retriever ranks gets its BM25 score from its stored weights
(``_fetch``). The cosines of the paragraphs ranked are computed from the paragraph vectors
that the index folder keeps (memory-mapped), as the local backend computes them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from qa.errors import BackendError
from qa.index.backend import TIE_DEPTH, Candidates, QueryTerms, Scope, top_with_ties
from qa.index.bm25 import SparseBM25
from qa.index.vectors import VectorIndex

#: Milvus answers at most this many hits a search (its ``topk`` limit).
MAX_LIMIT = 16384
#: rows inserted per call
_INSERT_BATCH = 1000
_SPARSE_PARAMS = {"metric_type": "IP", "params": {"drop_ratio_search": 0.0}}

#: milvus-lite's folder inside the index folder, when no URI is given
LITE_FILE = "milvus.db"

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


class MissingCollection(LookupError):
    """The collection a manifest names is not in Milvus (or holds other rows)."""


def shown_uri(uri: str) -> str:
    """``uri`` without a user name or password, to print and record."""
    parts = urlsplit(uri)
    if parts.scheme and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return uri


def where(setting: str, index_dir: Path) -> tuple[str, str]:
    """(the URI to connect to, what the manifest records of it) for ``Settings.milvus_uri``:
    milvus-lite in the index folder when it is empty."""
    if not setting:
        return str((index_dir / LITE_FILE).resolve()), LITE_FILE
    return setting, shown_uri(setting)


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "message", "") or exc or type(exc).__name__)
    return text.splitlines()[0][:200]


def connect(uri: str) -> Any:
    """A client for ``uri`` (one per URI and process), or BackendError naming it."""
    with _clients_lock:
        client = _clients.get(uri)
        if client is not None:
            return client
        try:
            from pymilvus import MilvusClient

            client = MilvusClient(uri=uri, token=os.environ.get("QA_MILVUS_TOKEN", ""),
                                  timeout=10)
        except Exception as exc:  # pymilvus raises its own and gRPC's errors
            raise BackendError(f"cannot reach Milvus at {shown_uri(uri)} "
                               f"({_reason(exc)})") from None
        _clients[uri] = client
        return client


def collection_name(alias: str, generation: str) -> str:
    """A generation's collection: letters, digits and underscores only, as Milvus wants."""
    return re.sub(r"\W", "_", f"{alias}_{generation}")


def _schema(client: Any, dim: int) -> Any:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("report", DataType.VARCHAR, max_length=4096)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    return schema


def _dense_index(n: int, ann_threshold: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(index type, build params, search params) of the dense field: exact like the local
    FAISS index up to ``ann_threshold`` paragraphs, an inverted file of the same shape above."""
    if n <= ann_threshold:
        return "FLAT", {}, {}
    nlist, nprobe = VectorIndex.ivf_shape(n)
    return "IVF_FLAT", {"nlist": nlist}, {"nprobe": nprobe}


def _rows(index: Any, rel_of: dict[str, str], a: int, b: int, csr: Any) -> list[dict]:
    out = []
    for i in range(a, b):
        c = index.chunks[i]
        lo, hi = csr.indptr[i], csr.indptr[i + 1]
        weights = csr.data[lo:hi]
        if (weights < 0).any():
            raise BackendError("Milvus needs positive BM25 weights; use bm25_variant plus")
        keep = weights > 0
        out.append({"id": i, "report": rel_of[c.doc], "start": c.start, "end": c.end,
                    "sparse": dict(zip(csr.indices[lo:hi][keep].tolist(),
                                       weights[keep].astype(np.float32).tolist())),
                    "dense": index.vectors[i].tolist()})
    return out


def publish(index: Any, uri: str, recorded: str, alias: str, generation: str,
            ann_threshold: int) -> dict[str, Any]:
    """Insert ``index`` into a new collection, flush it, point ``alias`` at it and drop the
    collections older than the one it replaced (a process still answering from that one
    keeps working). Returns what the manifest records."""
    client = connect(uri)
    name = collection_name(alias, generation)
    n = len(index.chunks)
    kind, build, search = _dense_index(n, ann_threshold)
    dim = int(index.vectors.shape[1]) if index.vectors.ndim == 2 else 0
    try:
        params = client.prepare_index_params()
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        params.add_index("dense", index_type=kind, metric_type="IP", params=build)
        with _quiet_grpc_server():
            client.create_collection(name, schema=_schema(client, dim), index_params=params)
        rel_of = {r.path: r.rel for r in index.reports.values()}
        csr = index.bm25.weights.tocsr()
        for a in range(0, n, _INSERT_BATCH):
            client.insert(name, _rows(index, rel_of, a, min(n, a + _INSERT_BATCH), csr))
        # Before a flush, rows sit in a growing segment that is searched by brute force.
        client.flush(name)
        client.load_collection(name)
        previous = _switch_alias(client, alias, name)
        _drop_older(client, alias, keep={name, previous})
    except BackendError:
        raise
    except Exception as exc:
        raise BackendError(f"cannot write to Milvus at {shown_uri(uri)} ({_reason(exc)})"
                           ) from None
    return {"name": "milvus", "uri": recorded, "collection": name, "alias": alias,
            "dense_index": kind, "search_params": search}


@contextlib.contextmanager
def _quiet_grpc_server() -> Iterator[None]:
    """pymilvus's create_collection asks for AllocTimestamp, which milvus-lite's embedded
    gRPC server does not implement: it logs a traceback, and pymilvus does without."""
    logger = logging.getLogger("grpc._server")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _switch_alias(client: Any, alias: str, name: str) -> str:
    """Point ``alias`` at ``name`` in one call; the collection it named before ("" if none)."""
    # describe_alias of a missing alias would log an error: ask for the list first
    previous = ""
    if alias in (client.list_aliases().get("aliases") or []):
        previous = str(client.describe_alias(alias).get("collection_name", ""))
    if previous:
        client.alter_alias(name, alias)
    else:
        client.create_alias(name, alias)
    return previous


def _drop_older(client: Any, alias: str, keep: set[str]) -> None:
    prefix = collection_name(alias, "gen")
    for name in client.list_collections():
        if name.startswith(prefix) and name not in keep:
            client.drop_collection(name)


def open_backend(info: dict[str, Any], uri: str, bm25: SparseBM25, vectors: np.ndarray
                 ) -> MilvusBackend:
    """The backend over the collection a manifest recorded (``info``); MissingCollection
    when it is gone or holds another number of rows, BackendError when Milvus does not
    answer."""
    client = connect(uri)
    name = str(info.get("collection", ""))
    try:
        if not client.has_collection(name):
            raise MissingCollection(f"the Milvus collection {name} is missing")
        rows = int(client.get_collection_stats(name).get("row_count", -1))
        if rows != bm25.size:
            raise MissingCollection(f"the Milvus collection {name} holds {rows} rows, "
                                    f"not {bm25.size}")
        client.load_collection(name)
    except (MissingCollection, BackendError):
        raise
    except Exception as exc:
        raise BackendError(f"cannot reach Milvus at {shown_uri(uri)} ({_reason(exc)})"
                           ) from None
    search = info.get("search_params")
    return MilvusBackend(client, uri, name, str(info.get("alias", "")), bm25, vectors,
                         search if isinstance(search, dict) else {})


class MilvusBackend:
    """Searches one collection; thread-safe (the client is)."""

    name = "milvus"

    def __init__(self, client: Any, uri: str, collection: str, alias: str, bm25: SparseBM25,
                 vectors: np.ndarray, dense_params: dict[str, Any]) -> None:
        self.client, self.uri, self.collection, self.alias = client, uri, collection, alias
        self.bm25, self.vectors = bm25, vectors
        self._dense_params = {"metric_type": "IP", "params": dense_params}

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "uri": shown_uri(self.uri), "collection": self.collection,
                "alias": self.alias}

    def health(self) -> dict[str, Any]:
        try:
            ok = bool(self.client.has_collection(self.collection, timeout=3))
            return {**self.describe(), "ok": ok,
                    **({} if ok else {"error": f"collection {self.collection} is missing"})}
        except Exception as exc:
            return {**self.describe(), "ok": False,
                    "error": f"cannot reach Milvus at {shown_uri(self.uri)} ({_reason(exc)})"}

    def search(self, tokens: list[str], qvec: np.ndarray, k: int | None,
               scope: Scope | None = None, dense: bool = True,
               extra: np.ndarray | None = None) -> Candidates:
        terms = QueryTerms.of(self.bm25, tokens)
        try:
            return self._search(terms, qvec, k, scope, dense, extra)
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"cannot search Milvus at {shown_uri(self.uri)} "
                               f"({_reason(exc)})") from None

    def _search(self, terms: QueryTerms, qvec: np.ndarray, k: int | None,
                scope: Scope | None, dense: bool, extra: np.ndarray | None) -> Candidates:
        n = self.bm25.size
        got: dict[int, float] = {}
        covered: set[int] = set()  # rows a search would have returned had they matched
        if k is None:
            rows = np.arange(n)
            got.update(self._sparse(terms, n))
            if n <= MAX_LIMIT:
                covered.update(range(n))
        else:
            depth = TIE_DEPTH * k
            top_b, top_d = self._sparse(terms, depth), self._dense(qvec, depth)
            if len(top_b) < depth:  # every paragraph with a term of the question came back
                covered.update(range(n))
            got.update(top_b)
            rows = np.union1d(_top(top_b, k), _top(top_d, k))
        if scope is not None and len(scope.rows):
            where = f"report in {_string_list(scope.reports)}"
            got.update(self._sparse(terms, len(scope.rows), where))
            if len(scope.rows) <= MAX_LIMIT:
                covered.update(scope.rows.tolist())
            rows = np.union1d(rows, scope.rows)
        if extra is not None and len(extra):  # scored from the stored weights (_bm25_of)
            rows = np.union1d(rows, extra)
        bm25 = self._bm25_of(rows, got, covered, terms)
        # The cosines of the rows to rank from the paragraph vectors the index folder keeps,
        # computed as the local backend does: Milvus's distances of two equal vectors may
        # differ in the last bit, which would order duplicate paragraphs differently.
        cos = np.einsum("ij,j->i", self.vectors[rows], qvec) if dense else None
        return Candidates(rows, bm25, cos)

    def _sparse(self, terms: QueryTerms, limit: int, where: str = "") -> dict[int, float]:
        """Row → its BM25 score less ``terms.constant``, for the best ``limit`` rows that
        hold a term of the question."""
        if not len(terms.cols) or limit <= 0:
            return {}
        query = dict(zip(terms.cols.tolist(), terms.reps.tolist()))
        found = self.client.search(self.collection, [query], anns_field="sparse",
                                   limit=min(limit, MAX_LIMIT), filter=where,
                                   output_fields=["id"], search_params=_SPARSE_PARAMS)
        return {int(h["id"]): float(h["distance"]) for h in found[0]}

    def _dense(self, qvec: np.ndarray, limit: int, where: str = "") -> dict[int, float]:
        """Row → cosine with the question, for the nearest ``limit`` rows."""
        found = self.client.search(self.collection, [np.asarray(qvec, np.float32).tolist()],
                                   anns_field="dense", limit=min(limit, MAX_LIMIT),
                                   filter=where, output_fields=["id"],
                                   search_params=self._dense_params)
        return {int(h["id"]): float(h["distance"]) for h in found[0]}

    def _fetch(self, rows: list[int], field: str) -> dict[int, Any]:
        """Row → its stored ``field``."""
        out: dict[int, Any] = {}
        for a in range(0, len(rows), _INSERT_BATCH):
            for r in self.client.get(self.collection, ids=rows[a:a + _INSERT_BATCH],
                                     output_fields=[field]):
                out[int(r["id"])] = r[field]
        return out

    def _bm25_of(self, rows: np.ndarray, got: dict[int, float], covered: set[int],
                 terms: QueryTerms) -> np.ndarray:
        """Each row's BM25 score: the search's, the floor alone for a row a complete search
        did not return, else its stored weights times the question's terms."""
        out = np.full(len(rows), terms.constant, dtype=np.float64)
        missing = []
        for i, r in enumerate(rows.tolist()):
            if r in got:
                out[i] += got[r]
            elif r not in covered and len(terms.cols):
                missing.append(i)
        if missing:
            reps = dict(zip(terms.cols.tolist(), terms.reps.tolist()))
            stored = self._fetch([int(rows[i]) for i in missing], "sparse")
            for i in missing:
                weights = stored.get(int(rows[i])) or {}
                out[i] += sum(float(w) * reps.get(int(t), 0.0) for t, w in weights.items())
        return out


def _top(found: dict[int, float], k: int) -> np.ndarray:
    """The best ``k`` rows of a search, with ties (``top_with_ties``)."""
    rows = np.fromiter(found, dtype=np.int64, count=len(found))
    return top_with_ties(rows, np.fromiter(found.values(), np.float64, len(found)), k)


def _string_list(values: tuple[str, ...]) -> str:
    """A Milvus filter's list of string literals."""
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "[" + ", ".join(f'"{v}"' for v in quoted) + "]"
