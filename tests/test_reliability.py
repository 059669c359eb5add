"""The reliability chart of `qa eval --reliability` (qa/evaluation/reliability.py)."""

from __future__ import annotations

import pytest

from qa.evaluation.reliability import (
    answered_right,
    bins,
    expected_calibration_error,
    plot_reliability,
)


def row(confidence: float, expected: list[str], span: str) -> dict:
    return {"confidence": confidence, "expected": expected, "span": span, "got": ""}


ROWS = [row(0.05, [], "增长13.2%"), row(0.15, [], "x"), row(0.92, ["36个"], "签约项目36个"),
        row(0.95, ["36个"], "签约项目36个"), row(0.97, ["36个"], "总投资364.2亿元")]


def test_a_row_is_right_when_answerable_and_its_best_span_holds_a_gold() -> None:
    assert answered_right(ROWS[2])
    assert not answered_right(ROWS[4])  # wrong span
    assert not answered_right(ROWS[0])  # unanswerable: no span is right


def test_bins_count_and_average() -> None:
    found = bins(ROWS, 10)
    assert [(b.low, b.n) for b in found] == [(0.0, 1), (0.1, 1), (0.9, 3)]
    top = found[-1]
    assert top.mean_confidence == pytest.approx((0.92 + 0.95 + 0.97) / 3)
    assert top.accuracy == pytest.approx(2 / 3)
    assert bins([row(1.0, [], "")], 10)[0].low == 0.9  # 1.0 falls in the last bin


def test_calibration_error_is_zero_only_when_calibrated() -> None:
    assert expected_calibration_error(bins([row(0.0, [], "")] * 4)) == pytest.approx(0.0)
    ece = expected_calibration_error(bins(ROWS))
    assert ece == pytest.approx((0.05 + 0.15 + 3 * abs(2 / 3 - 0.9466666)) / 5, abs=1e-4)


def test_the_chart_is_written(tmp_path) -> None:
    path = tmp_path / "rel.png"
    found = plot_reliability(ROWS, str(path), threshold=0.3)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and len(found) == 3
