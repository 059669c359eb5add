"""Votes → eval items in the format of ``eval/qa.jsonl`` (qa/evaluation/evalset.py), for a
person to review before any of them joins an eval set.

- a 👎 with a corrected span → ``answers`` [the corrected text];
- ``not_in_report`` (a 👎 saying the report does not answer, or a 👍 on an answer that
  said so) → an unanswerable item;
- a 👍 → ``answers`` [the cited answer span];
- a 👎 without either says only that the answer was wrong: no item.

A question voted on more than once gives one item, from its latest vote that gives one.
``evidence`` is the short window of the report the store kept with the vote
(``evidence_window``); an answer longer than the eval set's evidence limit is cut to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qa.atomic import write_text_atomically
from qa.evaluation.evalset import EVIDENCE_MAX_CHARS, EVIDENCE_MIN_CHARS, EvalItem
from qa.feedback.store import Vote

_BREAK = re.compile(r"[\r\n\u2028\u2029]")
_DIGIT = re.compile(r"\d")
#: characters either side of the answer taken into its evidence, at most.
MARGIN = 12


@dataclass(frozen=True)
class Gold:
    """The answer a vote stands for and the verbatim report window holding it."""

    answer: str
    evidence: str


def evidence_window(text: str, start: int, end: int) -> Gold | None:
    """The answer ``text[start:end]`` (its longest line when it spans a break, cut to the
    evidence limit) and a window of its line around it of 6 to 40 characters; None when
    the line is too short for a window or the span is blank."""
    pieces = [(m.start(), m.end()) for m in re.finditer(r"[^\r\n\u2028\u2029]+",
                                                          text[start:end])]
    if not pieces:
        return None
    a, b = max(pieces, key=lambda p: p[1] - p[0])
    a, b = start + a, start + b
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    b = min(b, a + EVIDENCE_MAX_CHARS)
    if a >= b:
        return None
    line_start = max((m.end() for m in _BREAK.finditer(text, 0, a)), default=0)
    found = _BREAK.search(text, b)
    line_end = found.start() if found else len(text)
    room = EVIDENCE_MAX_CHARS - (b - a)
    left = min(a - line_start, MARGIN, room // 2 + room % 2)
    right = min(line_end - b, MARGIN, room - left)
    left = min(a - line_start, room - right, MARGIN)  # give back what the right lacked
    evidence = text[a - left:b + right]
    if len(evidence) < EVIDENCE_MIN_CHARS:
        return None
    return Gold(text[a:b], evidence)


def _key(question: str) -> str:
    return " ".join(question.split()).casefold()


def item_of(vote: Vote) -> EvalItem | None:
    """The eval item one vote stands for, or None when it stands for none."""
    item_id, question = f"fb-{vote.id:06d}", " ".join(vote.question.split())
    if vote.not_in_report:
        return EvalItem(item_id, question, (), "", "unanswerable")
    gold = vote.correction if vote.vote == "down" else vote.citation
    if gold is None or not vote.evidence:
        return None
    answer = gold.text.strip()
    if answer not in vote.evidence:  # cut to the evidence limit, or across a line break
        lines = [p.strip() for p in _BREAK.split(answer) if p.strip()]
        answer = max(lines, key=len, default="")[:EVIDENCE_MAX_CHARS]
    if not answer or answer not in vote.evidence:
        return None
    kind = "numeric" if _DIGIT.search(answer) else "entity"
    return EvalItem(item_id, question, (answer,), vote.evidence, kind)


def eval_items(votes: Iterable[Vote]) -> list[EvalItem]:
    """One item per question, from its latest vote that gives one, in the order of those
    votes."""
    latest: dict[str, EvalItem] = {}
    for vote in sorted(votes, key=lambda v: v.id):
        item = item_of(vote)
        if item is not None:
            latest.pop(_key(vote.question), None)
            latest[_key(vote.question)] = item
    return list(latest.values())


def to_jsonl(items: Iterable[EvalItem]) -> str:
    return "".join(json.dumps({"id": i.id, "question": i.question, "answers": list(i.answers),
                               "evidence": i.evidence, "type": i.type}, ensure_ascii=False)
                   + "\n" for i in items)


def export(votes: Iterable[Vote], out: Path | None) -> tuple[str, int]:
    """(the JSONL text, the number of items); written atomically to ``out`` when given."""
    items = eval_items(votes)
    text = to_jsonl(items)
    if out is not None:
        write_text_atomically(out, text)
    return text, len(items)
