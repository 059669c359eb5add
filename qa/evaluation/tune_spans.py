"""`qa tune spans`: fit the span chooser's weights (qa/answer/extract.py SPAN_FEATURES) on
an eval set, and write them to qa/models/spans.json (--dry-run: only print them).

    python -m qa tune spans [eval/qa.jsonl] [--source seeds] [--index index]
                            [--l2 0.0003] [--precision 0.2] [--check eval/holdout.jsonl]

For every answerable question it collects each candidate span of the top paragraphs with
its features, and fits a pairwise logistic model: a candidate that contains a gold answer
should outscore one that does not. Prints the 5-fold cross-validated share of questions
whose best candidate contains a gold answer (folds by question), the same with the
current weights, and the fitted weights (with the set they were fitted on and when).
With --check it also scores a second set that was not fitted on. Longer spans contain
answers more often, so precision is asked for explicitly (--precision) and the length
penalty has a floor; the median length of the chosen spans is printed too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from qa.answer.extract import SPAN_FEATURES, span_score
from qa.assistant import Assistant, load_assistant
from qa.evaluation.evalset import EvalItem, load_eval_set
from qa.evaluation.evaluate import contains_gold
from qa.models import load_model, save_model

#: candidate pairs sampled per question, so that long paragraphs do not dominate.
_PAIRS_PER_QUESTION = 200
#: a span this many characters longer than the shortest right one is still precise.
_SLACK = 10
#: the least penalty per ten characters beyond twelve.
_MIN_LENGTH_PENALTY = 0.02


def collect(assistant: Assistant, items: list[EvalItem]
            ) -> list[list[tuple[str, dict[str, float], bool]]]:
    """Per answerable question: [(span text, features, contains a gold answer)]."""
    out = []
    for item in items:
        if not item.answers:
            continue
        cands = []
        for chunk, span, f in assistant.ask_traced(item.question)[1].extraction.candidates:
            text = assistant.source_text(chunk.doc)[span.start:span.end]
            cands.append((text, f, contains_gold(text, item.answers)))
        out.append(cands)
    return out


def _vector(f: dict[str, float]) -> np.ndarray:
    return np.array([f[k] for k in SPAN_FEATURES])


def fit(questions: list, l2: float, precision: float) -> dict[str, float]:
    """Pairwise logistic regression (no bias: only differences matter), by L-BFGS."""
    diffs, weights = [], []
    for q, cands in enumerate(questions):
        shortest = min((len(t) for t, _, ok in cands if ok), default=0)
        right = [(len(t), _vector(f)) for t, f, ok in cands if ok]
        wrong = [_vector(f) for _, f, ok in cands if not ok]
        # A span holding the answer beats one that does not; a precise one (within a few
        # characters of the shortest right span) also beats a needlessly long right one,
        # with weight ``precision``.
        pairs = [(p, n, 1.0) for _, p in right for n in wrong]
        pairs += [(p, n, precision) for lp, p in right if lp <= shortest + _SLACK
                  for ln, n in right if ln > shortest + _SLACK]
        random.Random(q).shuffle(pairs)
        for p, n, weight in pairs[:_PAIRS_PER_QUESTION]:
            diffs.append(p - n)
            weights.append(weight)
    if not diffs:
        raise SystemExit("no question has both a right and a wrong candidate span")
    x, sample = np.asarray(diffs), np.asarray(weights) / sum(weights)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        p = 1 / (1 + np.exp(-z))
        value = sample @ np.logaddexp(0, -z) + 0.5 * l2 * w @ w
        return value, -x.T @ ((1 - p) * sample) + l2 * w

    # Between two spans that are otherwise alike the shorter one is the better answer: the
    # fit may not learn a taste for length (more text holds the answer more often).
    bounds = [(None, -_MIN_LENGTH_PENALTY) if k == "extra_length" else (None, None)
              for k in SPAN_FEATURES]
    start = np.array([-_MIN_LENGTH_PENALTY if k == "extra_length" else 0.0
                      for k in SPAN_FEATURES])
    w = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x
    return {k: round(float(v), 3) for k, v in zip(SPAN_FEATURES, w)}


def score(questions: list, weights: dict[str, float]) -> tuple[float, float]:
    """(share of questions whose best span contains a gold answer, median span length)."""
    right, lengths = 0, []
    for cands in questions:
        text, _, ok = max(cands, key=lambda c: span_score(c[1], weights))
        right += ok
        lengths.append(len(text))
    return right / len(questions), statistics.median(lengths)


def cross_validate(questions: list, l2: float, precision: float,
                   folds: int = 5) -> tuple[float, float]:
    order = list(range(len(questions)))
    random.Random(1).shuffle(order)
    right, lengths = 0.0, []
    for k in range(folds):
        test = set(order[k::folds])
        weights = fit([q for i, q in enumerate(questions) if i not in test], l2, precision)
        share, length = score([questions[i] for i in sorted(test)], weights)
        right += share * len(test)
        lengths.append(length)
    return right / len(questions), statistics.median(lengths)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="qa tune spans")
    ap.add_argument("file", nargs="?", default="eval/qa.jsonl")
    ap.add_argument("--source", default="seeds")
    ap.add_argument("--index", default="index")
    ap.add_argument("--l2", type=float, default=0.0003, help="L2 penalty of the fit")
    ap.add_argument("--precision", type=float, default=0.2,
                    help="weight of 'a precise right span beats a long right one' against "
                         "'a right span beats a wrong one' (1)")
    ap.add_argument("--check", help="a second eval set to score the fitted weights on")
    ap.add_argument("--dry-run", action="store_true", help="print, do not write the model")
    args = ap.parse_args(argv)
    assistant = load_assistant(args.source, args.index)
    questions = collect(assistant, load_eval_set(args.file))
    if not questions:
        raise SystemExit(f"{args.file} has no answerable question to fit on")
    current = assistant.settings.span_weights
    print(f"current weights:  contain {score(questions, current)[0]:.3f}, "
          f"median length {score(questions, current)[1]}")
    cv = cross_validate(questions, args.l2, args.precision)
    print(f"5-fold CV (l2={args.l2}, precision={args.precision}): contain {cv[0]:.3f}, "
          f"median length {cv[1]}")
    weights = fit(questions, args.l2, args.precision)
    fitted = score(questions, weights)
    print(f"fitted on all:    contain {fitted[0]:.3f}, median length {fitted[1]}")
    if args.check:
        other = collect(assistant, load_eval_set(args.check))
        if not other:
            raise SystemExit(f"{args.check} has no answerable question to check on")
        print(f"{args.check}: current {score(other, current)[0]:.3f}, "
              f"fitted {score(other, weights)[0]:.3f} (median length {score(other, weights)[1]})")
    print(json.dumps(weights, ensure_ascii=False))
    if not args.dry_run:
        digest = hashlib.sha256(Path(args.file).read_bytes()).hexdigest()[:12]
        model = load_model("spans")
        model.update(weights=weights, fitted_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     fitted_on=f"{args.file} ({len(questions)} answerable questions, sha256 "
                               f"{digest}; l2 {args.l2}, precision {args.precision})")
        print(f"wrote {save_model('spans', model)}")
    return 0
