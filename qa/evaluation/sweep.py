"""`qa sweep`: re-measure the retrieval choices behind qa/config.py on an eval set.

    python -m qa sweep [eval/qa.jsonl] [--source seeds]

Prints hit@1 and MRR of the evidence paragraph over the answerable questions for the BM25
variants and token kinds (BM25 alone), for the share of a paragraph's lexical score taken
from its best sentence, for the fusion weights and reciprocal-rank fusion (hybrid), and
search with the span index (each paragraph by its best span and sentence) against
without it: the figures quoted in eval/README.md. Indexes are built in memory.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from qa.assistant import Assistant
from qa.config import Settings
from qa.evaluation.evalset import EvalItem, load_eval_set
from qa.index.build import build_index
from qa.index.vectors import Encoder


def ranking_scores(settings: Settings, mode: str, items: list[EvalItem], source: Path,
                   encoder: Encoder, cache: dict, span_index: bool = True) -> tuple[float, float]:
    index = build_index(source, settings, encoder, cache, log=lambda _msg: None)
    if not span_index:  # search without it: paragraph vectors, BM25 over whole paragraphs
        index.spans = None
    assistant = Assistant(index, encoder, settings)
    hit1 = mrr = 0.0
    for item in items:
        for rank, hit in enumerate(assistant.search(item.question, mode), 1):
            if item.evidence in index.chunks[hit.chunk_id].text:
                hit1 += rank == 1
                mrr += 1 / rank
                break
    return round(hit1 / len(items), 3), round(mrr / len(items), 3)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="qa sweep")
    ap.add_argument("file", nargs="?", default="eval/qa.jsonl")
    ap.add_argument("--source", default="seeds")
    args = ap.parse_args(argv)
    items = [i for i in load_eval_set(args.file) if i.answers]
    base = Settings()
    encoder = Encoder(base.model, base.threads)
    cache: dict = {}  # vectors keyed by content hash: embed each paragraph once

    def show(label: str, settings: Settings, mode: str, span_index: bool = True) -> None:
        hit1, mrr = ranking_scores(settings, mode, items, Path(args.source), encoder, cache,
                                   span_index)
        print(f"{label:<36} {mode:<7} hit@1 {hit1:.3f}  MRR {mrr:.3f}", flush=True)

    for variant in ("plus", "okapi", "l"):
        for ngram, kind in ((0, "words"), (1, "words + chars"), (2, "words + char bigrams")):
            show(f"BM25 {variant}, {kind}", replace(base, bm25_variant=variant, char_ngram=ngram),
                 "bm25")
    for weight in (0.0, 0.3, 0.5, 0.7, 1.0):
        for mode in ("bm25", "hybrid"):
            show(f"best-sentence share {weight}", replace(base, sentence_weight=weight), mode)
    for weight in (0.3, 0.5, 0.6, 0.7, 0.8):
        show(f"weighted fusion, BM25 weight {weight}",
             replace(base, weight_bm25=weight, weight_dense=round(1 - weight, 2)), "hybrid")
    show("reciprocal-rank fusion", replace(base, fusion="rrf"), "hybrid")
    show("dense alone (best span)", base, "dense")
    # search without the span index (every corpus has one now; the figures it was built
    # for): each paragraph's own vector, and BM25 over whole paragraphs only
    show("dense alone, no span index", base, "dense", span_index=False)
    show("weighted fusion, no span index", base, "hybrid", span_index=False)
    return 0
