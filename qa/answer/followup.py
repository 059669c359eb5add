"""Follow-up questions: an elliptical question read in the light of the one before it.

The server keeps no conversation: the caller sends the earlier questions (oldest first).
A question with a topic of its own starts fresh. One without — a pronoun where the topic
should be (它, 那里, 这个项目, 其), a bare slot with 呢 (总投资呢？), a place left out after a
verb of going (去视察), or hardly a content word (增长了多少？) — is read with the previous
question's topic words carried forward: 签约了多少个项目？ → 总投资呢？ is read as
签约项目的总投资是多少？. Earlier questions are read the same way first, so a chain of
follow-ups keeps its topic. No generative model: the question as understood is made of the
user's own words, in their order, and a short connective (的, 是多少).

The signals are the question's own analysis (qa/answer/question.py ``content_word``: what
``focus_word`` passes over) and jieba's parts of speech, never phrases of an eval set. Only
Chinese questions are followed: a question without a Chinese character is read as it is.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qa.answer.forms import question_form
from qa.answer.question import PERIOD, clean_question, content_word
from qa.errors import BadQuestion
from qa.text.normalize import has_cjk, normalize
from qa.text.tokens import STOPWORDS

#: how many earlier questions are read to find the topic (a chain of follow-ups).
CHAIN = 6
#: a question with at most this many characters of nouns (and two more of other content
#: words) has no topic of its own: 增长了多少？ 由谁主办？ 公开遴选了多少名？
SHORT = 3
#: words that stand for a topic named before: pronouns and demonstrative places.
PRONOUNS = frozenset("它 它们 他 她 他们 她们 其 其中 此 这里 那里 这儿 那儿 该地 当地 此地".split())
#: determiners that point back at a thing named before (这个项目, 该村, 上述措施).
DETERMINERS = frozenset("这个 那个 这些 那些 这项 那项 这一 那一 该 这 此 上述 这种".split())
#: words that open a question continuing the last one (那总投资呢？ 还有呢？).
MARKERS = frozenset("那 那么 还有 另外 而 又 以及 那个".split())
#: verbs of going, after which a verb means the place was left out (去视察, 来调研).
MOTION = frozenset("去 来 到 赴".split())
#: the question word of a question (a bare slot with 呢 has none).
ASKING = re.compile(r"多少|几|谁|什么|啥|哪|何|怎|如何|为什么|吗|是否|有没有|"
                    r"\b(?:what|when|where|who|which|how|why)\b")
_ASK_PHRASE = {"number": "是多少", "date": "是什么时候", "person": "是谁", "place": "在哪里",
               "list": "有哪些"}
_NAME_TAGS = ("ns", "nr", "nt", "nz")
_TIME = re.compile(rf"{PERIOD.pattern}|\d+\s*年(?:\s*\d+\s*月)?|\d+\s*月")


@dataclass(frozen=True)
class FollowUp:
    """How a question was read: ``understood_as`` is ``original`` itself when it starts
    fresh, else the question with ``carried`` (the earlier topic words) put in."""

    original: str
    understood_as: str
    carried: tuple[str, ...]
    reason: str  # "fresh: …" or the signal that made it a follow-up

    @property
    def is_follow_up(self) -> bool:
        return self.understood_as != self.original

    def to_dict(self) -> dict[str, Any]:
        return {"original": self.original, "understood_as": self.understood_as,
                "carried": list(self.carried), "reason": self.reason}


@dataclass(frozen=True)
class Word:
    text: str  # as the user wrote it
    norm: str
    start: int
    flag: str  # jieba's part of speech

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class Run:
    """Adjacent content words of a question: one piece of its topic (绿河县新区, 上半年)."""

    text: str
    norm: str
    start: int
    end: int
    kind: str  # "name" (a place, person or body), "time", "number" or "thing"
    tags: tuple[str, ...] = ()  # its words' parts of speech


@functools.lru_cache(maxsize=1)
def _tagger() -> Any:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg.dt


def words_of(text: str) -> tuple[Word, ...]:
    """The words of ``text`` with their offsets and parts of speech (spaces dropped)."""
    norm, out, at = normalize(text), [], 0
    for pair in _tagger().cut(norm, HMM=True):
        w = pair.word
        if w.strip():
            out.append(Word(text[at:at + len(w)], w, at, pair.flag))
        at += len(w)
    return tuple(out)


def is_content(word: Word) -> bool:
    """A word naming what is asked about: not a question word, particle, pronoun or a
    one-character verb, preposition or adverb (去, 在, 都)."""
    if not content_word(word.norm) or word.norm in STOPWORDS or word.norm in PRONOUNS:
        return False
    return len(word.norm) > 1 or word.flag[:1] not in set("vpdcuryef")


def is_nominal(word: Word) -> bool:
    """A content word that can be a topic: a noun, name, place, time, abbreviation, verbal
    noun, foreign word or number (2020年) — not a verb or adjective of the predicate."""
    if not is_content(word):
        return False
    return (word.flag[:1] == "n" or word.flag in ("t", "s", "j", "vn", "eng")
            or _TIME.fullmatch(word.norm) is not None
            or (word.flag == "m" and any(c.isdigit() for c in word.norm)))


def _kind(words: Sequence[Word]) -> str:
    """"name" when a word is a place, person or body, "time" when every word is a time,
    else "thing"."""
    if any(w.flag.startswith(_NAME_TAGS) for w in words):
        return "name"
    joined = "".join(w.norm for w in words)
    if all(w.flag == "t" for w in words) or _TIME.fullmatch(joined) or PERIOD.fullmatch(joined):
        return "time"
    return "number" if re.fullmatch(r"[\d.,%]+\D?", joined) else "thing"


_QUOTED = re.compile(r"“[^”]{1,20}”|《[^》]{1,30}》|「[^」]{1,20}」|\"[^\"]{1,20}\"")


def _units(text: str) -> list[Word]:
    """The words of ``text``, a quoted term (“六攻”, 《台视周日卡通》) as one noun."""
    words = list(words_of(text))
    for m in _QUOTED.finditer(text):
        inside = [w for w in words if m.start() <= w.start and w.end <= m.end()]
        if inside:
            at = words.index(inside[0])
            words[at:at + len(inside)] = [Word(m.group(), normalize(m.group()), m.start(), "nz")]
    return words


def topic_runs(text: str, keep_asked: bool = False) -> list[Run]:
    """The pieces of a question's topic: runs of adjacent nominal words, less the category
    a 哪/什么 asks for (区 in 在哪个区 is what the answer names); a thing counted with 多少
    keeps the verb that says which (签约了多少个项目 → 签约项目). ``keep_asked``: keep the
    asked category too (the 模式 that 这个模式 points back at)."""
    runs: list[Run] = []
    current: list[Word] = []
    verb = ""
    words = _units(text)
    for i, w in enumerate(words):
        asked = i > 0 and words[i - 1].norm.startswith(("哪", "什么", "啥")) and not keep_asked
        if not asked and w.norm not in MARKERS and _in_run(words, i, bool(current)):
            current.append(w)
            continue
        runs += _run(text, current, verb if current else "")
        verb = verb if not current else ""
        current = []
        rest = [x.norm for x in words[i + 1:i + 3]]
        if w.flag.startswith("v") and is_content(w) and any(
                r.startswith(("多少", "几")) for r in rest):
            verb = w.text
    return runs + _run(text, current, verb)


def _in_run(words: Sequence[Word], i: int, inside: bool) -> bool:
    """Is word ``i`` part of a nominal run: a nominal word; a one-character piece jieba cut
    off one (a village name cut X|YY|村, 2020|年); a word of place (市级|以上|重点工程) or any content word
    but a verb (街道|属于|上海市) between two nominal words it touches?"""
    w = words[i]
    if is_nominal(w):
        return True
    prv = words[i - 1] if inside and i > 0 and words[i - 1].end == w.start else None
    nxt = words[i + 1] if i + 1 < len(words) and words[i + 1].start == w.end else None
    if not is_content(w) and w.flag != "f":
        return False
    if len(w.norm) == 1 and (prv is not None or (nxt is not None and is_nominal(nxt))):
        return True
    return (prv is not None and nxt is not None and is_nominal(nxt)
            and not w.flag.startswith("v"))


def _run(text: str, words: list[Word], verb: str = "") -> list[Run]:
    if not words:
        return []
    start, end = words[0].start, words[-1].end
    return [Run(verb + text[start:end], normalize(verb + text[start:end]), start, end,
                _kind(words), tuple(w.flag for w in words))]


def subject(runs: list[Run], tag: str = "") -> list[Run]:
    """The run a pronoun points back at: the first holding a word tagged ``tag`` (nr, a
    person, for 他; ns, a place, for 那里) when there is one, else the first that is not only
    a time — the previous question's subject, as a reader takes it."""
    tagged = [r for r in runs if tag and any(t.startswith(tag) for t in r.tags)]
    untimed = [r for r in runs if r.kind not in ("time", "number")]
    return (tagged or untimed or runs)[:1]


def signal(text: str, words: Sequence[Word]) -> tuple[str, int]:
    """Why ``text`` has no topic of its own ("pronoun", "place", "bare", "short") and the
    index of the word concerned (-1 for none); ("", -1) for a question with its topic."""
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else None
        if w.norm in PRONOUNS or (w.norm in DETERMINERS and nxt is not None
                                  and nxt.flag.startswith("n") and nxt.flag[:2] not in _NAME_TAGS):
            return "pronoun", i
        if w.norm in MOTION and nxt is not None and nxt.flag.startswith("v") and i > 0:
            return "place", i
    body = [w for w in words if any(c.isalnum() for c in w.norm)]
    units = _units(text)
    content = sum(len(w.norm) for i, w in enumerate(units) if is_nominal(w)
                  and w.norm not in MARKERS
                  and not (i and units[i - 1].norm.startswith(("哪", "什么", "啥"))))
    asks = ASKING.search(normalize(text)) is not None
    if body and body[-1].norm == "呢" and not asks:
        return "bare", -1
    wordy = sum(len(w.norm) for w in body if is_content(w) and w.norm not in MARKERS)
    if (content <= SHORT and wordy <= SHORT + 2) or (body and body[0].norm in MARKERS
                                                     and content <= SHORT + 1):
        return "short", -1
    return "", -1


def _join(pieces: Sequence[str]) -> str:
    sep = "" if any(has_cjk(p) for p in pieces) else " "
    return sep.join(pieces)


def _ending(text: str) -> str:
    """The question's closing punctuation (？), to close a rewritten question the same way."""
    m = re.search(r"[?？!！。.]+\s*$", text)
    return m.group().strip() if m else ""


#: pronouns for a person, and for a place: they point back at a name of that kind.
_POINTS_AT = {**dict.fromkeys("他 她 他们 她们".split(), "nr"),
              **dict.fromkeys("这里 那里 这儿 那儿 当地 该地 此地".split(), "ns")}


def _replace_pronoun(text: str, words: Sequence[Word], i: int, runs: list[Run],
                     previous: str) -> tuple[str, tuple[str, ...]]:
    """The pronoun (or determiner) at ``i`` replaced by the previous question's subject:
    它的总投资 → 签约项目的总投资, 其中 → X中; a determiner and its noun by the piece of the
    topic ending in that noun (这个项目 → 污水处理厂扩建项目)."""
    w, nxt = words[i], words[i + 1] if i + 1 < len(words) else None
    chosen = subject(runs, _POINTS_AT.get(w.norm, ""))
    topic, carried = _join([r.text for r in chosen]), tuple(r.text for r in chosen)
    end = w.end
    if w.norm in DETERMINERS and nxt is not None:
        holder = next((r for r in topic_runs(previous, keep_asked=True)
                       if nxt.norm in r.norm), None)
        if holder is not None:
            cut = holder.norm.index(nxt.norm) + len(nxt.norm)
            topic, carried, end = holder.text[:cut], (holder.text[:cut],), nxt.end
    if w.norm == "其":
        topic += "的"
    elif w.norm == "其中":
        topic += "中"
    return text[:w.start] + topic + text[end:], carried


def _substitute(previous: str, slot: str, kind: str) -> str | None:
    """``previous`` with its first time (or the run holding its first name) replaced by
    ``slot``; None if it has none."""
    if kind == "time":
        m = _TIME.search(normalize(previous))
        return None if m is None else previous[:m.start()] + slot + previous[m.end():]
    run = next((r for r in topic_runs(previous) if r.kind == kind), None)
    return None if run is None else previous[:run.start] + slot + previous[run.end:]


def _same_head(previous: str, slot_words: Sequence[Word], slot: str) -> str | None:
    """``previous`` with the thing ending in the slot's last word (its head: 中心 of
    精神卫生中心) replaced by the slot: 东部医疗中心建成了吗 → 精神卫生中心建成了吗."""
    head = words_of(slot)[-1].norm if slot.strip() else ""
    words = words_of(previous)
    at = next((i for i, w in enumerate(words) if w.norm == head), None)
    if at is None or len(head) < 2:
        return None
    first = at
    while first > 0 and is_content(words[first - 1]):
        first -= 1
    return previous[:words[first].start] + slot + previous[words[at].end:]


def _slot_text(text: str, words: Sequence[Word]) -> str:
    """What a bare slot names: the question less a leading 那/还有, 的呢 and punctuation."""
    slot = re.sub(r"(?:的?呢)?[\s?？!！。.,，]*$", "", text)
    if words and words[0].norm in MARKERS and slot.startswith(words[0].text):
        slot = slot[len(words[0].text):]
    return slot.strip(" ，,")


def _bare_slot(text: str, words: Sequence[Word], previous: str,
               runs: list[Run]) -> tuple[str, tuple[str, ...]]:
    """A bare slot with 呢 (总投资呢？ 全年呢？ 白云湖呢？): a time, a name or a thing with the same
    head takes the place of the previous question's; anything else is asked of its topic."""
    slot = _slot_text(text, words)
    slot_words = [w for w in words if is_content(w) and w.norm not in MARKERS]
    if not slot or not slot_words:
        return _join([r.text for r in runs]) + text, tuple(r.text for r in runs)
    kind = _kind(slot_words)
    swapped = (_substitute(previous, slot, kind) if kind != "thing"
               else _same_head(previous, slot_words, slot))
    if swapped is not None:
        return swapped, tuple(r.text for r in runs if r.text in swapped)
    ask = _ASK_PHRASE.get(question_form(previous), "是什么")
    # the slot takes the place of what was asked before: keep the subject and the time
    kept = [r for r in runs if r.kind == "time" or r in subject(runs)]
    topic = _join([r.text for r in kept])
    return f"{topic}的{slot}{ask}{_ending(text)}", tuple(r.text for r in kept)


def understand(question: str, previous: str | None) -> FollowUp:
    """``question`` as read after ``previous`` (itself already understood; None: none)."""
    question = question.strip()
    if not previous:
        return FollowUp(question, question, (), "fresh: no earlier question")
    if not has_cjk(question):  # jieba tags every Latin word a noun: no topic to tell
        return FollowUp(question, question, (), "fresh: only Chinese questions are followed")
    words = words_of(question)
    why, i = signal(question, words)
    if not why:
        return FollowUp(question, question, (), "fresh: it has a topic of its own")
    own = normalize(question)
    runs = [r for r in topic_runs(previous) if r.norm not in own]
    if not runs:
        return FollowUp(question, question, (), f"fresh: {why}, but nothing to carry")
    topic = _join([r.text for r in runs])
    carried = tuple(r.text for r in runs)
    if why == "pronoun":
        text, carried = _replace_pronoun(question, words, i, runs, previous)
        reason = f"pronoun {words[i].text}"
    elif why == "place":
        cut, place = words[i].end, subject(runs, "ns")
        text, carried = question[:cut] + place[0].text + question[cut:], (place[0].text,)
        reason = f"place left out after {words[i].text}"
    elif why == "bare":
        text, carried = _bare_slot(question, words, previous, runs)
        reason = "bare slot with 呢"
    else:
        rest = question[words[0].end:] if words and words[0].norm in MARKERS else question
        text, reason = topic + rest.lstrip(" ，,"), "few content words"
    return FollowUp(question, text, carried, reason)


def follow_up(question: str, history: Sequence[str] | None = None) -> FollowUp:
    """How ``question`` is read after the earlier questions ``history`` (oldest first):
    each earlier question is read in turn after the one before it, so that 总投资呢？ after
    签约了多少个项目？ still carries 签约项目 to the question after it."""
    previous: str | None = None
    for earlier in [h for h in (history or ()) if h and h.strip()][-CHAIN:]:
        previous = understand(earlier, previous).understood_as
    return understand(question, previous)


def read_question(question: Any, history: Any, max_chars: int) -> FollowUp:
    """``question`` checked (BadQuestion when it cannot be answered) and read after
    ``history``: None, or a list of the earlier questions (else BadQuestion)."""
    text = clean_question(question, max_chars)
    if history is None:
        return follow_up(text, ())
    if isinstance(history, (str, bytes)) or not isinstance(history, (list, tuple)) or not all(
            isinstance(h, str) for h in history):
        raise BadQuestion("history must be a list of the earlier questions (strings)")
    return follow_up(text, history)
