"""Benchmark: convert and index a generated 100-page Chinese PDF (target ≤ 30 s).

``write_report_pdf`` writes a real PDF with reportlab's built-in STSong-Light CID font (no
font file): headings, indented paragraphs wrapped at the right margin and flowing on to the
next page, and on every page a running header, a printed URL and date and a page number.
The tests use it for their PDF, ``bench_formats`` for a long one made of the bundled
report's paragraphs. reportlab is a development dependency.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: characters per full line at 12 pt between the margins.
LINE_EMS = 30
SIZE = 12
HEADER = "青石县人民政府工作报告（2024年）"
URL = "http://www.qingshi.gov.cn/zwgk/2024/report.html"
DATE = "2024/03/15 09:30"


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def wrap(text: str, width: float, first_indent: float) -> list[str]:
    """``text`` cut into lines of at most ``width`` points, the first ``first_indent``
    shorter, as a word processor wraps Chinese (anywhere)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    font = _font()
    lines: list[str] = []
    current = ""
    for ch in text:
        room = width - (first_indent if not lines else 0)
        if current and stringWidth(current + ch, font, SIZE) > room:
            lines.append(current)
            current = ""
        current += ch
    return lines + [current] if current else lines


def is_heading(text: str) -> bool:
    return len(text) < 25 and not any(c in text for c in "。；，")


def write_report_pdf(path: Path, pages: list[list[str]], header: bool = True,
                     title: str = "青石县2024年政府工作报告") -> int:
    """Write ``pages`` (each a list of paragraphs, starting a new page and running on to
    further pages when it does not fit) as a PDF; return the number of pages written."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    font = _font()
    width, height = A4
    left, body = 72.0, LINE_EMS * SIZE
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle(title)
    count = 0

    def new_page() -> float:
        nonlocal count
        if count:
            c.showPage()
        count += 1
        if header:
            c.setFont(font, 9)
            c.drawString(left, height - 40, HEADER)
            c.drawString(left, 40, URL)
            c.drawString(left + 260, 40, DATE)
            c.drawString(width / 2, 25, f"- {count} -")
        c.setFont(font, SIZE)
        return height - 90

    for paragraphs in pages:
        y = new_page()
        for text in paragraphs:
            heading = is_heading(text)
            lines = [text] if heading else wrap(text, body, 2 * SIZE)
            for i, line in enumerate(lines):
                if y < 90:
                    y = new_page()
                c.drawString(left + (2 * SIZE if i == 0 and not heading else 0), y, line)
                y -= 1.5 * SIZE
            y -= 0.8 * SIZE
    c.showPage()
    c.save()
    return count


def bench_pages(source_text: str, pages: int) -> list[list[str]]:
    """About ``pages`` pages of prose: the paragraphs of ``source_text`` (a report), a
    chapter a page, each chapter numbered so that no two pages are the same."""
    paragraphs = [p.strip() for p in source_text.splitlines() if len(p.strip()) > 1]
    prose = [p for p in paragraphs if not is_heading(p)]
    out, i = [], 0
    for chapter in range(pages):
        page = [f"第{chapter + 1}章 专题{chapter + 1}"]
        while sum(len(p) for p in page) < 700:  # about a page at 30 characters a line
            page.append(prose[i % len(prose)])
            i += 1
        out.append(page)
    return out


def bench_formats(source_text: str, work: Path, pages: int = 100,
                  log: Callable[[str], None] = print, pdf_file: Path | None = None
                  ) -> dict[str, Any]:
    """Write a ``pages``-page PDF into ``work`` (or copy ``pdf_file`` there), then time its
    conversion alone and a complete index build of a folder holding only it, conversion
    included, saved to disk — what adding the report costs a running server, whose model is
    loaded (its load is timed apart). CPU seconds are given beside wall seconds, and the
    load average: this machine's two cores may be shared."""
    from qa.assistant import Assistant
    from qa.config import Settings
    from qa.index.build import build_index
    from qa.index.store import save_index
    from qa.index.vectors import Encoder
    from qa.text.readers import convert

    shutil.rmtree(work, ignore_errors=True)
    (work / "source").mkdir(parents=True)
    pdf = work / "source" / "report.pdf"
    if pdf_file is None:
        write_report_pdf(pdf, bench_pages(source_text, pages))
    else:
        shutil.copyfile(pdf_file, pdf)
    data = pdf.read_bytes()
    settings = Settings.from_env()
    t = time.perf_counter()
    encoder = Encoder(settings.model, settings.threads)
    model_s = time.perf_counter() - t
    t, cpu = time.perf_counter(), time.process_time()
    converted = convert(data, pdf.name)
    convert_s, convert_cpu = time.perf_counter() - t, time.process_time() - cpu
    log(f"converted {converted.pages} pages ({len(data) / 2**20:.1f} MB) in {convert_s:.2f} s")
    t, cpu = time.perf_counter(), time.process_time()
    index = build_index(work / "source", settings, encoder, log=lambda _msg: None)
    save_index(index, work / "index", work / "source", settings)
    total_s, total_cpu = time.perf_counter() - t, time.process_time() - cpu
    log(f"converted and indexed in {total_s:.2f} s ({len(index.chunks)} paragraphs; "
        f"the model loaded before, in {model_s:.1f} s)")
    answer = Assistant(index, encoder, settings, []).ask("签约了多少个项目？", top_k=1)
    return {"pdf": "generated (reportlab)" if pdf_file is None else pdf_file.name,
            "pages": converted.pages, "pdf_mb": round(len(data) / 2**20, 2),
            "characters": len(converted.text), "paragraphs": len(index.chunks),
            "convert_s": round(convert_s, 2), "convert_cpu_s": round(convert_cpu, 2),
            "convert_and_index_s": round(total_s, 2),
            "convert_and_index_cpu_s": round(total_cpu, 2), "target_s": 30,
            "model_load_s": round(model_s, 2), "index_stages_s": {
                k: round(v, 2) for k, v in (getattr(index, "timings", None) or {}).items()},
            "load_average_1min": round(os.getloadavg()[0], 2),
            "sample_answer": answer.answer, "python": platform.python_version(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def main(argv: list[str] | None = None) -> int:
    """``python -m qa.bench.formats [PAGES] [PDF]``: time a generated ``PAGES``-page
    PDF (or the given one) and write the figures to bench/formats/results*.json."""
    import sys

    args = argv if argv is not None else sys.argv[1:]
    root = Path(__file__).resolve().parents[2]
    seed = next((root / "seeds").glob("*.txt")).read_text(encoding="utf-8")
    given = Path(args[1]) if len(args) > 1 else None
    result = bench_formats(seed, root / "bench" / "out" / "formats",
                           int(args[0]) if args else 100, pdf_file=given)
    name = "results.json" if given is None else f"results-{given.stem}.json"
    out = root / "bench" / "formats" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
