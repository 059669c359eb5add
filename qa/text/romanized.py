"""Is a romanised Chinese name in an English question (Licheng, Zhangqiu) in the reports?

An English question names places and people in pinyin. A name the reports never mention
(Licheng district, in a report about 章丘) is a strong sign that they cannot answer, as a
Chinese place name no report mentions is for a Chinese question (qa/answer/evidence.py). The
reports' text is turned into pinyin once (pypinyin, phrase-aware) and a name counts as
mentioned when it is spelled there by whole syllables in a row: Sanjianxi → san jian xi
(三涧溪).

Both checks are linear in the word's length: a question of 500 characters cannot make
them enumerate the many ways a string like "Ananananan" splits into syllables.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

#: capitalised English words of five letters or more that split into pinyin syllables.
_ENGLISH = frozenset("china chinese change chance shine".split())
_MONTHS_DAYS = frozenset("""january february march april may july august september october
    november december monday tuesday wednesday thursday friday saturday sunday""".split())
#: a capitalised word that does not start a sentence.
_CAPITALISED = re.compile(r"(?<![.?!]\s)(?<!^)\b([A-Z][a-z]{1,20})\b")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
#: a name of more syllables than this is not taken for a Chinese name.
_MAX_SYLLABLES = 5


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    from pypinyin.constants import PINYIN_DICT

    out = set()
    for readings in PINYIN_DICT.values():
        for reading in readings.split(","):
            plain = unicodedata.normalize("NFKD", reading).encode("ascii", "ignore").decode()
            plain = re.sub(r"[^a-z]", "", plain)
            if plain:
                out.add(plain)
    return frozenset(out)


def syllable_counts(word: str) -> set[int]:
    """How many syllables ``word`` (lower case) can be split into, up to
    ``_MAX_SYLLABLES``; empty when it is not pinyin. ``zhangqiu`` → {2}."""
    syllables = _syllables()
    reach: list[set[int]] = [set() for _ in range(len(word) + 1)]
    reach[0].add(0)
    for i in range(len(word)):
        if not reach[i]:
            continue
        for j in range(i + 1, min(len(word), i + 6) + 1):
            if word[i:j] in syllables:
                reach[j].update(c + 1 for c in reach[i] if c < _MAX_SYLLABLES)
    return reach[-1]


def romanized_names(question: str) -> list[str]:
    """The capitalised words of an English question that read as pinyin names of two to
    five syllables (lower case)."""
    names = []
    for word in _CAPITALISED.findall(question):
        w = word.lower()
        # a syllable or two of four letters (Li, Tina) may as well be an English word
        if (len(w) >= 5 and w not in _ENGLISH and w not in _MONTHS_DAYS
                and any(c >= 2 for c in syllable_counts(w))):
            names.append(w)
    return names


class RomanizedCorpus:
    """The reports' Chinese text in pinyin: the syllables run together, with a mark at each
    syllable boundary."""

    def __init__(self, texts: Iterable[str]) -> None:
        from pypinyin import Style, lazy_pinyin

        parts: list[str] = []
        starts: list[int] = []  # where each syllable starts, and where each run ends
        length = 0
        for text in texts:
            for run in _CJK_RUN.findall(text):
                for syllable in lazy_pinyin(run, style=Style.NORMAL):
                    starts.append(length)
                    parts.append(syllable)
                    length += len(syllable)
                starts.append(length)
                parts.append("|")  # runs do not join: 溪。历 is no "xili"
                length += 1
        self._text = "".join(parts)
        self._boundary = bytearray(length + 1)
        for s in starts:
            self._boundary[s] = 1

    def mentions(self, name: str) -> bool:
        """Is ``name`` spelled in the reports by whole syllables in a row?"""
        i = self._text.find(name)
        while i >= 0:
            if self._boundary[i] and self._boundary[i + len(name)]:
                return True
            i = self._text.find(name, i + 1)
        return False
