"""The benchmark's targets, its markdown table and its latency chart (see qa/bench/run.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qa.atomic import save_figure_atomically

GIB_MB = 1536.0


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it holds."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float, limit: float, unit: str, at: str, upper: bool = True) -> None:
        ok = value <= limit if upper else value >= limit
        out.append({"target": name, "at": at, "value": round(float(value), 6),
                    "limit": f"{'≤' if upper else '≥'} {limit:g}{unit}", "pass": bool(ok)})

    runs = result["runs"]
    pad = result.get("padded_eval")
    if pad:
        add("padded eval: hybrid hit@1 drop from the bundled report alone",
            pad["alone"]["hit@1"] - pad["padded"]["hit@1"], 0.005, "",
            f"{pad['paragraphs']:,} paragraphs")
    add("ask p50 (ms)", runs[0]["serve"]["latency_ms"]["ask"]["p50"], 10, " ms", runs[0]["name"])
    for r in runs:
        add("BM25 sparse == rank-bm25 get_scores (max rel diff)",
            r["reference"]["bm25_max_rel_diff"], 1e-9, "", r["name"])
    big = [r for r in runs if r["paragraphs"] >= 90000]
    if big:
        r = big[-1]
        lat, ref, at = r["serve"]["latency_ms"], r["reference"], r["name"]
        add("ask p50 (ms)", lat["ask"]["p50"], 15, " ms", at)
        add("ask p95 (ms)", lat["ask"]["p95"], 30, " ms", at)
        if "span_recall10" in ref:
            add("span recall@10 (ANN + exact rescoring vs exact)", ref["span_recall10"], 0.98,
                "", at, upper=False)
        add("BM25 speed-up over rank-bm25 get_scores (×)", ref["bm25_speedup"], 20, "×", at,
            upper=False)
        add("vector index is approximate (1 = yes)", float(ref["vector_index"] != "IndexFlatIP"),
            1, "", at, upper=False)
        add("recall@10 of the approximate index vs exact", ref["recall10"], 0.95, "", at,
            upper=False)
        add("cold start to first answer (s)", r["serve"]["cold_start"]["total_s"], 8, " s", at)
        add("peak RSS answering (MB)", r["serve"]["peak_rss_mb"], GIB_MB, " MB", at)
        add("peak RSS building (MB)", r["build"]["peak_rss_mb"], GIB_MB, " MB", at)
        add("whole bench wall time (min)", result["wall_s"] / 60, 15, " min", "all sizes")
    return out


def _f(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def _rate(n: int, seconds: float) -> str:
    return f"{_f(seconds, 2)} s ({_f(n / seconds, 0) if seconds > 0 else '∞'}/s)"


def _embed(r: dict[str, Any], result: dict[str, Any]) -> str:
    t = r["build"]["timings"]
    if r["vectors"] == "real":
        return _rate(r["paragraphs"], t["embed"])
    rate = result["embedding"]["sample"]["per_s"]
    return (f"{_f(t['embed'], 2)} s composed; real {_f(rate, 0)}/s → "
            f"{_f(r['paragraphs'] / rate, 0)} s")


ROWS: list[tuple[str, Any]] = [
    ("paragraphs (reports)", lambda r, R: f"{r['paragraphs']:,} ({r['reports']:,})"),
    ("vectors", lambda r, R: r["vectors"]),
    ("build: tokenise", lambda r, R: _rate(r["paragraphs"], r["build"]["timings"]["tokenize"])),
    ("build: BM25 matrix", lambda r, R: _rate(r["paragraphs"], r["build"]["timings"]["bm25"])),
    ("build: embedding", _embed),
    ("build: vector index", lambda r, R: f"{_rate(r['paragraphs'], r['build']['timings']['vector_index'])}"
                                         f" {r['build']['vector_index'].replace('Index', '')}"),
    ("build: span index, s (spans, form)", lambda r, R: _spans(r)),
    ("build: whole (+ save), s", lambda r, R: f"{_f(r['build']['build_s'])} (+{_f(r['build']['save_s'])})"),
    ("build: peak RSS, MB", lambda r, R: _f(r["build"]["peak_rss_mb"], 0)),
    ("index on disk, MB", lambda r, R: _f(r["disk_mb"])),
    ("cold start to 1st answer, s", lambda r, R: _f(r["serve"]["cold_start"]["total_s"], 2)),
    ("  of which imports / load / 1st ask, s", lambda r, R: " / ".join(
        _f(r["serve"]["cold_start"][k], 2) for k in ("import_s", "load_s", "first_ask_s"))),
    ("answering: peak RSS, MB", lambda r, R: _f(r["serve"]["peak_rss_mb"], 0)),
    ("BM25 stage p50 / p95, ms", lambda r, R: _pp(r, "bm25")),
    ("dense stage p50 / p95, ms", lambda r, R: _pp(r, "dense")),
    ("  of which question encoding p50, ms", lambda r, R: _f(r["serve"]["latency_ms"]["encode"]["p50"], 2)),
    ("hybrid search p50 / p95, ms", lambda r, R: _pp(r, "hybrid")),
    ("**whole ask p50 / p95, ms**", lambda r, R: _pp(r, "ask")),
    ("  ask CPU time p50, ms", lambda r, R: _f(r["serve"]["latency_ms"]["ask_cpu"]["p50"], 1)),
    ("  ask time in the encoder p50, ms", lambda r, R: _f(r["serve"]["latency_ms"]["ask_encoding"]["p50"], 1)),
    ("ref: rank-bm25 get_scores p50, ms", lambda r, R: _f(r["reference"]["rank_bm25_get_scores_ms"]["p50"], 2)),
    ("ref: sparse BM25 scores p50, ms", lambda r, R: _f(r["reference"]["sparse_scores_ms"]["p50"], 3)),
    ("BM25 speed-up (scores equal?)", lambda r, R: f"{_f(r['reference']['bm25_speedup'], 0)}× "
     f"({'yes' if r['reference']['bm25_max_rel_diff'] <= 1e-9 else 'NO'}, "
     f"{r['reference']['bm25_checked']} q)"),
    ("ref: FAISS flat search p50, ms", lambda r, R: _f(r["reference"]["flat_search_ms"]["p50"], 2)),
    ("vector index search p50, ms", lambda r, R: _f(r["reference"]["index_search_ms"]["p50"], 2)),
    ("recall@10 (strict id overlap)", lambda r, R: f"{r['reference']['recall10']:.3f} "
                                                   f"({r['reference']['recall10_strict']:.3f})"),
    ("span search p50, ms (exact scan of all spans)", lambda r, R: (
        f"{_f(r['reference']['span_search_ms']['p50'], 2)} "
        f"({_f(r['reference']['span_exact_scan_ms'], 1)})" if "span_recall10" in r["reference"]
        else "– (exact form)")),
    ("span recall@10, ANN + exact rescoring", lambda r, R: (
        f"{r['reference']['span_recall10']:.3f}" if "span_recall10" in r["reference"] else "–")),
    ("rebuild after +1 report, s (embedded)", lambda r, R: (
        f"{_f(r['rebuild']['total_s'])} ({int(r['rebuild']['timings'].get('embedded', 0))})"
        if "rebuild" in r else "–")),
    ("load average at start", lambda r, R: _f(r["load_avg"], 1)),
]


def _spans(r: dict[str, Any]) -> str:
    b = r["build"]
    if "spans" not in b:
        return "–"
    return f"{_f(b['timings'].get('span_index', 0), 1)} ({b['spans']:,}, {b['span_form']})"


def _pp(r: dict[str, Any], key: str) -> str:
    s = r["serve"]["latency_ms"][key]
    return f"{_f(s['p50'], 2)} / {_f(s['p95'], 2)}"


def _other(backend: str, get: Any) -> Any:
    """A cell of another backend's measurement (``–`` where it was not measured)."""

    def cell(r: dict[str, Any], R: dict[str, Any]) -> str:
        m = (r.get("backends") or {}).get(backend)
        return get(m) if m else "–"

    return cell


def backend_rows(backend: str) -> list[tuple[str, Any]]:
    """The rows of a backend measured beside the first (``qa bench --backend local,milvus``)."""
    def lat(m: dict[str, Any], key: str) -> str:
        return _pp(m, key)

    return [
        (f"**{backend}**: build whole (+ save), s", _other(backend, lambda m: (
            f"{_f(m['build']['build_s'])} (+{_f(m['build']['save_s'])})"))),
        (f"{backend}: build peak RSS, MB", _other(backend, lambda m: _f(m["build"]["peak_rss_mb"], 0))),
        (f"{backend}: index on disk, MB", _other(backend, lambda m: _f(m["disk_mb"]))),
        (f"{backend}: cold start to 1st answer, s", _other(backend, lambda m: _f(
            m["serve"]["cold_start"]["total_s"], 2))),
        (f"{backend}: answering peak RSS, MB", _other(backend, lambda m: _f(m["serve"]["peak_rss_mb"], 0))),
        (f"{backend}: hybrid search p50 / p95, ms", _other(backend, lambda m: lat(m, "hybrid"))),
        (f"**{backend}: whole ask p50 / p95, ms**", _other(backend, lambda m: lat(m, "ask"))),
    ]


def markdown_table(result: dict[str, Any]) -> str:
    runs = result["runs"]
    lines = ["| | " + " | ".join(r["name"] for r in runs) + " |",
             "|---|" + "---:|" * len(runs)]
    others = [row for b in result.get("backends", ["local"])[1:] for row in backend_rows(b)]
    for label, cell in ROWS + others:
        lines.append(f"| {label} | " + " | ".join(cell(r, result) for r in runs) + " |")
    lines += ["", "| target | at | measured | limit | holds |", "|---|---|---:|---|---|"]
    for t in result["targets"]:
        lines.append(f"| {t['target']} | {t['at']} | {t['value']:g} | {t['limit']} | "
                     f"{'yes' if t['pass'] else '**NO**'} |")
    pad = result.get("padded_eval")
    if pad:
        a, p = pad["alone"], pad["padded"]
        lines += ["", f"Padded eval (eval set, hybrid; qa/bench/padded.py): the bundled report "
                  f"alone hit@1 {a['hit@1']:.3f} / hit@3 {a['hit@3']:.3f} / MRR {a['mrr']:.3f}; "
                  f"padded to {pad['paragraphs']:,} paragraphs ({pad['reports']:,} reports, "
                  f"span index {pad['span_form']}) hit@1 {p['hit@1']:.3f} / hit@3 "
                  f"{p['hit@3']:.3f} / MRR {p['mrr']:.3f}."]
    m = result["machine"]
    lines += ["", f"{m['cores']} cores ({m['cpu']}), Python {m['python']}; load average "
              f"{m['load_avg_start'][0]:.1f} at start, {m['load_avg_end'][0]:.1f} at end; "
              f"wall time {result['wall_s'] / 60:.1f} min. Backend of the rows without a "
              f"backend's name: {result.get('backends', ['local'])[0]}."]
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(result["runs"], key=lambda r: r["paragraphs"])
    n = [r["paragraphs"] for r in runs]
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    series = [("whole ask", lambda r: r["serve"]["latency_ms"]["ask"], "C3", "-"),
              ("hybrid search", lambda r: r["serve"]["latency_ms"]["hybrid"], "C2", "-"),
              ("dense stage (encode + index)", lambda r: r["serve"]["latency_ms"]["dense"], "C1", "-"),
              ("BM25 stage (tokenise + sparse)", lambda r: r["serve"]["latency_ms"]["bm25"], "C0", "-"),
              ("ref: rank-bm25 get_scores", lambda r: r["reference"]["rank_bm25_get_scores_ms"],
               "C0", ":"),
              ("ref: FAISS flat search", lambda r: r["reference"]["flat_search_ms"], "C1", ":")]
    for label, get, color, style in series:
        p50 = [get(r)["p50"] for r in runs]
        p95 = [get(r)["p95"] for r in runs]
        ax.plot(n, p50, style, marker="o", color=color, label=f"{label} p50")
        if style == "-":
            ax.fill_between(n, p50, p95, color=color, alpha=0.12)
    ax.axhline(15, color="grey", lw=0.8, ls="--")
    ax.text(n[0], 16, "ask p50 target at 100k: 15 ms", color="grey", fontsize=8, ha="left",
            va="bottom")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("corpus size (paragraphs)")
    ax.set_ylabel("latency per question (ms)")
    ax.set_title("Query latency against corpus size (shaded: p50–p95)")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7.5, loc="lower right", framealpha=0.9)
    fig.tight_layout()
    save_figure_atomically(fig, path)
    plt.close(fig)
