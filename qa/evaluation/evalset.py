"""The hand-written evaluation set: loading ``eval/qa.jsonl`` and checking it against the reports.

Each line of the file is one JSON object with ``id``, ``question``, ``answers``, ``evidence``
and ``type``; see ``eval/README.md`` for the rules an item must follow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import UsageError

#: Every allowed ``type`` with the minimum number of items the Zhangqiu set must hold.
TYPE_MINIMUMS: dict[str, int] = {
    "numeric": 25,
    "entity": 15,
    "list": 12,
    "paraphrase": 15,
    "cross_break": 6,
    "traditional": 10,
    "english": 10,
    "colloquial": 10,
    "unanswerable": 25,
}
TYPES: tuple[str, ...] = tuple(TYPE_MINIMUMS)

EVIDENCE_MIN_CHARS = 6
EVIDENCE_MAX_CHARS = 40

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_FIELDS = (("id", str), ("question", str), ("answers", list), ("evidence", str), ("type", str))


@dataclass(frozen=True)
class EvalItem:
    """One question with its acceptable answer strings and a verbatim evidence snippet."""

    id: str
    question: str
    answers: tuple[str, ...]
    evidence: str
    type: str

    @property
    def answerable(self) -> bool:
        """True when the report answers the question (``answers`` is non-empty)."""
        return bool(self.answers)


def _parse_line(where: str, line: str) -> EvalItem:
    """Turn one JSONL line into an EvalItem; ``where`` is ``file:line`` for messages."""
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: not valid JSON ({exc.msg}); fix or remove the line") from None
    return parse_item(where, obj)


def parse_item(where: str, obj: Any) -> EvalItem:
    """One parsed JSON object as an EvalItem (also a turn of a dialogue set)."""
    if not isinstance(obj, dict):
        raise UsageError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    for name, kind in _FIELDS:
        if name not in obj:
            raise UsageError(f"{where}: missing field {name!r}")
        if not isinstance(obj[name], kind):
            raise UsageError(
                f"{where}: field {name!r} must be a {kind.__name__}, got {type(obj[name]).__name__}"
            )
    answers = obj["answers"]
    if not all(isinstance(a, str) and a for a in answers):
        raise UsageError(f"{where}: field 'answers' must be a list of non-empty strings")
    for name in ("id", "question"):
        if not obj[name].strip():
            raise UsageError(f"{where}: field {name!r} is empty")
    return EvalItem(obj["id"], obj["question"], tuple(answers), obj["evidence"], obj["type"])


def load_eval_set(path: str | Path) -> list[EvalItem]:
    """Read a JSONL evaluation set; blank lines are skipped.

    Raises UsageError (``file:line: message``) for unreadable files, bad JSON, missing or
    mistyped fields and duplicate ids.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file; pass the path to a .jsonl eval set") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read evaluation file ({exc})") from None
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        item = _parse_line(where, line)
        if item.id in seen:
            raise UsageError(f"{where}: duplicate id {item.id!r} (first on line {seen[item.id]})")
        seen[item.id] = lineno
        items.append(item)
    if not items:
        raise UsageError(f"{path}: the evaluation file holds no items")
    return items


def validate_eval_set(items: Iterable[EvalItem], sources: Mapping[str, str]) -> list[str]:
    """Check items against the decoded report texts (``{path: text}``).

    Returns one message per problem, each starting with the item id; an empty list means
    the set is valid.
    """
    problems: list[str] = []
    texts = list(sources.values())
    asked: dict[str, str] = {}  # a question asked twice would count twice
    for item in items:
        p = f"{item.id}: "
        key = " ".join(item.question.split()).casefold()
        if key in asked:
            problems.append(f"{p}the same question as {asked[key]}")
        asked.setdefault(key, item.id)
        if item.type not in TYPE_MINIMUMS:
            problems.append(f"{p}unknown type {item.type!r}; use one of {', '.join(TYPES)}")
        if not item.answerable:
            if item.evidence:
                problems.append(f"{p}unanswerable item must have empty evidence")
            if item.type != "unanswerable":
                problems.append(f"{p}item with no answers must have type 'unanswerable'")
            continue
        if item.type == "unanswerable":
            problems.append(f"{p}unanswerable item must have answers []")
        if not item.evidence:
            problems.append(f"{p}answerable item has empty evidence")
            continue
        if "\n" in item.evidence or "\r" in item.evidence:
            problems.append(f"{p}evidence must not contain a line break")
        if not EVIDENCE_MIN_CHARS <= len(item.evidence) <= EVIDENCE_MAX_CHARS:
            problems.append(
                f"{p}evidence is {len(item.evidence)} chars; keep it "
                f"{EVIDENCE_MIN_CHARS}-{EVIDENCE_MAX_CHARS}"
            )
        if not any(item.evidence in text for text in texts):
            problems.append(f"{p}evidence {item.evidence!r} is not verbatim in any source")
        for answer in item.answers:
            if answer in item.evidence:
                continue
            if item.type == "english" and not _CJK.search(answer):
                continue
            problems.append(f"{p}answer {answer!r} is not inside its evidence {item.evidence!r}")
    return problems
