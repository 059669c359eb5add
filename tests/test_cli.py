"""The command line against docs/CONTRACT.md: JSON answers, batch mode, human output, and
usage errors (exit 2, one line on stderr, never a traceback).

Every ``python -m qa`` process imports torch and loads the model (seconds), so the
subprocesses of this module are all started together, once, and run side by side.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = next(SEEDS.glob("*.txt"))
SEED_DOC = f"seeds/{SEED_FILE.name}"
QUESTION = "签约了多少个项目？"

CONTRACT_KEYS = {"question", "found", "answer", "confidence", "citations", "reason",
                 "understood_as"}
CITATION_KEYS = {"doc", "start", "end", "text", "context", "context_start", "section", "score"}

#: counts model loads and index builds in a real ``python -m qa`` run.
COUNTING = """
import atexit, json, runpy, sys
import qa.index.load as a, qa.index.vectors as d
counts = {"encoder": 0, "build_index": 0, "load_index": 0}
def counted(name, fn):
    def wrapper(*args, **kwargs):
        counts[name] += 1
        return fn(*args, **kwargs)
    return wrapper
init = d.Encoder.__init__
d.Encoder.__init__ = lambda self, *x, **k: (counts.__setitem__("encoder", counts["encoder"] + 1),
                                            init(self, *x, **k))[1]
a.build_index = counted("build_index", a.build_index)
a.load_index = counted("load_index", a.load_index)
atexit.register(lambda: print("COUNTS " + json.dumps(counts), file=sys.stderr))
sys.argv = ["qa"] + sys.argv[1:]
runpy.run_module("qa", run_name="__main__")
"""

BATCH = ["签约了多少个项目？", "", "  簽約了多少個項目？  ", "上半年完成工业产值多少？",
         "JavaScript里怎么给数组排序？"]


class Run:
    """A subprocess started now and collected on first use."""

    def __init__(self, argv: list[str], stdin: str | None = None) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        self._stdin = stdin.encode("utf-8") if stdin is not None else None
        self._proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE,
                                      stdin=subprocess.PIPE if stdin is not None
                                      else subprocess.DEVNULL)
        self._done: tuple[int, str, str] | None = None

    def result(self) -> tuple[int, str, str]:
        if self._done is None:
            out, err = self._proc.communicate(self._stdin, timeout=300)
            self._done = (self._proc.returncode, out.decode("utf-8"), err.decode("utf-8"))
        return self._done


def qa_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "qa", *args]


BAD_USAGE = {
    "no-question": ["ask"],
    "unknown-flag": ["ask", "--bogus", QUESTION],
    "top-k-0": ["ask", "--top-k", "0", QUESTION],
    "top-k-11": ["ask", "--top-k", "11", QUESTION],
    "top-k-not-int": ["ask", "--top-k", "three", QUESTION],
    "empty-question": ["ask", ""],
    "blank-question": ["ask", "  \t "],
    "unknown-command": ["frobnicate"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    tmp = tmp_path_factory.mktemp("cli")
    # the batch run finds a damaged index (a manifest cut short) and must rebuild it quietly
    (tmp / "index-batch").mkdir()
    (tmp / "index-batch" / "manifest.json").write_text('{"format_version": 1, "gener',
                                                       encoding="utf-8")
    started = {
        "single": Run(qa_cmd("ask", "--json", QUESTION, "--source", str(SEEDS),
                             "--index", str(tmp / "index-single"))),
        "batch": Run([sys.executable, "-c", COUNTING, "ask", "--json", "-", "--source", "seeds",
                      "--index", str(tmp / "index-batch")], stdin="\n".join(BATCH) + "\n"),
        "missing-source": Run(qa_cmd("ask", QUESTION, "--source", str(tmp / "no-such-folder"),
                                     "--index", str(tmp / "index-missing"))),
    }
    for name, args in BAD_USAGE.items():
        started[name] = Run(qa_cmd(*args, "--index", str(tmp / f"index-{name}")))
    started["tmp"] = tmp  # type: ignore[assignment]
    return started


def source_text(doc: str) -> str:
    path = Path(doc) if Path(doc).is_absolute() else ROOT / doc
    return path.read_bytes().decode("utf-8")


def check_contract(answer: dict, question: str) -> None:
    assert set(answer) == CONTRACT_KEYS
    assert answer["question"] == question
    assert answer["understood_as"] == question  # no history: read as it is
    assert isinstance(answer["found"], bool)
    assert isinstance(answer["confidence"], float) and 0.0 <= answer["confidence"] <= 1.0
    assert isinstance(answer["citations"], list)
    if answer["found"]:
        assert answer["answer"] == answer["citations"][0]["text"]
        assert answer["reason"] is None
    else:
        assert answer["answer"] == ""
        assert isinstance(answer["reason"], str) and answer["reason"]
    for c in answer["citations"]:
        assert set(c) == CITATION_KEYS
        assert c["doc"] == SEED_DOC  # relative to the working directory
        assert all(isinstance(c[k], int) for k in ("start", "end", "context_start"))
        assert isinstance(c["score"], float) and isinstance(c["section"], str)
        text = source_text(c["doc"])
        assert text[c["start"]:c["end"]] == c["text"]
        cs = c["context_start"]
        assert text[cs:cs + len(c["context"])] == c["context"]
        assert c["context"][c["start"] - cs:c["end"] - cs] == c["text"]


# ---------------------------------------------------------------- usage errors


@pytest.mark.parametrize("name", list(BAD_USAGE))
def test_bad_usage_exits_2_with_one_line(runs, name):
    code, out, err = runs[name].result()
    assert code == 2, (out, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert out == ""
    # the input was refused before anything was built
    assert not (runs["tmp"] / f"index-{name}").exists()


def test_missing_source_folder_exits_2_with_one_line(runs):
    code, out, err = runs["missing-source"].result()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "no-such-folder" in lines[0] and "Traceback" not in err
    assert out == ""


# ---------------------------------------------------------------- JSON


def test_ask_json_follows_the_contract(runs):
    code, out, err = runs["single"].result()
    assert code == 0, err
    assert "Traceback" not in err
    lines = out.splitlines()
    assert len(lines) == 1
    answer = json.loads(lines[0])
    check_contract(answer, QUESTION)
    assert answer["found"] is True
    assert "36个" in answer["answer"]
    assert answer["answer"] == answer["citations"][0]["text"]
    assert len(answer["citations"]) == 3  # the default top-k
    assert answer["citations"][0]["section"] == "实体经济提能级 筑牢全面小康的经济基础"
    # the index was written where asked
    assert (runs["tmp"] / "index-single" / "manifest.json").is_file()


def test_batch_mode_one_json_line_per_question_in_order_loading_once(runs):
    """Also: a damaged index gives one notice line on stderr and is rebuilt, once."""
    code, out, err = runs["batch"].result()
    assert code == 0, err
    assert "Traceback" not in err
    answers = [json.loads(line) for line in out.splitlines()]
    questions = [q.strip() for q in BATCH if q.strip()]
    assert [a["question"] for a in answers] == questions
    for a, q in zip(answers, questions):
        check_contract(a, q)
    simplified, traditional = answers[0], answers[1]
    assert simplified["found"] and "36个" in simplified["answer"]
    assert (traditional["citations"][0]["start"], traditional["citations"][0]["end"]) == \
        (simplified["citations"][0]["start"], simplified["citations"][0]["end"])
    assert answers[-1]["found"] is False and answers[-1]["citations"]
    notices = [line for line in err.splitlines() if line.startswith("notice:")]
    assert len(notices) == 1 and "unreadable" in notices[0] and "rebuilding" in notices[0]
    counts = json.loads(next(line for line in err.splitlines()
                             if line.startswith("COUNTS "))[len("COUNTS "):])
    assert counts == {"encoder": 1, "build_index": 1, "load_index": counts["load_index"]}
    assert counts["load_index"] <= 2  # the initial attempt and the re-check under the lock


# ---------------------------------------------------------------- human-readable


@pytest.fixture()
def in_process(monkeypatch, assistant):
    """``main`` in this process with the session's USE encoder (no second model load)."""
    monkeypatch.setenv("QA_WARM_UP_MAX", "0")
    monkeypatch.chdir(ROOT)
    return functools.partial(main, encoder=assistant.encoder)


def test_human_readable_answer_marks_the_span(in_process, assistant, index_dir, capsys):
    expected = assistant.ask(QUESTION).to_dict()
    code = in_process(["ask", QUESTION, "--source", "seeds", "--index", str(index_dir)])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err
    lines = out.splitlines()
    assert lines[0].startswith("答案：") and expected["answer"] in lines[0]
    assert "36个" in lines[0]
    first = expected["citations"][0]
    header = f"[1] {SEED_DOC} [{first['start']}:{first['end']}]"
    assert any(line.startswith(header) and first["section"] in line for line in lines)
    marked = "【" + first["text"] + "】"
    assert sum(marked in line for line in lines) >= 1
    assert sum(line.startswith("[") for line in lines) == len(expected["citations"])


def test_human_readable_not_found(in_process, index_dir, capsys):
    code = in_process(["ask", "JavaScript里怎么给数组排序？", "--top-k", "2", "--source", "seeds",
                 "--index", str(index_dir)])
    out, _ = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("报告中没有找到答案")
    assert lines[1].startswith("原因：") and len(lines[1]) > len("原因：")
    assert sum(line.startswith("[") for line in lines) == 2
    assert sum("【" in line for line in lines) == 2  # nearest passages, still marked


def test_human_readable_not_found_names_what_the_report_lacks(in_process, index_dir, capsys):
    code = in_process(["ask", "林肯郡在什么位置？", "--source", "seeds",
                       "--index", str(index_dir)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[:2] == ["报告中没有找到答案。（置信度 0.00）",
                                    "原因：报告中没有提到“林肯郡”"]
