"""Grounding: is the question's content in the cited text, or anywhere in the reports?

A question's *key terms* are what it is about — names, quoted titles, numbers, content
words — without the question word (谁, 多少 …), the asked-for slot (国家 in 哪个国家: the
type of the answer, not something the passage must repeat) and function words. Each term
is weighted by how informative it is in general Chinese (its idf in jieba's dictionary of
60M word occurrences: 是 4.3, 电话 8.9, an unknown name like 紫冠雉 the maximum), so
that 的/位置 cannot carry a question and an unknown name dominates it.

``grounding`` sorts the terms into found (in the cited sentence or paragraph),
ungrounded (in the corpus, not in the cited paragraph) and missing (nowhere in the corpus:
报告中没有提到“紫冠雉”). The judge (qa/answer/judge.py) weighs the result as features and
refuses outright only when a weighty name is missing (``decisive_missing``; the limits are
fitted by `qa tune confidence`). The corpus side (``GroundingCorpus``) is built once per
loaded index.

Everything is matched on normalised text (qa/text/normalize.py: traditional → simplified,
full → half width, lower case), so a traditional question matches a simplified report.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.text.normalize import has_cjk, is_cjk, normalize
from qa.text.tokens import _tokenizer, tokenize

#: words that ask (what is asked, never what it is about). One list, used everywhere here.
QUESTION_WORDS = frozenset(
    """什么 什麼 啥 谁 哪 哪个 哪些 哪里 哪儿 哪位 哪种 哪一 哪一个 哪一年 哪年 哪国 哪家
    哪天 哪座 哪条 哪部 哪项 哪次 哪所 哪本 哪首 哪类 哪款 何 何时 何地 何人 何处 何种
    多少 几 几个 几种 几年 几次 几位 几天 多久 多长 多大 多高 多远 多重 多深 多宽 多早
    怎么 怎样 怎么样 怎麼 如何 为什么 为何 为啥 是否 是不是 有没有 能否 可否 吗 呢 么
    什么样 什么时候 哪些方面 几大 多少次 多少年 多少个""".split()
)
#: function words and fillers that never make a question about anything.
FUNCTION_WORDS = frozenset(
    """的 了 是 在 有 和 与 及 或 把 被 对 为 于 从 也 都 就 还 又 这 那 其 之 而 以 由 向
    给 让 将 要 会 能 可 可以 曾 曾经 已 已经 所 着 过 得 地 一 一个 一共 总共 共 共有 分别
    请问 请 问 一下 你 我 他 她 它 我们 你们 他们 它们 这个 那个 这些 那些 该 此 其中 吧 啊
    呀 呢 吗 么 报告 文中 文章 里 中 上 下 提到 说 讲 主要 通常 一般 到底 究竟 最 更 很
    属于 称为 叫做 叫 被称为 作为 当时 后来 之后 以后 之前 以前 时 时期 期间""".split()
)
#: jieba part-of-speech tags of words that carry no content (pronouns, prepositions,
#: conjunctions, particles, adverbs, modal words, classifiers, onomatopoeia, punctuation).
_FUNCTION_TAGS = ("r", "p", "c", "u", "d", "y", "e", "o", "q", "x", "w", "zg")
#: after a question word, a classifier and a common noun name the answer's type (哪个国家,
#: 多少个项目, 什么时候): the slot, not content the passage must repeat.
_SLOT_TAGS = ("n", "q", "m", "t", "f", "ng")
_PROPER_TAGS = ("nr", "ns", "nt", "nz")
#: a noun after a question word at most this informative (jieba idf; a word at least as
#: common as 1 in 160,000 words: 国家 6.6, 项目 8.4, 朝代 11.3) names the answer's type;
#: rarer ones (工作站 12.9, 蓝莓 16.8) are what the question is about.
SLOT_MAX_IDF = 12.0

_QUOTED = re.compile(r"《([^》]{1,40})》|“([^”]{1,40})”|「([^」]{1,40})」|『([^』]{1,40})』")
_PIECE = re.compile(r"\d+(?:\.\d+)?%?|[a-z][a-z0-9\-]*|[\u3400-\u9fff\uf900-\ufaff]+")
_NUMBER = re.compile(r"\d")
_YEAR_UNIT = re.compile(r"年")


@dataclass(frozen=True)
class KeyTerm:
    """One content term of a question (normalised text)."""

    text: str
    weight: float  # general-language idf: how much the term says
    #: "name" (quoted, tagged as a proper noun, Latin in a Chinese question), "unknown"
    #: (characters jieba knows only one by one: a new name, or a mis-cut), "noun" (a
    #: common noun: 电话, 漫画), "word" (verbs, adjectives …),
    #: "number", "latin" (a word of a question without Chinese)
    kind: str
    at: int = -1  # where it starts in the normalised question (-1: not known)


@dataclass(frozen=True)
class TermMatch:
    """Where one key term was found, and how nearly it was found where it was not."""

    term: KeyTerm
    where: str  # "cited" (sentence or paragraph), "corpus" (elsewhere), "missing"
    partial: float  # share of its character pairs in the cited text (``partial``)


@dataclass(frozen=True)
class Grounding:
    found_terms: tuple[KeyTerm, ...]
    missing_terms: tuple[KeyTerm, ...]  # nowhere in the corpus
    ungrounded_terms: tuple[KeyTerm, ...]  # in the corpus, not in the cited paragraph
    coverage: float  # weight-share of the terms found verbatim in the cited text
    reason: str | None  # what to show when not grounded: 报告中没有提到“紫冠雉”
    matches: tuple[TermMatch, ...] = ()

    @property
    def missing_share(self) -> float:
        """Weight-share of the terms that are nowhere in the corpus."""
        total = math.fsum(m.term.weight for m in self.matches)
        return math.fsum(t.weight for t in self.missing_terms) / total if total > 0 else 0.0

    def partial_coverage(self, credit: float = 0.5) -> float:
        """``coverage`` with ``credit`` × the share of character pairs of a term found
        only in part (签约项目 in 签了…项目): a paraphrase shares pieces of words."""
        total = math.fsum(m.term.weight for m in self.matches)
        got = math.fsum(m.term.weight * (1.0 if m.where == "cited" else credit * m.partial)
                  for m in self.matches)
        return got / total if total > 0 else 1.0


# ---------------------------------------------------------------- general-language weights


@functools.lru_cache(maxsize=1)
def _freq() -> tuple[Mapping[str, int], float]:
    jb = _tokenizer()
    return jb.FREQ, float(jb.total)


def general_idf(word: str) -> float:
    """log(total / frequency) of ``word`` in jieba's dictionary; words it does not know
    (new names) get the maximum, log(total)."""
    freq, total = _freq()
    n = freq.get(word, 0)
    return math.log(total / n) if n > 0 else math.log(total)


@functools.lru_cache(maxsize=1)
def _tagger():  # type: ignore[no-untyped-def]
    """jieba's part-of-speech tagger over the project's one jieba dictionary."""
    from jieba.posseg import POSTokenizer

    return POSTokenizer(_tokenizer())


# ---------------------------------------------------------------- key terms


def _is_function(word: str, tag: str) -> bool:
    return (word in FUNCTION_WORDS or tag.startswith(_FUNCTION_TAGS)
            or all(not is_cjk(c) for c in word))


def _kind(tag: str) -> str:
    if tag.startswith(_PROPER_TAGS):
        return "name"
    return "noun" if tag.startswith("n") else "word"


def _is_slot(word: str, tag: str) -> bool:
    """Is the noun right after a question word the type of the answer (哪个国家, 什么时候,
    多少个项目) rather than content (多少只*紫冠雉*)? A common noun is a type; a rare one
    or a name is what the question is about."""
    return (tag.startswith(_SLOT_TAGS) and not tag.startswith(_PROPER_TAGS)
            and general_idf(word) < SLOT_MAX_IDF)


def _cjk_terms(piece: str, after_number: bool = False) -> list[tuple[str, str, int]]:
    """(word, kind, offset in ``piece``) of one run of Chinese characters, question words, their slot and
    function words removed; runs of single unknown characters are joined (基氏 软 汉 鱼
    → 软汉鱼: jieba splits a name it does not know into characters)."""
    # Without jieba's HMM (ten times faster): a name it does not know comes out as single
    # characters, joined again below.
    tagged, at = [], 0
    for w in _tagger().cut(piece, HMM=False):
        tagged.append((w.word, w.flag, at))
        at += len(w.word)
    out: list[tuple[str, str, int]] = []
    skip_slot = False
    single: list[tuple[str, str, int]] = []

    def flush() -> None:
        if single:
            text = "".join(w for w, _, _ in single)
            if text not in QUESTION_WORDS:  # 多大, 多久: cut into characters, still asking
                out.append((text, "unknown" if len(single) > 1 else "word", single[0][2]))
            single.clear()

    if after_number and tagged and len(tagged[0][0]) == 1 and tagged[0][1][:1] in "mqt":
        tagged = tagged[1:]  # the unit of a number: 年 of 2020年, 个 of 36个
    for word, tag, at in tagged:
        if word in QUESTION_WORDS or word.startswith(("哪", "几", "多少")) and len(word) <= 3:
            flush()
            skip_slot = True
            continue
        if skip_slot and (tag.startswith("q") or word in ("一", "个")):
            continue  # a classifier: 多少 *个*
        if skip_slot and _is_slot(word, tag):
            skip_slot = False
            continue  # the asked-for slot: 哪个 *国家*, 多少个 *项目*
        skip_slot = False
        if _is_function(word, tag):
            flush()
            continue
        if len(word) == 1:
            single.append((word, tag, at))
            continue
        flush()
        out.append((word, _kind(tag), at))
    flush()
    return out


def key_terms(question: str) -> tuple[KeyTerm, ...]:
    """The content terms of ``question``, most informative first (see module doc)."""
    q = normalize(question)
    found: dict[str, KeyTerm] = {}
    for m in _QUOTED.finditer(q):
        name = next(g for g in m.groups() if g)
        found.setdefault(name, KeyTerm(name, general_idf(name), "name", m.start() + 1))
    q = _QUOTED.sub(" ", q)
    cjk = has_cjk(q)
    end_of_number = -1
    for m in _PIECE.finditer(q):
        piece = m.group()
        if _NUMBER.match(piece):
            # a year is a year: 2020年 and 2020 mean the same
            found.setdefault(piece, KeyTerm(piece, general_idf(""), "number", m.start()))
            end_of_number = m.end()
        elif piece.isascii():
            # In a Chinese question a Latin word is a name (GDP, iPhone); in an English
            # question it is a word that a Chinese report cannot contain (``checkable``).
            if len(piece) >= 2:
                kind = "name" if cjk else "latin"
                found.setdefault(piece, KeyTerm(piece, general_idf(""), kind, m.start()))
        else:
            for word, kind, at in _cjk_terms(piece, m.start() == end_of_number):
                found.setdefault(word, KeyTerm(word, general_idf(word), kind, m.start() + at))
    return tuple(sorted(found.values(), key=lambda t: -t.weight))


# ---------------------------------------------------------------- the corpus


def _bigram_codes(text: str) -> np.ndarray:
    """Every adjacent character pair of ``text`` as one int64 (two code points < 2^21)."""
    if len(text) < 2:
        return np.zeros(0, dtype=np.int64)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    return (codes[:-1] << 21) | codes[1:]


def _pairs(texts_norm: Iterable[str]) -> np.ndarray:
    """The sorted distinct character pairs of normalised texts, merged in blocks so that
    the temporaries stay small."""
    parts: list[np.ndarray] = []
    size = 0
    for norm in texts_norm:
        parts.append(np.unique(_bigram_codes(norm)))
        size += len(parts[-1])
        if size > 1 << 22:
            parts = [np.unique(np.concatenate(parts))]
            size = len(parts[0])
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class GroundingCorpus:
    """What grounding needs of an index, built once: the corpus's words (jieba words,
    whole numbers, ``·`` + character: qa/text/tokens.py, as BM25 indexes them) with their
    document frequencies, and every character pair of its normalised text as a sorted
    int64 array. A term is in the corpus when it is one of its words or all its character
    pairs occur. No full text is kept: a substring scan of a 100k-paragraph corpus (~30M
    characters, 60 MB as a str) would cost ~10 ms a term."""

    vocab: Mapping[str, int]  # word → column of ``df``
    df: np.ndarray  # int32, paragraphs holding each word
    n_docs: int
    bigrams: np.ndarray  # sorted unique int64 character pairs

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> GroundingCorpus:
        """From the paragraphs' texts (as the index tokenises them: heading included)."""
        vocab: dict[str, int] = {}
        df: list[int] = []
        n = 0

        def counted(texts: Iterable[str]) -> Iterable[str]:
            nonlocal n
            for text in texts:
                n += 1
                norm = normalize(text)
                for word in set(tokenize(norm, 1)):
                    col = vocab.setdefault(word, len(df))
                    if col == len(df):
                        df.append(0)
                    df[col] += 1
                yield norm

        pairs = _pairs(counted(texts))
        return cls(vocab, np.asarray(df, dtype=np.int32), n, pairs)

    @classmethod
    def from_bm25(cls, bm25: Any, texts: Iterable[str]) -> GroundingCorpus:
        """Sharing the index's BM25 vocabulary (qa/index/bm25.py, a CSC matrix whose column
        lengths are the document frequencies): only the pairs and a df array are new.
        ``texts``: the paragraphs as BM25 indexed them (qa.text.spans.lexical_text)."""
        df = np.diff(bm25.weights.indptr).astype(np.int32)
        return cls(bm25.vocab, df, int(bm25.size), _pairs(normalize(t) for t in texts))

    def contains(self, term: str) -> bool:
        """Does the corpus contain ``term`` (normalised) — as a word, a character, or
        all of its character pairs?"""
        if term in self.vocab or f"·{term}" in self.vocab:
            return True
        if len(term) < 2 or _NUMBER.match(term):
            return False
        if not len(self.bigrams):
            return False
        codes = [(ord(a) << 21) | ord(b) for a, b in zip(term, term[1:])]
        pos = np.minimum(np.searchsorted(self.bigrams, codes), len(self.bigrams) - 1)
        return bool(np.all(self.bigrams[pos] == codes))

    def idf_share(self, term: str) -> float:
        """How rare ``term`` is in the corpus, in [0, 1]: log(N/df) / log(N), 1 for a term
        that is not one of its words. A word most paragraphs share (章丘 in a report on
        章丘) is the corpus's topic, implied where it is not repeated."""
        col = self.vocab.get(term)
        if col is None or self.n_docs < 2:
            return 1.0
        return math.log(self.n_docs / self.df[col]) / math.log(self.n_docs)


# ---------------------------------------------------------------- grounding


@functools.lru_cache(maxsize=4096)
def _normalized(text: str) -> str:
    """``normalize``, once per cited paragraph (0.5 ms for 400 characters): the same
    paragraphs are cited again and again."""
    return normalize(text)


@functools.lru_cache(maxsize=4096)
def _words(text_norm: str) -> frozenset[str]:
    """jieba's words of a cited text, once per text."""
    return frozenset(_tokenizer().cut(text_norm, HMM=False))


def in_text(term: KeyTerm, text_norm: str) -> bool:
    """Is ``term`` in ``text_norm``: a number as a whole number (8 not in 2018 or 70.8),
    a one-character word as a word (镇 not inside 城镇化: a character is in most long
    paragraphs somewhere)."""
    if len(term.text) == 1:
        return term.text in _words(text_norm)
    if term.kind == "number":
        return re.search(rf"(?<![\d.]){re.escape(term.text)}(?![\d])", text_norm) is not None
    return term.text in text_norm


def partial(term: KeyTerm, text_norm: str) -> float:
    """Share of a term's character pairs (of a 3+ character term) found in ``text_norm``:
    签约项目 partly in 签了…项目. 0 for shorter terms, numbers and Latin words."""
    if term.kind in ("number", "latin") or len(term.text) < 3:
        return 0.0
    pairs = [term.text[i:i + 2] for i in range(len(term.text) - 1)]
    return sum(p in text_norm for p in pairs) / len(pairs)


def checkable(terms: Iterable[KeyTerm], corpus: GroundingCorpus) -> list[KeyTerm]:
    """The terms a Chinese corpus can be asked for: the words of an English question only
    when the corpus has them as Latin (a Chinese report cannot contain them)."""
    return [t for t in terms if t.kind != "latin" or t.text in corpus.vocab]


def grounding(question_terms: Iterable[KeyTerm], corpus: GroundingCorpus,
              cited_sentence: str, cited_paragraph: str) -> Grounding:
    """Sort the question's terms: found in the cited sentence or paragraph, elsewhere in
    the corpus, or nowhere."""
    texts = {_normalized(cited_sentence), _normalized(cited_paragraph)}
    matches = []
    for term in checkable(question_terms, corpus):
        if any(in_text(term, t) for t in texts):
            where = "cited"
        else:
            where = "corpus" if corpus.contains(term.text) else "missing"
        matches.append(TermMatch(term, where, max(partial(term, t) for t in texts)))
    found = tuple(m.term for m in matches if m.where == "cited")
    missing = tuple(m.term for m in matches if m.where == "missing")
    ungrounded = tuple(m.term for m in matches if m.where == "corpus")
    total = math.fsum(m.term.weight for m in matches)
    coverage = math.fsum(t.weight for t in found) / total if total > 0 else 1.0
    reason = None
    if missing:
        reason = f"报告中没有提到“{_phrase(missing)}”"
    elif ungrounded:
        reason = f"引用的段落没有提到“{_phrase(ungrounded)}”"
    return Grounding(found, missing, ungrounded, coverage, reason, tuple(matches))


#: kinds of term that name something (a name, an unknown run of characters, a number):
#: one of these missing from every report is decisive, not a paraphrase.
NAMED_KINDS = ("name", "unknown", "number")


#: the kinds of missing term a refusal limit can be fitted for (``missing_idf``).
LIMIT_KINDS = ("name", "number", "unknown", "noun", "word")


def missing_idf(g: Grounding) -> dict[str, float]:
    """Per kind of term (``LIMIT_KINDS``), the general idf of the weightiest one that no
    report holds (0: none missing)."""
    out = dict.fromkeys(LIMIT_KINDS, 0.0)
    for t in g.missing_terms:
        if t.kind in out:
            out[t.kind] = max(out[t.kind], t.weight)
    return out


def decisive_missing(g: Grounding, limits: Mapping[str, float]) -> tuple[KeyTerm, ...]:
    """The missing terms weighty enough to refuse on: a term of a kind at least
    ``limits[kind]`` informative (general idf; fitted by `qa tune confidence`; a kind
    without a limit never refuses). Empty when none is."""
    return tuple(t for t in g.missing_terms if t.weight >= limits.get(t.kind, 99.0))


def missing_reason(terms: tuple[KeyTerm, ...], pool: tuple[KeyTerm, ...] = ()) -> str:
    """报告中没有提到“紫冠雉”: the most telling of ``terms``, joined with the names of
    ``pool`` (all the missing terms) right next to it (see ``_phrase``)."""
    return f"报告中没有提到“{_phrase(terms, pool)}”"


@functools.lru_cache(maxsize=2048)
def cached_key_terms(question: str) -> tuple[KeyTerm, ...]:
    """``key_terms``, once per question text (a tuner asks the same question often)."""
    return key_terms(question)


def _phrase(terms: tuple[KeyTerm, ...], pool: tuple[KeyTerm, ...] = ()) -> str:
    """The most important of ``terms`` for a reason — a name, then a noun, then the
    weightiest — joined with the names right next to it in the question (波旁 + 尼克 →
    波旁尼克)."""
    top = max(terms, key=lambda t: (t.kind in NAMED_KINDS, t.kind == "noun", t.weight))
    if top.at < 0 or top.kind not in NAMED_KINDS:
        return top.text
    placed = [t for t in (*terms, *pool) if t.at >= 0]
    starts = {t.at: t for t in placed if t.kind in NAMED_KINDS}
    # before the name, a common noun no report holds either is part of it (食肉 + 牛龙亚科:
    # jieba cuts a name it does not know into pieces); after it, a noun is what is asked
    # of it (基氏软汉鱼 + 体长)
    ends = {t.at + len(t.text): t for t in placed if t.kind in (*NAMED_KINDS, "noun")}
    first = last = top
    while first.at in ends:
        first = ends[first.at]
    while last.at + len(last.text) in starts:
        last = starts[last.at + len(last.text)]
    by_start = {t.at: t for t in placed}
    parts, t = [first], first
    while t is not last:
        t = by_start[t.at + len(t.text)]
        parts.append(t)
    return "".join(p.text for p in parts)
