"""Questions a report answers, for a new reader to start from: built from the clauses that
end in a figure (签约项目36个 → 签约项目多少个？, 建成5个工作站 → 建成多少个工作站？), a
few per section so that the suggestions cover the report's headings.

Only candidates are made here; the web layer (qa/web/suggestions.py) asks each one and
keeps those the engine answers, with high confidence, from the clause it was made from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from qa.schema import Chunk
from qa.text.documents import clauses, sentences

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_NUMBER = r"(?<![\d.])\d+(?:\.\d+)?"
#: a figure's unit: an optional order of magnitude, then one to three CJK characters.
_UNIT = rf"(?:[万亿千百]?[{_CJK}]{{1,3}}|%)"
#: the counters that may sit between a figure and the noun it counts (5个招商工作站).
_COUNTER = "个家名人位所项座条户处次台套辆只头株亩"
_TAIL = re.compile(rf"^(?P<head>.+?)(?P<num>{_NUMBER})(?P<unit>{_UNIT})$")
_COUNTED = re.compile(rf"^(?P<head>.+?)(?P<num>{_NUMBER})(?P<unit>[{_COUNTER}])"
                      rf"(?P<noun>[{_CJK}]{{2,8}})$")
_OPENERS = re.compile(r"^(?:其中|同时|并且|并|而且|而|另外|此外|以及|和|及)")
_YEARISH = re.compile(r"^(?:年|月|日|号|时|世纪|年代)")
HEAD_MIN, HEAD_MAX = 4, 18


@dataclass(frozen=True)
class Candidate:
    """A question made from the clause ``[start, end)`` of report ``doc``."""

    question: str
    doc: str
    start: int
    end: int
    section: str


def _head(text: str) -> str | None:
    """The clause's words before its figure, cleaned, or None when they cannot carry a
    question (too short or long, no Chinese, ending in a figure or a mark)."""
    head = _OPENERS.sub("", text.strip(" \t\u3000“”‘’\"'（）()")).strip()
    cjk = len(re.findall(f"[{_CJK}]", head))
    if not HEAD_MIN <= len(head) <= HEAD_MAX or cjk < HEAD_MIN:
        return None
    if not re.search(f"[{_CJK}]$", head) or re.search(r"[\r\n，,。；;：:、]", head):
        return None
    return head


def question_of(clause: str) -> str | None:
    """The question a clause ending in a figure answers, or None."""
    clause = clause.rstrip("，,。；;：:！!？? ")
    m = _COUNTED.match(clause)
    if m and _head(m["head"]):
        return f"{_head(m['head'])}多少{m['unit']}{m['noun']}？"
    m = _TAIL.match(clause)
    if not m or _YEARISH.match(m["unit"]):
        return None
    head = _head(m["head"])
    if head is None:
        return None
    if m["unit"] == "%":
        return f"{head}多少？"
    if head.endswith("第"):  # 第3名 → 第几名
        return f"{head}几{m['unit']}？"
    return f"{head}多少{m['unit']}？"


def chunk_candidates(chunk: Chunk) -> Iterator[Candidate]:
    """The candidates of one body paragraph, in reading order."""
    if chunk.kind != "body":
        return
    for sent in sentences(chunk):
        text = chunk.text[sent.start - chunk.start:sent.end - chunk.start]
        for clause in clauses(text, sent.start):
            words = chunk.text[clause.start - chunk.start:clause.end - chunk.start]
            question = question_of(words)
            if question:
                yield Candidate(question, chunk.doc, clause.start, clause.end, chunk.section)


def candidates(chunks: Iterable[Chunk], per_section: int = 8, most: int = 60
               ) -> list[Candidate]:
    """Up to ``most`` candidates, taken from the sections in turn (the longest question of
    each — the most specific — first, at most ``per_section`` of each), so that the first
    few come from different headings; a question is made only once."""
    by_section: dict[tuple[str, str], list[Candidate]] = {}
    for chunk in chunks:
        found = by_section.setdefault((chunk.doc, chunk.section), [])
        if len(found) < 2 * per_section:
            found.extend(chunk_candidates(chunk))
    ranked = [sorted(c, key=lambda c: -len(c.question))[:per_section]
              for c in by_section.values() if c]
    out: list[Candidate] = []
    seen: set[str] = set()
    for turn in range(per_section):
        for group in ranked:
            if turn < len(group) and group[turn].question not in seen:
                seen.add(group[turn].question)
                out.append(group[turn])
    return out[:most]
