"""Compact span vectors, for a corpus above ``SPAN_EXACT_MAX`` paragraphs (qa/index/spans.py).

A paragraph has about 18 candidate spans (the generated bench corpora: 17.6), so 100k
paragraphs hold ~1.8M span vectors: 3.6 GB as float32. Two forms instead:

- ``CodeFile``: every span vector as 8-bit codes (``Scale``: per dimension, 256 steps
  between the sample's minimum and maximum), 512 bytes a span, in paragraph order. A
  loaded index reads a paragraph's rows from the file when asked (``os.pread``): the
  candidates of a question, a few hundred paragraphs, are read and decoded, not the whole
  file held in the process (the OS page cache keeps what is read often).
- ``SpanANN``: an index, in memory, of the distinct span vectors (``Groups``: rows whose
  codes are equal count once), to find the spans nearest a question: a flat scan up to
  ``FLAT_MAX`` distinct vectors, FAISS IVF-PQ (32 bytes a vector) above; the paragraphs
  holding the spans found are then scored exactly from their codes.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

#: up to this many distinct span vectors (groups of equal codes) the ANN index is a flat
#: float32 scan (100 MB, ~3 ms a question): exact. Above, IVF-PQ: about sqrt(groups)
#: cells, k-means on ``_TRAIN_PER_CELL`` sampled groups a cell, ``_PQ_BYTES`` bytes a
#: vector (4-bit PQ, FAISS's "fast scan": 8-bit PQ took ~110 µs a vector to encode, this
#: ~30 µs) and one cell in ``_PROBE_FRACTION`` probed per question; vectors are added
#: ``_ADD_BATCH`` at a time (PQ encoding's temporaries grow with the batch).
FLAT_MAX = 50_000
_TRAIN_PER_CELL = 40
_PQ_BYTES = 32
_PROBE_FRACTION = 8
_MIN_PROBE = 8
_ADD_BATCH = 8192


@dataclass
class Scale:
    """8-bit scalar quantisation, per dimension: code = round((x - lo) / step)."""

    lo: np.ndarray  # (dim,) float32
    step: np.ndarray  # (dim,) float32

    @classmethod
    def fit(cls, sample: np.ndarray) -> Scale:
        """The sample's range per dimension, widened by 5% each side (later spans may
        reach a little further; beyond that they are clipped)."""
        lo, hi = sample.min(axis=0), sample.max(axis=0)
        margin = 0.05 * (hi - lo)
        lo, hi = lo - margin, hi + margin
        return cls(lo.astype(np.float32), np.maximum((hi - lo) / 255, 1e-8).astype(np.float32))

    def encode(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.rint((x - self.lo) / self.step), 0, 255).astype(np.uint8)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return codes.astype(np.float32) * self.step + self.lo

    def save(self, path: Path) -> None:
        np.save(path, np.stack([self.lo, self.step]))

    @classmethod
    def load(cls, path: Path) -> Scale:
        both = np.load(path, allow_pickle=False)
        return cls(both[0].astype(np.float32), both[1].astype(np.float32))


class CodeFile:
    """(rows, dim) uint8 codes in a file: a build's anonymous spool, or a saved ``.npy``.
    Rows are read with ``os.pread`` (thread-safe, no shared file position)."""

    def __init__(self, handle: IO[bytes], offset: int, rows: int, dim: int) -> None:
        self.handle, self.offset, self.rows, self.dim = handle, offset, rows, dim

    @classmethod
    def spool(cls, dim: int) -> CodeFile:
        """An empty temporary file (removed when closed), filled by ``append``."""
        return cls(tempfile.TemporaryFile(), 0, 0, dim)

    def append(self, codes: np.ndarray) -> None:
        os.pwrite(self.handle.fileno(), np.ascontiguousarray(codes, np.uint8).tobytes(),
                  self.offset + self.rows * self.dim)
        self.rows += len(codes)

    def read(self, a: int, b: int) -> np.ndarray:
        """Rows ``a`` up to ``b``."""
        return self.read_ranges([a], [b])

    def read_ranges(self, starts: Sequence[int], ends: Sequence[int]) -> np.ndarray:
        """Rows ``starts[i]`` up to ``ends[i]`` for each ``i``, one after the other."""
        fd, dim, offset = self.handle.fileno(), self.dim, self.offset
        data = b"".join([os.pread(fd, (b - a) * dim, offset + a * dim)
                         for a, b in zip(starts, ends)])
        rows = sum(b - a for a, b in zip(starts, ends))
        if len(data) != rows * dim:
            raise ValueError("the span codes file is shorter than its header says")
        return np.frombuffer(data, dtype=np.uint8).reshape(rows, dim)

    def __len__(self) -> int:
        return self.rows

    def save(self, path: Path) -> None:
        """An ordinary ``.npy`` of shape (rows, dim), copied block by block."""
        with open(path, "wb") as out:
            np.lib.format.write_array_header_2_0(out, {
                "descr": "|u1", "fortran_order": False, "shape": (self.rows, self.dim)})
            block = max(1, (64 << 20) // max(self.dim, 1))
            for a in range(0, self.rows, block):
                out.write(self.read(a, min(self.rows, a + block)).tobytes())

    @classmethod
    def open(cls, path: Path) -> CodeFile:
        handle = open(path, "rb")  # noqa: SIM115 - kept open for the index's lifetime
        try:
            version = np.lib.format.read_magic(handle)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read(handle)
            if dtype != np.uint8 or fortran or len(shape) != 2:
                raise ValueError("the span codes file is not a (rows, dim) uint8 array")
            offset = handle.tell()
            if os.fstat(handle.fileno()).st_size != offset + shape[0] * shape[1]:
                raise ValueError("the span codes file's size does not match its header")
        except Exception:
            handle.close()
            raise
        return cls(handle, offset, int(shape[0]), int(shape[1]))


def ann_shape(groups: int) -> tuple[int, int]:
    """(cells, cells probed a question) of the span IVF-PQ over this many vectors."""
    nlist = max(1, int(math.sqrt(groups)))
    return nlist, min(nlist, max(_MIN_PROBE, -(-nlist // _PROBE_FRACTION)))


class SpanANN:
    """FAISS IVF-PQ (inner product) over span vectors; ids are span rows."""

    def __init__(self, index: Any, nprobe: int, matrix: np.ndarray | None = None) -> None:
        #: IVF-PQ (None for a flat scan); ``matrix``: a flat scan's vectors, float32
        self.index, self.matrix = index, matrix
        if index is not None:
            self.index.nprobe = nprobe

    @property
    def exact(self) -> bool:
        """A flat scan: its scores are the decoded vectors' exact similarities."""
        return self.matrix is not None

    @property
    def ntotal(self) -> int:
        return len(self.matrix) if self.matrix is not None else int(self.index.ntotal)

    @classmethod
    def build(cls, codes: CodeFile, scale: Scale, groups: Groups) -> SpanANN:
        """Over the decoded first span of each group, in group order (its ids): a flat
        scan up to ``FLAT_MAX`` groups, else IVF-PQ trained on a seeded sample of them."""
        import faiss

        # one OpenMP thread: on a machine busy with other work, training a small IVF-PQ on
        # two threads took 33 s against 0.5 s on one (the threads spin waiting on each other)
        faiss.omp_set_num_threads(1)
        first = groups.first()
        nlist, nprobe = ann_shape(len(first))
        if len(first) <= FLAT_MAX or codes.dim % (2 * _PQ_BYTES):
            ann = cls(None, nprobe, np.zeros((0, codes.dim), dtype=np.float32))
        else:
            rng = np.random.default_rng(0)
            picked = np.sort(rng.choice(first, min(len(first), _TRAIN_PER_CELL * nlist),
                                        replace=False)).tolist()
            sample = scale.decode(codes.read_ranges(picked, [r + 1 for r in picked]))
            index = faiss.IndexIVFPQFastScan(faiss.IndexFlatIP(codes.dim), codes.dim, nlist,
                                             2 * _PQ_BYTES, 4, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = index.pq.cp.seed = 1234  # the same sample gives the same index
            index.train(sample)
            ann = cls(index, nprobe)
        keep = np.zeros(len(codes), dtype=bool)
        keep[first] = True
        step = 1 << 16
        for a in range(0, len(codes), step):
            b = min(len(codes), a + step)
            ann.add(scale.decode(codes.read(a, b)[keep[a:b]]))
        return ann

    def add(self, vectors: np.ndarray) -> None:
        if self.matrix is not None:
            self.matrix = np.concatenate([self.matrix, vectors.astype(np.float32)])
            return
        for a in range(0, len(vectors), _ADD_BATCH):
            self.index.add(np.ascontiguousarray(vectors[a:a + _ADD_BATCH], dtype=np.float32))

    def scores(self, qvec: np.ndarray) -> np.ndarray:
        """Every vector's similarity to ``qvec`` (a flat scan only)."""
        assert self.matrix is not None
        # einsum, not BLAS: see SpanIndex.best_similarity
        return np.einsum("ij,j->i", self.matrix, qvec.astype(np.float32))

    def search(self, qvec: np.ndarray, k: int, scores: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """The ids of about the ``k`` vectors nearest ``qvec``, best first, and their
        scores (a flat scan's ``scores`` when already computed)."""
        import faiss

        k = min(k, self.ntotal)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.matrix is not None:
            sims = self.scores(qvec) if scores is None else scores
            ids = np.argpartition(-sims, k - 1)[:k]
            ids = ids[np.argsort(-sims[ids], kind="stable")]
            return ids.astype(np.int64), sims[ids]
        faiss.omp_set_num_threads(1)  # one query: see VectorIndex.search
        found, ids = self.index.search(qvec.reshape(1, -1).astype(np.float32), k)
        keep = ids[0] >= 0
        return ids[0][keep], found[0][keep]

    def save(self, path: Path) -> None:
        import faiss

        index = self.index
        if index is None:
            index = faiss.IndexFlatIP(self.matrix.shape[1])
            index.add(self.matrix)
        faiss.write_index(index, str(path))

    @classmethod
    def load(cls, path: Path) -> SpanANN:
        import faiss

        index = faiss.read_index(str(path))
        nprobe = ann_shape(index.ntotal)[1]
        if not hasattr(index, "nprobe"):  # a flat scan: its vectors as a numpy array
            return cls(None, nprobe, index.reconstruct_n(0, index.ntotal))
        return cls(index, nprobe)


#: odd 64-bit multipliers of ``code_hashes`` (seeded: the same codes, the same hashes)
_MULT = np.random.default_rng(1).integers(1, 2**63, size=1024, dtype=np.uint64) * 2 + 1


def code_hashes(codes: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row of codes (equal rows, equal hashes; others collide with
    probability ~2^-64 a pair)."""
    width = -(-codes.shape[1] // 8) * 8
    extra = width - codes.shape[1]
    padded = np.pad(codes, ((0, 0), (0, extra))) if extra else codes
    words = np.ascontiguousarray(padded).view(np.uint64)
    return (words * _MULT[:words.shape[1]]).sum(axis=1, dtype=np.uint64)


@dataclass
class Groups:
    """Span rows whose codes are equal, grouped (a clause repeated across a folder's
    reports, boilerplate, a generated corpus's reused sentences): the ANN index holds one
    vector a group, so that copies of one span do not fill a question's nearest spans.
    Group ``g`` is ``rows[starts[g]:starts[g + 1]]``; groups are numbered in the order of
    their first row."""

    rows: np.ndarray  # span rows, group after group, increasing within a group
    starts: np.ndarray  # (groups,)

    @classmethod
    def of_hashes(cls, hashes: np.ndarray) -> Groups:
        _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        gid = rank[inverse.ravel()]
        del inverse
        rows = np.argsort(gid, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(gid))[:-1]]).astype(np.int64)
        return cls(rows.astype(np.int64), starts)

    def __len__(self) -> int:
        return len(self.starts)

    def of_rows(self) -> np.ndarray:
        """The group of each span row (int32)."""
        counts = np.diff(np.append(self.starts, len(self.rows)))
        out = np.empty(len(self.rows), dtype=np.int32)
        out[self.rows] = np.repeat(np.arange(len(self.starts), dtype=np.int32), counts)
        return out

    def first(self) -> np.ndarray:
        """Each group's first span row (increasing)."""
        return self.rows[self.starts]

    def members(self, group: int) -> np.ndarray:
        end = self.starts[group + 1] if group + 1 < len(self.starts) else len(self.rows)
        return self.rows[self.starts[group]:end]

    def save(self, folder: Path) -> None:
        np.save(folder / "span_groups.npy", self.rows)
        np.save(folder / "span_group_starts.npy", self.starts)

    @classmethod
    def load(cls, folder: Path) -> Groups:
        return cls(np.load(folder / "span_groups.npy", allow_pickle=False),
                   np.load(folder / "span_group_starts.npy", allow_pickle=False))
