"""`qa tune confidence`: fit the judge's confidence model (qa/answer/judge.py), its
grounding limits and the abstention threshold, on both sides of abstention.

    python -m qa tune confidence [eval/qa.jsonl] [--offtopic eval/offtopic.jsonl]
                                 [--public 400] [--no-open] [--test] [--dry-run]

Fitted on (the "fit" part of each, THE SPLIT; qa/evaluation/abstention_sets.py):
eval/qa.jsonl on the bundled report (all of it), eval/offtopic.jsonl (to abstain), the public
questions (eval/external) asked of the bundled report (to abstain) and asked of a folder of
their passages (open mode, to answer; the folder and its index live in ``--work``, built on
the first run). Then, in this order:

1. the refusal limits: per kind of term (name, number, unknown run, noun, word, and a
   place name), the lowest general idf of a question's term missing from every report
   that refuses (confidence 0) at most ``--max-hard`` of the answerable questions of any
   set; then, for a Chinese question, the share of its key-term weight that no report
   holds and the dense similarity under which that refuses, chosen together to refuse the
   most unanswerable questions while still keeping within ``--max-hard`` and leaving a
   threshold that meets step 3's caps;
2. the logistic weights (classes weighted equally, each set equally within its class);
3. the threshold that abstains on the most unanswerable questions while abstaining on at
   most ``--max-false-abstention`` of the own answerable and ``--max-open-abstention`` of
   the open-mode ones.

Writes qa/models/confidence.json (with what it was fitted on and when; --dry-run only
prints). ``--test`` also prints the rates on the "test" parts (not fitted on). Rerun it
after the extractor changes: the features depend on the span chosen.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer.grounding import LIMIT_KINDS
from qa.answer.judge import logistic, missing_too_much, model_for
from qa.assistant import Assistant, load_assistant
from qa.atomic import write_text_atomically
from qa.errors import UsageError
from qa.evaluation import abstention_sets as sets
from qa.evaluation.evalset import EvalItem, load_eval_set
from qa.models import load_model, save_model

#: candidate grounding limits (general idf; 99: off). jieba's largest idf is about 17.9.
LIMITS = (*np.arange(9.0, 18.01, 0.5).round(1).tolist(), 99.0)


def fit(x: np.ndarray, y: np.ndarray, sample: np.ndarray, l2: float = 0.002,
        steps: int = 30000) -> np.ndarray:
    """Gradient descent on the weighted, L2-regularised logistic loss; [bias, w...]."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ ((p - y) * sample) + l2 * np.r_[0, w[1:]]
        w -= 1.0 * grad
    return w


def sample_weights(groups: Sequence[str], labels: np.ndarray) -> np.ndarray:
    """Each class half the weight; within a class each set (group) an equal share."""
    out = np.zeros(len(groups))
    for label in (0.0, 1.0):
        names = sorted({g for g, y in zip(groups, labels) if y == label})
        for name in names:
            mask = np.array([g == name and y == label for g, y in zip(groups, labels)])
            out[mask] = 0.5 / len(names) / mask.sum()
    return out


def decisive(f: dict[str, float], limits: dict[str, float]) -> bool:
    """Would the judge refuse outright under ``limits`` (qa/answer/judge.py ``refusal``)?"""
    return (any(f.get(f"missing_{k}_idf", 0.0) >= limits.get(k, 99.0) for k in LIMIT_KINDS)
            or f.get("missing_name", 0.0) >= limits.get("place", 99.0)
            or missing_too_much(f, limits))


#: the order limits are chosen in: the surest signs first (a number no report names).
LIMIT_ORDER = ("number", "place", "name", "noun", "word", "unknown")
#: candidate shares of a Chinese question's key-term weight that no report holds, and
#: dense similarities below which such a question is refused (qa/answer/judge.py
#: ``missing_too_much``); 99 and 1.01: off.
SHARES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 99.0)
SHARE_DENSE = (*np.arange(0.15, 0.401, 0.025).round(3).tolist(), 1.01)


def choose_limits(rows: list[dict[str, Any]], max_hard: float) -> dict[str, float]:
    """Per kind of missing term (``LIMIT_ORDER``), the lowest limit such that all the
    limits so far together refuse at most ``max_hard`` of every answerable set (``place``
    is on, 1.0, or off, 99)."""
    answerable = sorted({r["group"] for r in rows if r["label"]})
    limits: dict[str, float] = {}
    for kind in LIMIT_ORDER:
        for limit in ((1.0, 99.0) if kind == "place" else LIMITS):
            trial = {**limits, kind: limit}
            if _within(rows, trial, answerable, max_hard):
                limits = trial
                break
    return limits


def share_options(rows: list[dict[str, Any]], limits: dict[str, float], max_hard: float
                  ) -> list[dict[str, float]]:
    """``limits`` plus each pair (``share``, ``share_dense``) that, with them, refuses at
    most ``max_hard`` of every answerable set: best first (the most of the unanswerable
    sets refused, their mean, each counted equally; then the fewest answerable questions
    refused; then the stricter pair), the pair that never refuses last."""
    answerable = sorted({r["group"] for r in rows if r["label"]})
    unanswerable = sorted({r["group"] for r in rows if not r["label"]})
    ranked = []
    for share in SHARES[:-1]:
        for dense in SHARE_DENSE[:-1]:
            trial = {**limits, "share": share, "share_dense": dense}
            if not _within(rows, trial, answerable, max_hard):
                continue
            refused = np.mean([_share(_of(rows, g), trial) for g in unanswerable])
            wrongly = sum(_share(_of(rows, g), trial) for g in answerable)
            ranked.append(((round(float(refused), 6), -wrongly, share, -dense), trial))
    ranked.sort(key=lambda kt: kt[0], reverse=True)
    return [t for _, t in ranked] + [{**limits, "share": 99.0, "share_dense": 1.01}]


def _of(rows: list[dict[str, Any]], group: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["group"] == group]


def _within(rows: list[dict[str, Any]], limits: dict[str, float], groups: Sequence[str],
            max_hard: float) -> bool:
    return all(_share(_of(rows, g), limits) <= max_hard for g in groups)


def _share(rows: list[dict[str, Any]], limits: dict[str, float]) -> float:
    return sum(decisive(r["features"], limits) for r in rows) / max(1, len(rows))


def fit_weights(rows: list[dict[str, Any]], shipped: dict[str, dict[str, float]],
                l2: float) -> dict[str, dict[str, float]]:
    """One logistic model per question language, on the rows with terms to judge."""
    weights: dict[str, dict[str, float]] = {}
    for name in ("chinese", "foreign"):
        mine = [r for r in rows if r["features"].get("n_terms", 0) > 0
                and model_for(r["features"])[0] == name]
        if len({r["label"] for r in mine}) < 2:  # nothing to tell apart: keep what ships
            weights[name] = dict(shipped[name])
            print(f"{name}: {len(mine)} questions, not both kinds; weights kept as shipped")
            continue
        keys = model_for(mine[0]["features"])[1]
        x = np.asarray([[r["features"].get(k, 0.0) for k in keys] for r in mine])
        y = np.asarray([r["label"] for r in mine])
        w = fit(x, y, sample_weights([r["group"] for r in mine], y), l2)
        weights[name] = {"bias": round(float(w[0]), 3)}
        weights[name].update({k: round(float(v), 3) for k, v in zip(keys, w[1:])})
        print(f"{name}: {len(mine)} questions, {int(y.sum())} answerable")
    return weights


def confidences(rows: list[dict[str, Any]], weights: dict, limits: dict[str, float]
                ) -> list[float]:
    """What the judge would say of each row under ``weights`` and ``limits``."""
    return [0.0 if r["features"].get("n_terms", 0) == 0 or decisive(r["features"], limits)
            else logistic(r["features"], weights) for r in rows]


def choose_threshold(rows: list[dict[str, Any]], conf: list[float],
                     caps: dict[str, float], floors: dict[str, float] | None = None) -> float:
    """The most abstentions (the mean over the unanswerable sets, each counted equally) with
    each answerable set within its cap (``caps``: group → the share of it that may be
    abstained on; other groups: the first cap) and each unanswerable set in ``floors``
    abstained on at least that much. Of equally good thresholds the middle one."""
    cuts = sorted({0.0, *conf, 1.0})
    cuts = [(a + b) / 2 for a, b in zip(cuts, cuts[1:])]
    default = next(iter(caps.values()))
    answerable = {r["group"] for r in rows if r["label"]}
    unanswerable = sorted({r["group"] for r in rows if not r["label"]})
    scored = []
    for t in cuts:
        if any(_abstained(rows, conf, t, g) > caps.get(g, default) for g in answerable):
            continue
        if any(_abstained(rows, conf, t, g) < v for g, v in (floors or {}).items()):
            continue
        mean = sum(_abstained(rows, conf, t, g) for g in unanswerable) / len(unanswerable)
        scored.append((round(mean, 9), t))
    if not scored:
        return 0.0
    best = max(s for s, _ in scored)
    ties = [t for s, t in scored if s == best]
    return ties[len(ties) // 2]


def _abstained(rows: list[dict[str, Any]], conf: list[float], t: float,
               group: str | None) -> float:
    """Share abstained on of ``group`` (None: of all unanswerable rows)."""
    mine = [c for r, c in zip(rows, conf)
            if (r["group"] == group if group is not None else not r["label"])]
    return sum(c < t for c in mine) / max(1, len(mine))


def rates(rows: list[dict[str, Any]], conf: list[float], t: float) -> dict[str, float]:
    """Per set: the share answered (found) at threshold ``t``."""
    out = {}
    for g in dict.fromkeys(r["group"] for r in rows):
        out[f"{g} found"] = round(1 - _abstained(rows, conf, t, g), 3)
    return out


def features_of(assistant: Assistant, items: list[EvalItem], group: str | None = None
                ) -> list[dict[str, Any]]:
    """One row per question: its features, label (1: answerable), set, question and the
    shipped judge's reason."""
    rows = []
    for item in items:
        verdict = assistant.ask_traced(item.question)[1].verdict
        rows.append({"features": verdict.features, "label": 1.0 if item.answers else 0.0,
                     "group": group or _group(item), "question": item.question,
                     "reason": verdict.reason})
    return rows


def _group(item: EvalItem) -> str:
    if ":" in item.type:
        return item.type
    return "own:answerable" if item.answers else "own:unanswerable"


def collect(args: argparse.Namespace, part: str, bundled: Assistant) -> list[dict[str, Any]]:
    """Feature rows of every set's ``part`` (own eval: only with "fit", all of it)."""
    rows: list[dict[str, Any]] = []
    if part == "fit":
        rows += features_of(bundled, load_eval_set(args.file))
    rows += features_of(bundled, sets.offtopic_items(part, args.offtopic), "offtopic")
    rows += features_of(bundled, sets.ood_items(part, args.public))
    if not args.no_open:
        folder = sets.write_passages(Path(args.work) / f"passages-{part}", part)
        opened = load_assistant(folder, Path(args.work) / f"index-{part}", progress=True)
        rows += features_of(opened, sets.open_items(part, args.public))
    return rows


def read_rows(path: str) -> list[dict[str, Any]]:
    """The feature rows a run with ``--rows`` wrote; UsageError naming the file when they
    cannot be read."""
    try:
        rows = [json.loads(line) for line in Path(path).read_text("utf-8").splitlines()
                if line.strip()]
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the rows of {path}: {exc}") from None
    for n, row in enumerate(rows, 1):
        if not (isinstance(row, dict) and isinstance(row.get("features"), dict)
                and {"label", "group", "question"} <= row.keys()):
            raise UsageError(f"cannot read the rows of {path}: row {n} is not a row of "
                             "features, label, group and question (written by --rows)")
    return rows


def write_rows(path: str, rows: list[dict[str, Any]]) -> None:
    write_text_atomically(path, "".join(json.dumps(r, ensure_ascii=False) + "\n"
                                        for r in rows))


def add_set_arguments(ap: argparse.ArgumentParser) -> None:
    """The sets a judge's tool asks (``collect``) and its rows files, shared by
    `qa tune confidence` and qa/evaluation/fit_judge_gate.py."""
    ap.add_argument("file", nargs="?", default="eval/qa.jsonl")
    ap.add_argument("--offtopic", default="eval/offtopic.jsonl")
    ap.add_argument("--public", type=int, default=400,
                    help="public questions per set and part (0: all; default 400)")
    ap.add_argument("--work", default=".tune", help="where the public passages are indexed")
    ap.add_argument("--source", default="seeds")
    ap.add_argument("--index", default="index")
    ap.add_argument("--test", action="store_true", help="also print the test parts' rates")
    ap.add_argument("--rows", help="also write every question's features (JSON lines) here")
    ap.add_argument("--from-rows", help="fit on the features a run with --rows wrote instead "
                                        "of asking every question again")
    ap.add_argument("--dry-run", action="store_true", help="print, do not write the model")


def group_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many rows of each set, in the order first seen (for ``fitted_on``)."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["group"]] = counts.get(r["group"], 0) + 1
    return counts


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="qa tune confidence")
    add_set_arguments(ap)
    ap.add_argument("--no-open", action="store_true", help="without the open-mode questions")
    ap.add_argument("--max-false-abstention", type=float, default=0.01,
                    help="share of the own answerable questions that may be abstained on")
    ap.add_argument("--max-open-abstention", type=float, default=0.25,
                    help="the same for the open-mode public questions")
    ap.add_argument("--min-own-abstention", type=float, default=0.93,
                    help="share of the own unanswerable questions that must be abstained on")
    ap.add_argument("--keep-weights", action="store_true",
                    help="keep the shipped logistic weights; fit the refusal limits and the "
                         "threshold only")
    ap.add_argument("--max-hard", type=float, default=0.01,
                    help="share of any answerable set the refusal limits may refuse together")
    ap.add_argument("--l2", type=float, default=0.002, help="L2 penalty of the fit")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    rows = None
    if args.from_rows:  # read first: a bad file is told before the model loads
        try:
            rows = read_rows(args.from_rows)
        except UsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    bundled = load_assistant(args.source, args.index)
    if rows is None:
        rows = collect(args, "fit", bundled)
    if args.rows:
        write_rows(args.rows, rows)
    shipped = bundled.settings.confidence_weights
    weights = shipped if args.keep_weights else fit_weights(rows, shipped, args.l2)
    caps = {"own:answerable": args.max_false_abstention}
    caps.update({f"open:{n}": args.max_open_abstention for n in sets.PUBLIC})
    # the best share rule under which a threshold still meets the caps and the floor
    for limits in share_options(rows, choose_limits(rows, args.max_hard), args.max_hard):
        conf = confidences(rows, weights, limits)
        threshold = choose_threshold(rows, conf, caps,
                                     {"own:unanswerable": args.min_own_abstention})
        if threshold > 0.0:
            break
    if threshold <= 0.0:
        print("no threshold meets the caps and the floor: nothing written")
        return 1
    print(f"refusal limits: {limits}; threshold {threshold:.3f}")
    print("refused:", {g: round(_share([r for r in rows if r["group"] == g], limits), 3)
                       for g in dict.fromkeys(r["group"] for r in rows)})
    print("fit:", rates(rows, conf, threshold))
    if args.test:
        test = collect(args, "test", bundled)
        print("test:", rates(test, confidences(test, weights, limits), threshold))
    if not args.dry_run:
        model = load_model("confidence")
        model.update(weights=weights, threshold=round(threshold, 3),
                     refusal_limits=limits,
                     fitted_on=fitted_on(args, rows),
                     fitted_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        print(f"wrote {save_model('confidence', model)}")
    return 0


def fitted_on(args: argparse.Namespace, rows: list[dict[str, Any]]) -> str:
    return (f"the 'fit' part (sha1 % 10 < 6) of: {args.file} (all), {args.offtopic}, "
            f"{' and '.join(sets.PUBLIC.values())} asked of {args.source} (ood) and of their "
            f"passages (open); {group_counts(rows)}; threshold: most abstentions with at most "
            f"{args.max_false_abstention:.0%} own and {args.max_open_abstention:.0%} open "
            f"false abstention and at least {args.min_own_abstention:.0%} own abstention "
            f"(mean over the unanswerable sets); weights "
            f"{'kept as shipped' if args.keep_weights else 'refitted'}; refusal limits "
            f"refuse at most {args.max_hard:.1%} of any "
            f"answerable set (`python -m qa tune confidence`)")
