"""Questions a report answers, for a new reader to start from: built from the clauses that
hold a figure (签约项目36个 → 签约项目多少个？, 建成5个工作站 → 建成多少个工作站？,
始建于1958年 → 始建于哪一年？) or say where something lies (位于 → 哪里), taking the
sections in turn so that the suggestions cover the report's headings.

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
#: a figure with what follows it: a unit or counter (万立方米, 个), a percent sign, or 年.
_FIGURE = re.compile(rf"(?<![\d.])(?P<num>\d+(?:\.\d+)?)(?P<after>%|[{_CJK}])")
_YEAR = re.compile(r"(?:19|20)\d\d")
#: what a figure may not be followed by: a date or a time is not asked as 多少.
_DATE = "月日号时点分秒"
_OPENERS = re.compile(r"^(?:其中|同[时時]|[并並]且|[并並]|而且|而|但是|但|另外|此外|以及|和|及)")
#: a clause about something named before it: a question from it would not say what.
_PRONOUN = re.compile("[它其他她这這那]")
_RANGE = re.compile(r"\d\s*[年%]?\s*(?:至|到|比|-|~|～|—)$")
CLAUSE_MAX = 32
_WHERE = re.compile(r"^(?P<subject>[^，,。；;、]{2,14}?)(?P<verb>位[于於]|地[处處]|坐落[于於])"
                    r"(?P<place>.{2,})$")
#: the Chinese characters a question needs besides its question word.
WORDS_MIN = 5
#: a question shown as a chip reads best at this many characters.
CHIP_MIN, CHIP_MAX = 8, 18


@dataclass(frozen=True)
class Candidate:
    """A question made from the clause ``[start, end)`` of report ``doc``."""

    question: str
    doc: str
    start: int
    end: int
    section: str


def _ask_word(num: str, after: str, before: str) -> tuple[str, str] | None:
    """(the question word, what of ``after`` it keeps) for a figure, or None when the
    figure is a date, a time or part of a longer number."""
    if _RANGE.search(before):  # the second figure of a range or a score: 45至49枚, 4比2
        return None
    if after == "年":  # a year is asked when the clause says when: 于1958年(建成)
        if not _YEAR.fullmatch(num):
            return "多少", "年"
        return ("哪一年", "") if re.search("[于於在自从從至到]$", before) else None
    if after in _DATE or _YEAR.fullmatch(num):  # 3月, 2012赛季: dates, not amounts
        return None
    if after == "%":
        return "多少", ""
    return ("几" if before.endswith("第") else "多少"), after


def _where_question(clause: str) -> str | None:
    """位于/地处/坐落于 a place → where: 某馆位于城东 → 某馆位于哪里？ (a named subject
    only: 它位于… says too little to ask)."""
    m = _WHERE.match(clause)
    if not m or _PRONOUN.match(m["subject"]) or re.match("[该該此]", m["subject"]):
        return None
    if len(re.findall(f"[{_CJK}]", m["subject"])) < 2:
        return None
    return f"{m['subject']}{m['verb']}{'哪裡' if m['verb'][-1] in '於處' else '哪里'}？"


def question_of(clause: str) -> str | None:
    """The question a clause answers: one with a figure, the clause with its last figure
    replaced by the question word (签约项目36个 → 签约项目多少个？, 第8名 → 第几名,
    建于1958年 → 建于哪一年？); one saying where something lies, where; else None, also
    when too little is left to ask about."""
    clause = _OPENERS.sub("", clause.strip(" \t\u3000“”‘’\"'（）()").rstrip("，,。；;：:！!？? "))
    if len(clause) > CLAUSE_MAX or re.search(r"[\r\n]", clause):
        return None
    figures = list(_FIGURE.finditer(clause))
    if not figures:
        return _where_question(clause)
    m = figures[-1]
    before, rest = clause[:m.start()], clause[m.end("after"):]
    word = _ask_word(m["num"], m["after"], before)
    if word is None or len(before) < 2 or not re.search(f"[{_CJK}]$", before):
        return None
    if _PRONOUN.match(before) or (m["after"] == "年" and re.match("[初底末中代间間内內]", rest)):
        return None  # 它的面积…: about what? 2007年年底: no plain question
    words = re.findall(f"[{_CJK}]", before + word[1] + rest)
    if len(words) < WORDS_MIN:
        return None
    return f"{before}{word[0]}{word[1]}{rest}？"


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


def _plainness(cand: Candidate) -> tuple[bool, int]:
    """Sort key: questions of a chip's length without an enumeration first, and of those
    the longer (the more specific) first."""
    q = cand.question
    return ("、" in q or not CHIP_MIN <= len(q) <= CHIP_MAX, -len(q))


def candidates(chunks: Iterable[Chunk], per_section: int = 8, most: int = 60
               ) -> list[Candidate]:
    """Up to ``most`` candidates, taken from the sections in turn (the plainest question of
    each first, at most ``per_section`` of each), so that the first few come from
    different headings; a question is made only once."""
    by_section: dict[tuple[str, str], list[Candidate]] = {}
    for chunk in chunks:
        found = by_section.setdefault((chunk.doc, chunk.section), [])
        if len(found) < 2 * per_section:
            found.extend(chunk_candidates(chunk))
    ranked = [sorted(c, key=_plainness)[:per_section] for c in by_section.values() if c]
    out: list[Candidate] = []
    seen: set[str] = set()
    for turn in range(per_section):
        for group in ranked:
            if turn < len(group) and group[turn].question not in seen:
                seen.add(group[turn].question)
                out.append(group[turn])
    return out[:most]
