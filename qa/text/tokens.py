"""The one tokenizer for paragraphs and questions: jieba words, whole numbers and
optional character n-grams, over normalised text, minus question words and particles."""

from __future__ import annotations

import functools
import logging
import re
import threading
from typing import Any

from qa.text.normalize import normalize

#: question words and particles: they say what is asked, not what it is about.
STOPWORDS = frozenset(
    """的 了 是 吗 呢 吧 啊 呀 么 和 与 及 或 在 有 把 被 对 为 于 从 也 都 就 还 又 这 那 其
    什么 多少 哪些 哪几 哪个 哪里 哪儿 哪年 哪 几 几个 谁 怎么 怎样 如何 为什么 请问 请 问
    一下 是否 是不是 有没有 有多少 多大 多长 多久 何时 什么时候 时候 哪一年 哪一个 那个 这个
    一共 总共 共 你 我 他 她 它 我们 你们 吗? 呢? 报告 文中 文章 里 中 上 提到 说 讲
    the a an of to in on and or is are was were what which who whom how many much when where
    did does do be by for with as at from that this it its""".split()
)
#: single characters skipped when character n-grams are added.
_WEAK_CHARS = frozenset("的了是吗呢吧啊呀么和与及或在有把被对为于从也都就还又这那其什多少哪几谁怎请问")

_PIECE = re.compile(r"\d+(?:\.\d+)?%?|[a-z]+|[\u3400-\u9fff\uf900-\ufaff]+")
_NUMBER = re.compile(r"\d")

_lock = threading.Lock()
_jieba = None


def _tokenizer():
    """jieba's dictionary, loaded once per process (it takes about a second)."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.initialize()
                _jieba = tok
    return _jieba


@functools.lru_cache(maxsize=1 << 14)
def _words(piece: str) -> tuple[str, ...]:
    """jieba's words of a run of Chinese characters, stopwords dropped. Remembered: a run
    (a clause, mostly) is cut again when its paragraph's sentences are indexed, and
    reports repeat headings, bylines and phrases."""
    return tuple(w for w in _tokenizer().cut(piece, HMM=True) if w not in STOPWORDS)


@functools.lru_cache(maxsize=1 << 12)
def _unit(piece: str) -> str:
    """The first word of the run after a number (its unit: 亿元 of 544.41亿元…)."""
    return next(iter(_tokenizer().cut(piece, HMM=False)), "")


def tokenize(text: str, char_ngram: int = 1) -> list[str]:
    """Tokens of ``text`` for BM25. Numbers stay whole with their decimals and percent
    sign (``544.41``, ``13.2%``) and are also joined to the unit that follows them
    (``544.41亿元``), so a number with its unit is matchable."""
    norm = normalize(text)
    tokens: list[str] = []
    pieces = list(_PIECE.finditer(norm))
    for i, m in enumerate(pieces):
        piece = m.group()
        if _NUMBER.match(piece):
            tokens.append(piece)
            nxt = pieces[i + 1] if i + 1 < len(pieces) else None
            if nxt is not None and nxt.start() == m.end() and not _NUMBER.match(nxt.group()):
                unit = _unit(nxt.group())
                if unit and len(unit) <= 3:
                    tokens.append(piece + unit)
            continue
        if piece.isascii():
            if piece not in STOPWORDS:
                tokens.append(piece)
            continue
        words = _words(piece)
        tokens.extend(words)
        if char_ngram:
            # n-grams within the kept words only: 一共 or 哪些 add nothing as characters either.
            n = char_ngram
            tokens.extend(
                "·" + w[j:j + n] for w in words for j in range(len(w) - n + 1)
                if not (n == 1 and w[j] in _WEAK_CHARS)
            )
    return tokens


def raw_words(text: str) -> list[str]:
    """jieba's words of the normalised text, stopwords kept (for reading a question's form)."""
    return [w for w in _tokenizer().cut(normalize(text), HMM=True) if w.strip()]


_pos_lock = threading.Lock()
_pos = None


def person_names(text: str) -> list[str]:
    """The words of ``text`` that jieba's part-of-speech tagger reads as people's names
    (tag nr…): 支倩倩 in 记者 支倩倩, nothing in the slogan 找记者 上壹点. Loaded on first
    use, so that only questions about people pay for the tagger."""
    return _tagged(text, "nr")


def place_names(text: str) -> list[str]:
    """The words of ``text`` that jieba's tagger reads as place names (tag ns): 巴西,
    济南."""
    return _tagged(text, "ns")


def _tagged(text: str, tag: str) -> list[str]:
    global _pos
    if _pos is None:
        with _pos_lock:
            if _pos is None:
                _pos = _name_tagger()
    return [w.word for w in _pos.cut(normalize(text)) if w.flag.startswith(tag)]


def _name_tagger() -> Any:
    """jieba's part-of-speech tagger, keeping the tags of its dictionary's names of people
    and places only: the other words' tags (32 MB more on the first person question) would
    tell nothing more here, where every word that is not a name may as well be tagged x."""
    from jieba.posseg import POSTokenizer

    class NameTagger(POSTokenizer):  # type: ignore[misc]
        def load_word_tag(self, f: Any) -> None:
            self.word_tag_tab = {}
            with f:
                for line in f:  # "word frequency tag"
                    parts = line.decode("utf-8").split()
                    if len(parts) == 3 and parts[2].startswith(("nr", "ns")):
                        self.word_tag_tab[parts[0]] = parts[2]

    return NameTagger(_tokenizer())
