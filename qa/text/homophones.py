"""Is a name no report uses a word of the reports mistyped by a homophone (章秋区 for 章丘区)?

Chinese is typed by its sound, so the commonest typo puts a character of the same pinyin in
place of the right one: 章秋 or 张丘 for 章丘. A place name the reports never mention counts
against answering (qa/answer/evidence.py); a name one same-sounding character away from a word of
the reports is that word mistyped, and counts as mentioned. Two characters wrong is taken
for another place: 历城 is no 立成.
"""

from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from qa.text.normalize import has_cjk

#: the lengths of word this looks at: a one-character word has too many homophones.
_MIN_LEN, _MAX_LEN = 2, 4


@lru_cache(maxsize=1)
def _reading_table() -> dict[int, str]:
    """pypinyin's readings of every character (code point → "lè,yuè"), read from its
    ``pinyin_dict.json`` without importing pypinyin: its phrase dictionary would add about
    45 MB to a process that needs single characters only (the table alone: about 12 MB).
    The file is pypinyin's own business: should a release move it, the same table comes
    from pypinyin itself, at that cost."""
    spec = importlib.util.find_spec("pypinyin")
    try:
        if spec is None or not spec.submodule_search_locations:
            raise OSError("pypinyin is not installed as a package folder")
        path = Path(next(iter(spec.submodule_search_locations))) / "pinyin_dict.json"
        return {int(k): v for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError, AttributeError):
        from pypinyin.constants import PINYIN_DICT

        return dict(PINYIN_DICT)


@lru_cache(maxsize=4096)
def _readings(char: str) -> frozenset[str]:
    """Every toneless pinyin reading of ``char`` (乐: le, yue); empty for no character."""
    readings = _reading_table().get(ord(char), "") if len(char) == 1 else ""
    # ü is typed v (nǚ → nv): 女 nv and 努 nu do not sound alike
    plain = (unicodedata.normalize("NFD", r).replace("u\u0308", "v").encode("ascii", "ignore")
             .decode() for r in readings.split(","))
    return frozenset(p for p in (re.sub("[^a-z]", "", r) for r in plain) if p)


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
