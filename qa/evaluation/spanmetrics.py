"""CMRC 2018's official span metrics (char-level F1 and EM), and "contain".

As in CMRC's evaluate script: CJK characters are one token each, runs of other characters
(Latin letters, digits) are split on spaces, punctuation is removed; F1 comes from the
longest common substring of the token lists; the best over the gold answers counts.
"""

from __future__ import annotations

import re

from qa.text.normalize import is_punct, normalize

_CJK = re.compile(r"[\u4e00-\u9fa5]")
_EXTRA = frozenset("-:_*^/\\~`+=，。：？！“”；’《》·、「」（）－～『』…")


def _skip(ch: str) -> bool:
    return ch in _EXTRA or is_punct(ch)


def segments(text: str) -> list[str]:
    """Tokens of ``text``: CJK characters one each, other runs split on spaces."""
    out: list[str] = []
    buf = ""
    for ch in text.lower():
        if _skip(ch):
            out.extend(buf.split())
            buf = ""
        elif _CJK.match(ch):
            out.extend(buf.split())
            buf = ""
            out.append(ch)
        else:
            buf += ch
    out.extend(buf.split())
    return out


def _lcs(a: list[str], b: list[str]) -> int:
    """Length of the longest common substring of two token lists."""
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                cur[j + 1] = prev[j] + 1
                best = max(best, cur[j + 1])
        prev = cur
    return best


def char_f1(prediction: str, golds: list[str]) -> float:
    pred = segments(prediction)
    best = 0.0
    for gold in golds:
        ans = segments(gold)
        common = _lcs(ans, pred)
        if common:
            p, r = common / len(pred), common / len(ans)
            best = max(best, 2 * p * r / (p + r))
    return best


def _bare(text: str) -> str:
    return "".join(c for c in normalize(text) if not (_skip(c) or c.isspace()))


def exact(prediction: str, golds: list[str]) -> float:
    return float(any(_bare(prediction) == _bare(g) for g in golds))


def contains(prediction: str, golds: list[str]) -> float:
    """The prediction contains a gold answer, both normalised (simplified, no punctuation)."""
    bare = _bare(prediction)
    return float(any(_bare(g) and _bare(g) in bare for g in golds))
