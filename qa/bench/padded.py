"""``python -m qa bench --padded-eval N``: the eval set's hybrid hit@1 with the bundled report
among about N paragraphs, against the bundled report alone, measured in the same run.

The padding is other reports, not the bundled one's: sentences of the public SQuAD-format
passages (eval/external: Wikipedia, CMRC 2018 and DRCD) with their numbers redrawn
(qa/bench/corpus.py), under those articles' titles as headings. Padding made of the bundled
report's own sentences with other numbers (the speed corpora) would not measure search: a
question that names no place or year is answered by every variant as well as by the
original. Vectors are composed as for the speed corpora (each distinct
sentence and span text embedded once, for real); the bundled report is embedded whole.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.bench.corpus import _SENT, generate
from qa.text.documents import list_reports

#: template sentences drawn from the external passages, and variants of each: the pool of
#: real embeddings behind every padding paragraph (3,000 × 2 → ~30k span texts embedded).
PAD_SENTENCES = 3000
PAD_VARIANTS = 2
PAD_HEADINGS = 100


def external_templates(folder: Path = Path("eval/external")) -> tuple[list[str], list[str]]:
    """(sentences, headings): a seeded sample of the passages' sentences and article titles."""
    sents: list[str] = []
    heads: list[str] = []
    for path in sorted(folder.glob("*.json")):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            heads.append(re.sub(r"\s+", "", article["title"]))
            for p in article["paragraphs"]:
                flat = re.sub(r"\s+", "", p["context"])
                sents.extend(s for s in _SENT.findall(flat) if len(s) >= 8)
    sents = list(dict.fromkeys(sents))
    random.Random(5).shuffle(sents)
    return sents[:PAD_SENTENCES], [h for h in dict.fromkeys(heads) if h][:PAD_HEADINGS]


def _hit1(source: Path, index: Path, questions: Path, out: Path) -> dict[str, Any]:
    """`qa eval --mode hybrid` in a fresh process (it builds the index if not built)."""
    subprocess.run([sys.executable, "-m", "qa", "eval", str(questions), "--source", str(source),
                    "--index", str(index), "--mode", "hybrid", "--json", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    overall = json.loads(out.read_text(encoding="utf-8"))["modes"]["hybrid"]["overall"]
    return {k: overall[k] for k in ("hit@1", "hit@3", "mrr", "containment", "n")}


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def padded_eval(seed_dir: Path, size: int, work: Path, pool: Any,
                build: Callable[[Path, Path, Path], dict[str, Any]], questions: Path
                ) -> dict[str, Any]:
    """hit@1 of ``questions`` on the bundled report alone and padded to ``size`` paragraphs;
    ``pool`` composes the vectors (qa/bench/run.py: Pool), ``build(source, index, cache)``
    builds an index in a bench worker."""
    seed_file = list_reports(seed_dir)[0]
    log("padded eval: the bundled report alone")
    alone = _hit1(seed_dir, work / "alone-index", questions, work / "alone.json")
    corpus = generate(seed_file, size, variants=PAD_VARIANTS, prefix="pad",
                      source=external_templates())
    src = work / "src"
    corpus.write(src)
    shutil.copy(seed_file, src / seed_file.name)
    cache = pool.cache_file(corpus, work / "vectors.npz")
    log(f"padded eval: building {corpus.n_paragraphs:,} paragraphs + the bundled report")
    built = build(src, work / "index", cache)
    log("padded eval: the eval set on the padded corpus")
    padded = _hit1(src, work / "index", questions, work / "padded.json")
    shutil.rmtree(work, ignore_errors=True)
    return {"paragraphs": built["paragraphs"], "reports": built["reports"],
            "span_form": built.get("span_form"), "spans_embedded": built.get("spans_embedded"),
            "alone": alone, "padded": padded}
