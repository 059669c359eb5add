"""Dialogue sets (eval/dialogues.jsonl): conversations of two or three turns, each turn
asked with the conversation's earlier questions as ``history`` and scored like a single
question. The figure that matters: how often a follow-up turn's answer contains its gold
answer, next to how often a first turn's (a single question's) does.

One line per dialogue: ``{"id", "turns": [eval item, …]}`` (each turn an item as in
eval/qa.jsonl), over the reports of ``--source``; or with ``"set"`` and ``"passage"``, over
a passage of a public SQuAD-format set's FIT part (eval/external/<set>.json, THE SPLIT),
asked among all that part's passages.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa.errors import UsageError
from qa.evaluation.evalset import EvalItem, parse_item
from qa.evaluation.evaluate import char_f1, contains_gold


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: tuple[EvalItem, ...]
    set: str = ""  # "": the reports of --source; else a public set (eval/external/<set>.json)
    passage: str = ""  # the passage key in that set's fit part


@dataclass(frozen=True)
class TurnRow:
    dialogue: str
    turn: int  # 1-based: 1 is a single question, later turns are follow-ups
    question: str
    understood_as: str
    expected: list[str]
    got: str
    span: str  # the best span, confident enough or not
    found: bool
    contained: bool
    span_contained: bool
    f1: float
    alone_contained: bool | None  # the same turn asked without history (None for turn 1)
    alone_span_contained: bool | None


def is_dialogue_file(path: str | Path) -> bool:
    """True when the first non-blank line of ``path`` is a JSON object with "turns"."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            line = next((ln for ln in f if ln.strip()), "")
        obj = json.loads(line)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(obj, dict) and isinstance(obj.get("turns"), list)


def _parse(where: str, obj: Any) -> Dialogue:
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not obj["id"]:
        raise UsageError(f"{where}: a dialogue is a JSON object with an id and turns")
    turns = obj.get("turns")
    if not isinstance(turns, list) or not 2 <= len(turns) <= 5:
        raise UsageError(f"{where}: a dialogue has 2 to 5 turns")
    items = tuple(parse_item(f"{where} turn {i}", t) for i, t in enumerate(turns, 1))
    if not all(t.answerable for t in items):
        raise UsageError(f"{where}: every turn of a dialogue needs its answers")
    extra = [obj.get("set", ""), obj.get("passage", "")]
    if not all(isinstance(x, str) for x in extra) or bool(extra[0]) != bool(extra[1]):
        raise UsageError(f"{where}: 'set' and 'passage' go together, as strings")
    return Dialogue(obj["id"], items, extra[0], extra[1])


def load_dialogues(path: str | Path) -> list[Dialogue]:
    """Read a dialogue set; UsageError (``file:line: message``) for a malformed line."""
    path = Path(path)
    try:
        lines = path.read_bytes().decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the dialogue set ({exc})") from None
    out, seen = [], set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{path}:{n}: not valid JSON ({exc})") from None
        d = _parse(f"{path}:{n}", obj)
        if d.id in seen:
            raise UsageError(f"{path}:{n}: duplicate id {d.id!r}")
        seen.add(d.id)
        out.append(d)
    if not out:
        raise UsageError(f"{path}: the dialogue set holds no dialogues")
    return out


def problems_of(dialogues: list[Dialogue], sources: dict[str, str]) -> list[str]:
    """Each turn's evidence must be verbatim in a report (in its passage's, for a public
    set) and hold its answers."""
    out = []
    for d in dialogues:
        texts = [t for doc, t in sources.items() if not d.passage or Path(doc).stem == d.passage]
        for t in d.turns:
            if not any(t.evidence in text for text in texts):
                out.append(f"{t.id}: evidence {t.evidence!r} is not verbatim in its report")
            out += [f"{t.id}: answer {a!r} is not in its evidence" for a in t.answers
                    if a not in t.evidence]
    return out


def _ask(assistant: Any, item: EvalItem, history: list[str], mode: str
         ) -> tuple[Any, bool, bool]:
    """(answer, answer contains a gold, best span contains a gold)."""
    answer, _ = assistant.ask_traced(item.question, 3, mode, None, history)
    span = answer.citations[0].text if answer.citations else ""
    golds = list(item.answers)
    return answer, contains_gold(answer.answer, golds), contains_gold(span, golds)


def run_dialogue(assistant: Any, d: Dialogue, mode: str = "hybrid") -> list[TurnRow]:
    """Each turn asked with the earlier turns' questions as history; a follow-up turn also
    without (what the conversation adds)."""
    rows = []
    for i, item in enumerate(d.turns):
        history = [t.question for t in d.turns[:i]]
        answer, contained, span_contained = _ask(assistant, item, history, mode)
        alone: tuple[Any, bool | None, bool | None] = (None, None, None)
        if i:
            alone = _ask(assistant, item, [], mode)
        rows.append(TurnRow(
            d.id, i + 1, item.question, answer.to_dict()["understood_as"], list(item.answers),
            answer.answer, answer.citations[0].text if answer.citations else "", answer.found,
            contained, span_contained,
            max((char_f1(answer.answer, g) for g in item.answers), default=0.0),
            alone[1], alone[2]))
    return rows


def _share(rows: list[TurnRow], key: str) -> float | None:
    values = [getattr(r, key) for r in rows]
    return round(sum(bool(v) for v in values) / len(values), 4) if values else None


def summarise(rows: list[TurnRow]) -> dict[str, Any]:
    """The figures of a set of turns: first turns (single questions) against follow-ups."""
    single = [r for r in rows if r.turn == 1]
    later = [r for r in rows if r.turn > 1]
    out: dict[str, Any] = {
        "dialogues": len(single), "single_n": len(single), "followup_n": len(later),
        "single_contain": _share(single, "contained"),
        "followup_contain": _share(later, "contained"),
        "followup_contain_alone": _share(later, "alone_contained"),
        "single_span_contain": _share(single, "span_contained"),
        "followup_span_contain": _share(later, "span_contained"),
        "followup_span_contain_alone": _share(later, "alone_span_contained"),
        "read_as_followup": round(sum(r.understood_as != r.question for r in later)
                                  / len(later), 4) if later else None,
    }
    if out["single_contain"] is not None and out["followup_contain"] is not None:
        out["gap"] = round(out["single_contain"] - out["followup_contain"], 4)
    return out


def rows_dicts(rows: list[TurnRow]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
