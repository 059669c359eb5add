"""A question, checked and analysed once: every later stage reads what it needs from here.

The normalised and matchable text, the tokens BM25 scores, the weight of each term, the
form it asks for (qa/answer/forms.py), the unit or kind of that form, its words, focus word
and the numbers it names: computed here, never again per stage or per paragraph.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from qa.answer.forms import asked_units, question_form
from qa.errors import BadQuestion
from qa.index.bm25 import SparseBM25
from qa.text.normalize import has_cjk, normalize
from qa.text.tokens import raw_words, tokenize


def clean_question(question: Any, max_chars: int) -> str:
    """The question as it will be answered, or BadQuestion saying why it cannot be."""
    if not isinstance(question, str):
        raise BadQuestion(f"the question must be text, not {type(question).__name__}")
    q = question.strip()
    if not q:
        raise BadQuestion("the question is empty; type a question about the report")
    if len(q) > max_chars:
        raise BadQuestion(f"the question is {len(q)} characters long; the limit is {max_chars}")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in q):
        raise BadQuestion("the question is not valid Unicode text (it has a lone surrogate)")
    return q


def matchable(question: str) -> str:
    """Control characters become spaces so that they cannot glue or split tokens."""
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf") else c for c in question)


def term_weights(question: str, bm25: SparseBM25 | None
                 ) -> tuple[dict[str, float], dict[str, float]]:
    """(word weights, word+character weights) keyed by normalised surface form: the idf of
    each term (the rarest idf for a term the reports never use), characters at half."""
    if bm25 is None:
        return {}, {}
    vocab, idf = bm25.vocab, bm25.idf
    max_idf = float(idf.max()) if len(idf) else 1.0
    terms = set(tokenize(question, 0))
    # 2020 and 年 inside 2020年 say nothing more: count each piece of the question once.
    terms = {t for t in terms if not any(t != u and t in u for u in terms)}
    words = {t: float(idf[vocab[t]]) if t in vocab else max_idf for t in sorted(terms)}
    both = dict(words)
    for t in tokenize(question, 1):
        if t.startswith("·") and t[1:] not in both:
            both[t[1:]] = 0.5 * (float(idf[vocab[t]]) if t in vocab else max_idf)
    return words, both


_DIGITS = re.compile(r"\d+(?:\.\d+)?")
#: days (and coming months and years) named relative to the asker: a report written earlier
#: says nothing about "tomorrow" or "next year" unless its own text says 明天 or 明年.
_RELATIVE_DAY = re.compile(r"今天|明天|昨天|今晚|昨晚|后天|前天|下周|上周|本周|今日|明日|昨日|"
                           r"明年|后年|下个月|下月")
#: parts of a year a figure can be for, longest first (前三季度 before 三季度): a figure for
#: the first half does not answer a question about the whole year, or the second half.
_PERIODS = (
    ("q1to3", r"前三季度|(?<!\d)1\s*[-—~至到]\s*9\s*月|first three quarters|first nine months"),
    ("h1", r"上半年|前半年|(?<!\d)1\s*[-—~至到]\s*6\s*月|first half"),
    ("h2", r"下半年|后半年|(?<!\d)7\s*[-—~至到]\s*12\s*月|second half"),
    ("q1", r"第?一季度|first quarter"),
    ("q2", r"第?二季度|second quarter"),
    ("q3", r"第?三季度|third quarter"),
    ("q4", r"第?四季度|fourth quarter"),
    ("year", r"全年|整年|full year|whole year|entire year"),
)
PERIOD = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _PERIODS))


def periods(text_norm: str) -> set[str]:
    """The parts of a year (上半年, 全年, first quarter …) a text names."""
    return {m.lastgroup or "" for m in PERIOD.finditer(text_norm)}


def question_numbers(question_norm: str) -> list[str]:
    """The numbers (years, amounts) and relative days (明天) a question names; the months
    of a part of the year (1-6月) are that part (``periods``), not numbers to find."""
    rest = PERIOD.sub(" ", question_norm)
    return _DIGITS.findall(rest) + _RELATIVE_DAY.findall(rest)


_ASK = frozenset("多少 几 谁 什么 哪些 哪几 哪个 哪几个 哪里 哪儿 哪 多 何时 啥 哪位 几个 什么样".split())
_SKIP = frozenset("""是 有 的 了 为 叫 达到 共 一共 总共 共有 分别 都 已经 到底 ? ？ 啊 呢 吗 呀 个 张 所
    名 位 项 次 台 户 家 条 处 种 批 大 长 高 远 久 干 做 搞 方面 名字 单位 办法 城市 口号 变化
    措施 内容 地方 东西 事情 情况 问题 时候 方式 途径 作用 意义 目标 数量 结果 样 样子""".split())


def content_word(word: str) -> bool:
    """Does ``word`` (normalised) name something the question is about: not a question
    word, particle, measure word or generic noun (the words ``focus_word`` passes over)?"""
    return (bool(word.strip()) and word not in _ASK and word not in _SKIP
            and not word.startswith(("多少", "几", "哪")) and any(c.isalnum() for c in word))


def focus_word(words: list[str]) -> str:
    """The thing a question asks about: the word after its question word (多少张床位 →
    床位), else the one before it (总人口是多少 → 总人口). '' when there is none."""
    for i, w in enumerate(words):
        if w in _ASK or w.startswith(("多少", "几")):
            for j in range(i + 1, min(i + 3, len(words))):
                if (words[j] not in _SKIP and words[j] not in _ASK and len(words[j]) >= 2
                        and words[j][0] not in "几哪"):
                    return words[j]
            for j in range(i - 1, max(-1, i - 4), -1):
                if words[j] not in _SKIP and words[j] not in _ASK and words[j][0] not in "几哪":
                    return words[j]
            return ""
    return ""


@dataclass(frozen=True, eq=False)
class Question:
    """A question analysed once. ``text`` is what the Answer carries; ``matchable`` (control
    characters as spaces) is what is tokenised and embedded."""

    text: str
    matchable: str
    normalized: str
    has_cjk: bool
    form: str  # what it asks for: number, date, person … or "other"
    units: tuple[str, ...]  # the unit, kind or role of that form (forms.asked_units)
    words: tuple[str, ...]  # jieba words of ``text``, unfiltered
    focus: str  # the thing it asks about (focus_word), '' if none
    numbers: tuple[str, ...]  # numbers and relative days it names (question_numbers)
    tokens: tuple[str, ...]  # what BM25 scores
    word_weights: dict[str, float] = field(default_factory=dict)
    term_weights: dict[str, float] = field(default_factory=dict)  # words and characters

    @classmethod
    def analyse(cls, text: str, char_ngram: int = 1, bm25: SparseBM25 | None = None
                ) -> Question:
        """Analyse ``text`` (already checked by ``clean_question``, or any text); ``bm25``
        gives the terms their weights (none without it)."""
        m = matchable(text)
        normalized = normalize(text)
        form = question_form(text)
        words = raw_words(text)
        weights, both = term_weights(m, bm25)
        return cls(text, m, normalized, has_cjk(text), form, asked_units(text, form),
                   tuple(words), focus_word(words), tuple(question_numbers(normalized)),
                   tuple(tokenize(m, char_ngram)), weights, both)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "form": self.form, "units": list(self.units),
                "focus": self.focus, "numbers": list(self.numbers), "cjk": self.has_cjk,
                "terms": {t: round(w, 3) for t, w in self.word_weights.items()}}
