"""`qa eval eval/dialogues.jsonl`: ask the dialogue set (qa/evaluation/dialogues.py), print
single-question against follow-up figures, write JSON, apply the "dialogues" floors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from qa.atomic import write_text_atomically
from qa.errors import UsageError
from qa.evaluation.dialogues import (
    Dialogue,
    TurnRow,
    load_dialogues,
    problems_of,
    rows_dicts,
    run_dialogue,
    summarise,
)
from qa.evaluation.floors import read_floors, tell_broken

COLUMNS = [("single_n", "n1", "{:d}"), ("followup_n", "n2+", "{:d}"),
           ("single_contain", "single", "{:.3f}"), ("followup_contain", "follow", "{:.3f}"),
           ("followup_contain_alone", "alone", "{:.3f}"), ("gap", "gap", "{:+.3f}"),
           ("single_span_contain", "span1", "{:.3f}"),
           ("followup_span_contain", "span2+", "{:.3f}"), ("read_as_followup", "read", "{:.3f}")]


def format_table(summary: dict[str, dict[str, Any]]) -> str:
    head = f"{'part':<16}" + " ".join(f"{h:>8}" for _, h, _ in COLUMNS)
    lines = [head, "-" * len(head)]
    for part, figures in summary.items():
        cells = [f"{'-' if figures.get(k) is None else fmt.format(figures[k]):>8}"
                 for k, _, fmt in COLUMNS]
        lines.append(f"{part:<16}" + " ".join(cells))
    lines.append("single: first turns (single questions) whose answer contains the gold; "
                 "follow: later turns asked with history; alone: the same without it")
    return "\n".join(lines)


def check_floors(summary: dict[str, dict[str, Any]], floors: dict[str, Any]) -> list[str]:
    """Problems against ``floors["dialogues"]``: ``metric`` (of all dialogues) or
    ``part/metric``; a key ending in ``_max`` is a ceiling."""
    problems = []
    for key, floor in (floors.get("dialogues") or {}).items():
        if key.startswith("_"):
            continue
        part, _, metric = key.rpartition("/")
        ceiling = metric.endswith("_max")
        value = summary.get(part or "all", {}).get(metric[:-4] if ceiling else metric)
        if value is None:
            problems.append(f"dialogues {key} was not measured")
        elif (value > floor) if ceiling else (value < floor):
            side = "above its ceiling" if ceiling else "below its floor"
            problems.append(f"dialogues {key} = {value:.3f} is {side} {floor}")
    return problems


def _public(set_name: str, args: argparse.Namespace, encoder: Any) -> Any:
    """The assistant over every passage of the set's fit part (built once in the cache)."""
    from qa.assistant import load_assistant
    from qa.evaluation.squad import load_squad, write_reports

    src = Path(args.file).resolve().parent / "external" / f"{set_name}.json"
    if not src.exists():
        raise UsageError(f"{args.file}: the public set {set_name!r} is not at {src}")
    root = Path(args.cache) / f"{set_name}-fit"
    write_reports(load_squad(src, "fit"), root / "reports")
    return load_assistant(root / "reports", root / "index", encoder=encoder)


def ask_all(args: argparse.Namespace, dialogues: list[Dialogue]) -> dict[str, list[TurnRow]]:
    """The rows of each part: "report" (the --source reports) and each public set."""
    from qa.assistant import load_assistant

    main = load_assistant(args.source, args.index)
    mode = "hybrid" if args.mode == "all" else args.mode
    parts: dict[str, list[TurnRow]] = {}
    for set_name in dict.fromkeys(d.set for d in dialogues):
        group = [d for d in dialogues if d.set == set_name]
        assistant = _public(set_name, args, main.encoder) if set_name else main
        sources = {doc: r.text for doc, r in assistant.index.reports.items()}
        problems = problems_of(group, sources)
        if problems:
            raise UsageError(f"{args.file}: {problems[0]} (and {len(problems) - 1} more)")
        parts[set_name or "report"] = [r for d in group for r in run_dialogue(assistant, d, mode)]
    return parts


def run_dialogue_eval(args: argparse.Namespace) -> int:
    dialogues = load_dialogues(args.file)
    floors = read_floors(args.floors)
    parts = ask_all(args, dialogues)
    summary = {"all": summarise([r for rows in parts.values() for r in rows]),
               **{part: summarise(rows) for part, rows in parts.items()}}
    print(format_table(summary))
    if args.json_out:
        report = {"file": str(args.file), "summary": summary,
                  "rows": {part: rows_dicts(rows) for part, rows in parts.items()}}
        write_text_atomically(args.json_out, json.dumps(report, ensure_ascii=False, indent=1))
    if floors is None:
        return 0
    return tell_broken(check_floors(summary, floors), f"all dialogue floors in {args.floors} hold")
