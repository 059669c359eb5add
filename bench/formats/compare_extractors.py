"""Which PDF and HTML extractors qa/text/readers uses, and why: the measurements.

    pip install pdfminer.six readability-lxml      # the two candidates not chosen
    python bench/formats/compare_extractors.py PDF [REPORTS_PER_PDF]

PDF: a Chinese PDF printed by Chromium from the bundled report repeated REPORTS_PER_PDF
times (make it with make_pdf_html() below and `chromium --headless --print-to-pdf`;
make_varied_pdf_html() gives paragraphs that do not repeat, make_wiki_pdf_html() text
that does not repeat at all). For
pypdf and pdfminer.six: seconds, and the share of the report's paragraphs found whole and
in order in the extracted text (whitespace and the browser's header/footer lines removed,
radicals folded). HTML: two made-up Chinese news pages (navigation, breadcrumbs, share
buttons, related links with summaries, comments, footer, scripts, a style sheet): the
article's sentences kept and the boilerplate and script strings leaked, for trafilatura
(as configured in qa/text/readers/htmlpage.py) and readability-lxml.
"""

from __future__ import annotations

import html
import logging
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from formatfixtures import HTML_BOILERPLATE, HTML_CODE, HTML_PAGE  # noqa: E402

from qa.text.normalize import normalize  # noqa: E402

SEED = next((ROOT / "seeds").glob("*.txt")).read_text(encoding="utf-8")
PARAS = [p.strip() for p in SEED.splitlines() if p.strip()]


_HEAD = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>报告汇编'
         '</title><style>body{font-family:"Noto Serif CJK SC";font-size:12pt}'
         'p{text-indent:2em;margin:0 0 .3em}</style></head><body>')


def _tagged(p: str) -> str:
    tag = "h3" if len(p) < 40 and "。" not in p else "p"
    return f"<{tag}>{html.escape(p)}</{tag}>"


def make_pdf_html(copies: int) -> str:
    """The bundled report ``copies`` times (each copy's paragraphs are the same text)."""
    out = [_HEAD]
    for part in range(copies):
        out.append(f"<h2>第{part + 1}部分</h2>")
        out.extend(_tagged(p) for p in PARAS)
    return "\n".join(out + ["</body></html>"])


def make_wiki_pdf_html(drcd: int = 0) -> str:
    """The 256 passages of eval/external/cmrc2018_trial.json (Chinese Wikipedia, CC BY-SA
    4.0; 86 pages as printed), each under its article's title, then the first ``drcd``
    passages of drcd_dev.json (traditional script, CC BY-SA 3.0): text that does not
    repeat."""
    import json

    out = [_HEAD]
    for name, limit in (("cmrc2018_trial.json", None), ("drcd_dev.json", drcd)):
        data = json.loads((ROOT / "eval" / "external" / name).read_text("utf-8"))["data"]
        passages = [(a["title"], p["context"]) for a in data for p in a["paragraphs"]]
        last = ""
        for title, context in passages[:limit]:
            if title != last:
                out.append(f"<h3>{html.escape(title)}</h3>")
                last = title
            out.append(f"<p>{html.escape(context)}</p>")
    return "\n".join(out + ["</body></html>"])


def make_varied_pdf_html(paragraphs: int) -> str:
    """``paragraphs`` generated paragraphs (qa/bench/corpus.py: the report's sentences with
    their numbers redrawn and place names changed, 2-4 a paragraph, a heading every 10), so
    that paragraphs are not repeated, though many clauses are."""
    from qa.bench.corpus import generate

    corpus = generate(ROOT / "seeds" / "zhangqiu-2020-xiaokang.txt", paragraphs,
                      per_file=paragraphs)
    paras = [p for p, _ in next(iter(corpus.files.values()))]
    return "\n".join([_HEAD] + [_tagged(p) for p in paras] + ["</body></html>"])


def _squash(text: str) -> str:
    lines = [x for x in text.splitlines()
             if not re.search(r"\d+/\d+/\d+, |file:///|ﬁle:///|^\d+/\d+$", x)]
    return re.sub(r"\s+", "", normalize("\n".join(lines)))


def in_order(text: str, copies: int) -> float:
    squashed, pos, hits = _squash(text), 0, 0
    for _ in range(copies):
        for p in PARAS:
            needle = re.sub(r"\s+", "", normalize(p))
            i = squashed.find(needle, pos)
            if i >= 0:
                hits, pos = hits + 1, i + len(needle)
    return hits / (copies * len(PARAS))


def compare_pdf(path: Path, copies: int) -> None:
    import pypdf
    from pdfminer.high_level import extract_text

    logging.disable(logging.WARNING)
    t = time.perf_counter()
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(path).pages)
    print(f"pypdf        {time.perf_counter() - t:6.1f} s  in order {in_order(text, copies):.1%}")
    t = time.perf_counter()
    text = extract_text(str(path))
    print(f"pdfminer.six {time.perf_counter() - t:6.1f} s  in order {in_order(text, copies):.1%}")


def news_pages() -> dict[str, str]:
    hard = HTML_PAGE.replace("<p>", "<div class='para'>").replace("</p>", "</div>")
    related = "".join(
        f"<div class='rel'><a href='/r{i}'>相关报道{i}</a><p>这是一条较长的相关新闻摘要，介绍了"
        f"青石县第{i}项民生工程的建设进展情况，与本文无直接关系，但文字较长。</p></div>" for i in range(4))
    comments = "<div class='comments'><h3>网友评论</h3>" + "".join(
        f"<div class='c'><p>网友{i}：青石县这几年变化真大，希望继续加油！</p></div>" for i in range(5))
    hard = hard.replace('<div class="share">', related + comments + '</div><div class="share">')
    return {"page with <p> paragraphs": HTML_PAGE, "page with <div> paragraphs, related "
            "summaries, comments": hard}


BODY = ["3月15日，青石县统计局发布", "全年规模以上工业增加值增长8.1%", "全年城乡居民人均可支配收入",
        "工业经济稳步回升", "居民收入持续增加", "9.6亿元"]
JUNK = HTML_BOILERPLATE + HTML_CODE + ["相关报道", "民生工程", "网友评论"]


def compare_html() -> None:
    import lxml.html
    import trafilatura
    from readability import Document

    def readability_text(page: str) -> str:
        tree = lxml.html.fromstring(Document(page).summary())
        return "\n".join(" ".join(e.text_content().split())
                         for e in tree.iter("p", "h1", "h2", "h3", "li", "tr", "div"))

    extractors = {
        "trafilatura": lambda page: trafilatura.extract(
            page, include_comments=False, include_tables=True, deduplicate=False) or "",
        "readability-lxml": readability_text,
    }
    for title, page in news_pages().items():
        for name, extract in extractors.items():
            extract(page)
            t = time.perf_counter()
            text = extract(page)
            ms = (time.perf_counter() - t) * 1000
            kept = sum(b in text for b in BODY)
            leaked = [j for j in JUNK if j in text]
            print(f"{title}: {name:17s} body {kept}/{len(BODY)}  leaked {len(leaked)}/"
                  f"{len(JUNK)} {leaked}  {ms:.0f} ms")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        compare_pdf(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    compare_html()
