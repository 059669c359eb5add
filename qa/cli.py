"""Command line: build / ask / eval / bench. A QAError becomes one line on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.errors import QAError, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for any usage error
        # prog is "qa" for the top-level parser and "qa ask" for a subcommand's
        raise UsageError(f"{message} (see: python -m {self.prog} --help)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", default="seeds", help="folder of .txt/.md reports (default: seeds)")
    p.add_argument("--index", default="index", help="index folder (default: index)")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qa", description="Cited answers from Chinese reports.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    b = sub.add_parser("build", help="(re)build the index from the source folder")
    _common(b)
    a = sub.add_parser("ask", help="answer a question ('-' reads one question per line)")
    _common(a)
    a.add_argument("question", help="the question, or - to read questions from stdin")
    a.add_argument("--json", action="store_true", help="print the answer object as JSON")
    a.add_argument("--top-k", type=int, default=3, help="citations to return (1-10)")
    e = sub.add_parser("eval", help="run an eval set: BM25, dense and hybrid side by side")
    _common(e)
    e.add_argument("file", nargs="?", default="eval/qa.jsonl")
    e.add_argument("--json", dest="json_out", help="write metrics and per-question rows here")
    e.add_argument("--plot", help="write a PNG chart of the three modes here")
    e.add_argument("--floors", help="fail (exit 1) when hybrid is below these floors (JSON)")
    e.add_argument("--mode", choices=["all", "hybrid", "bm25", "dense"], default="all")
    bench = sub.add_parser("bench", help="speed and scale benchmark on generated corpora")
    _common(bench)
    bench.add_argument("--sizes", default="1000,10000,100000",
                       help="comma-separated corpus sizes in paragraphs")
    bench.add_argument("--out", default="bench/results.json")
    bench.add_argument("--plot", default=None)
    return parser


def _print_human(answer: dict[str, Any]) -> None:
    if answer["found"]:
        print(f"答案：{answer['answer']}    （置信度 {answer['confidence']:.2f}）")
    else:
        print(f"报告中没有找到答案。（置信度 {answer['confidence']:.2f}）最接近的段落：")
    for i, c in enumerate(answer["citations"], 1):
        ctx, a = c["context"], c["start"] - c["context_start"]
        marked = ctx[:a] + "【" + c["text"] + "】" + ctx[a + len(c["text"]):]
        section = f" · {c['section']}" if c["section"] else ""
        print(f"[{i}] {c['doc']} [{c['start']}:{c['end']}]{section}")
        print("    " + " ".join(marked.split()))


def _questions_from_stdin() -> list[tuple[int, str | None, str | None]]:
    """(line number, question or None, error or None) for each non-blank stdin line."""
    out = []
    for n, raw in enumerate(sys.stdin.buffer.read().splitlines(), 1):
        try:
            line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError:
            out.append((n, None, f"line {n} is not valid UTF-8"))
            continue
        if line.strip():
            out.append((n, line, None))
    return out


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.assistant import clean_question, load_assistant
    from qa.config import Settings
    from qa.errors import BadQuestion

    if not 1 <= args.top_k <= 10:
        raise UsageError("--top-k must be an integer from 1 to 10")
    if args.question == "-":
        batch = _questions_from_stdin()
    else:
        # Refuse a bad question now, not after the model and index have loaded (seconds).
        clean_question(args.question, Settings.from_env().max_question_chars)
        batch = [(0, args.question, None)]
    assistant = load_assistant(args.source, args.index)
    for n, question, error in batch:
        if question is not None:
            try:
                answer = assistant.ask(question, args.top_k).to_dict()
            except BadQuestion as exc:
                if args.question != "-":
                    raise
                error = str(exc)
        if error is not None:
            if args.json:
                print(json.dumps({"question": (question or "").strip(), "line": n,
                                  "error": error}, ensure_ascii=False), flush=True)
            else:
                print(f"error: line {n}: {error}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps(answer, ensure_ascii=False), flush=True)
        else:
            _print_human(answer)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    import os

    from qa.assistant import load_assistant
    from qa.documents import list_reports
    from qa.errors import IndexStoreError
    from qa.store import build_lock

    # `build` exists to write the index: refuse an index folder that cannot be written
    # (read-only mount, a file in the way) instead of building in memory and discarding it.
    list_reports(Path(args.source))  # a missing or empty source folder is the first error
    index_dir = Path(args.index)
    with build_lock(index_dir):
        pass
    if not os.access(index_dir, os.W_OK | os.X_OK):
        raise IndexStoreError(f"cannot write the index folder {index_dir} (permission denied)")
    assistant = load_assistant(args.source, args.index, rebuild=True, progress=True)
    st = assistant.stats()
    print(f"indexed {st['paragraphs']} paragraphs from {st['documents']} report(s) into "
          f"{args.index} (model {st['model']}, {st['vector_index']})")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from qa.evalreport import run_eval

    return run_eval(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from qa.bench import run_bench

    return run_bench(args)


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        command = {"build": cmd_build, "ask": cmd_ask, "eval": cmd_eval, "bench": cmd_bench}
        return command[args.command](args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug: still one line, never a traceback
        print(f"error: internal error ({type(exc).__name__}: {exc}); please report it",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
