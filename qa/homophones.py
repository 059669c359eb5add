"""Is a name no report uses a word of the reports mistyped by a homophone (章秋区 for 章丘区)?

Chinese is typed by its sound, so the commonest typo puts a character of the same pinyin in
place of the right one: 章秋 or 张丘 for 章丘. A place name the reports never mention counts
against answering (qa/evidence.py); a name one same-sounding character away from a word of
the reports is that word mistyped, and counts as mentioned. Two characters wrong is taken
for another place: 历城 is no 立成.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from qa.textnorm import has_cjk

#: the lengths of word this looks at: a one-character word has too many homophones.
_MIN_LEN, _MAX_LEN = 2, 4


@lru_cache(maxsize=4096)
def _readings(char: str) -> frozenset[str]:
    """Every toneless pinyin reading of ``char`` (乐: le, yue)."""
    from pypinyin import Style, pinyin

    return frozenset(pinyin(char, style=Style.NORMAL, heteronym=True)[0])


def sounds_alike(a: str, b: str) -> bool:
    """Do two characters share a toneless reading?"""
    return bool(_readings(a) & _readings(b))


class Homophones:
    """The words of the reports, looked up with any one character left out."""

    def __init__(self, words: Iterable[str]) -> None:
        self._gapped: dict[str, list[str]] = {}
        for word in words:
            if _MIN_LEN <= len(word) <= _MAX_LEN and all(has_cjk(c) for c in word):
                for i in range(len(word)):
                    self._gapped.setdefault(_gap(word, i), []).append(word)

    def misspells(self, name: str) -> str:
        """The word of the reports that ``name`` is, with one character swapped for one of
        the same sound; '' when there is none."""
        if not _MIN_LEN <= len(name) <= _MAX_LEN:
            return ""
        for i in range(len(name)):
            for word in self._gapped.get(_gap(name, i), ()):
                if word != name and sounds_alike(word[i], name[i]):
                    return word
        return ""


def _gap(word: str, i: int) -> str:
    return f"{word[:i]}\0{word[i + 1:]}"
