"""Evaluate on a SQuAD-format set: run the modes, print the tables, write JSON and a chart,
check the floors. ``python -m qa.evaluation.squad_report FILE`` (see ``main``)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from qa.evaluation.squad import (
    MODES,
    RETRIEVERS,
    Row,
)

#: (key, header, format) of the tables; None values print as "-".
COLUMNS = [("right_first", "right1st", "{:.3f}"), ("found", "found", "{:.3f}"),
           ("contain", "contain", "{:.3f}"), ("span_contain", "spanCont", "{:.3f}"),
           ("f1", "F1", "{:.3f}"), ("em", "EM", "{:.3f}"), ("answer_len_median", "len", "{:.0f}"),
           ("latency_mean_ms", "ms", "{:.0f}")]
CHART_KEYS = ["right_first", "found", "contain", "span_contain", "f1", "em"]


def metrics(rows: list[Row]) -> dict[str, Any]:
    """The figures of one mode over ``rows`` (right_first only in open mode)."""
    n = len(rows)

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    lengths = [len(r.got) for r in rows if r.found and r.got]
    return {
        "n": n,
        "right_first": mean([float(r.right_first) for r in rows])
        if rows and rows[0].mode == "open" else None,
        "found": mean([float(r.found) for r in rows]),
        "contain": mean([float(r.contain) for r in rows]),
        "span_contain": mean([float(r.span_contain) for r in rows]),
        "f1": mean([r.f1 for r in rows]),
        "em": mean([r.em for r in rows]),
        "answer_len_median": statistics.median(lengths) if lengths else None,
        "latency_mean_ms": mean([r.latency_ms for r in rows]),
    }


def summarise(rows: list[Row]) -> dict[str, Any]:
    """``{"overall": metrics, "by_type": {answer type: metrics}}``."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        groups[r.type].append(r)
    return {"overall": metrics(rows),
            "by_type": {t: metrics(rs) for t, rs in sorted(groups.items())}}


def result_key(mode: str, retriever: str) -> str:
    """"open" (hybrid), "open/bm25", "open/dense", "closed", "ood"."""
    return mode if retriever == "hybrid" else f"{mode}/{retriever}"


def format_table(report: dict[str, Any]) -> str:
    """Overall figures per mode, then found / contain / F1 per answer type."""
    head = f"{'mode':<12}{'n':>5} " + " ".join(f"{h:>8}" for _, h, _ in COLUMNS)
    lines = [f"{report['set']} ({report['part']} part, {report['passages']} passages)",
             head, "-" * len(head)]
    for key, res in report["results"].items():
        lines.append(f"{key:<12}{res['overall']['n']:>5} " + _cells(res["overall"]))
    lines += ["", f"{'mode':<12}{'type':<10}{'n':>5} {'found':>8} {'contain':>8} {'F1':>8}"]
    for key, res in report["results"].items():
        if "/" in key:
            continue
        for t, m in res["by_type"].items():
            lines.append(f"{key:<12}{t:<10}{m['n']:>5} "
                         + " ".join(f"{_fmt(m[k], '{:.3f}'):>8}" for k in ("found", "contain",
                                                                            "f1")))
    return "\n".join(lines)


def _fmt(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def _cells(m: dict[str, Any]) -> str:
    return " ".join(f"{_fmt(m.get(k), fmt):>8}" for k, _, fmt in COLUMNS)


def check_floors(report: dict[str, Any], floors: dict[str, Any]) -> list[str]:
    """Problems with the floors that apply: sections "<set>/<mode>" (this set) or "<mode>"
    (any set), mode being a result key; a figure named ``<metric>_max`` is a ceiling.
    Sections for modes that were not run, or for other sets, are skipped."""
    problems = []
    for section, figures in floors.items():
        name, key = section.split("/", 1) if section not in _keys() and "/" in section \
            else ("", section)
        if key not in _keys() or name not in ("", report["set"]) \
                or key not in report["results"]:
            continue
        overall = report["results"][key]["overall"]
        for figure, bound in figures.items():
            metric = figure.removesuffix("_max")
            value = overall.get(metric)
            where = f"{report['set']}/{key} {metric}"
            if value is None:
                problems.append(f"{where} was not measured")
            elif figure.endswith("_max") and value > bound:
                problems.append(f"{where} = {value:.3f} is above its ceiling {bound}")
            elif not figure.endswith("_max") and value < bound:
                problems.append(f"{where} = {value:.3f} is below its floor {bound}")
    return problems


def _keys() -> set[str]:
    return {result_key(m, r) for m in MODES for r in RETRIEVERS}


def plot(report: dict[str, Any], path: str) -> None:
    """Overall figures per mode (left) and contain per answer type (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from qa.atomic import save_figure_atomically

    results = report["results"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 4.5),
                                      gridspec_kw={"width_ratios": [3, 2]})
    _bars(left, np, list(results), CHART_KEYS,
          lambda k, x: results[k]["overall"].get(x))
    left.set_title(f"{report['set']} ({report['part']}): modes side by side")
    modes = [k for k in results if "/" not in k and k != "ood"]
    types = sorted({t for k in modes for t in results[k]["by_type"]})
    _bars(right, np, modes, types,
          lambda k, t: results[k]["by_type"].get(t, {}).get("contain"))
    right.set_title("contain by answer type")
    right.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    save_figure_atomically(fig, path, dpi=110)
    plt.close(fig)


def _bars(ax: Any, np: Any, series: list[str], ticks: list[str], value: Any) -> None:
    x = np.arange(len(ticks))
    width = 0.8 / max(1, len(series))
    for i, s in enumerate(series):
        values = [value(s, t) for t in ticks]  # None (not measured): no bar, no label
        bars = ax.bar(x + i * width, [v or 0 for v in values], width, label=s)
        ax.bar_label(bars, labels=["" if v is None else f"{v:.2f}" for v in values],
                     fontsize=6)
    ax.set_xticks(x + width * (len(series) - 1) / 2, ticks)
    ax.set_ylim(0, 1.2)
    ax.legend(loc="upper center", ncol=len(series), fontsize=7)
