"""Question analysis for span ranking: the question word, the answer type it asks for, and
the question's text left and right of it.

Chinese reading-comprehension questions usually restate a sentence of the passage with the
answer replaced by the question word (章丘签约了多少个项目 ← 章丘签约项目36个), so the text
either side of the question word is what the ranker aligns with the passage. The patterns
below are the grammar of Chinese question words, not phrases of any data set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text.normalize import normalize

#: expected answer types, in the order of their ids (the ranker uses the id as a category).
ANSWER_TYPES = ("other", "who", "when", "where", "count", "amount", "which", "what", "why",
                "how", "yesno", "definition", "list")

#: (answer type, pattern) tried in order; the first match (leftmost for ties) wins.
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("why", r"为什么|为何|何故|什么原因|原因是什么|原因为何|因何"),
    ("when", r"什么时候|什么时间|何时|何年|何日|哪一?年|哪一?天|哪一?日|哪个?月|几月|几年|几号"
             r"|哪个?朝代?|哪一?时期|哪个?时期|哪个?年代|什么年代|什么朝代|什么时期|哪个世纪"),
    ("where", r"哪里|哪儿|何处|何地|什么地方|哪个?地方|哪个?国家|哪个?城市|哪个?地区|哪个?省"
              r"|在哪|去哪|到哪|位于何"),
    ("who", r"谁|哪一?位|何人|什么人|哪个人|哪些人"),
    ("amount", r"多少钱|多少元|多少亿|多少万|多大|多长|多高|多远|多久|多重|多深|多宽|多厚|多快"
               r"|多少年|百分之几|几成|多少倍|几倍"),
    ("count", r"多少|几[个种项名位座家所条次部本只支件届类大]?"),
    ("list", r"哪些|哪几"),
    ("definition", r"是什么意思|指什么|什么是|是指什么|是什么$|是何$|何谓|何为|的定义"),
    ("how", r"怎么样|怎样|如何|怎么|用什么方法|通过什么"),
    ("which", r"哪一?[个种类部本条座所家只支种项]|哪"),
    ("what", r"什么|啥|何"),
    ("yesno", r"是否|是不是|有没有|能不能|会不会|可不可以|吗"),
)
_COMPILED = tuple((kind, re.compile(p)) for kind, p in _PATTERNS)
_TRIM = "？?。！!，,；;：: \t\r\n\u3000呢吗啊呀吧"
_LEAD = re.compile(r"^(请问|请|问|文中|报告中|报告里|根据报告|根据文章|在报告中)[，,：: ]?")


@dataclass(frozen=True)
class AskedQuestion:
    text: str  # the question as asked
    norm: str  # normalised (simplified, half-width, lower case), same length as text
    kind: str  # one of ANSWER_TYPES
    word: str  # the question word as found in norm ('' when none)
    word_start: int  # offset of the question word in norm (len(norm) when none)
    left: str  # normalised text before the question word, trimmed
    right: str  # normalised text after the question word, trimmed
    slot: str  # the character right after the question word (个 in 多少个, 年 in 哪一年)

    @property
    def kind_id(self) -> int:
        return ANSWER_TYPES.index(self.kind)


def _find_word(norm: str) -> tuple[str, re.Match[str] | None]:
    """The first answer type whose question word occurs, and where it occurs."""
    for kind, pattern in _COMPILED:
        found = pattern.search(norm)
        if found:
            return kind, found
    return "other", None


def analyse_question(text: str) -> AskedQuestion:
    """Read the question word, the answer type and the text either side of the word."""
    norm = normalize(text)
    kind, found = _find_word(norm)
    if found is None:
        body = _LEAD.sub("", norm.strip(_TRIM))
        return AskedQuestion(text, norm, kind, "", len(norm), body, "", "")
    a, b = found.span()
    left = _LEAD.sub("", norm[:a].strip(_TRIM))
    right = norm[b:].strip(_TRIM)
    if kind == "count" and len(found.group()) == 1 and right[:1] in "年月日号":
        kind = "when"  # 几年/几月 read as a date above; 几 alone before a date unit too
    if kind == "which" and re.match(r"哪(些|几)", found.group()):
        kind = "list"
    slot = right[:1] if right and not re.match(r"[？?。，,]", right[:1]) else ""
    return AskedQuestion(text, norm, kind, found.group(), a, left, right, slot)
