"""Fit the ranker's gate: the expected F1 below which the extractor keeps the clause its
linear chooser found instead of the ranker's shorter span (qa/answer/extract.py, policy
"gated"), and write it into qa/models/ranker.json (``weights.gate``, with its provenance).

The gate is chosen through the whole assistant (retrieval, the linear chooser, the ranker):
the highest mean of char-F1 and containment (``fit_ranker.answer_score``) on the "fit"
part of the public sets (closed mode: each question asked of its own passage) while the
span still contains a gold answer for at least ``--own-contain`` of the answerable rows
of eval/qa.jsonl, whose answers are often clauses and lists.

    python -m qa.evaluation.fit_gate [--sample N] [--own-contain 0.95]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
from pathlib import Path

import numpy as np

from qa.answer.asktype import analyse_question
from qa.assistant import load_assistant
from qa.config import Settings
from qa.evaluation.fit_ranker import DATA, PUBLIC, ROOT, answer_score, part_of
from qa.evaluation.squad import contains

MODEL = ROOT / "qa" / "models" / "ranker.json"


def write_passages(squad: Path, folder: Path, part: str = "fit") -> list[dict]:
    """The passages of ``part`` as reports (title, blank line, text) in ``folder``; the
    questions with their gold answers and report names."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for a, article in enumerate(json.loads(squad.read_text(encoding="utf-8"))["data"]):
        if part_of(article["title"]) != part:
            continue
        for k, para in enumerate(article["paragraphs"]):
            doc = f"p{a:04d}-{k:02d}.txt"
            text = article["title"] + "\n\n" + para["context"].strip() + "\n"
            (folder / doc).write_text(text, encoding="utf-8")
            for qa in para["qas"]:
                golds = [x["text"] for x in qa["answers"] if x["text"].strip()]
                if golds and qa["question"].strip():
                    rows.append({"question": qa["question"], "answers": golds, "doc": doc})
    return rows


def collect(assistant, rows: list[dict], closed: bool) -> list[tuple]:
    """(ranker's span, linear chooser's span, expected F1, golds, asked kind) of every row."""
    out = []
    for r in rows:
        _, trace = assistant.ask_traced(r["question"], 3, "hybrid",
                                        [r["doc"]] if closed else None)
        kind = analyse_question(r["question"]).kind
        best = trace.extraction.best
        if not best or best[0].expected_f1 is None:
            continue
        c = best[0]
        text = assistant.source_text(c.chunk.doc)
        region = c.region or c.span
        out.append((text[c.span.start:c.span.end], text[region.start:region.end],
                    float(c.expected_f1), r["answers"], kind))
    return out


#: candidate gates; NEVER keeps the clause for every question of a type.
GATES = tuple(float(g) for g in np.round(np.arange(0.0, 1.001, 0.05), 3)) + (1.01,)


def _gains(rows: list, gate: float, score) -> float:
    return float(sum(score(r[0] if r[2] >= gate else r[1], r[3]) for r in rows))


def choose_gates_by_kind(public: list, own: list, own_contain: float) -> dict[str, float]:
    """A gate per asked kind: the most public answer score (summed) while the own
    contain, over all kinds together, stays at least ``own_contain``. Searched by a
    Lagrange weight on the own contain (200 weights from 0.01 to 1000: a coarser ladder
    steps over feasible mixes): for each weight every kind takes its best gate alone; the
    best feasible wins."""
    kinds = sorted({r[4] for r in public} | {r[4] for r in own})
    table = {k: {g: (_gains([r for r in public if r[4] == k], g, answer_score),
                     _gains([r for r in own if r[4] == k], g, contains)) for g in GATES}
             for k in kinds}
    need = own_contain * len(own)
    best: tuple[float, dict[str, float]] = (-1.0, {k: GATES[-1] for k in kinds})
    for lam in (0.0, *np.geomspace(0.01, 1000, 200)):
        gates = {k: max(GATES, key=lambda g, k=k: table[k][g][0] + lam * table[k][g][1])
                 for k in kinds}
        score = sum(table[k][g][0] for k, g in gates.items())
        hold = sum(table[k][g][1] for k, g in gates.items())
        if hold >= need and score > best[0]:
            best = (score, gates)
    return best[1]


def choose_gate(public: list, own: list, own_contain: float) -> tuple[float, dict]:
    """The gate with the best public answer score among those keeping the own contain;
    when none keeps it, the gate with the best own contain (the highest such)."""
    table = {}
    for gate in np.round(np.arange(0.0, 1.001, 0.025), 3):
        score = float(np.mean([answer_score(r[0] if r[2] >= gate else r[1], r[3])
                               for r in public]))
        hold = float(np.mean([contains(r[0] if r[2] >= gate else r[1], r[3]) for r in own]))
        table[str(gate)] = [round(score, 4), round(hold, 4)]
    keeping = [(score, float(g)) for g, (score, hold) in table.items() if hold >= own_contain]
    if keeping:
        return max(keeping)[1], table
    top = max(hold for _, hold in table.values())
    return min(float(g) for g, (_, hold) in table.items() if hold == top), table


def _own_rows(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [{"question": r["question"], "answers": r["answers"], "doc": None}
            for r in rows if r["answers"]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fit_gate", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--own", type=Path, default=ROOT / "eval" / "qa.jsonl")
    ap.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    ap.add_argument("--work", type=Path, default=Path("/tmp/qa-fit-gate"))
    ap.add_argument("--sample", type=int, default=600, help="questions of each public set")
    ap.add_argument("--own-contain", type=float, default=0.95)
    ap.add_argument("--out", type=Path, default=MODEL)
    args = ap.parse_args(argv)
    settings = dataclasses.replace(Settings.from_env(), span_ranker="ranker")
    public = []
    for name, file in PUBLIC.items():
        rows = write_passages(args.data / file, args.work / name)
        rows = rows[::max(1, len(rows) // args.sample)][:args.sample]
        assistant = load_assistant(args.work / name, args.work / f"index-{name}", settings)
        public += collect(assistant, rows, closed=True)
    own_assistant = load_assistant(args.seeds, args.work / "index-own", settings)
    own = collect(own_assistant, _own_rows(args.own), closed=False)
    gate, table = choose_gate(public, own, args.own_contain)
    by_kind = choose_gates_by_kind(public, own, args.own_contain)
    model = json.loads(args.out.read_text(encoding="utf-8"))
    model["weights"]["gate"] = {
        "min_expected_f1": gate,
        "by_kind": by_kind,
        "fitted_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "fitted_on": {"public": [f"{f}:fit part, closed mode, {len(public)} questions sampled"
                                 for f in PUBLIC.values()],
                      "own": f"{args.own.name}: {len(own)} answerable rows",
                      "rule": ("best public mean of char-F1 and contain with own contain"
                               f" >= {args.own_contain}")},
        "table_score_public_contain_own": table}
    args.out.write_text(json.dumps(model, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({"gate": gate, "at_gate": table[str(gate)], "by_kind": by_kind}),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
