"""Choose the output span by expected F1 under the ranker's probabilities.

The ranker's scores, through a softmax with a fitted temperature, say how likely each
candidate is to be the answer. Every candidate, and each merge of the likeliest ones that lie
in one sentence, is a possible output; the output chosen is the one with the highest expected
F-beta against that distribution. A confident phrase is returned short; when competitors hold
the probability, the span that covers them (a clause, a list) wins. Questions that ask for
a reason, a way or a list (``WIDE_KINDS``) weigh recall more (their own beta).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.answer.phrases import Paragraph, SpanCandidate
from qa.text.normalize import is_punct

#: answer types whose answers are clauses or lists rather than names or numbers.
WIDE_KINDS = frozenset({"why", "how", "list", "definition", "yesno", "other"})
GOLDS = 24  # the likeliest candidates the expectation runs over
MERGE_TOP = 5  # the likeliest candidates merged pairwise within a sentence


@dataclass(frozen=True)
class DecodeParams:
    temperature: float
    beta: float  # F-beta of the short answer types
    beta_wide: float  # … of WIDE_KINDS

    @classmethod
    def from_dict(cls, d: dict[str, float]) -> DecodeParams:
        return cls(float(d["temperature"]), float(d["beta"]), float(d["beta_wide"]))


def probabilities(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = (scores - scores.max()) / max(temperature, 1e-6)
    e = np.exp(z)
    return e / e.sum()


def _outputs(cands: Sequence[SpanCandidate], p: np.ndarray) -> np.ndarray:
    """(start, end) of every candidate and of merges of the likeliest ones."""
    spans = [(c.start, c.end) for c in cands]
    top = np.argsort(-p)[:MERGE_TOP]
    for i in top:
        for j in top:
            if i < j and cands[i].sentence == cands[j].sentence:
                spans.append((min(cands[i].start, cands[j].start),
                              max(cands[i].end, cands[j].end)))
    return np.array(sorted(set(spans)), dtype=np.int64).reshape(-1, 2)


def expected_f(outputs: np.ndarray, golds: np.ndarray, weights: np.ndarray,
               content: np.ndarray, beta: float) -> np.ndarray:
    """For each output (start, end): the weighted mean F-beta against ``golds``, counted in
    content characters (``content``: prefix counts, offsets relative to it)."""
    oa, ob = outputs[:, 0:1], outputs[:, 1:2]
    ga, gb = golds[None, :, 0], golds[None, :, 1]
    overlap = np.maximum(content[np.maximum(np.minimum(ob, gb), np.maximum(oa, ga))]
                         - content[np.maximum(oa, ga)], 0)
    prec = overlap / np.maximum(content[ob] - content[oa], 1)
    rec = overlap / np.maximum(content[gb] - content[ga], 1)
    b2 = beta * beta
    f = np.where(overlap > 0, (1 + b2) * prec * rec / np.maximum(b2 * prec + rec, 1e-9), 0.0)
    return f @ weights


def choose(paragraph: Paragraph, cands: Sequence[SpanCandidate], scores: np.ndarray,
           kind: str, params: DecodeParams) -> tuple[int, int, float]:
    """(start, end) of the output span (absolute offsets) and its expected F-beta."""
    p = probabilities(np.asarray(scores, dtype=float), params.temperature)
    base = paragraph.start
    keep = np.argsort(-p)[:GOLDS]
    golds = np.array([(cands[i].start - base, cands[i].end - base) for i in keep])
    outputs = _outputs(cands, p) - base
    content = np.concatenate(([0], np.cumsum(
        [not (is_punct(c) or c.isspace()) for c in paragraph.text])))
    beta = params.beta_wide if kind in WIDE_KINDS else params.beta
    value = expected_f(outputs, golds, p[keep], content, beta)
    best = int(np.argmax(value))
    return int(outputs[best, 0] + base), int(outputs[best, 1] + base), float(value[best])
