"""The question sets abstention is fitted and measured on, each split in THE SPLIT's parts.

- own: eval/qa.jsonl on the bundled report (answerable and unanswerable);
- offtopic: eval/offtopic.jsonl on the bundled report (all unanswerable); a row is "fit"
  when sha1(id) % 10 < 6;
- ood: the public questions (eval/external: CMRC 2018 trial, DRCD dev) asked of the
  bundled report (all unanswerable); a passage is "fit" when sha1(title) % 10 < 6;
- open: the same public questions asked of a folder of their part's passages (each passage
  a report, its title as the heading), all answerable.

A sample of a large set is taken in a fixed order (sha1 of the question's id), so that every
run sees the same questions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from qa.evaluation.evalset import EvalItem, load_eval_set

PUBLIC = {"cmrc": "eval/external/cmrc2018_trial.json", "drcd": "eval/external/drcd_dev.json"}


def part_of(key: str) -> str:
    """THE SPLIT: "fit" when int(sha1(key), 16) % 10 < 6, else "test"."""
    return "fit" if int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % 10 < 6 else "test"


@dataclass(frozen=True)
class Passage:
    name: str  # file stem: set name and index
    title: str
    context: str
    questions: tuple[EvalItem, ...]


def passages(set_name: str, part: str, root: Path = Path(".")) -> list[Passage]:
    """The passages of one public set in ``part``, with their questions (type = set name)."""
    data = json.loads((root / PUBLIC[set_name]).read_text(encoding="utf-8"))["data"]
    out = []
    for a, article in enumerate(data):
        if part_of(article["title"]) != part:
            continue
        for p, para in enumerate(article["paragraphs"]):
            qs = tuple(EvalItem(q["id"], q["question"],
                                tuple(dict.fromkeys(x["text"] for x in q["answers"] if x["text"])),
                                "", set_name) for q in para["qas"] if q["question"].strip())
            out.append(Passage(f"{set_name}-{a:04d}-{p:02d}", article["title"],
                               para["context"], qs))
    return out


def _sample(items: list[EvalItem], cap: int) -> list[EvalItem]:
    order = sorted(items, key=lambda i: hashlib.sha1(i.id.encode("utf-8")).hexdigest())
    return order[:cap] if cap > 0 else order


def ood_items(part: str, cap: int, root: Path = Path(".")) -> list[EvalItem]:
    """Up to ``cap`` public questions per set of ``part``, as unanswerable (asked of the
    bundled report)."""
    out: list[EvalItem] = []
    for name in PUBLIC:
        qs = [q for p in passages(name, part, root) for q in p.questions]
        out += [EvalItem(q.id, q.question, (), "", f"ood:{name}") for q in _sample(qs, cap)]
    return out


def open_items(part: str, cap: int, root: Path = Path(".")) -> list[EvalItem]:
    """Up to ``cap`` answerable public questions per set of ``part`` (asked of the folder
    ``write_passages`` writes)."""
    out: list[EvalItem] = []
    for name in PUBLIC:
        qs = [q for p in passages(name, part, root) for q in p.questions if q.answers]
        out += [EvalItem(q.id, q.question, q.answers, "", f"open:{name}")
                for q in _sample(qs, cap)]
    return out


def write_passages(folder: Path, part: str, root: Path = Path(".")) -> Path:
    """Every public passage of ``part`` as a report of its own (title, blank line,
    passage) in ``folder``; files already there with the same text are left alone."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in PUBLIC:
        for p in passages(name, part, root):
            path = folder / f"{p.name}.txt"
            text = f"{p.title}\n\n{p.context}\n"
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
    return folder


def offtopic_items(part: str, path: str = "eval/offtopic.jsonl") -> list[EvalItem]:
    """The off-topic and near-miss questions of ``part`` (by sha1 of their id)."""
    return [i for i in load_eval_set(path) if part_of(i.id) == part]


def groups(items: list[EvalItem]) -> Iterator[tuple[str, list[EvalItem]]]:
    """Items by their ``type`` (the set they come from), in first-seen order."""
    seen: dict[str, list[EvalItem]] = {}
    for item in items:
        seen.setdefault(item.type, []).append(item)
    yield from seen.items()
