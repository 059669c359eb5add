"""The judge: how sure we are that the chosen span answers the question, in [0, 1], and
whether that is sure enough to answer (``found``).

The report must not be made to answer what it never says. Low word overlap alone is a poor
sign (a paraphrase shares few words with the report and is still answerable), so the model
also weighs specific signs that the report lacks what is asked (qa/answer/evidence.py). It is a
logistic regression fitted on eval/qa.jsonl by `qa tune confidence`
(qa/evaluation/tune_confidence.py; the weights are qa/models/confidence.json): one for questions
with Chinese characters, one for questions in another language.

Grounding (qa/answer/grounding.py) adds what the question is about: the share of its key
terms the cited sentence or paragraph holds (``ground_cov``) and the share no report holds
at all (``ground_missing``). A weighty name that no report holds refuses outright
(confidence 0) with the reason 报告中没有提到“紫冠雉”; any other refusal says why too.
A Chinese question then passes the grounding gate (qa/answer/gate.py: fitted trees over
these features), which holds the confidence under the threshold for a question about
something the reports do not hold.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qa.answer import evidence, grounding
from qa.answer.extract import Extraction
from qa.answer.gate import Gate
from qa.answer.question import Question
from qa.config import Settings
from qa.index.build import Index
from qa.text.homophones import Homophones
from qa.text.romanized import RomanizedCorpus
from qa.text.spans import lexical_text

#: features of the model for questions with Chinese characters.
#: Few on purpose: eleven features fitted eval/qa.jsonl better and a set written separately
#: (eval/holdout.jsonl) far worse (eval/README.md).
FEATURES = ("cov_word", "span_sim", "form", "open_cov", "missing_number", "missing_name",
            "focus_unknown", "ground_cov", "ground_missing")
#: a question in another language shares no words with the report: only the encoder's
#: similarities and the asked form (who → a person's name, how many → a count) can vouch
#: for it; a number it names (a year) and a pinyin name the reports never mention
#: (Licheng, qa/text/romanized.py) can speak against it.
FOREIGN_FEATURES = ("dense", "span_sim", "missing_form", "missing_number", "missing_name")


def model_for(features: dict[str, float]) -> tuple[str, tuple[str, ...]]:
    """Which of the two models judges this question, and its features."""
    return ("chinese", FEATURES) if features.get("cjk", 0.0) else ("foreign", FOREIGN_FEATURES)


def logistic(features: dict[str, float], weights: dict[str, dict[str, float]]) -> float:
    """``weights`` holds one weight dict (with a ``bias``) per model name."""
    name, keys = model_for(features)
    w = weights[name]
    z = w.get("bias", 0.0) + sum(w.get(k, 0.0) * features.get(k, 0.0) for k in keys)
    z = max(-30.0, min(30.0, z))
    return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class Verdict:
    confidence: float
    found: bool
    features: dict[str, float]
    #: why the report was taken not to answer (None when ``found``)
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"confidence": round(self.confidence, 4), "found": self.found,
                "reason": self.reason,
                "features": {k: round(v, 4) for k, v in self.features.items()}}


def refusal(g: grounding.Grounding, features: dict[str, float],
            limits: dict[str, float]) -> str | None:
    """The reason to refuse whatever the confidence, or None: a term of the question no
    report holds, of a kind and weight past its fitted limit (qa/answer/grounding.py), too
    large a share of its terms that no report holds (``missing_too_much``), or a
    place or Latin name no report mentions (evidence ``missing_name``) when the limit
    ``place`` is at most 1."""
    decisive = grounding.decisive_missing(g, limits)
    if decisive:
        return grounding.missing_reason(decisive, g.missing_terms)
    if g.missing_terms and missing_too_much(features, limits):
        return grounding.missing_reason(g.missing_terms, g.missing_terms)
    if features.get("missing_name", 0.0) >= limits.get("place", 99.0):
        return g.reason if g.missing_terms else "报告中没有提到问题里的地名"
    return None


def missing_too_much(features: dict[str, float], limits: dict[str, float]) -> bool:
    """Is at least ``limits["share"]`` of a Chinese question's key-term weight held by no
    report at all (``ground_missing``), while the encoder finds no paragraph closer than
    ``limits["share_dense"]``? Then the question is about something else, however well
    its form matches a span. (A paraphrase can share no word with the report too; the
    encoder still finds it near.) Not for a question in another language: its words are
    never the reports' words."""
    return (bool(features.get("cjk", 0.0))
            and features.get("ground_missing", 0.0) >= limits.get("share", 99.0)
            and features.get("dense", 0.0) < limits.get("share_dense", 1.01))


def low_confidence(confidence: float) -> str:
    """The reason when nothing more specific is known."""
    return f"报告中没有找到足够可靠的答案（置信度 {confidence:.2f}）"



class Judge:
    """Weighs the evidence that the best span answers (qa/answer/evidence.py). Thread-safe:
    what it builds on first need (the reports' pinyin, their words' homophones) is built
    once however many threads ask."""

    def __init__(self, index: Index, settings: Settings) -> None:
        self.index, self.settings = index, settings
        self._built: dict[str, Any] = {}
        self._lock = threading.Lock()

    def judge(self, question: Question, extraction: Extraction,
              paragraph_similarity: float = 0.0) -> Verdict:
        """``paragraph_similarity``: the dense score of the best span's paragraph."""
        best = extraction.best
        if not best:
            return Verdict(0.0, False, {"n_terms": 0.0}, "报告中没有找到与问题相关的段落")
        romanized = None if question.has_cjk else self.romanized()
        years = self.index.years if self.settings.report_year else {}
        year = years.get(best[0].chunk.doc)
        features = evidence.features(question, best[0], paragraph_similarity, self.index.bm25,
                                     romanized, self.homophones, year)
        if features["n_terms"] == 0:
            return Verdict(0.0, False, features, "问题里没有可以在报告中查找的词")
        g = self.ground(question, best[0], year)
        features["ground_cov"] = g.partial_coverage()
        features["ground_missing"] = g.missing_share
        # not weighed by the model: what `qa tune confidence` fits the refusal limits on
        features.update({f"missing_{k}_idf": v for k, v in grounding.missing_idf(g).items()})
        reason = refusal(g, features, self.settings.missing_limits)
        if reason:
            features["refused"] = 1.0
            return Verdict(0.0, False, features, reason)
        confidence = logistic(features, self.settings.confidence_weights)
        gate = self._once("gate", lambda: Gate.of(self.settings.confidence_gate))
        if gate is not None and features.get("cjk", 0.0):
            features["gate"] = gate.score(features)
            confidence = gate.bound(confidence, features["gate"], self.settings.threshold)
        found = confidence >= self.settings.threshold
        return Verdict(confidence, found, features,
                       None if found else g.reason or low_confidence(confidence))

    def ground(self, question: Question, best: Any, year: str | None) -> grounding.Grounding:
        """The question's key terms against the best span's sentence and paragraph."""
        paragraph = lexical_text(best.chunk, 1, year)
        return grounding.grounding(grounding.cached_key_terms(question.text), self.corpus(),
                                   evidence.sentence_norm(best), paragraph)

    def corpus(self) -> grounding.GroundingCorpus:
        """The reports' words and character pairs (qa/answer/grounding.py), built once per
        loaded index from its BM25 vocabulary."""
        def build() -> grounding.GroundingCorpus:
            years = self.index.years if self.settings.report_year else {}
            texts = (lexical_text(c, self.settings.section_weight, years.get(c.doc))
                     for c in self.index.chunks)
            return grounding.GroundingCorpus.from_bm25(self.index.bm25, texts)
        return self._once("grounding", build)

    def warm_up(self) -> None:
        """Build what the first question would: the reports' pinyin and grounding corpus."""
        self.romanized()
        self.corpus()

    def romanized(self) -> RomanizedCorpus | None:
        """The reports in pinyin (about a second per 60,000 characters), built once, for a
        corpus of up to ``Settings.pinyin_max`` paragraphs; None for a larger one."""
        if not self.index.chunks or len(self.index.chunks) > self.settings.pinyin_max:
            return None
        return self._once("pinyin", lambda: RomanizedCorpus(
            r.text for r in self.index.reports.values()))

    def homophones(self) -> Homophones:
        """The reports' words, to tell a mistyped name (章秋区) from an unknown one; built
        on the first question that names a place no report mentions."""
        return self._once("homophones", lambda: Homophones(
            w for w in self.index.bm25.vocab if not w.startswith("·")))

    def _once(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self._built:
            with self._lock:
                if name not in self._built:
                    self._built[name] = build()
        return self._built[name]
