"""Reliability of the confidence: in each confidence bin, the share of questions whose best
span answers (answerable and containing a gold answer). A well-calibrated judge lies on the
diagonal; `qa eval --reliability PNG` draws it, with the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from qa.atomic import save_figure_atomically
from qa.evaluation.evaluate import contains_gold


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    n: int
    mean_confidence: float
    accuracy: float  # share whose best span answers


def answered_right(row: dict[str, Any]) -> bool:
    """Does the row's best span (found or not) answer: answerable and holding a gold?"""
    return bool(row["expected"]) and contains_gold(row.get("span") or row["got"], row["expected"])


def bins(rows: Iterable[dict[str, Any]], n_bins: int = 10) -> list[Bin]:
    """Equal-width confidence bins in [0, 1]; empty bins are left out."""
    groups: list[list[tuple[float, bool]]] = [[] for _ in range(n_bins)]
    for r in rows:
        c = min(max(float(r["confidence"]), 0.0), 1.0)
        groups[min(int(c * n_bins), n_bins - 1)].append((c, answered_right(r)))
    out = []
    for i, g in enumerate(groups):
        if g:
            out.append(Bin(i / n_bins, (i + 1) / n_bins, len(g), sum(c for c, _ in g) / len(g),
                           sum(ok for _, ok in g) / len(g)))
    return out


def expected_calibration_error(found: list[Bin]) -> float:
    """Mean |accuracy − confidence| over the bins, weighted by their size."""
    total = sum(b.n for b in found)
    return sum(b.n * abs(b.accuracy - b.mean_confidence) for b in found) / max(1, total)


def plot_reliability(rows: list[dict[str, Any]], path: str, threshold: float | None = None,
                     title: str = "confidence vs accuracy") -> list[Bin]:
    """Draw the reliability diagram (bars: accuracy per bin; counts on top) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = bins(rows)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    bars = ax.bar([b.mean_confidence for b in found], [b.accuracy for b in found],
                  width=0.08, alpha=0.75, label="share answered right")
    ax.bar_label(bars, labels=[str(b.n) for b in found], fontsize=7)
    if threshold is not None:
        ax.axvline(threshold, color="red", lw=1, label=f"threshold {threshold:.2f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("confidence (bin mean)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title} (ECE {expected_calibration_error(found):.3f})")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    save_figure_atomically(fig, path, dpi=110)
    plt.close(fig)
    return found
