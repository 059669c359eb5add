"""Normalisation used only for matching, never for what is shown or cited.

Traditional → simplified (character level, from OpenCC's table), full-width → half-width,
Latin lower case, Kangxi and supplement radicals → the usual characters (qa/text/radicals.py).
Every mapping is one character to one character, so a normalised string has the same length
as its original and offsets found in one are valid in the other.
"""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

from qa.text.radicals import radical_table


@functools.lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    import opencc  # opencc-python-reimplemented ships its dictionaries as text files

    table: dict[int, str] = {}
    ts = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    for line in ts.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1:
            target = parts[1].split(" ")[0]
            if len(target) == 1 and target != parts[0]:
                table[ord(parts[0])] = target
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII block
        table[code] = chr(code - 0xFEE0)
    table[0x3000] = " "  # ideographic space
    for code, ch in radical_table().items():  # ⻘⽯县 → 青石县 (PDF text layers)
        table[code] = table.get(ord(ch), ch)
    for code in range(0x41, 0x5B):
        table[code] = chr(code + 32)
    for code, ch in list(table.items()):
        low = ch.lower()
        if len(low) == 1:
            table[code] = low
    return table


def normalize(text: str) -> str:
    """Return ``text`` normalised for matching; ``len(normalize(t)) == len(t)`` always."""
    out = text.translate(_table())
    if not out.isascii():
        # Lower-case other scripts only where it keeps the length (e.g. Greek, Cyrillic).
        out = "".join(c.lower() if len(c.lower()) == 1 else c for c in out)
    return out


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


def has_cjk(text: str) -> bool:
    return any(is_cjk(c) for c in text)


def is_punct(ch: str) -> bool:
    """Punctuation or a symbol (Unicode categories P* and S*)."""
    return unicodedata.category(ch)[0] in ("P", "S")
