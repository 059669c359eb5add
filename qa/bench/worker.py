"""The measured processes of ``python -m qa bench``, each a fresh interpreter, so that its
timings include imports and model loading and its peak RSS is its own.

    python -m qa.bench.worker '<json config>'

``mode`` is ``build`` (build_index + save_index, optionally from a vector cache),
``serve`` (cold start: load_assistant on a built index and answer one question, then
per-question latencies) or ``rebuild`` (load_assistant on a folder that gained a report).
Results are JSON lines on stdout; logs and progress bars go to stderr.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


def emit(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def summary(seconds: list[float]) -> dict[str, float]:
    import numpy as np

    ms = np.asarray(seconds) * 1e3
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "mean": float(ms.mean()), "max": float(ms.max()), "n": int(len(ms))}


class MemoEncoder:
    """The encoder, with the texts of ``memo`` (a generated corpus's span texts, embedded
    once for real by the bench) looked up there; ``missed`` counts the others, embedded."""

    def __init__(self, encoder: Any, memo: dict[str, Any]) -> None:
        self.encoder, self.memo, self.missed = encoder, memo, 0
        self.model_id, self.dim = encoder.model_id, encoder.dim

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> Any:
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            self.missed += len(missing)
            self.memo.update(zip(missing, self.encoder.encode(missing, batch_size, progress)))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.memo[t] for t in texts]).astype(np.float32, copy=False)


def build(cfg: dict[str, Any]) -> None:
    import numpy as np

    from qa.config import Settings
    from qa.index.build import build_index
    from qa.index.store import save_index
    from qa.index.vectors import Encoder

    settings = Settings.from_env()
    t = time.perf_counter()
    encoder = Encoder(settings.model, settings.threads)
    model_s = time.perf_counter() - t
    cache = None
    if cfg.get("cache"):
        with np.load(cfg["cache"]) as z:
            cache = dict(zip(z["hashes"].tolist(), z["vectors"]))
    if cfg.get("span_memo"):
        with np.load(cfg["span_memo"]) as z:
            encoder = MemoEncoder(encoder, dict(zip(z["texts"].tolist(), z["vectors"])))
    source, index_dir = Path(cfg["source"]), Path(cfg["index"])
    t = time.perf_counter()
    index = build_index(source, settings, encoder, cache, progress=cfg.get("progress", False),
                        log=lambda m: print(m, file=sys.stderr))
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    save_index(index, index_dir, source, settings)
    save_s = time.perf_counter() - t
    emit("result", model_s=model_s, build_s=build_s, save_s=save_s, timings=index.timings,
         paragraphs=len(index.chunks), reports=len(index.reports),
         spans=index.spans.n_spans if index.spans is not None else 0,
         span_form=index.spans.form if index.spans is not None else None,
         spans_embedded=getattr(encoder, "missed", None),
         vector_index=index.vector_index.kind, peak_rss_mb=peak_rss_mb())


def serve(cfg: dict[str, Any]) -> None:
    t = time.perf_counter()
    from qa.index.vectors import import_sentence_transformers

    import_sentence_transformers()  # torch and transformers: the bulk of the import time
    from qa.answer.question import matchable
    from qa.assistant import load_assistant
    from qa.text.tokens import tokenize

    import_s = time.perf_counter() - t
    t = time.perf_counter()
    assistant = load_assistant(cfg["source"], cfg["index"], log=lambda m: print(m, file=sys.stderr))
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    assistant.ask(cfg["first_question"])
    first_ask_s = time.perf_counter() - t
    emit("ready", import_s=import_s, load_s=load_s, first_ask_s=first_ask_s,
         in_process_s=time.perf_counter() - T0, rss_mb=_rss_now())

    import numpy as np

    questions = cfg["questions"]
    index, settings, k = assistant.index, assistant.settings, 100
    lat: dict[str, list[float]] = {"bm25": [], "dense": [], "hybrid": [], "ask": [],
                                   "ask_cpu": [], "ask_encoding": [], "encode": []}
    for q in questions:  # lexical stage: tokenise, score every paragraph, take the top k
        t = time.perf_counter()
        scores = index.bm25.scores(tokenize(matchable(q), settings.char_ngram))
        np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        lat["bm25"].append(time.perf_counter() - t)
    qvecs = []
    for q in questions:  # dense stage: encode the question, search the vector index
        t = time.perf_counter()
        qvec = assistant.encoder.encode([matchable(q)])[0]
        lat["encode"].append(time.perf_counter() - t)
        index.vector_index.search(qvec, k)
        lat["dense"].append(time.perf_counter() - t)
        qvecs.append(qvec)
    for q in questions:  # both retrievers, candidate union and fusion
        t = time.perf_counter()
        assistant.search(q, "hybrid")
        lat["hybrid"].append(time.perf_counter() - t)
    for q in questions:  # the whole ask: retrieval, span embedding, extraction, confidence
        t, c = time.perf_counter(), time.process_time()
        _, trace = assistant.ask_traced(q)
        lat["ask"].append(time.perf_counter() - t)
        lat["ask_cpu"].append(time.process_time() - c)
        # the question's and the top paragraphs' spans' encoding, as the trace timed them
        lat["ask_encoding"].append((trace.retrieval.encode_ms + trace.extraction.embed_ms) / 1000)
    np.save(cfg["qvec_out"], np.stack(qvecs).astype(np.float32))
    emit("result", latency_ms={name: summary(v) for name, v in lat.items()},
         vector_index=index.vector_index.kind, peak_rss_mb=peak_rss_mb(), rss_mb=_rss_now())


def rebuild(cfg: dict[str, Any]) -> None:
    from qa.assistant import load_assistant
    from qa.index.store import read_manifest

    t = time.perf_counter()
    assistant = load_assistant(cfg["source"], cfg["index"], log=lambda m: print(m, file=sys.stderr))
    total_s = time.perf_counter() - t
    manifest = read_manifest(Path(cfg["index"]))
    emit("result", total_s=total_s, timings=manifest.get("timings", {}),
         paragraphs=len(assistant.index.chunks), peak_rss_mb=peak_rss_mb())


def _rss_now() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


if __name__ == "__main__":
    config = json.loads(sys.argv[1])
    {"build": build, "serve": serve, "rebuild": rebuild}[config["mode"]](config)
