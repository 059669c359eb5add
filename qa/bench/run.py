"""``python -m qa bench``: build, cold start and query latency from the bundled report up to
100,000 paragraphs, against plain rank-bm25 and a FAISS flat scan as reference points.

For each size a deterministic corpus (qa/bench/corpus.py) is written as real report files and
goes through the real paths: a fresh process runs build_index + save_index (its timings and
peak RSS are its own), another cold-starts load_assistant on the built index, answers one
question and then times every question (qa/bench/worker.py). This process then scores the
same questions with rank-bm25's ``get_scores`` and a flat index on the saved vectors.

Embedding every paragraph with USE (~200/s) would take ~8 min at 100k, so above
``REAL_EMBED_MAX`` paragraphs the vectors are *composed*: each distinct sentence variant is
embedded for real, once, and a paragraph's vector is the normalised sum of its sentences'
vectors, handed to build_index as its content-hash vector cache. The embedding rate is
measured for real on ``SAMPLE`` generated paragraphs. Everything else is measured whole.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from qa.atomic import write_text_atomically
from qa.bench.corpus import PLACES, generate, pool_span_texts
from qa.bench.report import markdown_table, plot, targets
from qa.config import BACKENDS, Settings, available_cores
from qa.errors import UsageError
from qa.text.documents import list_reports

REAL_EMBED_MAX = 2000
SAMPLE = 2000
#: rebuild-after-adding-one-report is measured at sizes up to this (the 10k corpus).
REBUILD_MAX = 20000
QUESTIONS = 200


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run_child(cfg: dict[str, Any], backend: str = "") -> dict[str, Any]:
    """Run a bench_worker process (with ``QA_BACKEND=backend`` when given); return its
    result, with ``cold_start_s`` (spawn to the first answer, as this process saw it) when
    the worker reports one."""
    t = time.perf_counter()
    env = {**os.environ, "QA_BACKEND": backend} if backend else None
    proc = subprocess.Popen([sys.executable, "-m", "qa.bench.worker", json.dumps(cfg)],
                            stdout=subprocess.PIPE, text=True, cwd=os.getcwd(), env=env)
    out: dict[str, Any] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event.pop("event") == "ready":
            out["cold_start"] = {"total_s": time.perf_counter() - t, **event}
        else:
            out.update(event)
    if proc.wait() != 0:
        raise RuntimeError(f"bench worker {cfg['mode']} failed (exit {proc.returncode})")
    out["wall_s"] = time.perf_counter() - t
    return out


def questions_for(n: int, generated: bool, path: Path = Path("eval/qa.jsonl")) -> list[str]:
    """The eval set's questions (``path``, relative to the working directory: the package
    ships no eval set); for generated corpora with 章丘 swapped for the corpus's places, so
    they hit paragraphs about other places too. Deterministic."""
    qs = [json.loads(line)["question"] for line in path.read_text("utf-8").splitlines()
          if line.strip()] if path.exists() else ["签约了多少个项目？", "总投资是多少？"]
    if generated:
        qs = [q.replace("章丘", PLACES[(i * 7) % len(PLACES)]) if i % 2 else q
              for i, q in enumerate(qs)]
    return (qs * (QUESTIONS // len(qs) + 1))[:min(QUESTIONS, max(len(qs), 1))]


def span_memo(cache: Path) -> Path:
    """Where ``Pool.cache_file`` writes the span texts' vectors beside the paragraphs'."""
    return cache.with_name("span-memo.npz")


def build_config(source: Path, index_dir: Path, cache: Path | None, progress: bool
                 ) -> dict[str, Any]:
    """A build worker's configuration: composed paragraph vectors and span memo when
    ``cache`` is given."""
    return {"mode": "build", "source": str(source), "index": str(index_dir),
            "cache": str(cache) if cache else None,
            "span_memo": str(span_memo(cache)) if cache else None, "progress": progress}


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


class Pool:
    """The encoder and the real vectors of the corpus generator's sentence pool, made once."""

    def __init__(self, settings: Settings) -> None:
        from qa.index.vectors import Encoder

        self.encoder = Encoder(settings.model, settings.threads)
        self.vectors: np.ndarray | None = None
        self.texts: list[str] = []
        self.info: dict[str, Any] = {}
        self.memo: tuple[list[str], np.ndarray] = ([], np.zeros((0, 0), np.float32))
        self.memo_of: list[str] = []

    def cache_file(self, corpus: Any, path: Path) -> Path:
        if self.vectors is None or self.texts != corpus.pool:
            t = time.perf_counter()
            self.texts = corpus.pool
            self.vectors = self.encoder.encode(corpus.pool, progress=sys.stderr.isatty())
            self.info["pool"] = {"sentences": len(corpus.pool),
                                 "seconds": time.perf_counter() - t}
        cache = corpus.composed_vectors(self.vectors, self.encoder.model_id)
        np.savez(path, hashes=np.array(list(cache)), vectors=np.stack(list(cache.values())))
        self.span_memo_file(corpus, span_memo(path))
        return path

    def span_memo_file(self, corpus: Any, path: Path) -> Path:
        """Every distinct span text of the pool with its real vector, for the build worker's
        encoder to look span texts up in (``pool_span_texts``)."""
        if self.memo_of != corpus.pool:
            t = time.perf_counter()
            texts = pool_span_texts(corpus.pool)
            self.memo = (texts, self.encoder.encode(texts, progress=sys.stderr.isatty()))
            self.memo_of = corpus.pool
            self.info.setdefault("span_pool", []).append(
                {"sentences": len(corpus.pool), "spans": len(texts),
                 "seconds": time.perf_counter() - t})
        np.savez(path, texts=np.array(self.memo[0]), vectors=self.memo[1])
        return path

    def sample_rate(self, corpus: Any) -> dict[str, Any]:
        texts = [p for paras in corpus.files.values() for p, _ in paras][:SAMPLE]
        t, c = time.perf_counter(), time.process_time()
        self.encoder.encode(texts, progress=sys.stderr.isatty())
        wall = time.perf_counter() - t
        return {"paragraphs": len(texts), "seconds": wall, "cpu_s": time.process_time() - c,
                "per_s": len(texts) / wall}


def corpus_tokens(chunks: list[Any], settings: Settings,
                  years: dict[str, str | None] | None = None) -> list[list[str]]:
    """tokenize(lexical_text(chunk)) for every chunk (dated by ``years``, its report's own
    year, as the indexer dates it), memoised per sentence. Exact: no token spans 。！？；, so
    a text's tokens are its sentences' tokens in order (checked on a sample)."""
    from qa.text.spans import lexical_text
    from qa.text.tokens import tokenize

    years = years or {}
    memo: dict[str, list[str]] = {}
    split = re.compile(r"(?<=[。！？；])")
    out = []
    for chunk in chunks:
        toks: list[str] = []
        for piece in split.split(lexical_text(chunk, settings.section_weight, years.get(chunk.doc))):
            if piece not in memo:
                memo[piece] = tokenize(piece, settings.char_ngram)
            toks.extend(memo[piece])
        out.append(toks)
    for i in range(0, len(chunks), max(1, len(chunks) // 200)):
        text = lexical_text(chunks[i], settings.section_weight, years.get(chunks[i].doc))
        assert out[i] == tokenize(text, settings.char_ngram), "memoised tokens differ"
    return out


def references(source: Path, index_dir: Path, settings: Settings, questions: list[str],
               qvecs: np.ndarray) -> dict[str, Any]:
    """rank-bm25 get_scores and a FAISS flat scan on the same questions and index."""
    import faiss
    import rank_bm25

    from qa.answer.question import matchable
    from qa.index.store import load_index
    from qa.text.tokens import tokenize

    index, _ = load_index(index_dir, source, settings)
    n = len(index.chunks)
    toks = [tokenize(matchable(q), settings.char_ngram) for q in questions]
    sparse = []
    for t in toks:
        t0 = time.perf_counter()
        index.bm25.scores(t)
        sparse.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    corpus = corpus_tokens(index.chunks, settings, index.years)  # the years it was built with
    kind = {"plus": "BM25Plus", "okapi": "BM25Okapi", "l": "BM25L"}[settings.bm25_variant]
    extra = {"epsilon": 0.25} if kind == "BM25Okapi" else {"delta": settings.bm25_delta}
    ref = getattr(rank_bm25, kind)(corpus, k1=settings.bm25_k1, b=settings.bm25_b, **extra)
    init_s = time.perf_counter() - t0
    del corpus
    rank, worst = [], 0.0
    for t in toks[: 10 if n > 50000 else 30]:
        t0 = time.perf_counter()
        expected = ref.get_scores(t)
        rank.append(time.perf_counter() - t0)
        got = index.bm25.scores(t)
        worst = max(worst, float(np.max(np.abs(got - expected) / np.maximum(1.0, np.abs(expected)))))
    del ref
    faiss.omp_set_num_threads(1)  # one query at a time, as VectorIndex.search runs it
    flat = faiss.IndexFlatIP(index.vectors.shape[1])
    flat.add(index.vectors)
    flat_t, approx_t, strict, tied, tied100 = [], [], [], [], []
    top = min(100, n)
    for q in qvecs:
        t0 = time.perf_counter()
        _, exact = flat.search(q[None], top)
        flat_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ids, _ = index.vector_index.search(q, top)
        approx_t.append(time.perf_counter() - t0)
        scores = index.vectors @ q
        k10 = min(10, n)
        strict.append(len(set(ids[:k10].tolist()) & set(exact[0, :k10].tolist())) / k10)
        for k, acc in ((k10, tied), (top, tied100)):
            kth = -np.partition(-scores, k - 1)[k - 1]  # ties at the k-th score count as hits
            acc.append(float(np.sum(scores[ids[:k]] >= kth - 1e-6)) / k)
    from qa.bench.worker import summary

    return {**_span_reference(index.spans, qvecs, settings), "sparse_scores_ms": summary(sparse), "rank_bm25_get_scores_ms": summary(rank),
            "rank_bm25_init_s": init_s, "bm25_speedup": float(np.median(rank) / np.median(sparse)),
            "bm25_max_rel_diff": worst, "bm25_checked": len(rank),
            "flat_search_ms": summary(flat_t), "index_search_ms": summary(approx_t),
            "vector_index": index.vector_index.kind, "recall10_strict": float(np.mean(strict)),
            "recall10": float(np.mean(tied)), "recall100": float(np.mean(tied100))}


def exact_best_spans(spans: Any, qvecs: np.ndarray, block: int = 4096) -> np.ndarray:
    """(paragraphs, questions): each paragraph's best span similarity, from every stored
    span (decoded block by block): the exact search the span ANN is measured against."""
    n = len(spans.starts)
    out = np.empty((n, len(qvecs)), dtype=np.float32)
    q = np.ascontiguousarray(qvecs.T, dtype=np.float32)
    for a in range(0, n, block):
        b = min(n, a + block)
        first, last = int(spans.starts[a]), spans._end(b - 1)
        decoded = spans.compact.scale.decode(spans.compact.codes.read(first, last))
        out[a:b] = np.maximum.reduceat(decoded @ q, spans.starts[a:b] - first, axis=0)
    return out


def span_recall(spans: Any, qvecs: np.ndarray, depth: int, paragraphs: int, k: int = 10
                ) -> dict[str, Any]:
    """Recall@k of the compact span index's search (ANN, then its paragraphs scored
    exactly) against the exact best span of every paragraph; ties at the k-th count."""
    from qa.bench.worker import summary

    t0 = time.perf_counter()
    exact = exact_best_spans(spans, qvecs)
    scan_s = (time.perf_counter() - t0) / max(len(qvecs), 1)
    hits, took = [], []
    for j, q in enumerate(qvecs):
        t0 = time.perf_counter()
        rows, best = spans.nearest(q, depth, paragraphs)
        took.append(time.perf_counter() - t0)
        top = rows[np.argsort(-best, kind="stable")[:k]]
        col = exact[:, j]
        kk = min(k, len(col))
        kth = -np.partition(-col, kk - 1)[kk - 1]
        hits.append(float(np.sum(col[top] >= kth - 1e-6)) / kk)
    return {"span_recall10": float(np.mean(hits)), "span_search_ms": summary(took),
            "span_exact_scan_ms": scan_s * 1000, "spans": spans.n_spans,
            "span_groups": len(spans.compact.groups)}


def _span_reference(spans: Any, qvecs: np.ndarray, settings: Settings) -> dict[str, Any]:
    """``span_recall`` with the retriever's depths, for a compact span index ({} else)."""
    from qa.answer.retrieve import SPAN_DEPTH
    from qa.index.backend import TIE_DEPTH

    if spans is None or spans.compact is None:
        return {}
    return span_recall(spans, qvecs, SPAN_DEPTH * settings.candidates,
                       TIE_DEPTH * settings.candidates)


def measure_backend(backend: str, source: Path, work: Path, questions: list[str],
                    cache: Path | None) -> dict[str, Any]:
    """Build and serve the same corpus with another backend, in its own index folder."""
    index_dir = work / f"index-{backend}"
    log(f"{backend}: building, cold start and {len(questions)} questions")
    out: dict[str, Any] = {"build": run_child(build_config(source, index_dir, cache, False),
                                              backend)}
    out["disk_mb"] = dir_mb(index_dir)
    out["serve"] = run_child({"mode": "serve", "source": str(source), "index": str(index_dir),
                              "first_question": "今年的总投资是多少？", "questions": questions,
                              "qvec_out": str(work / f"qvecs-{backend}.npy")}, backend)
    shutil.rmtree(index_dir, ignore_errors=True)
    return out


def measure(name: str, source: Path, work: Path, settings: Settings, questions: list[str],
            cache: Path | None = None, add_report: Any = None,
            others: tuple[str, ...] = ()) -> dict[str, Any]:
    index_dir = work / "index"
    log(f"{name}: building ({'composed' if cache else 'real'} vectors)")
    row: dict[str, Any] = {"name": name, "vectors": "composed" if cache else "real",
                           "load_avg": os.getloadavg()[0]}
    row["build"] = run_child(build_config(source, index_dir, cache, sys.stderr.isatty()),
                             settings.backend)
    row["paragraphs"], row["reports"] = row["build"]["paragraphs"], row["build"]["reports"]
    row["disk_mb"] = dir_mb(index_dir)
    log(f"{name}: cold start and {len(questions)} questions")
    row["serve"] = run_child({"mode": "serve", "source": str(source), "index": str(index_dir),
                              "first_question": "今年的总投资是多少？", "questions": questions,
                              "qvec_out": str(work / "qvecs.npy")}, settings.backend)
    log(f"{name}: rank-bm25 and FAISS flat references")
    row["reference"] = references(source, index_dir, settings, questions,
                                  np.load(work / "qvecs.npy"))
    row["backends"] = {b: measure_backend(b, source, work, questions, cache) for b in others}
    if add_report is not None:
        add_report.write(source)
        log(f"{name}: rebuild after adding one report")
        row["rebuild"] = run_child({"mode": "rebuild", "source": str(source),
                                    "index": str(index_dir)}, settings.backend)
    return row


def _backends(args: Any) -> tuple[str, ...]:
    """--backend: local first, as the references read its index in this process
    (milvus-lite's folder would stay locked for the workers); the others beside it."""
    backends = tuple(b.strip() for b in str(getattr(args, "backend", "local")).split(","))
    if any(b not in BACKENDS for b in backends) or backends[0] != "local":
        raise UsageError(f"--backend takes a list of {', '.join(BACKENDS)}, local first")
    return backends


def run_bench(args: Any) -> int:
    t_start = time.perf_counter()
    sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    settings = Settings.from_env()
    backends = _backends(args)
    settings = replace(settings, backend=backends[0])
    seed_dir = Path(args.source)
    questions = Path(getattr(args, "questions", "eval/qa.jsonl"))
    seed_file = list_reports(seed_dir)[0]
    work = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    result: dict[str, Any] = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "sizes": sizes,
        "machine": {"cores": available_cores(), "cpu": _cpu_model(), "python": platform.python_version(),
                    "load_avg_start": os.getloadavg()},
        "settings": settings.index_fingerprint(), "runs": [], "backends": list(backends),
        "method": {"composed_above": REAL_EMBED_MAX, "embedding_sample": SAMPLE,
                   "recall": "recall@10 of the index against exact cosine; a returned paragraph "
                             "scoring at least the 10th best exact score (ties) is a hit; "
                             "recall10_strict is plain id overlap with FAISS flat"}}
    pool = Pool(settings) if any(n > REAL_EMBED_MAX for n in sizes) else None
    try:
        result["runs"].append(measure(f"bundled ({seed_file.name})", seed_dir, work / "seed",
                                      settings, questions_for(0, False, questions),
                                      others=backends[1:]))
        for n in sizes:
            corpus = generate(seed_file, n)
            src = work / f"n{n}" / "src"
            corpus.write(src)
            cache = None
            if pool is not None and n > REAL_EMBED_MAX:
                if "sample" not in pool.info:
                    log(f"embedding {SAMPLE} paragraphs for the real rate, and the sentence pool")
                    pool.info["sample"] = pool.sample_rate(corpus)
                cache = pool.cache_file(corpus, work / f"n{n}" / "vectors.npz")
            extra = generate(seed_file, 100, seed=11, prefix="added") if n <= REBUILD_MAX else None
            result["runs"].append(measure(f"{n // 1000}k" if n >= 1000 else str(n), src,
                                          work / f"n{n}", settings, questions_for(n, True, questions),
                                          cache, extra, backends[1:]))
            shutil.rmtree(src.parent, ignore_errors=True)
        if getattr(args, "padded_eval", 0):
            result["padded_eval"] = _padded(int(args.padded_eval), seed_dir, work, pool,
                                            settings, questions)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["embedding"] = pool.info if pool else {}
    result["wall_s"] = time.perf_counter() - t_start
    result["machine"]["load_avg_end"] = os.getloadavg()
    result["targets"] = targets(result)
    out = Path(args.out)
    write_text_atomically(out, json.dumps(result, ensure_ascii=False, indent=1))
    table = markdown_table(result)
    write_text_atomically(out.with_suffix(".md"), table + "\n")
    if getattr(args, "plot", None):
        plot(result, Path(args.plot))
    print(table)
    print(f"\nresults: {out}  table: {out.with_suffix('.md')}"
          + (f"  chart: {args.plot}" if getattr(args, "plot", None) else "")
          + f"  wall time: {result['wall_s'] / 60:.1f} min")
    return 0


def _padded(size: int, seed_dir: Path, work: Path, pool: Pool | None, settings: Settings,
            questions: Path) -> dict[str, Any]:
    """qa/bench/padded.py's measurement, its index built by a bench worker."""
    from qa.bench.padded import padded_eval

    return padded_eval(seed_dir, size, work / "padded", pool or Pool(settings),
                       lambda src, index, cache: run_child(build_config(src, index, cache, False),
                                                           settings.backend), questions)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
