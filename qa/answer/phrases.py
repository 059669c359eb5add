"""Candidate answer spans of a paragraph at several grains: sentences, clauses, phrases
inside a clause (runs of jieba words that start and end on content), numbers with their
units, dates and quoted names, each with its question-independent features.

Candidates are verbatim: ``source[c.start:c.end] == c.text`` for every candidate. What a
candidate is on its own (grain, part of speech, digits, quotes, length) is computed once per
paragraph and cached.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

from qa.text.normalize import is_punct, normalize

#: jieba's HMM finds names its dictionary lacks (most foreign names); it costs ~8x the time.
USE_HMM = True
MAX_RUN_WORDS = 5
MAX_PHRASE_CHARS = 16
#: part-of-speech groups, in the order of their category ids.
POS_GROUPS = ("x", "n", "nr", "ns", "nt", "nz", "m", "q", "t", "v", "a", "d", "p", "c", "u",
              "r", "f", "eng", "other")
GRAINS = ("sentence", "clause", "phrase", "number", "date", "quoted")
_NO_EDGE = frozenset("u c p y x e o".split())  # a phrase neither starts nor ends with these
_NO_START = frozenset("的了着过地得之和与及或并而且是在于把被对从向为".replace("", " ").split())
_SENTENCE = re.compile(r"[^。！？!?；;\n]+(?:[。！？!?；;]+[”’」』）)]*)?")
#: a clause ends at a comma or colon, except one between digits (1,250 or 12:30).
_CLAUSE = re.compile(r"(?:[^，,：:。！？!?；;\n]|(?<=\d)[,:](?=\d))+[，,：:]?")
#: a number keeps its magnitude and one unit (a latin unit, a common measure word, or one
#: measure character) and its percent sign; it never runs on into the following words.
_UNIT = (r"(?:[A-Za-z]{1,4}|平方公里|平方千米|平方米|立方米|公里|千米|公斤|千克|公顷|厘米|毫米|美元"
         r"|港元|欧元|日元|英镑|人次|个百分点|百分点|个月|小时|分钟|周年|千瓦时|千瓦"
         r"|[个年月日号时分秒元米里斤吨度次名位人家座种项倍岁户所条件台辆架艘只头匹本部篇届期天周亩])?")
_NUMBER = re.compile(r"(?:约|近|超过|逾)?[\d０-９][\d０-９,，.．]*\s*(?:多|余)?"
                     r"[万亿千百十]*" + _UNIT + r"[%‰％]?")
_BARE_NUMBER = re.compile(r"\d+(?:[,.]\d+)*%?")
_CN_NUMBER = re.compile(r"[一二三四五六七八九十百千万亿两零〇]+[个年月日名位座种项次倍人家所条]")
_DATE = re.compile(r"(?:(?:公元前?)?\d{1,4}\s*年)?(?:\d{1,2}\s*月)?(?:\d{1,2}\s*日)?"
                   r"|\d{1,2}\s*世纪|\d+年代")
_QUOTED = re.compile(r"《[^》]{1,30}》|“[^”]{1,30}”|「[^」]{1,30}」|『[^』]{1,30}』"
                     r"|\"[^\"]{1,30}\"|（[^）]{1,30}）|\([^)]{1,30}\)")
WEAK_CHARS = frozenset("的了是吗呢吧啊呀么和与及或在有把被对为于从也都就还又这那其个一中上")
_UNIT_CHARS = frozenset("个年月日号时分秒元万亿米里斤吨度次名位人家座种项倍岁")
#: characters that stay with the digits before them: a span never ends on the digits or
#: starts on the unit of "60%", "2018年", "276个".
_AFTER_DIGIT = frozenset("%‰％.．,，万亿千百十") | _UNIT_CHARS


@dataclass(frozen=True)
class SpanCandidate:
    start: int  # absolute offsets into the source text
    end: int
    text: str
    grain: str  # one of GRAINS
    sentence: int  # index of the sentence it lies in (into Paragraph.sentences)
    static: tuple[float, ...]  # question-independent features, see STATIC_NAMES


@dataclass(frozen=True)
class Word:
    start: int  # local offsets into the paragraph
    end: int
    flag: str


@dataclass(frozen=True)
class Paragraph:
    """A paragraph's text, normalised text and its sentences, clauses and words (local)."""
    start: int
    text: str
    norm: str
    sentences: tuple[tuple[int, int], ...]
    clauses: tuple[tuple[int, int, int], ...]  # start, end, sentence index
    words: tuple[Word, ...]


def _pos_group(flag: str) -> int:
    if flag in POS_GROUPS:
        return POS_GROUPS.index(flag)
    for group in ("nr", "ns", "nt", "nz"):
        if flag.startswith(group):
            return POS_GROUPS.index(group)
    head = flag[:1]
    return POS_GROUPS.index(head) if head in POS_GROUPS else POS_GROUPS.index("other")


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _pieces(pattern: re.Pattern[str], text: str, a: int, b: int) -> list[tuple[int, int]]:
    out = []
    for m in pattern.finditer(text, a, b):
        s, e = _strip(text, m.start(), m.end())
        if e > s:
            out.append((s, e))
    return out


@functools.lru_cache(maxsize=1)
def _tagger():
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg.dt


def _words(norm: str) -> tuple[Word, ...]:
    out, at = [], 0
    for pair in _tagger().cut(norm, HMM=USE_HMM):
        w = pair.word
        if not w.isspace():
            out.append(Word(at, at + len(w), "x" if all(is_punct(c) for c in w) else pair.flag))
        at += len(w)
    return tuple(out)


@functools.lru_cache(maxsize=512)
def read_paragraph(text: str, start: int, end: int) -> Paragraph:
    """Split ``text[start:end]`` into sentences, clauses and tagged words (cached)."""
    para = text[start:end]
    norm = normalize(para)
    sentences = tuple(_pieces(_SENTENCE, para, 0, len(para)))
    clauses = tuple((a, b, i) for i, (sa, sb) in enumerate(sentences)
                    for a, b in _pieces(_CLAUSE, para, sa, sb))
    return Paragraph(start, para, norm, sentences, clauses, _words(norm))


def _clause_runs(words: list[Word], norm: str) -> list[tuple[int, int, Word, Word, int]]:
    """Runs of 1..MAX_RUN_WORDS words inside a clause that start and end on content."""
    out = []
    for i, first in enumerate(words):
        if first.flag[:1] in _NO_EDGE or norm[first.start:first.end] in _NO_START:
            continue
        for j in range(i, min(i + MAX_RUN_WORDS, len(words))):
            last = words[j]
            if last.flag == "x" and norm[last.start:last.end] not in "·-・":
                break
            if last.end - first.start > MAX_PHRASE_CHARS:
                break
            if last.flag[:1] not in _NO_EDGE:
                out.append((first.start, last.end, first, last, j - i + 1))
    return out


def _static(p: Paragraph, a: int, b: int, grain: str, first: Word | None,
            last: Word | None, n_words: int, sent: int) -> tuple[float, ...]:
    """Question-independent features of the span [a, b) (local offsets)."""
    s = p.norm[a:b]
    digits = sum(c.isdigit() for c in s)
    sa, sb = p.sentences[sent]
    return (
        GRAINS.index(grain), b - a, n_words,
        _pos_group(first.flag) if first else -1, _pos_group(last.flag) if last else -1,
        float(digits > 0), digits / max(1, len(s)), float(s[-1:] in _UNIT_CHARS),
        float(bool(_DATE.fullmatch(s)) and any(c in s for c in "年月日纪代")),
        float(s[:1] in "《“「『\"（("), float("、" in s), float(any(c in s for c in "，,：:")),
        float("的" in s), float(s[-1:] == "的"),
        (a - sa) / max(1, sb - sa), float(a == sa), float(b == sb),
        a / max(1, len(p.norm)), float(sent), float(len(p.sentences)),
    )


STATIC_NAMES = ("grain", "n_chars", "n_words", "first_pos", "last_pos", "has_digit",
                "digit_share", "ends_unit", "is_date", "quoted", "has_list_comma",
                "has_comma", "has_de", "ends_de", "pos_in_sentence", "sentence_start",
                "sentence_end", "pos_in_paragraph", "sentence_index", "n_sentences")


def _sentence_of(p: Paragraph, a: int) -> int:
    for i, (sa, sb) in enumerate(p.sentences):
        if sa <= a < sb:
            return i
    return max(0, len(p.sentences) - 1)


def _glued(norm: str, k: int) -> bool:
    """True when a span boundary at ``k`` would cut a number from its digits or its unit."""
    if k <= 0 or k >= len(norm):
        return False
    before, after = norm[k - 1], norm[k]
    if before.isdigit():
        return after.isdigit() or after in _AFTER_DIGIT
    return before in ".．" and after.isdigit() and k >= 2 and norm[k - 2].isdigit()


def _snap(p: Paragraph, s: int, e: int) -> tuple[int, int] | None:
    """A pattern match's start moved off a prefix that begins inside a jieba word (约 of 签约);
    None when either end still cuts a word or a number."""
    inner = {k for w in p.words for k in range(w.start + 1, w.end)}
    while s in inner and s < e and not p.norm[s].isdigit():
        s += 1
    if s >= e or s in inner and not p.norm[s].isdigit() or _glued(p.norm, s) \
            or _glued(p.norm, e):
        return None
    return s, e


def _local_spans(p: Paragraph) -> dict[tuple[int, int], tuple]:
    """(start, end) → (grain, first word, last word, n words); the finest grain named wins."""
    spans: dict[tuple[int, int], tuple] = {}
    for a, b in p.sentences:
        spans[(a, b)] = ("sentence", None, None, 0)
    for a, b, _ in p.clauses:
        spans.setdefault((a, b), ("clause", None, None, 0))
    for a, b, _ in p.clauses:
        inside = [w for w in p.words if a <= w.start and w.end <= b]
        for s, e, first, last, n in _clause_runs(inside, p.norm):
            if not (_glued(p.norm, s) or _glued(p.norm, e)):
                spans.setdefault((s, e), ("phrase", first, last, n))
    for grain, pattern in (("number", _NUMBER), ("number", _BARE_NUMBER),
                           ("number", _CN_NUMBER), ("date", _DATE),
                           ("quoted", _QUOTED)):
        for m in pattern.finditer(p.norm):
            s, e = _strip(p.norm, m.start(), m.end())
            snapped = _snap(p, s, e) if grain != "quoted" and e > s else (s, e)
            if snapped is None:
                continue
            s, e = snapped
            if e > s and not all(is_punct(c) for c in p.norm[s:e]):
                spans[(s, e)] = (grain, None, None, 0)
                if grain == "quoted" and e - s > 2:
                    spans.setdefault((s + 1, e - 1), (grain, None, None, 0))
    return spans


@functools.lru_cache(maxsize=512)
def _cached_candidates(text: str, start: int, end: int) -> tuple[SpanCandidate, ...]:
    p = read_paragraph(text, start, end)
    by_start = {w.start: w for w in p.words}
    by_end = {w.end: w for w in p.words}
    out = []
    for (a, b), (grain, first, last, n) in sorted(_local_spans(p).items()):
        first = first or by_start.get(a)
        last = last or by_end.get(b)
        sent = _sentence_of(p, a)
        out.append(SpanCandidate(start + a, start + b, p.text[a:b], grain, sent,
                                 _static(p, a, b, grain, first, last, n, sent)))
    return tuple(out)


def candidates(text: str, start: int, end: int) -> list[SpanCandidate]:
    """Candidate answer spans of the paragraph ``text[start:end]`` (absolute offsets)."""
    return list(_cached_candidates(text, start, end))
