"""Features that tie each candidate span (qa/answer/phrases.py) to the question: alignment
of the question's text either side of its question word, overlap, distance to the
question's words, the asked slot, the sentence's coverage; computed with prefix sums so that
a paragraph's few hundred candidates cost a few milliseconds.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from qa.answer.asktype import ANSWER_TYPES, AskedQuestion
from qa.answer.phrases import (
    GRAINS,
    POS_GROUPS,
    STATIC_NAMES,
    WEAK_CHARS,
    Paragraph,
    SpanCandidate,
)
from qa.text.normalize import is_punct


def content_chars(text: str) -> str:
    """The characters of ``text`` that carry content (no punctuation, space or particle)."""
    return "".join(c for c in text if not (is_punct(c) or c.isspace() or c in WEAK_CHARS))


def _prefix(values: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))


def _align(norm: str, target: str, backwards: bool) -> np.ndarray:
    """For every position p of ``norm``: how many content characters just before p
    (``backwards``) or from p on match the end (start) of ``target``, punctuation skipped."""
    keep = [i for i, c in enumerate(norm) if not (is_punct(c) or c.isspace())]
    comp = "".join(norm[i] for i in keep)
    tgt = "".join(c for c in target if not (is_punct(c) or c.isspace()))
    n = len(comp)
    score = np.zeros(n + 1)
    if tgt:
        for cp in range(n + 1):
            k = 0
            if backwards:
                while k < cp and k < len(tgt) and comp[cp - 1 - k] == tgt[-1 - k]:
                    k += 1
            else:
                while cp + k < n and k < len(tgt) and comp[cp + k] == tgt[k]:
                    k += 1
            score[cp] = k
    # position p of norm → index in comp of the first kept character at or after p
    at = np.searchsorted(np.array(keep, dtype=np.int64), np.arange(len(norm) + 1))
    return score[at]


def _idf(p: Paragraph) -> dict[str, float]:
    """Character idf over the paragraph's sentences (its own statistics)."""
    df: dict[str, int] = {}
    for a, b in p.sentences:
        for c in set(p.norm[a:b]):
            df[c] = df.get(c, 0) + 1
    n = len(p.sentences)
    return {c: math.log(1 + (n - d + 0.5) / (d + 0.5)) for c, d in df.items()} | {"": n}


def _occurrences(norm: str, words: list[str]) -> np.ndarray:
    """(start, end) of every occurrence of the question's words in ``norm``."""
    found = []
    for w in words:
        at = norm.find(w)
        while at >= 0:
            found.append((at, at + len(w)))
            at = norm.find(w, at + 1)
    return np.array(sorted(found), dtype=np.int64).reshape(-1, 2)


@functools.lru_cache(maxsize=4096)
def _question_words(norm: str, word: str) -> tuple[str, ...]:
    from qa.text.tokens import tokenize

    words = {w for w in tokenize(norm, char_ngram=0) if w not in word and len(content_chars(w)) > 0}
    return tuple(sorted(w for w in words if len(w) > 1 or w not in WEAK_CHARS))


@dataclass(frozen=True)
class _Tied:
    """Per-position arrays of one paragraph for one question (index = local offset)."""
    idf_all: np.ndarray  # prefix sums of question characters' idf
    n_left: np.ndarray  # prefix counts of characters of the text left of the question word
    n_right: np.ndarray  # … right of it
    n_any: np.ndarray  # … of any question character
    suffix: np.ndarray  # longest match of the question's left text ending here
    prefix: np.ndarray  # longest match of the question's right text starting here
    bigrams: np.ndarray  # prefix counts of positions starting a question character pair
    n_bigrams: int
    total_idf: float


def _pairs(q: AskedQuestion) -> frozenset[str]:
    """Adjacent content-character pairs of the question outside its question word."""
    out = set()
    for side in (q.norm[:q.word_start], q.norm[q.word_start + len(q.word):]):
        bare = "".join(c for c in side if not (is_punct(c) or c.isspace()))
        out |= {bare[i:i + 2] for i in range(len(bare) - 1)}
    return frozenset(out)


def _tie(q: AskedQuestion, p: Paragraph, idf: dict[str, float]) -> _Tied:
    qchars = set(content_chars(q.norm[:q.word_start] + q.norm[q.word_start + len(q.word):]))
    left, right = set(content_chars(q.left)), set(content_chars(q.right))
    default = math.log(1 + (idf[""] + 0.5) / 0.5)
    norm = p.norm
    w_all = np.array([idf.get(c, default) if c in qchars else 0.0 for c in norm])
    total = math.fsum(idf.get(c, default) for c in qchars) or 1.0
    pairs = _pairs(q)
    return _Tied(
        _prefix(w_all), _prefix(np.array([c in left for c in norm], dtype=float)),
        _prefix(np.array([c in right for c in norm], dtype=float)),
        _prefix(np.array([c in qchars for c in norm], dtype=float)),
        _align(norm, q.left, backwards=True), _align(norm, q.right, backwards=False),
        _prefix(np.array([norm[i:i + 2] in pairs for i in range(len(norm))], dtype=float)),
        len(pairs), total,
    )


def _sentence_scores(q: AskedQuestion, p: Paragraph, idf: dict[str, float],
                     qwords: tuple[str, ...]) -> np.ndarray:
    """Per sentence: idf-weighted share of question characters, share of question words,
    rank by the first, gap to the best."""
    qchars = set(content_chars(q.norm[:q.word_start] + q.norm[q.word_start + len(q.word):]))
    default = math.log(1 + (idf[""] + 0.5) / 0.5)
    total = math.fsum(idf.get(c, default) for c in qchars) or 1.0
    pairs = _pairs(q)
    rows = []
    for a, b in p.sentences:
        s = p.norm[a:b]
        chars = qchars & set(s)
        rows.append((math.fsum(idf.get(c, default) for c in chars) / total,
                     sum(w in s for w in qwords) / max(1, len(qwords)),
                     sum(pair in s for pair in pairs) / max(1, len(pairs))))
    out = np.array(rows, dtype=float).reshape(-1, 3)
    order = np.argsort(-out[:, 0], kind="stable")
    rank = np.empty(len(out))
    rank[order] = np.arange(len(out))
    best = out[:, 0].max() if len(out) else 0.0
    pair_best = out[:, 2].max() if len(out) else 0.0
    return np.column_stack([out, rank, best - out[:, 0], pair_best - out[:, 2]])


def _windows(t: _Tied, a: np.ndarray, b: np.ndarray, n: int, q: AskedQuestion) -> list:
    """Question characters just left and right of each candidate, and its alignment."""
    cols = []
    nl, nr = max(1, len(content_chars(q.left))), max(1, len(content_chars(q.right)))
    for k in (4, 12):
        la, rb = np.maximum(a - k, 0), np.minimum(b + k, n)
        cols += [(t.n_left[a] - t.n_left[la]) / min(k, nl),
                 (t.n_right[rb] - t.n_right[b]) / min(k, nr),
                 (t.idf_all[a] - t.idf_all[la] + t.idf_all[rb] - t.idf_all[b]) / t.total_idf]
    sfx = np.maximum.reduce([t.suffix[np.maximum(a - d, 0)] for d in range(3)])
    pfx = np.maximum.reduce([t.prefix[np.minimum(b + d, n)] for d in range(3)])
    cols += [t.suffix[a], t.prefix[b], t.suffix[a] / nl, t.prefix[b] / nr, sfx, pfx,
             (t.suffix[a] + t.prefix[b]) / (nl + nr),
             (t.suffix[a] == t.suffix.max()) & (t.suffix[a] > 0),
             (t.prefix[b] == t.prefix.max()) & (t.prefix[b] > 0),
             np.clip(a - int(np.argmax(t.suffix)), -60, 60) if t.suffix.max() > 0
             else np.full(len(a), 99.0),
             np.clip(int(np.argmax(t.prefix)) - b, -60, 60) if t.prefix.max() > 0
             else np.full(len(a), 99.0)]
    inside = np.maximum(b - a, 1)
    cols += [(t.n_any[b] - t.n_any[a]) / inside, (t.idf_all[b] - t.idf_all[a]) / t.total_idf]
    nb = max(1, t.n_bigrams)
    la, rb = np.maximum(a - 12, 0), np.minimum(b + 12, n)
    cols += [(t.bigrams[a] - t.bigrams[la] + t.bigrams[rb] - t.bigrams[b]) / nb,
             (t.bigrams[b] - t.bigrams[a]) / nb]
    return cols


def _distances(occ: np.ndarray, a: np.ndarray, b: np.ndarray) -> list:
    """Characters from each candidate to the nearest question word left and right, and how
    many question-word occurrences it contains."""
    if len(occ) == 0:
        far = np.full(len(a), 200.0)
        return [far, far, np.zeros(len(a))]
    ends = np.sort(occ[:, 1])
    starts = np.sort(occ[:, 0])
    i = np.searchsorted(ends, a, side="right") - 1
    left = np.where(i >= 0, a - ends[np.maximum(i, 0)], 200)
    j = np.searchsorted(starts, b, side="left")
    right = np.where(j < len(starts), starts[np.minimum(j, len(starts) - 1)] - b, 200)
    inside = ((occ[None, :, 0] >= a[:, None]) & (occ[None, :, 1] <= b[:, None])).sum(axis=1)
    return [np.minimum(left, 200), np.minimum(right, 200), inside]


def _slot(q: AskedQuestion, p: Paragraph, a: np.ndarray, b: np.ndarray) -> list:
    """The character after the question word (个 in 多少个) at the candidate's end."""
    if not q.slot:
        return [np.zeros(len(a))] * 3
    norm = p.norm + " "
    last = np.array([norm[max(e - 1, 0)] == q.slot for e in b], dtype=float)
    after = np.array([norm[e] == q.slot for e in b], dtype=float)
    within = np.array([q.slot in norm[s:e] for s, e in zip(a, b)], dtype=float)
    return [last, after, within]


TIED_NAMES = ("left_q4", "right_q4", "near_idf4", "left_q12", "right_q12", "near_idf12",
              "suffix", "prefix", "suffix_share", "prefix_share", "suffix_fuzzy",
              "prefix_fuzzy", "align_share", "best_suffix", "best_prefix", "from_best_suffix",
              "to_best_prefix", "repeat_share", "repeat_idf", "near_pairs12", "repeat_pairs",
              "dist_left", "dist_right", "qwords_inside", "slot_last", "slot_after",
              "slot_within", "sent_cover", "sent_words", "sent_pairs", "sent_rank", "sent_gap",
              "sent_pairs_gap", "q_kind", "q_left_len", "q_right_len", "q_len")
#: categories as one column per value (the trees are then plain thresholds, fast in numpy).
CATEGORIES = {"grain": GRAINS, "first_pos": POS_GROUPS, "last_pos": POS_GROUPS,
              "q_kind": ANSWER_TYPES}
_RAW = STATIC_NAMES + TIED_NAMES
FEATURE_NAMES = tuple(n for n in _RAW if n not in CATEGORIES) + tuple(
    f"{name}={value}" for name, values in CATEGORIES.items() for value in values)


def _one_hot(raw: np.ndarray) -> np.ndarray:
    """The raw matrix (columns ``_RAW``) with each category column as one column per value."""
    keep = [i for i, n in enumerate(_RAW) if n not in CATEGORIES]
    parts = [raw[:, keep]]
    for name, values in CATEGORIES.items():
        col = raw[:, _RAW.index(name)]
        parts.append((col[:, None] == np.arange(len(values))[None, :]).astype(float))
    return np.hstack(parts)


def features(question: AskedQuestion, paragraph: Paragraph,
             cands: list[SpanCandidate]) -> np.ndarray:
    """The feature matrix (candidates × FEATURE_NAMES) of ``cands`` for ``question``."""
    p = paragraph
    if not cands:
        return np.zeros((0, len(FEATURE_NAMES)))
    a = np.array([c.start - p.start for c in cands], dtype=np.int64)
    b = np.array([c.end - p.start for c in cands], dtype=np.int64)
    sent = np.array([c.sentence for c in cands], dtype=np.int64)
    idf = _idf(p)
    qwords = _question_words(question.norm, question.word)
    tied = _tie(question, p, idf)
    per_sentence = _sentence_scores(question, p, idf, qwords)[sent]
    cols = _windows(tied, a, b, len(p.norm), question)
    cols += _distances(_occurrences(p.norm, list(qwords)), a, b)
    cols += _slot(question, p, a, b)
    cols += [per_sentence[:, i] for i in range(6)]
    ones = np.ones(len(cands))
    cols += [ones * question.kind_id, ones * len(question.left), ones * len(question.right),
             ones * len(question.norm)]
    static = np.array([c.static for c in cands], dtype=float)
    return _one_hot(np.column_stack([static] + [np.asarray(c, dtype=float) for c in cols]))
