"""Fit the judge's grounding gate (qa/answer/gate.py) and write it into
qa/models/gate.json (trees, threshold, what it was fitted on).

    python -m qa.evaluation.fit_judge_gate [--from-rows ROWS] [--rows OUT] [--public 400]
                                          [--max-loss 0.03] [--test] [--dry-run]

The rows are the judge's features of every question of the "fit" part of each set
(THE SPLIT; `qa tune confidence` collects them the same way and ``--rows`` of either tool
writes them): eval/qa.jsonl and the public questions asked of their passages (open mode)
are answerable; the off-topic set and the public questions asked of the bundled report
(ood) are not. Only questions with Chinese characters are gated.

1. LightGBM (binary, each class half the weight, each set an equal share of its class) on
   ``qa.answer.gate.FEATURES``; every row also gets an out-of-fold score (five folds by
   question), so the threshold is chosen on scores of questions the trees did not see.
2. The threshold: the highest under which the gate keeps at least ``1 - --max-loss`` of
   every answerable set's questions that the judge answers without it.
3. The trees are refitted on every row, flattened (qa/answer/trees.py) and checked to score
   as LightGBM does.

Run it after `qa tune confidence` (the gate only sees what passes the logistic model and
its threshold); rerun both after the extractor changes. ``--test`` prints what the judge
answers on the "test" parts (never fitted on) with and without the gate.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer import gate as gate_module
from qa.answer import trees
from qa.assistant import Assistant, load_assistant
from qa.atomic import write_text_atomically
from qa.config import Settings
from qa.errors import UsageError
from qa.evaluation import tune_confidence as tune
from qa.models import FOLDER

PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 15,
          "min_data_in_leaf": 20, "bagging_fraction": 0.8, "bagging_freq": 1,
          "feature_fraction": 0.8, "verbose": -1, "seed": 17, "deterministic": True,
          "num_threads": 2}
ROUNDS = 300
FOLDS = 5


def gated_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows the gate judges: Chinese questions with terms to weigh."""
    return [r for r in rows if r["features"].get("cjk", 0.0)
            and r["features"].get("n_terms", 0.0) > 0]


def matrix(rows: list[dict[str, Any]]) -> np.ndarray:
    return np.asarray([[r["features"].get(k, 0.0) for k in gate_module.FEATURES]
                       for r in rows], dtype=np.float64)


def train(x: np.ndarray, y: np.ndarray, weight: np.ndarray):  # type: ignore[no-untyped-def]
    import lightgbm

    data = lightgbm.Dataset(x, y, weight=weight, feature_name=list(gate_module.FEATURES))
    return lightgbm.train(PARAMS, data, num_boost_round=ROUNDS)


def fold_of(question: str) -> int:
    return int(hashlib.sha1(question.encode("utf-8")).hexdigest(), 16) % FOLDS


def out_of_fold(rows: list[dict[str, Any]]) -> np.ndarray:
    """Every row's gate score from trees fitted without its fold."""
    x, y = matrix(rows), np.asarray([r["label"] for r in rows])
    weight = tune.sample_weights([r["group"] for r in rows], y)
    folds = np.asarray([fold_of(r["question"]) for r in rows])
    scores = np.zeros(len(rows))
    for k in range(FOLDS):
        held = folds == k
        scores[held] = train(x[~held], y[~held], weight[~held]).predict(x[held])
    return scores


def choose_threshold(rows: list[dict[str, Any]], scores: np.ndarray, answered: np.ndarray,
                     max_loss: float) -> float:
    """The highest gate threshold keeping at least ``1 - max_loss`` of every answerable
    set's ``answered`` rows (a midpoint between two scores)."""
    groups = sorted({r["group"] for r in rows if r["label"]})
    kept = [scores[np.asarray([r["group"] == g for r in rows]) & answered] for g in groups]
    kept = [k for k in kept if len(k)]
    cuts = sorted({0.0, *scores.tolist()})
    best = 0.0
    for a, b in zip(cuts, cuts[1:]):
        t = (a + b) / 2
        if any((k >= t).mean() < 1 - max_loss for k in kept):
            break
        best = t
    return best


def answered_without_gate(rows: list[dict[str, Any]], settings: Settings) -> np.ndarray:
    """Which rows the judge answers with the shipped logistic model, limits and threshold."""
    conf = tune.confidences(rows, settings.confidence_weights, settings.missing_limits)
    return np.asarray(conf) >= settings.threshold


def found_rates(rows: list[dict[str, Any]], answered: np.ndarray,
                scores: np.ndarray | None = None, threshold: float = 0.0) -> dict[str, float]:
    """Per set: the share the judge answers (with the gate, when ``scores`` are given; rows
    the gate does not judge have no score and pass)."""
    out = {}
    for g in dict.fromkeys(r["group"] for r in rows):
        mine = np.asarray([r["group"] == g for r in rows])
        passed = answered if scores is None else answered & (scores >= threshold)
        out[g] = round(float(passed[mine].mean()), 3)
    return out


def fit_and_flatten(rows: list[dict[str, Any]]) -> trees.Trees:
    x, y = matrix(rows), np.asarray([r["label"] for r in rows])
    booster = train(x, y, tune.sample_weights([r["group"] for r in rows], y))
    flat = trees.from_lightgbm_dump(booster.dump_model())
    if not np.allclose(flat.predict(x), booster.predict(x, raw_score=True), atol=1e-9):
        raise AssertionError("the flat trees do not score as LightGBM does")
    return flat


def all_scores(rows: list[dict[str, Any]], model: trees.Trees) -> np.ndarray:
    """The gate's score of every row; rows it does not judge get 1.0 (they pass)."""
    judged = {id(r) for r in gated_rows(rows)}
    z = model.predict(matrix(rows))
    return np.where([id(r) in judged for r in rows], 1 / (1 + np.exp(-np.clip(z, -30, 30))),
                    1.0)


def bundled(args: argparse.Namespace) -> Assistant:
    """The bundled report's assistant, to ask the questions (loaded once)."""
    if not hasattr(args, "assistant"):
        args.assistant = load_assistant(args.source, args.index)
    return args.assistant


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m qa.evaluation.fit_judge_gate")
    tune.add_set_arguments(ap)
    ap.add_argument("--max-loss", type=float, default=0.03,
                    help="share of any answerable set's answered questions the gate may "
                         "abstain on (default 0.03)")
    args = ap.parse_args(argv)
    args.no_open = False
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if importlib.util.find_spec("lightgbm") is None:
        print("qa: fitting the gate needs lightgbm: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    try:
        rows = tune.read_rows(args.from_rows) if args.from_rows else None
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    if rows is None:
        rows = tune.collect(args, "fit", bundled(args))
    if args.rows:
        tune.write_rows(args.rows, rows)
    judged = gated_rows(rows)
    answered = answered_without_gate(judged, settings)
    threshold = choose_threshold(judged, out_of_fold(judged), answered, args.max_loss)
    model = fit_and_flatten(judged)
    tell(args, rows, model, threshold, settings)
    if not args.dry_run:
        print(f"wrote {write_gate(args, judged, model, threshold)}")
    return 0


def tell(args: argparse.Namespace, rows: list[dict[str, Any]], model: trees.Trees,
         threshold: float, settings: Settings) -> None:
    """Print what the judge answers per set without and with the gate: the fit part (the
    trees in sample) and, with ``--test``, the test part."""
    print(f"gate threshold {threshold:.4f}")
    answered = answered_without_gate(rows, settings)
    print("fit, without the gate:", found_rates(rows, answered))
    print("fit, with it (in sample):",
          found_rates(rows, answered, all_scores(rows, model), threshold))
    if args.test:
        test = tune.collect(args, "test", bundled(args))
        answered_test = answered_without_gate(test, settings)
        print("test, without the gate:", found_rates(test, answered_test))
        print("test, with it:",
              found_rates(test, answered_test, all_scores(test, model), threshold))


def write_gate(args: argparse.Namespace, judged: list[dict[str, Any]], model: trees.Trees,
               threshold: float) -> Path:
    gate = {"features": list(gate_module.FEATURES), "threshold": round(threshold, 6),
            "kind": "lightgbm binary as flat trees", "params": PARAMS, "rounds": ROUNDS,
            "fitted_on": fitted_on(args, judged),
            "fitted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "trees": model.to_dict()}
    path = FOLDER / "gate.json"  # one line: thousands of tree nodes
    write_text_atomically(path, json.dumps(gate, ensure_ascii=False) + "\n")
    return path


def fitted_on(args: argparse.Namespace, rows: list[dict[str, Any]]) -> str:
    return (f"the Chinese questions of the 'fit' part (sha1 % 10 < 6) of: {args.file} (all), "
            f"{args.offtopic}, the public sets asked of {args.source} (ood) and of their "
            f"passages (open); {tune.group_counts(rows)}; threshold: the highest keeping "
            f"{1 - args.max_loss:.0%} of every answerable set's answered questions, on "
            f"out-of-fold scores ({FOLDS} folds by question)")


if __name__ == "__main__":
    raise SystemExit(main())
