"""Fitted models as data: ``confidence.json`` (the judge's logistic weights and threshold,
written by ``qa tune confidence``), ``gate.json`` (the grounding gate's trees, written by
``python -m qa.evaluation.fit_judge_gate``), ``spans.json`` (the span chooser's weights,
written by ``qa tune spans``) and ``ranker.json`` (the span ranker), each with what it was
fitted on and when. No weights live in code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent


def load_model(name: str) -> dict[str, Any]:
    """The fitted model ``name`` (``confidence`` or ``spans``) as written by its tuner."""
    return json.loads((FOLDER / f"{name}.json").read_text(encoding="utf-8"))


def save_model(name: str, model: dict[str, Any], folder: Path = FOLDER) -> Path:
    """Write ``model`` (with its ``fitted_on`` and ``fitted_at``) as ``name``.json, atomically."""
    from qa.atomic import write_text_atomically

    if not {"weights", "fitted_on", "fitted_at"} <= model.keys():
        raise ValueError("a fitted model needs weights, fitted_on and fitted_at")
    path = folder / f"{name}.json"
    write_text_atomically(path, json.dumps(model, ensure_ascii=False, indent=1) + "\n")
    return path
