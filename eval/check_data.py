"""Consistency check of the hand-written eval files (run: python eval/check_data.py).

Checks that every line parses, ids are unique across the sets, gold answers and evidence are
verbatim substrings of the bundled report (each answer inside its evidence), unanswerable rows
carry no gold, and no off-topic question repeats a question of the other sets.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "seeds" / "zhangqiu-2020-xiaokang.txt"
SETS = ("eval/qa.jsonl", "eval/holdout.jsonl", "eval/offtopic.jsonl", "eval/holdout-retired.jsonl")
KINDS = {"other_place", "other_year", "other_subject", "unstated_fact", "near_miss"}


def load(rel: str) -> list[dict]:
    """Rows of one JSONL file; a line that does not parse raises with its number."""
    rows = []
    for number, line in enumerate((ROOT / rel).read_text(encoding="utf-8").splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise SystemExit(f"{rel}:{number}: {err}") from err
    return rows


def norm(question: str) -> str:
    """Question without punctuation, spaces or case, for duplicate detection."""
    return re.sub(r"[\W_]+", "", question.lower())


def row_problems(rel: str, row: dict, report: str) -> list[str]:
    """What is wrong with one row (empty when nothing)."""
    where = f"{rel} {row.get('id')}"
    if row["type"] == "unanswerable":
        bad = row["answers"] or row["evidence"]
        return [f"{where}: unanswerable row carries a gold"] if bad else []
    problems = [] if row["evidence"] in report else [f"{where}: evidence not in report"]
    for answer in row["answers"]:
        if answer not in report or answer not in row["evidence"]:
            problems.append(f"{where}: answer {answer!r} not verbatim in report/evidence")
    return problems + ([] if row["answers"] else [f"{where}: no gold answer"])


def main() -> int:
    report = REPORT.read_text(encoding="utf-8")
    data = {rel: load(rel) for rel in SETS}
    problems: list[str] = []
    seen: dict[str, str] = {}
    for rel, rows in data.items():
        for row in rows:
            if row["id"] in seen:
                problems.append(f"{rel}: id {row['id']} also in {seen[row['id']]}")
            seen[row["id"]] = rel
            problems += row_problems(rel, row, report)
    others = {norm(r["question"]) for rel in SETS[:2] for r in data[rel]}
    for row in data["eval/offtopic.jsonl"]:
        if row["type"] != "unanswerable" or row.get("kind") not in KINDS:
            problems.append(f"offtopic {row['id']}: type or kind wrong")
        if norm(row["question"]) in others:
            problems.append(f"offtopic {row['id']}: question repeats another question")
        others.add(norm(row["question"]))
    print("\n".join(problems) or "ok: " + ", ".join(f"{k} {len(v)}" for k, v in data.items()))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
