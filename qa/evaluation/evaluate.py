"""Run an eval set three ways (BM25 only, dense only, hybrid) and compute its metrics.

Metrics are pure functions of per-question rows, so they are testable without a model.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from qa.assistant import MODES, Assistant
from qa.evaluation.evalset import EvalItem
from qa.text.normalize import normalize


@dataclass
class Row:
    id: str
    type: str
    question: str
    expected: list[str]
    got: str
    span: str  # the best span whether or not it was confident enough to be the answer
    found: bool
    confidence: float
    rank: int | None  # 1-based rank of the first paragraph holding the evidence
    contained: bool
    f1: float
    latency_ms: float

    @property
    def answerable(self) -> bool:
        return bool(self.expected)

    @property
    def correct(self) -> bool:
        return self.contained if self.answerable else not self.found


def char_f1(pred: str, gold: str) -> float:
    """Character-level F1 (bag of characters), on normalised text."""
    p, g = normalize(pred), normalize(gold)
    if not p or not g:
        return 0.0
    counts: dict[str, int] = defaultdict(int)
    for ch in g:
        counts[ch] += 1
    common = 0
    for ch in p:
        if counts[ch] > 0:
            common += 1
            counts[ch] -= 1
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def contains_gold(answer: str, golds: Iterable[str]) -> bool:
    a = normalize(answer)
    return bool(a) and any(normalize(g) in a for g in golds)


def run_item(assistant: Assistant, item: EvalItem, mode: str) -> Row:
    t = time.perf_counter()
    answer, trace = assistant.ask_traced(item.question, 3, mode)
    latency = (time.perf_counter() - t) * 1000
    found = answer.found
    got = answer.answer
    rank = None
    if item.evidence:
        chunks = assistant.index.chunks
        for i, cid in enumerate(trace.retrieval.ranking, 1):
            if item.evidence in chunks[cid].text:
                rank = i
                break
    golds = list(item.answers)
    span = answer.citations[0].text if answer.citations else ""
    return Row(item.id, item.type, item.question, golds, got, span, found, answer.confidence, rank,
               contains_gold(got, golds), max((char_f1(got, g) for g in golds), default=0.0),
               latency)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def metrics(rows: list[Row]) -> dict[str, float | int | None]:
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    abstained = [r for r in rows if not r.found]
    n = len(answerable)
    lengths = [len(r.got) for r in answerable if r.found and r.got]

    def share(k: int) -> float | None:
        return sum(1 for r in answerable if r.rank is not None and r.rank <= k) / n if n else None

    return {
        "n": len(rows),
        "hit@1": share(1),
        "hit@3": share(3),
        "mrr": sum(1 / r.rank for r in answerable if r.rank) / n if n else None,
        "containment": sum(r.contained for r in answerable) / n if n else None,
        "f1": sum(r.f1 for r in answerable) / n if n else None,
        "answer_len_median": statistics.median(lengths) if lengths else None,
        "abstain_precision": (sum(1 for r in abstained if not r.answerable) / len(abstained)
                              if abstained else None),
        "abstain_recall": (sum(1 for r in unanswerable if not r.found) / len(unanswerable)
                           if unanswerable else None),
        "false_abstention": sum(1 for r in answerable if not r.found) / n if n else None,
        "latency_p50_ms": _pct([r.latency_ms for r in rows], 0.5),
        "latency_p95_ms": _pct([r.latency_ms for r in rows], 0.95),
    }


def by_type(rows: list[Row]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        groups[r.type].append(r)
    out = {t: metrics(rs) for t, rs in sorted(groups.items())}
    out["overall"] = metrics(rows)
    return out


def evaluate(assistant: Assistant, items: list[EvalItem],
             modes: Iterable[str] = MODES) -> dict[str, Any]:
    """``{"modes": {mode: {type|overall: metrics}}, "rows": {mode: [row, ...]}}``."""
    report: dict[str, Any] = {"modes": {}, "rows": {}}
    if items:  # the first question pays for lazy loading (jieba's dictionary): not timed
        assistant.ask(items[0].question)
    for mode in modes:
        rows = [run_item(assistant, item, mode) for item in items]
        report["modes"][mode] = by_type(rows)
        report["rows"][mode] = [dict(asdict(r), correct=r.correct) for r in rows]
    return report


def choose_threshold(rows: list[dict[str, Any]], max_false_abstention: float = 0.05) -> float:
    """The threshold that abstains on the most unanswerable questions while abstaining on at
    most ``max_false_abstention`` of the answerable ones. Of the thresholds that do equally
    well, the middle one is taken: the widest margin on both sides."""
    answerable = [r["confidence"] for r in rows if r["expected"]]
    unanswerable = [r["confidence"] for r in rows if not r["expected"]]
    points = sorted({0.0, *answerable, *unanswerable, 1.0})
    cuts = [(a + b) / 2 for a, b in zip(points, points[1:])] or [0.5]
    scored = []
    for t in cuts:
        false_abs = sum(1 for c in answerable if c < t) / max(1, len(answerable))
        if false_abs > max_false_abstention:
            continue
        recall = sum(1 for c in unanswerable if c < t) / max(1, len(unanswerable))
        scored.append(((recall, -false_abs), t))
    if not scored:
        return 0.0
    best = max(key for key, _ in scored)
    ties = [t for key, t in scored if key == best]
    return ties[len(ties) // 2]
