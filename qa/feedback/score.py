"""``qa feedback export`` and ``qa eval --feedback``: the votes as eval items, written out
for review or scored on the engine answering now with the eval runner of ``qa eval``.

An item whose evidence is no longer in the reports (a report removed or changed since the
vote) is left out of the score, and the number left out is said.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa.atomic import write_text_atomically
from qa.errors import UsageError
from qa.evaluation.evalset import EvalItem, validate_eval_set
from qa.feedback.export import eval_items, export
from qa.feedback.store import FILE_NAME, FeedbackStore, data_dir


def open_store(folder: str | None) -> FeedbackStore:
    """The store in ``folder`` (default: the data folder); UsageError when it holds none."""
    where = Path(folder) if folder else data_dir()
    if not (where / FILE_NAME).is_file():
        raise UsageError(f"no feedback in {where} (no {FILE_NAME}); votes are stored by the "
                         "chat's 👍/👎 and POST /api/feedback (set QA_DATA_DIR or --data)")
    return FeedbackStore(where)


def run_export(args: argparse.Namespace) -> int:
    """``qa feedback export [--out FILE] [--data DIR]``: JSONL to FILE, else to stdout."""
    store = open_store(args.data)
    votes = store.votes()
    text, n = export(votes, Path(args.out) if args.out else None)
    if not args.out:
        sys.stdout.write(text)
    print(f"exported {n} eval item(s) from {len(votes)} vote(s) in {store.path}"
          + (f" to {args.out}" if args.out else ""), file=sys.stderr)
    return 0


def still_valid(items: list[EvalItem], sources: dict[str, str]) -> list[EvalItem]:
    """The items that still hold against the reports (validate_eval_set finds nothing)."""
    return [item for item in items if not validate_eval_set([item], sources)]


def run_feedback_eval(args: argparse.Namespace) -> int:
    """``qa eval --feedback``: score the current engine on the votes' eval items."""
    from qa.assistant import MODES, load_assistant
    from qa.evaluation.evaluate import evaluate
    from qa.evaluation.report import abstained_lines, format_table

    items = eval_items(open_store(args.data).votes())
    if not items:
        raise UsageError("the feedback holds no vote that makes an eval item (a 👍 on a "
                         "found answer, a 👎 with a correction or 报告里没有这个答案)")
    assistant = load_assistant(args.source, args.index)
    sources = {doc: r.text for doc, r in assistant.index.reports.items()}
    kept = still_valid(items, sources)
    if len(kept) < len(items):
        print(f"notice: {len(items) - len(kept)} feedback item(s) no longer match the reports "
              "and are left out", file=sys.stderr)
    if not kept:
        raise UsageError("no feedback item matches the reports answering now")
    modes = MODES if args.mode == "all" else (args.mode,)
    report = evaluate(assistant, kept, modes)
    report["file"] = "feedback"
    print(format_table(report))
    for line in abstained_lines(report):
        print(line)
    if args.json_out:
        write_text_atomically(args.json_out, json.dumps(report, ensure_ascii=False, indent=1))
    return 0
