"""Kangxi radicals and CJK radical-supplement code points read as the usual characters.

A PDF's text layer often carries ⻘⽯县, 粮⻝, ⼯作 where the report printed 青石县, 粮食,
工作: a browser's print-to-PDF (and many office exports) map a glyph shared by a radical
and an ideograph back to the radical's code point. The stored text keeps them (it is what
the file says); matching folds them, one character for one so offsets hold.

Kangxi radicals (U+2F00–U+2FD5) all have an NFKC mapping to one ideograph. Of the CJK
radicals supplement (U+2E80–U+2EF3) NFKC maps only ⺟ and ⻳; the table below gives the
others that stand for a character or a component with a unified code point of its own
(after Unicode's EquivalentUnifiedIdeograph.txt). Forms with no such ideograph stay as they
are.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_SUPPLEMENT = dict(zip(
    "⺁⺅⺆⺇⺉⺊⺌⺒⺓⺕⺖⺘⺙⺛⺜⺝⺞⺟⺠⺡⺢⺣⺤⺦⺨⺩⺪⺫⺬⺭⺮⺯⺰⺹⺺⺻⺼⺽⺾⺿⻀⻁⻂⻃⻄⻅⻆"
    "⻈⻉⻋⻌⻍⻎⻏⻐⻑⻒⻓⻔⻖⻗⻘⻙⻚⻛⻜⻝⻟⻠⻢⻣⻤⻥⻦⻧⻨⻩⻪⻫⻬⻭⻮⻯⻰⻱⻲⻳",
    "厂亻冂几刂卜小巳幺彐忄扌攵旡日月歺母民氵氺灬爫丬犭王疋罒示礻竹糸纟耂肀聿月臼艹艹艹虎衤覀西见角"
    "讠贝车辶辶辶阝钅長镸长门阝雨青韦页风飞食飠饣马骨鬼鱼鸟卤麦黄黾斉齐歯齿竜龙龜亀龟",
    strict=True,
))

RADICALS = re.compile("[\u2e80-\u2eff\u2f00-\u2fdf]")


@functools.lru_cache(maxsize=1)
def radical_table() -> dict[int, str]:
    """``{code point: the usual character}`` for every radical that has one."""
    table = {ord(k): v for k, v in _SUPPLEMENT.items()}
    for code in range(0x2F00, 0x2FD6):
        folded = unicodedata.normalize("NFKC", chr(code))
        if len(folded) == 1 and folded != chr(code):
            table[code] = folded
    return table


def fold_radicals(text: str) -> str:
    """``text`` with radicals read as the usual characters; same length, and ``text``
    itself (no copy) when it holds none."""
    if RADICALS.search(text) is None:
        return text
    return text.translate(radical_table())
