"""A fitted tree ensemble (LightGBM's trees, written as flat arrays by
qa/evaluation/fit_ranker.py into qa/models/ranker.json) evaluated with numpy alone: the
answering path needs no LightGBM.

Every internal node of every tree is one row of the flat arrays; a child index ``>= 0`` is
an internal node, ``< 0`` is the leaf ``~index``. The decisions are LightGBM's own
(``NumericalDecision`` and ``CategoricalDecision``): a missing value goes the node's default
way when the node says missing values are NaN (or zero), is read as 0 otherwise; a category
goes left when it is in the node's set, a negative or missing one goes right.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2
_ZERO = 1e-35


@dataclass(frozen=True)
class Trees:
    roots: np.ndarray  # per tree: its root node, or ~leaf for a tree of one leaf
    feature: np.ndarray  # per node
    threshold: np.ndarray
    categorical: np.ndarray  # bool: a category-set split
    categories: np.ndarray  # int64 bit set of the categories that go left (categorical)
    default_left: np.ndarray
    missing: np.ndarray  # MISSING_NONE / MISSING_ZERO / MISSING_NAN
    left: np.ndarray
    right: np.ndarray
    leaf_value: np.ndarray

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trees:
        """The arrays as written by ``to_dict`` (lists in JSON)."""
        kinds = {"roots": np.int64, "feature": np.int64, "threshold": np.float64,
                 "categorical": bool, "categories": np.int64, "default_left": bool,
                 "missing": np.int8, "left": np.int64, "right": np.int64,
                 "leaf_value": np.float64}
        return cls(**{k: np.asarray(d[k], dtype=t) for k, t in kinds.items()})

    def to_dict(self) -> dict[str, list]:
        return {k: getattr(self, k).tolist() for k in self.__dataclass_fields__}

    @functools.cached_property
    def _steps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """Leaves as nodes after the internal ones that lead to themselves; the roots; the
        depth of the deepest leaf."""
        n_nodes = len(self.feature)
        leaf_at = n_nodes + np.arange(len(self.leaf_value))

        def as_node(child: np.ndarray) -> np.ndarray:
            return np.where(child < 0, n_nodes + ~child, child)

        left = np.concatenate([as_node(self.left), leaf_at])
        right = np.concatenate([as_node(self.right), leaf_at])
        feature = np.concatenate([self.feature, np.zeros(len(leaf_at), dtype=np.int64)])
        roots = as_node(self.roots)
        depth, level = 0, roots[roots < n_nodes]
        while len(level):
            depth += 1
            level = np.concatenate([left[level], right[level]])
            level = level[level < n_nodes]
        return left, right, feature, roots, depth

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The sum of the trees' leaf values for every row of ``X``: all trees and rows
        step down one level at a time; a row that reached its leaf stays there."""
        X = np.asarray(X, dtype=np.float64)
        if len(X) == 0:
            return np.zeros(0)
        left, right, feature, roots, depth = self._steps
        n_nodes = len(self.feature)
        node = np.repeat(roots[:, None], len(X), axis=1)
        cols = np.arange(len(X))[None, :]
        for _ in range(depth):
            inner = np.minimum(node, n_nodes - 1)
            go = self._goes_left(inner, X[cols, feature[node]])
            node = np.where(go, left[node], right[node])
        return self.leaf_value[node - n_nodes].sum(axis=0)

    def _goes_left(self, at: np.ndarray, x: np.ndarray) -> np.ndarray:
        missing = self.missing[at]
        nan = np.isnan(x)
        x0 = np.where(nan & (missing != MISSING_NAN), 0.0, x)
        is_missing = ((missing == MISSING_NAN) & nan) | (
            (missing == MISSING_ZERO) & (np.abs(np.nan_to_num(x0)) <= _ZERO))
        numeric = np.where(is_missing, self.default_left[at], x0 <= self.threshold[at])
        cat = np.where(nan | (x < 0), -1, np.nan_to_num(x, nan=-1.0)).astype(np.int64)
        in_set = (cat >= 0) & (cat < 63) & (
            (self.categories[at] >> np.clip(cat, 0, 62)) & 1).astype(bool)
        return np.where(self.categorical[at], in_set, numeric)


def _walk(node: dict[str, Any], out: dict[str, list]) -> int:
    """Append ``node`` (a LightGBM dump_model tree node) to the flat arrays; its index."""
    if "leaf_value" in node:
        out["leaf_value"].append(float(node["leaf_value"]))
        return ~(len(out["leaf_value"]) - 1)
    at = len(out["feature"])
    categorical = node["decision_type"] == "=="
    cats = [int(c) for c in str(node["threshold"]).split("||")] if categorical else []
    if any(c >= 63 for c in cats):
        raise ValueError("a category id above 62 does not fit the bit set")
    out["feature"].append(int(node["split_feature"]))
    out["threshold"].append(0.0 if categorical else float(node["threshold"]))
    out["categorical"].append(categorical)
    out["categories"].append(sum(1 << c for c in cats))
    out["default_left"].append(bool(node.get("default_left", False)))
    out["missing"].append({"None": MISSING_NONE, "Zero": MISSING_ZERO,
                           "NaN": MISSING_NAN}[node.get("missing_type", "None")])
    out["left"].append(0)
    out["right"].append(0)
    out["left"][at] = _walk(node["left_child"], out)
    out["right"][at] = _walk(node["right_child"], out)
    return at


def from_lightgbm_dump(dump: dict[str, Any]) -> Trees:
    """Flatten ``Booster.dump_model()`` into ``Trees`` (used by the fitting tool)."""
    keys = ("feature", "threshold", "categorical", "categories", "default_left", "missing",
            "left", "right", "leaf_value")
    out: dict[str, list] = {k: [] for k in keys}
    roots = [_walk(tree["tree_structure"], out) for tree in dump["tree_info"]]
    return Trees.from_dict(out | {"roots": roots})
