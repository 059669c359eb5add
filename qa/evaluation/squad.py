"""SQuAD-format public sets (CMRC 2018, DRCD) as folders of reports, and their metrics.

Each passage becomes one report: its article's title as a heading line, a blank line, then
the context verbatim, so a gold ``answer_start`` is ``len(title) + 2`` further on in the
report. Passages are split into a "fit" and a "test" part by THE SPLIT (``split_of``).
The F1 and EM are those of the official CMRC 2018 evaluation script.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import BadQuestion
from qa.schema import Answer
from qa.text.normalize import normalize

if TYPE_CHECKING:  # the assistant (models, index) is loaded only when a run starts
    from qa.assistant import Assistant

PARTS = ("fit", "test", "all")


@dataclass(frozen=True)
class Question:
    """One question of a passage, with its gold answers and where they sit in the report."""

    id: str
    question: str
    answers: tuple[str, ...]
    starts: tuple[int, ...]  # gold offsets in the written report (-1: not verbatim there)
    passage: str  # the passage's key, also its report's file stem
    type: str  # answer type asked for (answer_type)


@dataclass(frozen=True)
class Passage:
    key: str  # "<article>-<paragraph>", zero-padded: the report's file stem
    title: str
    context: str
    questions: tuple[Question, ...]

    @property
    def text(self) -> str:
        """The report written for this passage."""
        return f"{self.title}\n\n{self.context}"

    @property
    def offset(self) -> int:
        """Where the context starts in the report."""
        return len(self.title) + 2


# ---------------------------------------------------------------- format and split


def is_squad_file(path: str | Path) -> bool:
    """True when ``path`` holds a JSON object with a "data" list (SQuAD format), False for
    anything else (a JSONL eval set, whose first line is one question, is not)."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            head = f.read(1 << 16).lstrip()
        if not head.startswith("{"):
            return False
        obj = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(obj, dict) and isinstance(obj.get("data"), list)


def split_of(title: str) -> str:
    """THE SPLIT: "fit" for 6 in 10 article titles (by SHA-1), "test" for the rest."""
    return "fit" if int(hashlib.sha1(title.encode("utf-8")).hexdigest(), 16) % 10 < 6 else "test"


def load_squad(path: str | Path, part: str = "test") -> list[Passage]:
    """The passages of ``part`` ("fit", "test" or "all") with their questions."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}")
    data = json.loads(Path(path).read_text(encoding="utf-8-sig"))["data"]
    out = []
    for ai, article in enumerate(data):
        title = " ".join(str(article.get("title", "")).split()) or f"passage {ai}"
        if part != "all" and split_of(article.get("title", "")) != part:
            continue
        for pi, para in enumerate(article["paragraphs"]):
            key = f"{ai:04d}-{pi:02d}"
            out.append(passage_of(key, title, para))
    return out


def passage_of(key: str, title: str, para: dict[str, Any]) -> Passage:
    """One SQuAD paragraph as a Passage; a gold whose ``answer_start`` does not point at its
    text gets the offset -1."""
    context = para["context"]
    offset = len(title) + 2
    questions = []
    for qa in para["qas"]:
        golds = [a for a in qa.get("answers", []) if a.get("text")]
        texts = tuple(a["text"] for a in golds)
        starts = tuple(
            offset + a["answer_start"]
            if context[a["answer_start"]:a["answer_start"] + len(a["text"])] == a["text"]
            else -1
            for a in golds)
        questions.append(Question(str(qa["id"]), qa["question"], texts, starts, key,
                                  answer_type(qa["question"])))
    return Passage(key, title, context, tuple(questions))


def write_reports(passages: list[Passage], folder: str | Path) -> dict[str, Path]:
    """One ``<key>.txt`` per passage in ``folder``; a file is rewritten only when its
    content changed (so the index stays fresh) and files of no passage are removed."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for p in passages:
        path = folder / f"{p.key}.txt"
        data = p.text.encode("utf-8")
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        paths[p.key] = path
    for stray in folder.glob("*.txt"):
        if stray.stem not in paths:
            stray.unlink()
    return paths


def choose(questions: list[Question], limit: int | None = None, sample: int | None = None,
           seed: int = 0) -> list[Question]:
    """A fixed subset: the first ``limit`` questions, or ``sample`` drawn with ``seed``
    (the same questions on every run and machine), kept in file order."""
    if sample is not None and sample < len(questions):
        picked = set(random.Random(seed).sample(range(len(questions)), sample))
        questions = [q for i, q in enumerate(questions) if i in picked]
    if limit is not None:
        questions = questions[:limit]
    return questions


# ---------------------------------------------------------------- CMRC 2018 metric

#: the official script's punctuation list, verbatim (its "……" never matches one character).
_SP_CHAR = frozenset(['-', ':', '_', '*', '^', '/', '\\', '~', '`', '+', '=',
                      '，', '。', '：', '？', '！', '“', '”', '；', '’', '《', '》', '……', '·', '、',
                      '「', '」', '（', '）', '－', '～', '『', '』'])
_CJK_OFFICIAL = re.compile(r"[\u4e00-\u9fa5]")
#: stands in for nltk.word_tokenize on the non-CJK runs (nltk and its data are not shipped):
#: numbers with their decimals, words, and every other non-space character on its own.
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)*|[^\w\s]|_")


def mixed_segmentation(text: str, rm_punc: bool = False) -> list[str]:
    """CJK characters and punctuation one token each, other runs split into words."""
    text = str(text).lower().strip()
    segs: list[str] = []
    run = ""
    for ch in text:
        if rm_punc and ch in _SP_CHAR:
            continue
        if _CJK_OFFICIAL.match(ch) or ch in _SP_CHAR:
            segs.extend(_WORD.findall(run))
            run = ""
            segs.append(ch)
        else:
            run += ch
    segs.extend(_WORD.findall(run))
    return segs


def remove_punctuation(text: str) -> str:
    text = str(text).lower().strip()
    return "".join(ch for ch in text if ch not in _SP_CHAR)


def _lcs_len(a: list[str], b: list[str]) -> int:
    """Length of the longest common substring (contiguous) of two token lists."""
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


def cmrc_f1(prediction: str, golds: tuple[str, ...] | list[str]) -> float:
    """CMRC 2018's F1: from the longest common substring of the segmentations, best over
    the golds; 0 for an empty prediction or no golds."""
    pred = mixed_segmentation(prediction, rm_punc=True)
    scores = [0.0]
    for gold in golds:
        ans = mixed_segmentation(gold, rm_punc=True)
        common = _lcs_len(ans, pred)
        if common:
            precision, recall = common / len(pred), common / len(ans)
            scores.append(2 * precision * recall / (precision + recall))
    return max(scores)


def cmrc_em(prediction: str, golds: tuple[str, ...] | list[str]) -> float:
    """CMRC 2018's exact match: equal after removing punctuation, for any gold."""
    if not prediction.strip():
        return 0.0
    pred = remove_punctuation(prediction)
    return float(any(remove_punctuation(g) == pred for g in golds))


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in ("P", "S")


def fold(text: str) -> str:
    """Traditional → simplified, width and case folded, punctuation and spaces removed."""
    return "".join(c for c in normalize(text) if not (c.isspace() or _is_punct(c)))


def contains(prediction: str, golds: tuple[str, ...] | list[str]) -> bool:
    """The folded prediction contains a folded gold answer."""
    p = fold(prediction)
    return bool(p) and any(fold(g) and fold(g) in p for g in golds)


# ---------------------------------------------------------------- answer types

ANSWER_TYPES = ("who", "when", "where", "how many", "how much", "which", "what", "why",
                "how", "yes-no", "other")
#: first match wins; read on the question folded to simplified (誰, 為什麼, 幾, 甚麼 too).
_TYPE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern)) for name, pattern in (
        ("why", r"为什么|为何|为甚么|什么原因|何故|为啥|原因是"),
        ("when", r"什么时候|甚么时候|何时|哪一?年|哪一?天|哪个?时[候期间代]|几时|何年|"
                 r"[什甚]么时[间期代]|哪个?朝代|哪个?年代|几月|几号|几日|哪个?世纪|日期|(?<!多少)(?<!多长)时间"),
        ("where", r"哪里|哪儿|哪裡|在哪|何处|何地|[什甚]么地[方区点]|哪[一个]?(?:国家|城市|地区|省|"
                  r"州|县|市|地方)|[什甚]么位置|位于"),
        ("who", r"谁|哪一?位|[什甚]么人|哪[一个]{0,2}人|何人"),
        ("how much", r"多少钱|多少时间|多大|多长|多高|多重|多远|多深|多宽|多厚|多久|多少[？?。\s]*$"),
        ("how many", r"多少|第几|几[个位种次项条座家人件部本场首名只岁年届]|有几"),
        ("how", r"怎么|怎样|如何|[什甚]么方[式法]|哪种方[式法]"),
        ("which", r"哪"),
        ("what", r"[什甚]么|啥|何|是指|指的是|[是为][？?]?\s*$"),
        ("yes-no", r"是否|是不是|有没有|能否|可否|[吗嗎][？?]?\s*$"),
    ))


def answer_type(question: str) -> str:
    """What the question asks for, by its question words: one of ``ANSWER_TYPES``."""
    q = normalize(question)
    for name, pattern in _TYPE_RULES:
        if pattern.search(q):
            return name
    return "other"


# ---------------------------------------------------------------- the three modes

MODES = ("open", "closed", "ood")
RETRIEVERS = ("hybrid", "bm25", "dense")


@dataclass(frozen=True)
class Row:
    """One question asked in one mode, scored."""

    id: str
    question: str
    type: str
    mode: str
    retriever: str
    golds: tuple[str, ...]
    doc: str  # the question's own report (its passage key)
    got: str  # the answer ("" when not found)
    span: str  # the best span, found or not
    found: bool
    confidence: float
    cited: str  # the passage key of the first citation ("" when none)
    right_first: bool
    contain: bool
    span_contain: bool  # the best span contains a gold, whether or not it was given
    f1: float
    em: float
    latency_ms: float
    error: str = ""  # why the engine refused the question (an empty one): scored as not found


def score(q: Question, mode: str, retriever: str, answer: Answer | None, latency_ms: float,
          error: str = "") -> Row:
    """A Row from an Answer (None: refused): a not-found answer scores 0 for contain, F1
    and EM."""
    first = answer.citations[0] if answer is not None and answer.citations else None
    cited = Path(first.doc).stem if first else ""
    span = first.text if first else ""
    found = answer is not None and bool(answer.found)
    got = answer.answer if found else ""
    return Row(q.id, q.question, q.type, mode, retriever, q.answers, q.passage, got, span,
               found, round(float(answer.confidence), 4) if answer is not None else 0.0, cited,
               mode != "ood" and cited == q.passage, contains(got, q.answers),
               contains(span, q.answers), cmrc_f1(got, q.answers), cmrc_em(got, q.answers),
               round(latency_ms, 2), error)


def report_of(q: Question) -> str:
    """The report of the question's own passage, as a path within the source folder."""
    return f"{q.passage}.txt"


def ask_one(assistant: Assistant, q: Question, mode: str, retriever: str = "hybrid") -> Row:
    """Ask one question in ``mode``: over the whole folder (open), of its own passage only
    (closed: ``reports=[its report]``), or of another corpus (ood; ``assistant`` is that
    corpus's). A question the engine refuses (empty) is scored as not found."""
    reports = [report_of(q)] if mode == "closed" else None
    t = time.perf_counter()
    answer, error = None, ""
    try:
        answer = assistant.ask(q.question, top_k=1 if mode == "closed" else 3,
                               mode=retriever, reports=reports)
    except BadQuestion as exc:
        error = str(exc)
    return score(q, mode, retriever, answer, (time.perf_counter() - t) * 1000, error)


def run_mode(assistant: Assistant, questions: list[Question], mode: str,
             retriever: str = "hybrid", progress: bool = False) -> list[Row]:
    """Every question asked in ``mode`` (see ``ask_one``), with a progress bar on stderr."""
    from tqdm import tqdm

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    bar = tqdm(questions, desc=f"{mode}/{retriever}", file=sys.stderr, disable=not progress,
               leave=False)
    return [ask_one(assistant, q, mode, retriever) for q in bar]
