"""``qa eval`` on a SQuAD-format file: arguments, the run, the output.

Standalone: ``python -m qa.evaluation.squad_cli FILE [options]``. To wire it into ``qa eval``:
``add_arguments(eval_parser)`` and, in the eval command,
``if args.squad or is_squad_file(args.file): return run(args)`` (``qa eval`` already has
``file``, ``--json``, ``--plot``, ``--floors`` and ``--mode`` (the retrievers) and
``--source``/``--index``, which ``run`` reads for the ood corpus).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from qa.errors import QAError, UsageError
from qa.evaluation.floors import read_floors, tell_broken
from qa.evaluation.squad import (
    MODES,
    PARTS,
    RETRIEVERS,
    Passage,
    choose,
    is_squad_file,
    load_squad,
    run_mode,
    write_reports,
)
from qa.evaluation.squad_report import check_floors, format_table, plot, result_key, summarise


def default_cache() -> str:
    """A cache folder outside the repository: ``$QA_SQUAD_CACHE``, else under
    ``$XDG_CACHE_HOME`` (default ``~/.cache``)."""
    import os

    if os.environ.get("QA_SQUAD_CACHE"):
        return os.environ["QA_SQUAD_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "qa-squad")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The SQuAD options (the ones ``qa eval`` does not have already)."""
    p.add_argument("--squad", action="store_true",
                   help="read FILE as SQuAD JSON (default: detected from its content)")
    p.add_argument("--squad-modes", default="open,closed,ood",
                   help="comma-separated, of: open, closed, ood (default: all three)")
    p.add_argument("--part", choices=PARTS, default="test",
                   help="passages of THE SPLIT to ask about (default: test)")
    p.add_argument("--cache", default=default_cache(),
                   help="where the passages' reports and index are built, outside the "
                        "repository (default: $QA_SQUAD_CACHE or ~/.cache/qa-squad)")
    p.add_argument("--limit", type=int, help="ask only the first N questions")
    p.add_argument("--sample", type=int, help="ask a fixed sample of N questions (see --seed)")
    p.add_argument("--seed", type=int, default=0, help="seed of --sample (default: 0)")
    p.add_argument("--set", dest="set_name", help="the set's name (default: the file's stem)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--rows", dest="rows_out",
                   help="write the report with its per-question rows here, and only the "
                        "figures to --json (a small file to commit)")


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m qa.evaluation.squad_cli",
                                description="SQuAD-format evaluation: open, closed, ood modes.")
    p.add_argument("file")
    p.add_argument("--source", default="seeds", help="the ood corpus (default: seeds)")
    p.add_argument("--index", default="index", help="its index (default: index)")
    p.add_argument("--json", dest="json_out", help="write figures and per-question rows here")
    p.add_argument("--plot", help="write a PNG chart here")
    p.add_argument("--floors", help="exit 1 when a figure is past its floor (JSON)")
    p.add_argument("--mode", choices=["all", *RETRIEVERS], default="all",
                   help="retrievers for open mode (default: all three side by side)")
    add_arguments(p)
    return p


def _modes(args: argparse.Namespace) -> list[str]:
    modes = [m.strip() for m in args.squad_modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise UsageError(f"--squad-modes takes a comma-separated list of {', '.join(MODES)}")
    return modes


def _load(source: Path | str, index: Path | str) -> tuple[Any, float, bool]:
    """(assistant, seconds, whether the index was built rather than loaded)."""
    from qa.assistant import load_assistant

    messages: list[str] = []

    def log(msg: str) -> None:
        messages.append(msg)
        print(msg, file=sys.stderr, flush=True)

    t = time.perf_counter()
    assistant = load_assistant(source, index, log=log)
    return assistant, time.perf_counter() - t, any("index: built" in m for m in messages)


def run(args: argparse.Namespace) -> int:
    """Run the modes on the set, print the table, write JSON and chart, check floors."""
    modes = _modes(args)
    floors = read_floors(args.floors)
    set_name = args.set_name or Path(args.file).stem
    try:
        passages = load_squad(args.file, args.part)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{args.file}: not a readable SQuAD-format file ({exc})") from None
    questions = choose([q for p in passages for q in p.questions if q.answers],
                       args.limit, args.sample, args.seed)
    if not questions:
        raise UsageError(f"{args.file} holds no answerable questions in its {args.part} part")
    report = _header(args, set_name, passages, len(questions))
    retrievers = RETRIEVERS if args.mode == "all" else (args.mode,)
    rows: dict[str, list[Any]] = {}
    if {"open", "closed"} & set(modes):
        root = Path(args.cache) / f"{set_name}-{args.part}"
        write_reports(passages, root / "reports")
        assistant, secs, built = _load(root / "reports", root / "index")
        report["timing"]["index_s"], report["timing"]["index_built"] = round(secs, 1), built
        for mode in [m for m in modes if m != "ood"]:
            for retriever in retrievers if mode == "open" else ("hybrid",):
                rows[result_key(mode, retriever)] = _timed(report, assistant, questions, mode,
                                                           retriever, not args.no_progress)
    if "ood" in modes:
        assistant, secs, built = _load(args.source, args.index)
        report["timing"]["ood_index_s"] = round(secs, 1)
        rows["ood"] = _timed(report, assistant, questions, "ood", "hybrid", not args.no_progress)
    report["results"] = {k: summarise(rs) for k, rs in rows.items()}
    report["settings"] = assistant.settings.to_dict()
    report["rows"] = {k: [asdict(r) for r in rs] for k, rs in rows.items()}
    return _output(args, report, floors)


def _header(args: argparse.Namespace, set_name: str, passages: list[Passage],
            n: int) -> dict[str, Any]:
    return {"file": str(args.file), "set": set_name, "part": args.part,
            "passages": len(passages),
            "questions_in_part": sum(len(p.questions) for p in passages), "questions": n,
            "selection": {"limit": args.limit, "sample": args.sample, "seed": args.seed},
            "ood_source": str(args.source), "timing": {},
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _timed(report: dict[str, Any], assistant: Any, questions: list[Any], mode: str,
           retriever: str, progress: bool) -> list[Any]:
    # the first question pays for lazy loading (jieba's dictionary): not timed
    assistant.ask(next((q.question for q in questions if q.question.strip()), "是什么？"))
    t = time.perf_counter()
    rows = run_mode(assistant, questions, mode, retriever, progress)
    secs = time.perf_counter() - t
    report["timing"][f"{result_key(mode, retriever)}_questions_per_s"] = round(
        len(questions) / secs, 2)
    return rows


def _output(args: argparse.Namespace, report: dict[str, Any],
            floors: dict[str, Any] | None) -> int:
    from qa.atomic import write_text_atomically

    print(format_table(report))
    if args.json_out:
        shown = {k: v for k, v in report.items() if k != "rows"} if args.rows_out else report
        write_text_atomically(args.json_out, dumps(shown))
    if args.rows_out:
        write_text_atomically(args.rows_out, dumps(report))
    if args.plot:
        plot(report, args.plot)
    if floors is None:
        return 0
    return tell_broken(check_floors(report, floors),
                       f"all floors in {args.floors} that apply to {report['set']} hold")


def dumps(report: dict[str, Any]) -> str:
    """The report as JSON, figures indented, each per-question row on one line (a file that
    diffs question by question, at half the size)."""
    head = {k: v for k, v in report.items() if k != "rows"}
    parts = []
    for key, rows in report.get("rows", {}).items():
        lines = ",\n".join("   " + json.dumps(r, ensure_ascii=False, separators=(",", ":"))
                           for r in rows)
        parts.append(f"  {json.dumps(key)}: [\n{lines}\n  ]")
    text = json.dumps(head, ensure_ascii=False, indent=1)
    if "rows" not in report:
        return text + "\n"
    return text[:-2] + ',\n "rows": {\n' + ",\n".join(parts) + "\n }\n}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry; exit 0, 1 (a floor broken, an error) or 2 (usage)."""
    try:
        args = make_parser().parse_args(argv)
        if not args.squad and not is_squad_file(args.file):
            raise UsageError(f"{args.file} is not SQuAD JSON (an object with \"data\"); "
                             "pass --squad to read it as one anyway")
        return run(args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
