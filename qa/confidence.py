"""How sure we are that the chosen span answers the question, as a number in [0, 1].

The report must not be made to answer what it never says. Low word overlap alone is a poor
sign (a paraphrase shares few words with the report and is still answerable), so the model
also weighs specific signs that the report lacks what is asked (qa/evidence.py). It is a
logistic regression fitted on eval/qa.jsonl by eval/tune_confidence.py: one for questions
with Chinese characters, one for questions in another language.
"""

from __future__ import annotations

import math

#: features of the model for questions with Chinese characters.
#: Few on purpose: eleven features fitted eval/qa.jsonl better and a set written separately
#: (eval/holdout.jsonl) far worse (eval/README.md).
FEATURES = ("cov_word", "span_sim", "form", "open_cov", "missing_number", "missing_name",
            "focus_unknown")
#: a question in another language shares no words with the report: only the encoder's
#: similarities and the asked form (who → a person's name, how many → a count) can vouch
#: for it; a number it names (a year) and a pinyin name the reports never mention
#: (Licheng, qa/romanized.py) can speak against it.
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
