"""Choose the answer: the shortest verbatim span (a clause or a sentence) that answers.

Candidates are clauses, pairs of adjacent clauses and whole sentences of the top
paragraphs. Each is scored by how much of the question it (and its sentence) covers, by
its embedding similarity to the question, by whether it holds what the question's form asks
for (qa/forms.py: 多少 → a number in the asked unit, 哪年 → a date, 谁 → a person …), by its
paragraph's retrieval score and rank, and by its length: a linear score whose weights are
fitted on an eval set by eval/tune_spans.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qa.config import SPAN_WEIGHTS
from qa.documents import clauses, sentences, title_sentence
from qa.forms import OTHER_UNIT, asked_units, has_form, question_form
from qa.textnorm import normalize
from qa.types import Chunk, Span

_TRIM = "，,：:；;。！？!?、 \t\r\n\u3000"

#: the features a candidate span is scored by (``span_features``), weighed by
#: ``SPAN_WEIGHTS`` in qa/config.py (fitted by eval/tune_spans.py).
SPAN_FEATURES = (
    "paragraph",  # the paragraph's retrieval score in [0, 1]
    "top_paragraph",  # 1 in the best-ranked paragraph
    "second_paragraph",  # 1 in the second
    "local",  # weighted share of the question's terms inside the span (Chinese questions)
    "context",  # … inside the span's sentence
    "similarity",  # cosine between question and span embeddings (Chinese questions)
    "foreign_similarity",  # the same for a question in another language
    "fit",  # holds what the question's form asks for: 1, 0.15 for a number in another unit
    "no_form",  # 1 when it holds nothing of the asked form
    "extra_length",  # characters beyond 12, in tens
    "short_length",  # characters up to 12, in tens
    "restated",  # how far the share of characters new to the question falls below 0.4
)


@dataclass(frozen=True)
class Candidate:
    chunk: Chunk
    span: Span
    score: float
    form_ok: float
    similarity: float = 0.0


def _trimmed(text: str, start: int, end: int) -> Span:
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    while start < end and text[start] in _TRIM:
        start += 1
    return Span(start, end)


def candidate_spans(chunk: Chunk, source_text: str) -> list[tuple[Span, Span]]:
    """(span, its sentence) pairs: every clause, pair of adjacent clauses and sentence."""
    out: list[tuple[Span, Span]] = []
    seen: set[tuple[int, int]] = set()
    for sent in sentences(chunk):
        parts = clauses(source_text[sent.start:sent.end], sent.start)
        ranges = [(i, j) for i in range(len(parts)) for j in range(i, min(i + 2, len(parts)))]
        spans = [_trimmed(source_text, parts[i].start, parts[j].end) for i, j in ranges]
        spans.append(_trimmed(source_text, sent.start, sent.end))
        for span in spans:
            if span.end > span.start and (span.start, span.end) not in seen:
                seen.add((span.start, span.end))
                out.append((span, sent))
    if not out:
        span = _trimmed(source_text, chunk.start, chunk.end)
        out.append((span, span))
    return out


def coverage(text_norm: str, weights: dict[str, float]) -> float:
    """Weighted share of the question's terms that occur in ``text_norm``."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in weights.items() if t in text_norm) / total


SpanSimilarity = Callable[[Chunk, Sequence[Span]], Sequence[float]]


def span_features(question: str, paragraphs: list[tuple[Chunk, float]],
                  source_text: Callable[[str], str], term_weights: dict[str, float],
                  similarity: SpanSimilarity | None = None, lexical: bool = True,
                  first_rank: int = 0) -> list[tuple[Chunk, Span, dict[str, float]]]:
    """Every candidate span of ``paragraphs`` with the ``SPAN_FEATURES`` it is scored by.

    ``paragraphs`` are (chunk, retrieval score in [0, 1]) in rank order, the first at rank
    ``first_rank``; ``term_weights`` maps each normalised question term (word or character)
    to its weight (idf); ``similarity`` gives the cosine between the question and each span.
    Without ``lexical`` evidence (a question in another language) the overlap features are
    0 and the similarity counts as ``foreign_similarity``.
    """
    form = question_form(question)
    units = asked_units(question, form)
    qn = normalize(question)
    lex = 1.0 if lexical else 0.0
    out: list[tuple[Chunk, Span, dict[str, float]]] = []
    for rank, (chunk, para_score) in enumerate(paragraphs, first_rank):
        text = source_text(chunk.doc)
        pairs = candidate_spans(chunk, text)
        sims = similarity(chunk, [p[0] for p in pairs]) if similarity else [0.0] * len(pairs)
        scored = list(zip(pairs, sims))
        # A span made only of the question's own words (a heading it names) tells nothing:
        # it is no candidate, unless the question quotes the whole paragraph.
        new = [(p, sim) for p, sim in scored if normalize(text[p[0].start:p[0].end]) not in qn]
        # A paragraph's title (生态环境持续改善。) may tell how something is going, but it is
        # no method, number or name: for a question of a recognised form, no candidate.
        title = title_sentence(chunk) if form != "other" else None
        if title is not None:
            new = [(p, sim) for p, sim in new if p[1] != title] or new
        for (span, sent), sim in new or scored:
            s_text = text[span.start:span.end]
            s_norm = normalize(s_text)
            ok = has_form(s_text, form, qn, units)
            # An answer tells something the question does not: a span that only restates
            # the question (a heading it names, say) is a poor answer however well it matches.
            novelty = sum(1 for ch in s_norm if ch not in qn) / max(1, len(s_norm))
            out.append((chunk, span, {
                "paragraph": para_score,
                "top_paragraph": 1.0 if rank == 0 else 0.0,
                "second_paragraph": 1.0 if rank == 1 else 0.0,
                "local": lex * coverage(s_norm, term_weights),
                "context": lex * coverage(normalize(text[sent.start:sent.end]), term_weights),
                "similarity": lex * float(sim),
                "foreign_similarity": (1.0 - lex) * float(sim),
                # A number in another unit than the asked one is hardly better than none.
                "fit": 0.15 if ok == OTHER_UNIT else ok,
                "no_form": 1.0 if ok == 0 else 0.0,
                "extra_length": max(0, len(s_text) - 12) / 10,
                "short_length": min(len(s_text), 12) / 10,
                "restated": max(0.0, 0.4 - novelty),
                # not scored, kept for the confidence model (qa/evidence.py)
                "form_ok": ok,
                "cosine": float(sim),
            }))
    return out


def span_score(features: dict[str, float], weights: dict[str, float]) -> float:
    """A candidate's score: its ``SPAN_FEATURES`` weighed by ``weights``."""
    return sum(weights.get(k, 0.0) * features[k] for k in SPAN_FEATURES)


def best_spans(question: str, paragraphs: list[tuple[Chunk, float]],
               source_text: Callable[[str], str], term_weights: dict[str, float],
               similarity: SpanSimilarity | None = None, lexical: bool = True,
               weights: dict[str, float] | None = None, first_rank: int = 0,
               ) -> list[Candidate]:
    """The best candidate span of each paragraph, best first (see ``span_features``);
    ``weights`` default to the fitted ``SPAN_WEIGHTS``."""
    weights = SPAN_WEIGHTS if weights is None else weights
    best: dict[int, Candidate] = {}
    for chunk, span, f in span_features(question, paragraphs, source_text, term_weights,
                                        similarity, lexical, first_rank):
        score = span_score(f, weights)
        if chunk.id not in best or score > best[chunk.id].score:
            best[chunk.id] = Candidate(chunk, span, score, f["form_ok"], f["cosine"])
    return sorted(best.values(), key=lambda c: -c.score)
