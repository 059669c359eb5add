"""The grounding gate: is a Chinese question about what the reports hold at all?

The judge's logistic model (qa/answer/judge.py) weighs how well the chosen span answers;
asked of a report on another subject, a question can still meet a span of the right form
(a number for 多少) and pass it. The gate is a tree ensemble over the judge's features,
above all the grounding ones (qa/answer/grounding.py: the share of the question's key
terms found in the cited text, the share no report holds, the weightiest missing term of
each kind) and the encoder's similarities. qa/evaluation/fit_judge_gate.py fits it on
answerable questions (the own eval, public questions asked of their passages) against
questions no report answers (public questions asked of the bundled report, the off-topic
set); its trees and threshold live in qa/models/gate.json, evaluated with numpy
(qa/answer/trees.py).

The gate only lowers confidence: below its threshold the confidence is scaled under the
judge's threshold, so ``found`` stays confidence ≥ threshold (docs/CONTRACT.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from qa.answer.trees import Trees

#: what the gate reads, in this order: the features qa/answer/judge.py computes.
FEATURES = ("n_terms", "cov_word", "dense", "span_sim", "form", "missing_form",
            "missing_number", "missing_name", "focus_unknown", "open_cov", "ground_cov",
            "ground_missing", "missing_name_idf", "missing_number_idf",
            "missing_unknown_idf", "missing_noun_idf", "missing_word_idf")


class Gate:
    """The fitted trees and the score under which a question is taken to be off the
    reports' subject."""

    def __init__(self, model: Mapping[str, Any]) -> None:
        if tuple(model["features"]) != FEATURES:
            raise ValueError("qa/models/gate.json was fitted on other features "
                             "than qa/answer/gate.py reads: refit it "
                             "(python -m qa.evaluation.fit_judge_gate)")
        self.trees = Trees.from_dict(model["trees"])
        self.threshold = float(model["threshold"])

    @classmethod
    def of(cls, model: Mapping[str, Any] | None) -> Gate | None:
        """The gate of ``model`` (Settings.confidence_gate); None when none is fitted or it
        is switched off (an empty dict)."""
        return cls(model) if model else None

    def score(self, features: Mapping[str, float]) -> float:
        """The probability that the question is answerable by the reports, in [0, 1]."""
        row = np.asarray([[features.get(k, 0.0) for k in FEATURES]], dtype=np.float64)
        z = max(-30.0, min(30.0, float(self.trees.predict(row)[0])))
        return 1.0 / (1.0 + math.exp(-z))

    def bound(self, confidence: float, score: float, threshold: float) -> float:
        """``confidence`` held under the judge's ``threshold`` in proportion to how far
        ``score`` falls short of the gate's; unchanged when the gate passes."""
        if score >= self.threshold:
            return confidence
        return min(confidence, threshold * score / self.threshold)
