"""Is a romanised Chinese name in an English question (Licheng, Zhangqiu) in the reports?

An English question names places and people in pinyin. A name the reports never mention
(Licheng district, in a report about 章丘) is a strong sign that they cannot answer, as a
Chinese place name no report mentions is for a Chinese question (qa/evidence.py). The
reports' text is turned into pinyin once (pypinyin, phrase-aware) and a name counts as
mentioned when some way of splitting it into syllables occurs there in a row: Sanjianxi →
san jian xi (三涧溪).
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


def splits(word: str) -> list[list[str]]:
    """Every way of splitting ``word`` (lower case) into pinyin syllables."""
    syllables = _syllables()
    out: list[list[str]] = []

    def walk(i: int, acc: list[str]) -> None:
        if i == len(word):
            out.append(acc)
            return
        for j in range(i + 1, min(len(word), i + 6) + 1):
            if word[i:j] in syllables:
                walk(j, acc + [word[i:j]])

    walk(0, [])
    return out


def romanized_names(question: str) -> list[str]:
    """The capitalised words of an English question that read as pinyin names of two or
    more syllables (lower case)."""
    names = []
    for word in _CAPITALISED.findall(question):
        w = word.lower()
        # a syllable or two of four letters (Li, Tina) may as well be an English word
        if (len(w) >= 5 and w not in _ENGLISH and w not in _MONTHS_DAYS
                and any(len(s) >= 2 for s in splits(w))):
            names.append(w)
    return names


class RomanizedCorpus:
    """The reports' Chinese text as one string of pinyin syllables."""

    def __init__(self, texts: Iterable[str]) -> None:
        from pypinyin import Style, lazy_pinyin

        runs = (run for text in texts for run in _CJK_RUN.findall(text))
        self._syllables = " " + " | ".join(" ".join(lazy_pinyin(run, style=Style.NORMAL))
                                           for run in runs) + " "

    def mentions(self, name: str) -> bool:
        """Does some splitting of ``name`` into syllables occur in the reports in a row?"""
        return any(f" {' '.join(s)} " in self._syllables for s in splits(name))
