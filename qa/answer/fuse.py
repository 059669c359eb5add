"""Score fusion: pure functions over score arrays aligned on the same candidate ids.

BM25 scores are unbounded and cosine similarities live in [-1, 1], so a weighted sum needs
both normalised first (min-max over the candidates). Reciprocal-rank fusion needs no
normalisation but throws away how far apart the scores are: on this report's eval set it
ranked worse than BM25 alone, so weighted fusion is the default (see eval/README.md).
"""

from __future__ import annotations

import numpy as np


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; all-equal scores (e.g. no query term matched anything) become 0."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return scores
    lo, hi = float(scores.min()), float(scores.max())
    if hi - lo < 1e-12:
        return np.zeros_like(scores)
    return (scores - lo) / (hi - lo)


def weighted(bm25: np.ndarray, dense: np.ndarray, weight_bm25: float,
             weight_dense: float) -> np.ndarray:
    """Weighted sum of min-max normalised scores; weights are renormalised to sum to 1."""
    total = weight_bm25 + weight_dense
    if total <= 0:
        raise ValueError("fusion weights must not both be zero")
    return (weight_bm25 * minmax(bm25) + weight_dense * minmax(dense)) / total


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each entry, best (highest) first."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    out = np.empty(len(order), dtype=np.int64)
    out[order] = np.arange(1, len(order) + 1)
    return out


def rrf(bm25: np.ndarray, dense: np.ndarray, k: int = 60) -> np.ndarray:
    """Reciprocal-rank fusion, rescaled so that rank 1 in both lists scores 1."""
    if len(bm25) == 0:
        return np.zeros(0)
    raw = 1.0 / (k + ranks(bm25)) + 1.0 / (k + ranks(dense))
    return raw * (k + 1) / 2


def fuse(bm25: np.ndarray, dense: np.ndarray, method: str, weight_bm25: float,
         weight_dense: float, rrf_k: int = 60) -> np.ndarray:
    if method == "rrf":
        return rrf(bm25, dense, rrf_k)
    return weighted(bm25, dense, weight_bm25, weight_dense)
