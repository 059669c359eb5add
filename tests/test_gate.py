"""The grounding gate (qa/answer/gate.py) and its fitting tool
(qa/evaluation/fit_judge_gate.py): it only ever lowers confidence, keeps ``found`` the
thresholded confidence, refuses questions on other subjects that the logistic model alone
would answer, and leaves the bundled report's answers alone."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from qa.answer.gate import FEATURES, Gate
from qa.assistant import Assistant
from qa.evaluation import fit_judge_gate as fit_gate
from qa.models import load_model


@pytest.fixture(scope="module")
def shipped_gate() -> Gate:
    gate = Gate.of(load_model("gate"))
    assert gate is not None, "qa/models/gate.json ships a gate"
    return gate


def test_the_shipped_gate_is_data_with_provenance() -> None:
    model = load_model("gate")
    assert tuple(model["features"]) == FEATURES
    assert "fit" in model["fitted_on"] and model["fitted_at"]
    assert 0.0 < model["threshold"] < 1.0


def test_a_gate_fitted_on_other_features_is_refused() -> None:
    model = dict(load_model("gate"), features=["cov_word"])
    with pytest.raises(ValueError, match="refit"):
        Gate(model)
    assert Gate.of({}) is None and Gate.of(None) is None


@pytest.mark.parametrize("score_share", [0.0, 0.3, 0.99, 1.0, 1.5, 20.0])
@pytest.mark.parametrize("confidence", [0.0, 0.2, 0.5, 0.9, 1.0])
def test_the_gate_only_lowers_and_found_stays_the_thresholded_confidence(
        shipped_gate: Gate, confidence: float, score_share: float) -> None:
    threshold = 0.33
    score = min(1.0, shipped_gate.threshold * score_share)
    bounded = shipped_gate.bound(confidence, score, threshold)
    assert 0.0 <= bounded <= confidence
    passes = score >= shipped_gate.threshold
    assert (bounded >= threshold) == (passes and confidence >= threshold)
    if passes:
        assert bounded == confidence


#: made up here: questions on subjects the bundled report never touches, whose form (what
#: to do, how many people) the logistic model alone finds a span for
ELSEWHERE = ("穿山甲遇到危险时会怎么做？", "游戏中玩家最多可以组队几人？")


@pytest.mark.parametrize("question", ELSEWHERE)
def test_questions_on_other_subjects_are_refused_by_the_gate(assistant, question) -> None:
    ungated = Assistant(assistant.index, assistant.encoder,
                        replace(assistant.settings, confidence_gate={}))
    assert ungated.ask(question).found  # what the issue measured: a confident answer
    answer, trace = assistant.ask_traced(question)
    assert not answer.found and answer.answer == ""
    assert answer.confidence < assistant.settings.threshold
    assert trace.verdict.features["gate"] < load_model("gate")["threshold"]
    assert answer.reason and answer.reason.startswith("报告中没有")


def test_the_bundled_reports_answer_passes_the_gate(assistant) -> None:
    ungated = Assistant(assistant.index, assistant.encoder,
                        replace(assistant.settings, confidence_gate={}))
    answer, trace = assistant.ask_traced("签约了多少个项目？")
    assert answer.found and "36个" in answer.answer
    assert answer.to_dict() == ungated.ask("签约了多少个项目？").to_dict()
    assert trace.verdict.features["gate"] >= load_model("gate")["threshold"]


def test_an_english_question_is_not_gated(assistant) -> None:
    _, trace = assistant.ask_traced("How many projects were signed?")
    assert "gate" not in trace.verdict.features


def _rows(n: int, seed: int = 3) -> list[dict]:
    """Answerable rows whose key terms the cited text holds, unanswerable ones whose terms
    no report holds, in two sets each."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = float(i % 2)
        held = rng.uniform(0.5, 1.0) if label else rng.uniform(0.0, 0.4)
        rows.append({"group": ("open:a" if i % 4 < 2 else "own:answerable") if label
                     else ("ood:a" if i % 4 < 2 else "offtopic"),
                     "label": label, "question": f"问题{i}",
                     "features": {"cjk": 1.0, "n_terms": 3.0, "ground_cov": held,
                                  "ground_missing": 1.0 - held, "dense": held / 2,
                                  "cov_word": held, "form": 1.0, "span_sim": held / 2}})
    return rows


def test_the_threshold_keeps_the_answerable_budget() -> None:
    rows = _rows(200)
    scores = np.asarray([r["features"]["ground_cov"] for r in rows])
    answered = np.ones(len(rows), dtype=bool)
    t = fit_gate.choose_threshold(rows, scores, answered, max_loss=0.05)
    for group in ("open:a", "own:answerable"):
        mine = np.asarray([r["group"] == group for r in rows])
        assert (scores[mine] >= t).mean() >= 0.95
    unanswerable = np.asarray([not r["label"] for r in rows])
    assert (scores[unanswerable] < t).all()  # every one of them falls under it here


def test_the_fit_tool_fits_and_reports_without_writing_on_dry_run(tmp_path, capsys) -> None:
    pytest.importorskip("lightgbm")
    rows_file = tmp_path / "rows.jsonl"
    rows_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                 for r in _rows(240)), encoding="utf-8")
    before = load_model("gate")
    assert fit_gate.main(["--from-rows", str(rows_file), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "gate threshold" in out and "fit, with it" in out
    assert load_model("gate") == before


def test_the_fit_tool_tells_an_unreadable_rows_file_in_one_line(tmp_path, capsys) -> None:
    bad = tmp_path / "rows.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    assert fit_gate.main(["--from-rows", str(bad), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read the rows of") and err.count("\n") == 1


def test_settings_print_the_gates_threshold_not_its_trees() -> None:
    from qa.config import Settings

    settings = Settings()
    out = settings.to_dict()
    assert out["confidence_gate"]["threshold"] == settings.confidence_gate["threshold"]
    assert "trees" not in out["confidence_gate"] and len(json.dumps(out)) < 20_000
    assert "trees" in settings.confidence_gate  # the settings themselves keep it


def test_the_fit_tool_tells_rows_of_another_shape_in_one_line(tmp_path, capsys) -> None:
    odd = tmp_path / "rows.jsonl"
    odd.write_text('{"question": "多少？"}\n', encoding="utf-8")
    assert fit_gate.main(["--from-rows", str(odd), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "row 1 is not a row" in err and err.count("\n") == 1
