"""The eval runner: pure metrics, the floors gate, and the real CLI failing when quality drops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.evaluation.evaluate import Row, by_type, char_f1, choose_threshold, contains_gold, metrics
from qa.evaluation.report import check_floors

ROOT = Path(__file__).resolve().parent.parent


def row(expected, got, found=True, rank=1, type_="numeric", confidence=0.9) -> Row:
    contained = contains_gold(got, expected)
    f1 = max((char_f1(got, g) for g in expected), default=0.0)
    return Row("x", type_, "q", list(expected), got, got, found, confidence, rank, contained,
               f1, 5.0)


def test_char_f1_and_containment_use_normalised_text() -> None:
    assert char_f1("签约项目36个", "36个") == pytest.approx(2 * (3 / 7) * 1 / (3 / 7 + 1))
    assert char_f1("", "36个") == 0.0
    assert contains_gold("簽約項目36個", ["36个"])  # traditional answer text still matches
    assert not contains_gold("", ["36个"])


def test_metrics_on_hand_made_rows() -> None:
    rows = [
        row(["36个"], "签约项目36个", rank=1),
        row(["5个"], "建立5个招商工作站", rank=2),
        row(["1200吨"], "", found=False, rank=None),
        row([], "", found=False, rank=None, type_="unanswerable"),
        row([], "某段话", found=True, rank=None, type_="unanswerable"),
    ]
    m = metrics(rows)
    assert m["hit@1"] == pytest.approx(1 / 3)
    assert m["hit@3"] == pytest.approx(2 / 3)
    assert m["mrr"] == pytest.approx((1 + 0.5) / 3)
    assert m["containment"] == pytest.approx(2 / 3)
    assert m["false_abstention"] == pytest.approx(1 / 3)
    assert m["abstain_recall"] == pytest.approx(1 / 2)
    assert m["abstain_precision"] == pytest.approx(1 / 2)
    assert set(by_type(rows)) == {"numeric", "unanswerable", "overall"}


def test_choose_threshold_keeps_false_abstention_under_the_cap() -> None:
    rows = [{"expected": ["a"], "confidence": c} for c in (0.9, 0.8, 0.7, 0.6, 0.2)]
    rows += [{"expected": [], "confidence": c} for c in (0.1, 0.3, 0.5, 0.65)]
    t = choose_threshold(rows, max_false_abstention=0.2)  # may lose the 0.2 answerable one
    assert 0.5 < t <= 0.6  # abstains on 0.1, 0.3 and 0.5, keeps every answerable above 0.2
    assert choose_threshold(rows, max_false_abstention=0.0) < 0.2


def _report(hybrid: dict, bm25: dict, dense: dict) -> dict:
    return {"modes": {m: {"overall": v} for m, v in
                      (("hybrid", hybrid), ("bm25", bm25), ("dense", dense))}}


def test_check_floors_reports_each_broken_floor() -> None:
    report = _report({"hit@1": 0.9, "containment": 0.8, "false_abstention": 0.1},
                     {"hit@1": 0.95, "containment": 0.7}, {"hit@1": 0.7, "containment": 0.7})
    floors = {"hybrid": {"hit@1": 0.85, "containment": 0.85, "false_abstention": 0.05},
              "hybrid_beats": ["hit@1", "containment"]}
    problems = check_floors(report, floors)
    assert any("containment = 0.800 is below its floor" in p for p in problems)
    assert any("false_abstention = 0.100 is above its ceiling" in p for p in problems)
    assert any("hit@1 = 0.900 is worse than bm25" in p for p in problems)
    assert len(problems) == 3
    assert check_floors(report, {"hybrid": {"hit@1": 0.85}}) == []


def _eval_subset(tmp_path: Path, n: int = 40) -> Path:
    lines = (ROOT / "eval" / "qa.jsonl").read_text("utf-8").splitlines()
    # numbers first, then English questions (which only the encoder can rank) and questions
    # the report does not answer
    keep = (lines[:n - 16] + [ln for ln in lines if '"english"' in ln][:8]
            + [ln for ln in lines if '"unanswerable"' in ln][:8])
    path = tmp_path / "subset.jsonl"
    path.write_text("\n".join(keep) + "\n", "utf-8")
    return path


def _run_eval(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", **env_extra)
    return subprocess.run([sys.executable, "-m", "qa", "eval", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def gate_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("gate")
    floors = tmp / "floors.json"
    floors.write_text(json.dumps({"hybrid": {"hit@1": 0.85}, "hybrid_beats": ["hit@1"]}))
    return _eval_subset(tmp), floors, tmp / "index"


def test_gate_passes_with_the_shipped_settings(gate_files, tmp_path: Path) -> None:
    subset, floors, index = gate_files
    out = tmp_path / "run.json"
    done = _run_eval([str(subset), "--index", str(index), "--floors", str(floors),
                      "--json", str(out)], {})
    assert done.returncode == 0, done.stderr
    assert "all floors" in done.stdout and "overall" in done.stdout
    report = json.loads(out.read_text("utf-8"))
    assert set(report["modes"]) == {"hybrid", "bm25", "dense"}
    rows = report["rows"]["hybrid"]
    assert len(rows) == 40 and {"question", "expected", "got", "rank", "correct"} <= set(rows[0])


def test_gate_fails_when_quality_is_lowered_on_purpose(gate_files) -> None:
    """Hybrid made BM25-only (dense weight 0) misses the English questions: it falls
    below the hit@1 floor and behind dense alone, exit 1."""
    subset, floors, index = gate_files
    done = _run_eval([str(subset), "--index", str(index), "--floors", str(floors)],
                     {"QA_WEIGHT_DENSE": "0"})
    assert done.returncode == 1
    assert "floor broken: hybrid hit@1" in done.stderr
    assert "is worse than dense" in done.stderr
    assert "Traceback" not in done.stderr


def test_span_weight_fit_learns_which_feature_marks_the_right_span():
    from qa.answer.extract import SPAN_FEATURES
    from qa.evaluation import tune_spans

    def cand(text: str, right: bool, **values: float) -> tuple[str, dict, bool]:
        f = dict.fromkeys(SPAN_FEATURES, 0.0)
        f.update(values, extra_length=max(0, len(text) - 12) / 10)
        return text, f, right

    # In every question the right span is the one that holds the asked form; a long wrong
    # span covers more of the question.
    questions = [[cand("签约项目36个", True, fit=1.0, local=0.5 + k / 100),
                  cand("开展2次集中签约活动，参加第二届儒商大会", False, local=0.9)]
                 for k in range(10)]
    weights = tune_spans.fit(questions, l2=0.0003, precision=0.2)
    assert weights["fit"] > 0
    assert weights["extra_length"] <= -0.02  # the length penalty's floor holds
    assert tune_spans.score(questions, weights)[0] == 1.0
