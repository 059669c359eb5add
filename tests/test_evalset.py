"""The hand-written evaluation set loads, matches the seed report, and its validator bites."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from qa.errors import QAError, UsageError
from qa.evaluation.evalset import TYPE_MINIMUMS, EvalItem, load_eval_set, validate_eval_set

ROOT = Path(__file__).resolve().parents[1]
EVAL_FILE = ROOT / "eval" / "qa.jsonl"
SEED = ROOT / "seeds" / "zhangqiu-2020-xiaokang.txt"
SOURCE = "A市实体经济签约项目36个，总投资364.2亿元。日处理生活垃圾1200吨。"


@pytest.fixture(scope="module")
def real_items() -> list[EvalItem]:
    return load_eval_set(EVAL_FILE)


@pytest.fixture(scope="module")
def real_sources() -> dict[str, str]:
    return {str(SEED): SEED.read_bytes().decode("utf-8")}


def _row(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": "num-001",
        "question": "签约了多少个项目？",
        "answers": ["36个"],
        "evidence": "签约项目36个",
        "type": "numeric",
    }
    row.update(overrides)
    return row


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _dump(row: dict[str, object]) -> str:
    return json.dumps(row, ensure_ascii=False)


# --- the real set -----------------------------------------------------------------------


def test_real_set_is_valid_against_the_seed(real_items, real_sources) -> None:
    assert validate_eval_set(real_items, real_sources) == []


def test_held_out_set_is_valid_and_shares_no_question(real_items, real_sources) -> None:
    held_out = load_eval_set(ROOT / "eval" / "holdout.jsonl")
    assert validate_eval_set(held_out, real_sources) == []
    assert len(held_out) >= 80 and sum(not item.answerable for item in held_out) >= 15
    tuned_on = {item.question for item in real_items}
    assert not [item.id for item in held_out if item.question in tuned_on]


def test_real_set_size_and_unanswerables(real_items) -> None:
    assert len(real_items) >= 120
    assert sum(not item.answerable for item in real_items) >= 20


def test_real_set_meets_every_type_minimum(real_items) -> None:
    counts = Counter(item.type for item in real_items)
    for kind, minimum in TYPE_MINIMUMS.items():
        assert counts[kind] >= minimum, f"{kind}: {counts[kind]} < {minimum}"
    assert set(counts) <= set(TYPE_MINIMUMS)


def test_real_set_ids_are_unique(real_items) -> None:
    ids = [item.id for item in real_items]
    assert len(ids) == len(set(ids))


def test_real_set_answerable_flag_matches_type(real_items) -> None:
    for item in real_items:
        assert item.answerable == (item.type != "unanswerable"), item.id


def test_real_set_file_is_plain_utf8_jsonl() -> None:
    raw = EVAL_FILE.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    for line in raw.decode("utf-8").splitlines():
        assert "\\u" not in line, "write the file with ensure_ascii=False"


# --- loading ----------------------------------------------------------------------------


def test_load_round_trip(tmp_path: Path) -> None:
    path = _write(tmp_path, [_dump(_row()), "", _dump(_row(id="u-1", answers=[], evidence=""))])
    items = load_eval_set(path)
    assert [item.id for item in items] == ["num-001", "u-1"]
    assert items[0].answers == ("36个",)
    assert items[0].answerable and not items[1].answerable


def test_bad_json_line_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, [_dump(_row()), '{"id": "x", "question": '])
    with pytest.raises(UsageError, match=r"qa\.jsonl:2: "):
        load_eval_set(path)


def test_duplicate_id_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, [_dump(_row()), _dump(_row(question="又问一遍？"))])
    with pytest.raises(UsageError, match=r"qa\.jsonl:2: duplicate id 'num-001'"):
        load_eval_set(path)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({k: v for k, v in _row().items() if k != "evidence"}, "missing field 'evidence'"),
        (_row(answers="36个"), "field 'answers' must be a list"),
        (_row(answers=[36]), "list of non-empty strings"),
        (_row(question=""), "field 'question' is empty"),
        (_row(type=3), "field 'type' must be a str"),
    ],
)
def test_malformed_item_is_rejected(tmp_path: Path, row: dict[str, object], message: str) -> None:
    path = _write(tmp_path, [_dump(row)])
    with pytest.raises(UsageError, match=rf"qa\.jsonl:1: .*{message}"):
        load_eval_set(path)


def test_non_object_line_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"qa\.jsonl:1: expected a JSON object"):
        load_eval_set(_write(tmp_path, ['["not", "an", "object"]']))


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_eval_set(tmp_path / "absent.jsonl")
    assert issubclass(UsageError, QAError)


# --- validating -------------------------------------------------------------------------


def _item(**overrides: object) -> EvalItem:
    row = _row(**overrides)
    return EvalItem(
        id=str(row["id"]),
        question=str(row["question"]),
        answers=tuple(row["answers"]),  # type: ignore[arg-type]
        evidence=str(row["evidence"]),
        type=str(row["type"]),
    )


def _problems(**overrides: object) -> list[str]:
    return validate_eval_set([_item(**overrides)], {"a.txt": SOURCE})


def test_valid_items_have_no_problems() -> None:
    items = [_item(), _item(id="u-1", question="A市有多少人口？", answers=(), evidence="",
                            type="unanswerable")]
    assert validate_eval_set(items, {"a.txt": SOURCE}) == []


def test_a_question_asked_twice_is_a_problem() -> None:
    # it would count twice in every figure
    items = [_item(), _item(id="num-002", question=" 签约了多少个项目？")]
    assert validate_eval_set(items, {"a.txt": SOURCE}) == ["num-002: the same question as num-001"]


def test_evidence_not_in_source() -> None:
    (problem,) = _problems(evidence="新签约项目36个")
    assert problem.startswith("num-001: ") and "not verbatim" in problem


def test_evidence_found_in_any_of_several_sources() -> None:
    sources = {"other.txt": "无关的文字。", "a.txt": SOURCE}
    assert validate_eval_set([_item()], sources) == []


def test_answer_not_in_evidence() -> None:
    (problem,) = _problems(answers=["364.2亿元"])
    assert "answer '364.2亿元' is not inside its evidence" in problem


def test_every_answer_alternative_must_be_in_evidence() -> None:
    assert len(_problems(answers=["36个", "37个"])) == 1


def test_english_answer_without_cjk_is_exempt() -> None:
    assert _problems(type="english", answers=["36"], evidence="签约项目36个") == []
    assert _problems(type="english", answers=["thirty-six"]) == []
    assert len(_problems(type="english", answers=["1200吨"])) == 1


def test_answerable_item_with_empty_evidence() -> None:
    (problem,) = _problems(evidence="")
    assert "empty evidence" in problem


def test_unanswerable_item_with_answers_or_evidence() -> None:
    assert any("answers []" in p for p in _problems(type="unanswerable"))
    problems = _problems(id="u-1", answers=[], evidence="签约项目36个", type="unanswerable")
    assert problems == ["u-1: unanswerable item must have empty evidence"]
    assert _problems(answers=[], evidence="", type="numeric")


def test_evidence_length_and_line_breaks() -> None:
    assert any("chars" in p for p in _problems(answers=["36个"], evidence="36个"))
    source = "第一段文字在这里\n\n第二段文字在这里"
    item = _item(answers=["第二段"], evidence="在这里\n\n第二段")
    assert any("line break" in p for p in validate_eval_set([item], {"a.txt": source}))


def test_unknown_type() -> None:
    (problem,) = _problems(type="trivia")
    assert "unknown type 'trivia'" in problem
