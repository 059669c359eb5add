"""The evidence that a chosen span answers its question, as named features in [0, 1].

Overlap and embedding similarity say how close the span is to the question. The other
features look for specific signs that the report cannot answer: a number the question names
(a year, say) or a day (明天) that the cited paragraph lacks, a figure for another part of
the year (上半年 for 全年), a place or Latin name that no
report mentions (in an English question, a pinyin name: qa/romanized.py), an asked-about
thing (多少张**床位**) that no report mentions; a number in a unit other than the asked one
does not count as the asked form. qa/confidence.py weighs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from qa import extract, forms
from qa.documents import sentences
from qa.homophones import Homophones
from qa.indexer import lexical_text
from qa.romanized import RomanizedCorpus, romanized_names
from qa.sparse import SparseBM25
from qa.textnorm import has_cjk, normalize
from qa.tokenize import raw_words, tokenize

_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_LATIN = re.compile(r"[a-z]{2,}")
_PLACE_SUFFIX = ("区", "市", "县", "省", "镇", "州")
_NOT_PLACE = frozenset("这个 那个 哪个 全 各 本 城 该 此 每 一个 城乡 示范 片".split())


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
_PERIOD = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _PERIODS))


def periods(text_norm: str) -> set[str]:
    """The parts of a year (上半年, 全年, first quarter …) a text names."""
    return {m.lastgroup or "" for m in _PERIOD.finditer(text_norm)}


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


def question_numbers(question_norm: str) -> list[str]:
    """The numbers (years, amounts) and relative days (明天) a question names; the months
    of a part of the year (1-6月) are that part (``periods``), not numbers to find."""
    rest = _PERIOD.sub(" ", question_norm)
    return _DIGITS.findall(rest) + _RELATIVE_DAY.findall(rest)


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


_ASK = frozenset("多少 几 谁 什么 哪些 哪几 哪个 哪几个 哪里 哪儿 哪 多 何时 啥 哪位 几个 什么样".split())
_SKIP = frozenset("""是 有 的 了 为 叫 达到 共 一共 总共 共有 分别 都 已经 到底 ? ？ 啊 呢 吗 呀 个 张 所
    名 位 项 次 台 户 家 条 处 种 批 大 长 高 远 久 干 做 搞 方面 名字 单位 办法 城市 口号 变化
    措施 内容 地方 东西 事情 情况 问题 时候 方式 途径 作用 意义 目标 数量 结果 样 样子""".split())


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


def missing_numbers(numbers: Iterable[str], haystack_norm: str) -> float:
    """1.0 when a number the question names (a year, say, or a day: 明天) is not in
    ``haystack_norm`` as a whole number: 8 does not count as found inside 70.8 or 2018."""
    return 1.0 if any(not re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", haystack_norm)
                      for n in numbers) else 0.0


def _sentence_norm(best: extract.Candidate) -> str:
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


def term_weights(question: str, bm25: SparseBM25) -> tuple[dict[str, float], dict[str, float]]:
    """(word weights, word+character weights) keyed by normalised surface form: the idf of
    each term (the rarest idf for a term the reports never use), characters at half."""
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


def features(question: str, best: extract.Candidate, paragraph_similarity: float,
             words: dict[str, float], bm25: SparseBM25,
             romanized: RomanizedCorpus | None = None,
             homophones: Callable[[], Homophones] | None = None,
             year: str | None = None) -> dict[str, float]:
    """The features qa/confidence.py weighs, for the best span of a question;
    ``romanized`` (when the corpus is small enough to have one) checks the pinyin names of
    an English question; ``homophones`` (built on demand) tells a place name mistyped by a
    same-sounding character (章秋区) from one no report mentions; ``year``, the span's
    report's own year, is named by every paragraph of it."""
    if not words:
        return {"n_terms": 0.0}
    vocab = bm25.vocab
    qn = normalize(question)
    para_norm = normalize(lexical_text(best.chunk, 1, year))
    raw = raw_words(question)
    focus = focus_word(raw)
    unknown = [n for n in named_terms(qn, raw) if n not in vocab and n[:-1] not in vocab]
    if unknown and homophones is not None:
        unknown = [n for n in unknown if not homophones().misspells(n[:-1])]
    if romanized is not None and not has_cjk(question):
        unknown += [n for n in romanized_names(question) if not romanized.mentions(n)]
    cov_word = extract.coverage(para_norm, words)
    # A number, but not in the asked unit, does not count as the asked form.
    form = 0.0 if best.form_ok == forms.OTHER_UNIT else best.form_ok
    return {
        "n_terms": float(len(words)),
        "cjk": 1.0 if has_cjk(question) else 0.0,
        "cov_word": cov_word,
        "dense": paragraph_similarity,
        "span_sim": best.similarity,
        "form": form,
        # A question of a recognised form (who, how many) whose span holds no such thing.
        "missing_form": 1.0 if form == 0.0 else 0.0,
        # … or a part of the year it names, where the span's sentence names another.
        "missing_number": max(missing_numbers(question_numbers(qn), para_norm),
                              1.0 if other_period(qn, _sentence_norm(best), para_norm) else 0.0),
        "missing_name": 1.0 if unknown else 0.0,
        "focus_unknown": 1.0 if focus and not mentioned(focus, vocab) else 0.0,
        # A question of no recognised form (为什么, 怎么样) gets no evidence from the form:
        # how much of it the paragraph covers has to vouch for it instead.
        "open_cov": cov_word if forms.question_form(question) == "other" else 0.0,
    }
