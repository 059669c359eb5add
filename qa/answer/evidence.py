"""The evidence that a chosen span answers its question, as named features in [0, 1].

Overlap and embedding similarity say how close the span is to the question. The other
features look for specific signs that the report cannot answer: a number the question names
(a year, say) or a day (明天) that the cited paragraph lacks, a figure for another part of
the year (上半年 for 全年), a place or Latin name that no
report mentions (in an English question, a pinyin name: qa/text/romanized.py), an asked-about
thing (多少张**床位**) that no report mentions; a number in a unit other than the asked one
does not count as the asked form. qa/answer/judge.py weighs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

__all__ = ["features", "focus_word", "mentioned", "missing_numbers", "named_terms",
           "other_period", "periods", "question_numbers", "sentence_norm"]

from qa.answer import extract, forms
from qa.answer.question import Question, focus_word, periods, question_numbers
from qa.index.bm25 import SparseBM25
from qa.text.documents import sentences
from qa.text.homophones import Homophones
from qa.text.normalize import has_cjk, normalize
from qa.text.romanized import RomanizedCorpus, romanized_names
from qa.text.spans import lexical_text

_LATIN = re.compile(r"[a-z]{2,}")
_PLACE_SUFFIX = ("区", "市", "县", "省", "镇", "州")
_NOT_PLACE = frozenset("这个 那个 哪个 全 各 本 城 该 此 每 一个 城乡 示范 片".split())


def other_period(question_norm: str, sentence_norm: str, paragraph_norm: str = "") -> bool:
    """Is the figure for another part of the year than the question asks about: the
    span's sentence names another (全年 asked, 上半年完成工业产值… given), or a part the
    question names (第一季度) is named nowhere in the paragraph? A paragraph that names
    none is taken to speak of the whole year."""
    asked = periods(question_norm)
    given = periods(sentence_norm)
    if asked and given and not asked & given:
        return True
    parts = asked - {"year"}
    return bool(parts) and not parts & periods(paragraph_norm or sentence_norm)


def named_terms(question_norm: str, words: Iterable[str]) -> list[str]:
    """Place names (X区, X市 …) and Latin terms the question names."""
    # A Latin term in a Chinese question (GDP, Python) is a name; in an English question
    # it is just a word, and only the encoder can judge it.
    out = _LATIN.findall(question_norm) if has_cjk(question_norm) else []
    seq = list(words)
    for i, w in enumerate(seq):
        if w in _PLACE_SUFFIX and i > 0 and seq[i - 1] not in _NOT_PLACE and len(seq[i - 1]) >= 2:
            out.append(seq[i - 1] + w)
        elif len(w) >= 3 and w.endswith(_PLACE_SUFFIX) and w[:-1] not in _NOT_PLACE:
            out.append(w)
    return out


def missing_numbers(numbers: Iterable[str], haystack_norm: str) -> float:
    """1.0 when a number the question names (a year, say, or a day: 明天) is not in
    ``haystack_norm`` as a whole number: 8 does not count as found inside 70.8 or 2018."""
    return 1.0 if any(not re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", haystack_norm)
                      for n in numbers) else 0.0


def sentence_norm(best: extract.Candidate) -> str:
    """The normalised sentence the chosen span lies in."""
    chunk = best.chunk
    for sent in sentences(chunk):
        if sent.start <= best.span.start < sent.end:
            return normalize(chunk.text[sent.start - chunk.start:sent.end - chunk.start])
    return normalize(chunk.text)


def mentioned(term: str, vocab: dict[str, int]) -> bool:
    """Is ``term`` a word of the reports, or are all its characters in them?"""
    if term in vocab:
        return True
    chars = [f"·{c}" for c in normalize(term)]
    return bool(chars) and all(c in vocab for c in chars)


def features(question: Question, best: extract.Candidate, paragraph_similarity: float,
             bm25: SparseBM25, romanized: RomanizedCorpus | None = None,
             homophones: Callable[[], Homophones] | None = None,
             year: str | None = None) -> dict[str, float]:
    """The features qa/answer/judge.py weighs, for the best span of a question;
    ``romanized`` (when the corpus is small enough to have one) checks the pinyin names of
    an English question; ``homophones`` (built on demand) tells a place name mistyped by a
    same-sounding character (章秋区) from one no report mentions; ``year``, the span's
    report's own year, is named by every paragraph of it."""
    words = question.word_weights
    if not words:
        return {"n_terms": 0.0}
    vocab = bm25.vocab
    qn = question.normalized
    para_norm = normalize(lexical_text(best.chunk, 1, year))
    focus = question.focus
    unknown = [n for n in named_terms(qn, question.words)
               if n not in vocab and n[:-1] not in vocab]
    if unknown and homophones is not None:
        unknown = [n for n in unknown if not homophones().misspells(n[:-1])]
    if romanized is not None and not question.has_cjk:
        unknown += [n for n in romanized_names(question.text) if not romanized.mentions(n)]
    cov_word = extract.coverage(para_norm, words)
    # A number, but not in the asked unit, does not count as the asked form.
    form = 0.0 if best.form_ok == forms.OTHER_UNIT else best.form_ok
    return {
        "n_terms": float(len(words)),
        "cjk": 1.0 if question.has_cjk else 0.0,
        "cov_word": cov_word,
        "dense": paragraph_similarity,
        "span_sim": best.similarity,
        "form": form,
        # A question of a recognised form (who, how many) whose span holds no such thing.
        "missing_form": 1.0 if form == 0.0 else 0.0,
        # … or a part of the year it names, where the span's sentence names another.
        "missing_number": max(missing_numbers(question.numbers, para_norm),
                              1.0 if other_period(qn, sentence_norm(best), para_norm) else 0.0),
        "missing_name": 1.0 if unknown else 0.0,
        "focus_unknown": 1.0 if focus and not mentioned(focus, vocab) else 0.0,
        # A question of no recognised form (为什么, 怎么样) gets no evidence from the form:
        # how much of it the paragraph covers has to vouch for it instead.
        "open_cov": cov_word if question.form == "other" else 0.0,
    }
