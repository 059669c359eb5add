"""Deterministic benchmark corpora built from the bundled report's own sentences.

Every sentence of the report becomes a template; a *variant* is that sentence with its
numbers redrawn (years stay years, digit counts and decimals are kept) and its place name
(章丘) replaced by another Shandong county or district (70% of the time). A paragraph is 2–4
variants, a report file is ``per_file`` paragraphs with a numbered heading (一、…) every
``section`` paragraphs. The same (seed, size) gives the same files byte for byte.

Because paragraphs are made of a finite pool of sentence variants, their embeddings can be
*composed*: embed each distinct variant once (real USE vectors), and a paragraph's vector is
the normalised sum of its sentences' vectors. ``Corpus.composed_vectors`` returns them keyed
by the indexer's content hash, i.e. as a ready vector cache for ``build_index``. Span
vectors likewise: each distinct span text of the pool (``pool_span_texts``) is embedded
once, and the build's encoder looks span texts up there (qa/bench/worker.py).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.index.build import content_hash
from qa.schema import Chunk
from qa.text.documents import paragraphs, read_report
from qa.text.spans import candidate_spans

PLACES = (
    "历城 长清 平阴 商河 莱芜 钢城 淄川 博山 临淄 周村 桓台 高青 沂源 滕州 邹城 曲阜 岱岳 新泰 肥城 "
    "宁阳 东平 莒县 五莲 诸城 青州 寿光 安丘 高密 昌乐 临朐 胶州 平度 莱西 即墨 黄岛 崂山 城阳 蓬莱 "
    "龙口 莱阳 莱州 招远 栖霞 海阳 荣成 乳山 文登 邹平 惠民 阳信 无棣 沾化 博兴 利津 垦利 广饶 郓城 "
    "鄄城 曹县 单县 成武 巨野 东明 定陶 兰陵 沂南 沂水 费县 平邑 蒙阴 临沭 郯城 莒南 济阳 天桥 槐荫"
).split()
HOME = "章丘"
_ORDINALS = "一二三四五六七八九十"
_NUM = re.compile(r"\d+(?:\.\d+)?")
_SENT = re.compile(r"[^。！？；]+[。！？；]+[”’」』）)]*")


def _redraw(rng: random.Random, m: re.Match[str]) -> str:
    s = m.group()
    whole, _, frac = s.partition(".")
    if len(whole) == 4 and whole[:2] in ("19", "20") and not frac:
        return str(rng.randint(2012, 2024))
    lo = 10 ** (len(whole) - 1) if len(whole) > 1 else 1
    out = str(rng.randint(lo, 10 ** len(whole) - 1))
    return out + ("." + "".join(str(rng.randint(0, 9)) for _ in frac) if frac else "")


def variant(rng: random.Random, template: str) -> str:
    text = _NUM.sub(lambda m: _redraw(rng, m), template)
    return text.replace(HOME, rng.choice(PLACES)) if rng.random() < 0.7 else text


def templates(seed_file: Path) -> tuple[list[str], list[str]]:
    """(sentences of the body paragraphs, headings) of the bundled report."""
    chunks = paragraphs(read_report(seed_file))
    sents, heads = [], []
    for c in chunks:
        flat = re.sub(r"\s+", "", c.text)
        if c.kind == "heading":
            heads.append(flat)
        elif c.kind == "body":
            sents.extend(s for s in _SENT.findall(flat) if len(s) >= 8)
    return sorted(set(sents), key=sents.index), sorted(set(heads), key=heads.index)


@dataclass
class Corpus:
    """Generated files plus, per paragraph, which pool sentences it is made of."""

    pool: list[str]  # sentence and heading variants, each embedded once when composing
    files: dict[str, list[tuple[str, list[int]]]] = field(default_factory=dict)

    @property
    def n_paragraphs(self) -> int:
        return sum(len(v) for v in self.files.values())

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, paras in self.files.items():
            text = "\n\n".join(p for p, _ in paras) + "\n"
            (folder / name).write_text(text, encoding="utf-8")

    def composed_vectors(self, pool_vectors: np.ndarray, model: str) -> dict[str, np.ndarray]:
        """content hash → normalised sum of the paragraph's sentence vectors."""
        cache: dict[str, np.ndarray] = {}
        for paras in self.files.values():
            for text, parts in paras:
                v = pool_vectors[parts].sum(axis=0)
                cache[content_hash(model, text)] = (v / np.linalg.norm(v)).astype(np.float32)
        return cache


def pool_span_texts(pool: list[str]) -> list[str]:
    """The distinct candidate-span texts (qa/text/spans.py) of the pool's sentences, each
    cut as a paragraph of its own: a generated paragraph is a run of pool sentences, and
    its spans are its sentences' spans (a span cut otherwise is embedded for real)."""
    texts: dict[str, None] = {}
    for i, text in enumerate(pool):
        chunk = Chunk(i, "pool", 0, len(text), text, "", "body")
        texts.update((text[s.start:s.end], None) for s, _ in candidate_spans(chunk, text))
    return list(texts)


def generate(seed_file: Path, n_paragraphs: int, per_file: int = 100, section: int = 10,
             variants: int = 60, seed: int = 7, prefix: str = "report",
             source: tuple[list[str], list[str]] | None = None) -> Corpus:
    """About ``n_paragraphs`` paragraphs (rounded up to whole files), deterministically;
    from the sentences and headings of ``source`` instead of ``seed_file``'s when given."""
    rng = random.Random(seed)
    sents, heads = source or templates(seed_file)
    pool = [variant(rng, s) for s in sents for _ in range(variants)]
    n_sent = len(pool)
    by_ordinal: list[list[int]] = []  # heading variants numbered 一、二、… as in a report
    for o in _ORDINALS:
        by_ordinal.append(list(range(len(pool), len(pool) + len(heads) * (variants // 10 or 1))))
        pool += [f"{o}、{variant(rng, h)}" for h in heads for _ in range(variants // 10 or 1)]
    corpus = Corpus(pool)
    rng = random.Random(f"{seed}-{n_paragraphs}-{prefix}")
    n_files = max(1, -(-n_paragraphs // per_file))
    for f in range(n_files):
        paras: list[tuple[str, list[int]]] = []
        for i in range(min(per_file, n_paragraphs - f * per_file) if n_files > 1 else
                       n_paragraphs):
            if i % section == 0:
                h = rng.choice(by_ordinal[i // section % len(_ORDINALS)])
                paras.append((pool[h], [h]))
                continue
            parts = [rng.randrange(n_sent) for _ in range(rng.choice((2, 2, 3, 3, 4)))]
            paras.append(("".join(pool[p] for p in parts), parts))
        corpus.files[f"{prefix}-{f:05d}.txt"] = paras
    return corpus
