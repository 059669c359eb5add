"""Answer selection that learns: inside the paragraph the extractor chose, the fitted ranker
(qa/models/ranker.json, written by qa/evaluation/fit_ranker.py) scores candidate spans at
every grain (qa/answer/phrases.py, qa/answer/rankfeatures.py) and the output span is chosen
by expected F1 under its probabilities (qa/answer/decode.py). numpy only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from qa.answer import decode, phrases, rankfeatures
from qa.answer.asktype import analyse_question
from qa.answer.trees import Trees
from qa.models import load_model
from qa.schema import Span


@dataclass(frozen=True)
class Refined:
    span: Span  # verbatim: source[span.start:span.end] is the answer
    expected_f1: float  # under the ranker's probabilities
    kind: str  # the answer type the question asks for (qa/answer/asktype.py)


class SpanRanker:
    """The fitted trees and decoding parameters, read once."""

    def __init__(self, model: dict) -> None:
        if tuple(model["feature_names"]) != rankfeatures.FEATURE_NAMES:
            raise ValueError("ranker.json was fitted on other features than this code computes")
        self.trees = Trees.from_dict(model["trees"])
        self.params = decode.DecodeParams.from_dict(model["weights"]["decode"])
        #: below this expected F1 the extractor keeps its own clause (qa/answer/extract.py);
        #: fitted by qa/evaluation/fit_gate.py
        gate = model["weights"].get("gate", {})
        self.gate = float(gate.get("min_expected_f1", 0.0))
        #: a gate per answer type where one was fitted; above 1.0 the type keeps the clause
        self.gates = {k: float(v) for k, v in gate.get("by_kind", {}).items()}

    def gate_for(self, kind: str) -> float:
        """The expected F1 the ranker's span needs for a question asking for ``kind``."""
        return self.gates.get(kind, self.gate)

    def refine(self, question: str, source: str, start: int, end: int) -> Refined | None:
        """The best span of the paragraph ``source[start:end]`` for ``question``; None
        when the paragraph has no candidate."""
        cands = phrases.candidates(source, start, end)
        if not cands:
            return None
        asked = analyse_question(question)
        para = phrases.read_paragraph(source, start, end)
        scores = self.trees.predict(rankfeatures.features(asked, para, cands))
        a, b, value = decode.choose(para, cands, scores, asked.kind, self.params)
        return Refined(Span(a, b), value, asked.kind)


@functools.lru_cache(maxsize=1)
def fitted_ranker() -> SpanRanker:
    """The ranker of qa/models/ranker.json, loaded on first use."""
    return SpanRanker(load_model("ranker"))
