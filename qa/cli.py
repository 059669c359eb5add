"""Command line: build | ask | add | remove | list | serve | eval | feedback | tune | sweep | bench |
load-test.

A QAError becomes one line on stderr and its exit code. ``serve``, ``tune``, ``sweep`` and
``load-test`` hand their arguments to their own module's ``main`` (each has its own flags).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.config import BACKENDS, TOP_K_MAX, TOP_K_MIN, valid_top_k
from qa.errors import QAError, UsageError

#: subcommands whose flags their own module parses: name → (module, help)
FORWARDED = {
    "serve": ("qa.web.serve", "serve the chat, embed view, widget and JSON API (= app.py)"),
    "tune": ("", "fit a model on an eval set: `qa tune confidence` or `qa tune spans`"),
    "sweep": ("qa.evaluation.sweep", "re-measure the retrieval settings on an eval set"),
    "load-test": ("qa.bench.load", "concurrent clients against POST /api/ask on loopback"),
}
TUNERS = {"confidence": "qa.evaluation.tune_confidence", "spans": "qa.evaluation.tune_spans"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for any usage error
        # prog is "qa" for the top-level parser and "qa ask" for a subcommand's
        raise UsageError(f"{message} (see: python -m {self.prog} --help)")


def _common(p: argparse.ArgumentParser, backend: bool = True) -> None:
    p.add_argument("--source", default="seeds",
                   help="folder of reports: .txt .md .pdf .docx .html (default: seeds)")
    p.add_argument("--index", default="index", help="index folder (default: index)")
    if backend:
        _backend(p)


def _backend(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="where the index is searched: local (default) or milvus (milvus-lite "
                        "in the index folder, or QA_MILVUS_URI); default: QA_BACKEND or local")


def _settings(args: argparse.Namespace) -> Any:
    """The settings from the environment, with ``--backend`` when given."""
    from dataclasses import replace

    from qa.config import Settings

    settings = Settings.from_env()
    backend = getattr(args, "backend", None)
    return replace(settings, backend=backend) if backend else settings


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qa", description="Cited answers from Chinese reports.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    b = sub.add_parser("build", help="(re)build the index from the source folder")
    _common(b)
    a = sub.add_parser("ask", help="answer a question ('-': one per line, plain or "
                                   '{"question", "history"})')
    _common(a)
    a.add_argument("question", help="the question, or - to read questions from stdin")
    a.add_argument("--json", action="store_true", help="print the answer object as JSON")
    a.add_argument("--top-k", type=int, default=3,
                   help=f"citations to return ({TOP_K_MIN}-{TOP_K_MAX})")
    a.add_argument("--explain", action="store_true",
                   help="also print what each stage saw and scored (the trace)")
    a.add_argument("--history", action="append", metavar="EARLIER", help="an earlier question "
                   "(repeat, oldest first): a follow-up (总投资呢？) is read with its topic")
    e = sub.add_parser("eval", help="run an eval set: BM25, dense and hybrid side by side "
                                    "(a dialogue set: single questions against follow-ups)")
    _common(e)
    e.add_argument("file", nargs="?", default="eval/qa.jsonl")
    e.add_argument("--json", dest="json_out", help="write metrics and per-question rows here")
    e.add_argument("--plot", help="write a PNG chart of the three modes here")
    e.add_argument("--floors", help="fail (exit 1) when hybrid is below these floors (JSON)")
    e.add_argument("--reliability", help="write a PNG reliability chart (confidence vs "
                                         "accuracy, hybrid) here")
    e.add_argument("--mode", choices=["all", "hybrid", "bm25", "dense"], default="all")
    e.add_argument("--feedback", action="store_true",
                   help="score the eval items of the stored feedback (qa feedback export) "
                        "instead of FILE")
    e.add_argument("--data", help="the data folder holding the feedback (default: "
                                  "QA_DATA_DIR, else data/)")
    # a SQuAD-format FILE (CMRC 2018, DRCD) is detected, or forced with --squad
    from qa.evaluation.squad_cli import add_arguments

    add_arguments(e)
    bench = sub.add_parser("bench", help="speed and scale benchmark on generated corpora")
    _common(bench, backend=False)
    bench.add_argument("--backend", default="local",
                       help="comma-separated backends measured side by side, e.g. local,milvus")
    bench.add_argument("--sizes", default="1000,10000,100000",
                       help="comma-separated corpus sizes in paragraphs")
    bench.add_argument("--out", default="bench/results.json")
    bench.add_argument("--plot", default=None)
    bench.add_argument("--questions", default="eval/qa.jsonl",
                       help="the questions to time (JSONL with a question field)")
    bench.add_argument("--padded-eval", type=int, default=0, metavar="N", help="also the eval "
                       "set's hybrid hit@1 padded to N paragraphs (qa/bench/padded.py)")
    add = sub.add_parser("add", help="put reports on the shelf (.txt .md .pdf .docx .html)")
    _common(add)
    add.add_argument("files", nargs="+", metavar="FILE")
    rm = sub.add_parser("remove", help="take a report off the shelf (its id: see qa list)")
    _common(rm)
    rm.add_argument("id")
    _feedback_parser(sub)
    ls = sub.add_parser("list", help="the reports on the shelf")
    _common(ls)
    ls.add_argument("--json", action="store_true", help="one JSON array of entries")
    for name, (_, text) in FORWARDED.items():
        sub.add_parser(name, help=text, add_help=False)
    return parser


def _feedback_parser(sub: Any) -> None:
    fb = sub.add_parser("feedback", help="the chat's votes: `qa feedback export`")
    actions = fb.add_subparsers(dest="action", parser_class=_Parser)
    ex = actions.add_parser("export", help="the votes as eval items (JSONL, for review)")
    ex.add_argument("--out", help="write the JSONL here (default: standard output)")
    ex.add_argument("--data", help="the data folder (default: QA_DATA_DIR, else data/)")


def _where(citation: dict[str, Any]) -> str:
    """Where a citation lies in the original file: ` 第3页` (PDF), ` 第5段` (Word), ` 表2第3行`
    (a Word table row); "" for a text report."""
    if "page" in citation:
        return f" 第{citation['page']}页"
    if "paragraph" in citation:
        return f" 第{citation['paragraph']}段"
    if "table" in citation:
        return f" 表{citation['table']}第{citation['row']}行"
    return ""


def _print_human(answer: dict[str, Any]) -> None:
    if answer.get("understood_as", answer["question"]) != answer["question"]:
        print(f"理解为：{answer['understood_as']}")
    if answer["found"]:
        print(f"答案：{answer['answer']}    （置信度 {answer['confidence']:.2f}）")
    else:
        print(f"报告中没有找到答案。（置信度 {answer['confidence']:.2f}）")
        if answer.get("reason"):
            print(f"原因：{answer['reason']}")
        if answer["citations"]:
            print("最接近的段落：")
    for i, c in enumerate(answer["citations"], 1):
        ctx, a = c["context"], c["start"] - c["context_start"]
        marked = ctx[:a] + "【" + c["text"] + "】" + ctx[a + len(c["text"]):]
        section = f" · {c['section']}" if c["section"] else ""
        print(f"[{i}] {c['doc']} [{c['start']}:{c['end']}]{_where(c)}{section}")
        print("    " + " ".join(marked.split()))


#: one line of batch input: (line number, question or None, earlier questions, error or None)
Line = tuple[int, str | None, list[str] | None, str | None]


def parse_line(n: int, line: str) -> Line:
    """A plain question, or a JSON object {"question": "…", "history": ["…", …]} (the
    earlier questions of a conversation, oldest first; see docs/CONTRACT.md)."""
    text = line.strip()
    if not text.startswith("{"):
        return n, line, None, None
    try:
        obj = json.loads(text)
    except ValueError:
        return n, line, None, None  # a question that happens to start with {
    if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
        return n, None, None, 'a JSON line needs "question" (a string)'
    history = obj.get("history")
    if history is not None and (not isinstance(history, list)
                                or not all(isinstance(h, str) for h in history)):
        return n, obj["question"], None, '"history" must be a list of strings'
    return n, obj["question"], history, None


def _questions_from_stdin() -> list[Line]:
    """One entry for each non-blank stdin line (``parse_line``)."""
    out: list[Line] = []
    for n, raw in enumerate(sys.stdin.buffer.read().splitlines(), 1):
        try:
            line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError:
            out.append((n, None, None, f"line {n} is not valid UTF-8"))
            continue
        if line.strip():
            out.append(parse_line(n, line))
    return out


def _print_result(args: argparse.Namespace, answer: dict[str, Any], trace: Any) -> None:
    if args.json:
        shown = {**answer, "trace": trace.to_dict()} if args.explain else answer
        print(json.dumps(shown, ensure_ascii=False), flush=True)
        return
    _print_human(answer)
    if args.explain:
        print(json.dumps(trace.to_dict(), ensure_ascii=False, indent=1))


def cmd_ask(args: argparse.Namespace, encoder: Any = None) -> int:
    from qa.answer.question import clean_question
    from qa.assistant import load_assistant
    from qa.config import Settings
    from qa.errors import BadQuestion

    if not valid_top_k(args.top_k):
        raise UsageError(f"--top-k must be an integer from {TOP_K_MIN} to {TOP_K_MAX}")
    if args.question == "-":
        batch = _questions_from_stdin()
    else:
        # Refuse a bad question now, not after the model and index have loaded (seconds).
        clean_question(args.question, Settings.from_env().max_question_chars)
        batch = [(0, args.question, args.history or None, None)]
    assistant = load_assistant(args.source, args.index, _settings(args), encoder=encoder)
    for n, question, history, error in batch:
        if question is not None and error is None:
            try:
                answered, trace = assistant.ask_traced(question, args.top_k, history=history)
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
        _print_result(args, answered.to_dict(), trace)
    return 0


def cmd_build(args: argparse.Namespace, encoder: Any = None) -> int:
    """Build and save the index; no assistant is made (nothing is asked)."""
    import os

    from qa.errors import IndexStoreError
    from qa.index.load import open_index, stderr
    from qa.index.store import build_lock
    from qa.index.vectors import Encoder
    from qa.text.documents import list_reports

    # `build` exists to write the index: refuse an index folder that cannot be written
    # (read-only mount, a file in the way) instead of building in memory and discarding it.
    source = Path(args.source)
    list_reports(source)  # a missing or empty source folder is the first error
    index_dir = Path(args.index)
    with build_lock(index_dir):
        pass
    if not os.access(index_dir, os.W_OK | os.X_OK):
        raise IndexStoreError(f"cannot write the index folder {index_dir} (permission denied)")
    settings = _settings(args)
    encoder = encoder or Encoder(settings.model, settings.threads)
    index, _ = open_index(source, index_dir, settings, encoder, rebuild=True, progress=True,
                          log=stderr)
    backend = index.searcher().describe()
    where = f" at {backend['uri']}" if "uri" in backend else ""
    print(f"indexed {len(index.chunks)} paragraphs from {len(index.reports)} report(s) into "
          f"{args.index} (model {index.model}, {index.vector_index.kind}, backend "
          f"{backend['name']}{where})")
    return 0


def _update_index(args: argparse.Namespace, encoder: Any) -> None:
    """Bring the index up to date with the shelf (only new paragraphs are embedded)."""
    from qa.index.load import open_index, stderr
    from qa.index.vectors import Encoder

    settings = _settings(args)
    encoder = encoder or Encoder(settings.model, settings.threads)
    index, _ = open_index(Path(args.source), Path(args.index), settings, encoder, log=stderr)
    print(f"index: {len(index.chunks)} paragraphs from {len(index.reports)} report(s)")


def cmd_add(args: argparse.Namespace, encoder: Any = None) -> int:
    """Each FILE checked and converted, then put on the shelf; a refused one is named with
    why, the others still added; then the index is updated once."""
    from qa.config import Settings
    from qa.index.shelf import add_report

    settings, status, added = Settings.from_env(), 0, 0
    for name in args.files:
        try:
            try:
                data = Path(name).read_bytes()
            except OSError as exc:
                raise UsageError(f"{name}: cannot read ({exc.strerror}); not added") from None
            e = add_report(Path(args.source), Path(name).name, data, settings)
        except QAError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = max(status, exc.exit_code)
            continue
        added += 1
        print(f"added {e.id}: {e.title} ({e.format}, {e.paragraphs} paragraphs, "
              f"sha256 {e.sha256[:12]})")
    if added:
        _update_index(args, encoder)
    return status


def cmd_remove(args: argparse.Namespace, encoder: Any = None) -> int:
    from qa.config import Settings
    from qa.index.shelf import remove_report

    e = remove_report(Path(args.source), args.id, Settings.from_env())
    print(f"removed {e.id}: {e.title}")
    _update_index(args, encoder)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from qa.config import Settings
    from qa.index.shelf import list_reports

    entries = list_reports(Path(args.source), Settings.from_env())
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=1))
        return 0
    for e in entries:
        print(f"{e.id}\t{e.format}\t{e.paragraphs} paragraphs\tadded {e.added}\t"
              f"sha256 {e.sha256[:12]}\t{e.title}")
    print(f"{len(entries)} report(s) in {args.source}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """An own eval set (JSONL), a dialogue set (JSONL of {"id", "turns"}, detected), or a
    SQuAD-format set (detected, or ``--squad``)."""
    from qa.evaluation.dialogues import is_dialogue_file
    from qa.evaluation.squad import is_squad_file

    if args.feedback:
        from qa.feedback.score import run_feedback_eval

        return run_feedback_eval(args)
    if is_dialogue_file(args.file):
        from qa.evaluation.dialogue_cli import run_dialogue_eval

        return run_dialogue_eval(args)
    if args.squad or is_squad_file(args.file):
        from qa.evaluation.squad_cli import run

        return run(args)
    from qa.evaluation.report import run_eval

    return run_eval(args)


def cmd_feedback(args: argparse.Namespace) -> int:
    if args.action != "export":
        raise UsageError("feedback what? `qa feedback export [--out FILE]`")
    from qa.feedback.score import run_export

    return run_export(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from qa.bench.run import run_bench

    return run_bench(args)


def forwarded(argv: Sequence[str]) -> int:
    """Run a subcommand whose own module parses its flags (``FORWARDED``)."""
    import importlib

    name, rest = argv[0], list(argv[1:])
    module = FORWARDED[name][0]
    if name == "tune":
        if not rest or rest[0] not in TUNERS:
            raise UsageError(f"tune what? one of {', '.join(TUNERS)} (see: python -m qa --help)")
        module, rest = TUNERS[rest[0]], rest[1:]
    return int(importlib.import_module(module).main(rest) or 0)


def main(argv: Sequence[str] | None = None, encoder: Any = None) -> int:
    """``python -m qa``; ``encoder`` replaces the embedding model (tests)."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    parser = make_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in FORWARDED:
            return forwarded(argv)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        with_model = {"build": cmd_build, "ask": cmd_ask, "add": cmd_add, "remove": cmd_remove}
        if args.command in with_model:
            return with_model[args.command](args, encoder)
        return {"eval": cmd_eval, "bench": cmd_bench, "list": cmd_list,
                "feedback": cmd_feedback}[args.command](args)
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
