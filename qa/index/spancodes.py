"""Compact span vectors, for a corpus above ``SPAN_EXACT_MAX`` paragraphs (qa/index/spans.py).

A paragraph has about 18 candidate spans (the generated bench corpora: 17.6), so 100k
paragraphs hold ~1.8M span vectors: 3.6 GB as float32. Two forms instead:

- ``CodeFile``: every span vector as 8-bit codes (``Scale``: per dimension, 256 steps
  between the sample's minimum and maximum), 512 bytes a span, in paragraph order. A
  loaded index reads a paragraph's rows from the file when asked (``os.pread``): the
  candidates of a question, a few hundred paragraphs, are read and decoded, not the whole
  file held in the process (the OS page cache keeps what is read often).
- ``SpanANN``: FAISS IVF-PQ over the same vectors (32 bytes a span), in memory, to find the
  spans nearest a question; the paragraphs they belong to are then scored exactly from
  their codes.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

#: IVF-PQ shape: about ``_CELLS_PER_SQRT``·sqrt(paragraphs) cells, k-means on
#: ``_TRAIN_PER_CELL`` sampled spans a cell, ``_PQ_BYTES`` bytes a span and one cell in
#: ``_PROBE_FRACTION`` probed per question.
_CELLS_PER_SQRT = 2
_TRAIN_PER_CELL = 40
_PQ_BYTES = 32
_PROBE_FRACTION = 16
_MIN_PROBE = 8


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
        n = (b - a) * self.dim
        data = os.pread(self.handle.fileno(), n, self.offset + a * self.dim)
        if len(data) != n:
            raise ValueError("the span codes file is shorter than its header says")
        return np.frombuffer(data, dtype=np.uint8).reshape(b - a, self.dim)

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


def ann_shape(n_paragraphs: int) -> tuple[int, int]:
    """(cells, cells probed a question) of the span IVF-PQ for a corpus of this size."""
    nlist = max(1, int(_CELLS_PER_SQRT * math.sqrt(n_paragraphs)))
    return nlist, min(nlist, max(_MIN_PROBE, -(-nlist // _PROBE_FRACTION)))


def train_sample_size(n_paragraphs: int) -> int:
    """Spans to train the IVF-PQ on (k-means wants ~40 a cell; PQ 256 codes wants ≥ 10k)."""
    return max(10_000, _TRAIN_PER_CELL * ann_shape(n_paragraphs)[0])


class SpanANN:
    """FAISS IVF-PQ (inner product) over span vectors; ids are span rows."""

    def __init__(self, index: Any, nprobe: int) -> None:
        self.index = index
        if hasattr(index, "nprobe"):
            self.index.nprobe = nprobe

    @classmethod
    def train(cls, sample: np.ndarray, n_paragraphs: int) -> SpanANN:
        """IVF-PQ trained on ``sample``; a flat (exact) index when the sample is too small
        to train 256 codes a sub-vector on (only a corpus made small on purpose, in tests)."""
        import faiss

        nlist, nprobe = ann_shape(n_paragraphs)
        dim = sample.shape[1]
        if len(sample) < 39 * 256 or dim % _PQ_BYTES:
            return cls(faiss.IndexFlatIP(dim), nprobe)
        nlist = min(nlist, len(sample) // 39)
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, _PQ_BYTES, 8,
                                 faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = index.pq.cp.seed = 1234  # the same sample gives the same index
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        return cls(index, nprobe)

    def add(self, vectors: np.ndarray) -> None:
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, qvec: np.ndarray, k: int) -> np.ndarray:
        """The rows of about the ``k`` spans nearest ``qvec``."""
        import faiss

        k = min(k, self.index.ntotal)
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        faiss.omp_set_num_threads(1)  # one query: see VectorIndex.search
        _, ids = self.index.search(qvec.reshape(1, -1).astype(np.float32), k)
        return ids[0][ids[0] >= 0]

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, n_paragraphs: int) -> SpanANN:
        import faiss

        return cls(faiss.read_index(str(path)), ann_shape(n_paragraphs)[1])
