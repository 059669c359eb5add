"""`qa tune confidence`: fit the judge's confidence model (qa/answer/judge.py) and the
abstention threshold on an eval set.

    python -m qa tune confidence [eval/qa.jsonl] [--source seeds] [--index index]
                                 [--l2 0.002] [--check eval/holdout.jsonl] [--dry-run]

Writes the logistic weights and the threshold to qa/models/confidence.json (with the set
they were fitted on and when; --dry-run only prints them), and prints the
threshold that abstains on the most unanswerable questions while abstaining on at most 4%
of the answerable ones (--max-false-abstention), and the same rates for the shipped weights
and threshold: the fit minimises the logistic loss, which is not quite that goal, so a refit
is worth shipping only when it does better. Label: 1 for an answerable question, 0 for
an unanswerable one. With --check it also prints how the fitted model and threshold do on a
second set that was not fitted on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer.judge import logistic, model_for
from qa.assistant import Assistant, load_assistant
from qa.evaluation.evalset import EvalItem, load_eval_set
from qa.evaluation.evaluate import choose_threshold
from qa.models import load_model, save_model


def fit(x: np.ndarray, y: np.ndarray, l2: float = 0.002, steps: int = 30000) -> np.ndarray:
    """Plain gradient descent on the L2-regularised logistic loss; returns [bias, w...]."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    # Weight classes equally: there are far fewer unanswerable than answerable questions.
    sample = np.where(y == 1, 0.5 / max(1, y.sum()), 0.5 / max(1, (1 - y).sum()))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ ((p - y) * sample) + l2 * np.r_[0, w[1:]]
        w -= 1.0 * grad
    return w


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="qa tune confidence")
    ap.add_argument("file", nargs="?", default="eval/qa.jsonl")
    ap.add_argument("--source", default="seeds")
    ap.add_argument("--index", default="index")
    ap.add_argument("--max-false-abstention", type=float, default=0.04,
                    help="share of answerable questions that may be abstained on (default "
                         "0.04: a margin under the 5%% the product promises)")
    ap.add_argument("--l2", type=float, default=0.002, help="L2 penalty of the fit")
    ap.add_argument("--check", help="a second eval set to score the fitted model on")
    ap.add_argument("--refit", choices=("chinese", "foreign"), action="append",
                    help="refit only this model (repeatable); the other keeps its shipped "
                         "weights. Default: both")
    ap.add_argument("--keep-threshold", action="store_true",
                    help="score at the shipped threshold instead of choosing one")
    ap.add_argument("--dry-run", action="store_true", help="print, do not write the model")
    args = ap.parse_args(argv)
    assistant = load_assistant(args.source, args.index)
    items = load_eval_set(args.file)
    feats, labels = features_of(assistant, items)
    usable = [i for i, f in enumerate(feats) if f.get("n_terms", 0) > 0]
    weights: dict[str, dict[str, float]] = {}
    for name in ("chinese", "foreign"):
        mine = [i for i in usable if model_for(feats[i])[0] == name]
        if args.refit and name not in args.refit:
            weights[name] = dict(assistant.settings.confidence_weights[name])
            print(f"{name}: weights kept as shipped")
            continue
        if len({labels[i] for i in mine}) < 2:  # nothing to tell apart: keep what ships
            weights[name] = dict(assistant.settings.confidence_weights[name])
            print(f"{name}: {len(mine)} questions, not both kinds; weights kept as shipped")
            continue
        keys = model_for(feats[mine[0]])[1]
        x = np.asarray([[feats[i].get(k, 0.0) for k in keys] for i in mine])
        y = np.asarray([labels[i] for i in mine])
        w = fit(x, y, args.l2)
        weights[name] = {"bias": round(float(w[0]), 3)}
        weights[name].update({k: round(float(v), 3) for k, v in zip(keys, w[1:])})
        print(f"{name}: {len(mine)} questions, {int(y.sum())} answerable")
    threshold = (assistant.settings.threshold if args.keep_threshold else
                 choose_threshold(_rows(feats, labels, weights), args.max_false_abstention))
    print(json.dumps({"weights": weights, "threshold": round(threshold, 3),
                      **_rates(_rows(feats, labels, weights), threshold)}, indent=1))
    # a refit minimises the logistic loss, not the abstentions at the cap: compare
    shipped = assistant.settings
    print("shipped weights and threshold:", json.dumps(
        _rates(_rows(feats, labels, shipped.confidence_weights), shipped.threshold)))
    if args.check:
        other = features_of(assistant, load_eval_set(args.check))
        print(f"{args.check}:", json.dumps(_rates(_rows(*other, weights), threshold)))
    if not args.dry_run:
        model = load_model("confidence")
        model.update(weights=weights, threshold=round(threshold, 3),
                     fitted_on=fitted_on(args.file, len(items), args.max_false_abstention),
                     fitted_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        print(f"wrote {save_model('confidence', model)}")
    return 0


def fitted_on(path: str, n: int, cap: float) -> str:
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    return (f"{path} ({n} questions, sha256 {digest}); threshold: most abstentions with at "
            f"most {cap:.0%} false abstention")


def features_of(assistant: Assistant, items: list[EvalItem]) -> tuple[list[dict], list[float]]:
    """The confidence features of each question, and 1 if it is answerable else 0."""
    feats = [assistant.ask_traced(item.question)[1].verdict.features for item in items]
    return feats, [1.0 if item.answers else 0.0 for item in items]


def _rows(feats: list[dict], labels: list[float], weights: dict) -> list[dict[str, Any]]:
    return [{"expected": [1] if y else [],
             "confidence": logistic(f, weights) if f.get("n_terms", 0) > 0 else 0.0}
            for f, y in zip(feats, labels)]


def _rates(rows: list[dict[str, Any]], threshold: float) -> dict[str, float]:
    ans = [r["confidence"] for r in rows if r["expected"]]
    unans = [r["confidence"] for r in rows if not r["expected"]]
    return {"abstain_recall": round(sum(c < threshold for c in unans) / max(1, len(unans)), 3),
            "false_abstention": round(sum(c < threshold for c in ans) / max(1, len(ans)), 3)}
