"""How sure we are that the chosen span answers the question, as a number in [0, 1].

The report must not be made to answer what it never says. Low word overlap alone is a
poor sign (a paraphrase shares few words with the report and is still answerable), so
besides overlap and embedding similarity the model looks for specific things the question
names and the report lacks: a year or number absent from the cited paragraph, a place
name or Latin term absent from every report, a unit the cited number does not carry.
The weights are a logistic regression fitted on eval/qa.jsonl (eval/tune_confidence.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from qa.textnorm import has_cjk, normalize

#: features of the model for questions with Chinese characters.
FEATURES = ("cov_word", "cov_char", "dense", "form", "missing_number", "missing_name",
            "focus", "span_sim", "unit_mismatch", "form_cov", "focus_unknown")
#: a question in another language shares no words with the report: only the encoder's
#: similarities, the asked form and its numbers can vouch for it.
FOREIGN_FEATURES = ("dense", "span_sim", "form", "missing_number")

_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_LATIN = re.compile(r"[a-z]{2,}")
_PLACE_SUFFIX = ("区", "市", "县", "省", "镇", "州")
_NOT_PLACE = frozenset("这个 那个 哪个 全 各 本 城 该 此 每 一个 城乡 示范 片".split())


def question_numbers(question_norm: str) -> list[str]:
    return _DIGITS.findall(question_norm)


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


def presence(term: str, haystack_norm: str) -> float:
    """How much of ``term`` occurs in ``haystack_norm``: 1.0 whole, else the share of its
    character bigrams (总人口 → 人口 found → 0.5); 0.5 when there is no term to look for."""
    term = normalize(term)
    if not term:
        return 0.5
    if term in haystack_norm:
        return 1.0
    grams = [term[i:i + 2] for i in range(len(term) - 1)]
    return sum(1 for g in grams if g in haystack_norm) / len(grams) if grams else 0.0


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


def missing_numbers(numbers: Iterable[str], haystack_norm: str) -> float:
    """1.0 when a number the question names (a year, say) is not in ``haystack_norm`` as a
    whole number: 8 does not count as found inside 70.8 or 2018."""
    return 1.0 if any(not re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", haystack_norm)
                      for n in numbers) else 0.0
