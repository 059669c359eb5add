"""`qa eval`: run the set, print the table, write JSON and the chart, apply the floors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from qa.atomic import save_figure_atomically, write_text_atomically
from qa.errors import UsageError
from qa.evaluation.floors import read_floors, tell_broken

COLUMNS = [
    ("hit@1", "hit@1", "{:.2f}"), ("hit@3", "hit@3", "{:.2f}"), ("mrr", "MRR", "{:.2f}"),
    ("containment", "contain", "{:.2f}"), ("f1", "F1", "{:.2f}"),
    ("answer_len_median", "len", "{:.0f}"), ("abstain_precision", "absP", "{:.2f}"),
    ("abstain_recall", "absR", "{:.2f}"), ("false_abstention", "falseAbs", "{:.2f}"),
    ("latency_p50_ms", "p50ms", "{:.1f}"), ("latency_p95_ms", "p95ms", "{:.1f}"),
]
#: metrics where lower is better (a floor on them is a ceiling).
LOWER_IS_BETTER = {"false_abstention", "answer_len_median", "latency_p50_ms", "latency_p95_ms"}


def format_table(report: dict[str, Any]) -> str:
    modes = list(report["modes"])
    types = list(next(iter(report["modes"].values())))
    head = f"{'type':<13}{'mode':<7}{'n':>4} " + " ".join(f"{h:>8}" for _, h, _ in COLUMNS)
    lines = [head, "-" * len(head)]
    for t in types:
        for m in modes:
            row = report["modes"][m][t]
            cells = []
            for key, _, fmt in COLUMNS:
                v = row.get(key)
                cells.append(f"{'-' if v is None else fmt.format(v):>8}")
            lines.append(f"{t:<13}{m:<7}{row['n']:>4} " + " ".join(cells))
        if t != types[-1]:
            lines.append("")
    return "\n".join(lines)


def abstained_lines(report: dict[str, Any]) -> list[str]:
    """One line per mode with the share of unanswerable questions answered "not found" (an
    off-topic set is all unanswerable: this is its figure)."""
    lines = []
    for mode, rows in report.get("rows", {}).items():
        unanswerable = [r for r in rows if not r["expected"]]
        if unanswerable:
            done = sum(not r["found"] for r in unanswerable)
            lines.append(f"abstained ({mode}): {done / len(unanswerable):.3f} "
                         f"({done} of {len(unanswerable)} unanswerable questions)")
    return lines


def check_floors(report: dict[str, Any], floors: dict[str, Any], name: str = "") -> list[str]:
    """Problems: a hybrid metric past its floor, or hybrid worse than a single retriever.
    A set with a section of its own in ``floors`` (its file's stem ``name``, e.g.
    "offtopic") is held to that section instead of "hybrid" and "hybrid_beats"."""
    problems = []
    overall = {m: report["modes"][m]["overall"] for m in report["modes"]}
    hybrid = overall.get("hybrid")
    if hybrid is None:
        return ["the floors apply to the hybrid mode, which was not run"]
    own = floors.get(name) if name else None
    if isinstance(own, dict):
        floors = {"hybrid": own}
    for key, floor in (floors.get("hybrid") or {}).items():
        value = hybrid.get(key)
        if value is None:
            problems.append(f"hybrid {key} was not measured")
        elif key in LOWER_IS_BETTER and value > floor:
            problems.append(f"hybrid {key} = {value:.3f} is above its ceiling {floor}")
        elif key not in LOWER_IS_BETTER and value < floor:
            problems.append(f"hybrid {key} = {value:.3f} is below its floor {floor}")
    for key in floors.get("hybrid_beats", []):
        for other in ("bm25", "dense"):
            if other in overall and (hybrid.get(key) or 0) < (overall[other].get(key) or 0):
                problems.append(f"hybrid {key} = {hybrid[key]:.3f} is worse than {other} "
                                f"({overall[other][key]:.3f})")
    return problems


def plot(report: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    keys = ["hit@1", "hit@3", "mrr", "containment", "f1", "abstain_recall"]
    modes = list(report["modes"])
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(modes)
    for i, m in enumerate(modes):
        vals = [report["modes"][m]["overall"].get(k) or 0 for k in keys]
        bars = ax.bar(x + i * width, vals, width, label=m)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(x + width * (len(modes) - 1) / 2, keys)
    ax.set_ylim(0, 1.2)
    ax.set_title("eval: BM25 vs dense vs hybrid (overall)")
    ax.legend(loc="upper center", ncol=3)  # above the bars, whatever their height
    fig.tight_layout()
    save_figure_atomically(fig, path, dpi=110)
    plt.close(fig)


def run_eval(args: argparse.Namespace) -> int:
    from qa.assistant import MODES, load_assistant
    from qa.evaluation.evalset import load_eval_set, validate_eval_set
    from qa.evaluation.evaluate import evaluate

    items = load_eval_set(args.file)
    if not items:
        raise UsageError(f"{args.file} holds no questions")
    floors = read_floors(args.floors)
    assistant = load_assistant(args.source, args.index)
    sources = {doc: r.text for doc, r in assistant.index.reports.items()}
    problems = validate_eval_set(items, sources)
    if problems:
        raise UsageError(f"{args.file} does not match the reports in {args.source}: "
                         f"{problems[0]} (and {len(problems) - 1} more)")
    modes = MODES if args.mode == "all" else (args.mode,)
    report = evaluate(assistant, items, modes)
    report["settings"] = assistant.settings.to_dict()
    report["file"] = str(args.file)
    print(format_table(report))
    for line in abstained_lines(report):
        print(line)
    if args.json_out:
        write_text_atomically(args.json_out, json.dumps(report, ensure_ascii=False, indent=1))
    if args.plot:
        plot(report, args.plot)
    if getattr(args, "reliability", None):
        from qa.evaluation.reliability import plot_reliability

        mode = "hybrid" if "hybrid" in report["rows"] else next(iter(report["rows"]))
        plot_reliability(report["rows"][mode], args.reliability, assistant.settings.threshold,
                         f"{args.file}, {mode}")
    if floors is None:
        return 0
    return tell_broken(check_floors(report, floors, Path(args.file).stem),
                       f"all floors in {args.floors} hold")
