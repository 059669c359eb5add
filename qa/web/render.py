"""Answers, citations and report pages as HTML: pure functions, every text escaped.

A chat reply is one line of HTML so that Gradio's Markdown leaves it alone."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_CJK = re.compile(f"[{CJK}]")
_BREAKS = re.compile(r"[ \t\u3000]*(?:(?:\r\n|\r|\n|\u2028|\u2029)[ \t\u3000]*)+")
_STOPS = ("。！？；!?;", "，、,：:")  # cut at a sentence end, else at a clause end
_LINE_BREAKS = str.maketrans(
    {"\n": "&#10;", "\r": "&#13;", "\u2028": "&#8232;", "\u2029": "&#8233;"}
)


def esc(text: object) -> str:
    """HTML-escape, and write line breaks as character references so that a reply stays one
    line: Gradio's Markdown would otherwise end the raw-HTML block at a blank line."""
    return html.escape(str(text), quote=True).translate(_LINE_BREAKS)


def fold_breaks(text: str, left: str = "", right: str = "") -> str:
    """Fold line breaks inside a paragraph: nothing between two CJK characters, else a space.

    The contract keeps a paragraph's repaired line break in ``context``; the display folds
    it. ``left``/``right`` are the characters just outside ``text`` when it is a piece of
    a longer string, so a break at its edge folds as it would in the whole.
    """

    def repl(m: re.Match[str]) -> str:
        before = text[: m.start()][-1:] or left[-1:]
        after = text[m.end() :][:1] or right[:1]
        if not before or not after:
            return ""
        return "" if _CJK.match(before) and _CJK.match(after) else " "

    return _BREAKS.sub(repl, text)


def highlight(
    context: str, rel_start: int, text: str, mark_class: str = "qa-hit", clip: int = 0
) -> str:
    """Escaped ``context`` with ``text`` at ``rel_start`` wrapped in <mark>; with ``clip``,
    only about that many characters either side of it, cut at sentence ends."""
    if not text or context[rel_start : rel_start + len(text)] != text:
        rel_start = context.find(text) if text else -1
    if rel_start < 0:
        return esc(fold_breaks(context))
    end = rel_start + len(text)
    before, after = context[:rel_start], context[end:]
    if clip:
        before, after = clip_before(before, clip), clip_after(after, clip)
    return (
        f"{esc(fold_breaks(before, '', text))}"
        f'<mark class="{mark_class}">{esc(fold_breaks(text, before, after))}</mark>'
        f"{esc(fold_breaks(after, text, ''))}"
    )


def clip_before(text: str, room: int) -> str:
    """The last ``room`` characters of ``text`` or fewer, starting after a sentence end."""
    if len(text) <= room:
        return text
    tail = text[-room:]
    for stops in _STOPS:
        cut = next((i + 1 for i, ch in enumerate(tail) if ch in stops), 0)
        if 0 < cut < len(tail):
            return "…" + tail[cut:]
    return "…" + tail


def clip_after(text: str, room: int) -> str:
    """The first ``room`` characters of ``text`` or fewer, ending at a sentence end."""
    if len(text) <= room:
        return text
    head = text[:room]
    for stops in _STOPS:
        cut = max((i + 1 for i, ch in enumerate(head) if ch in stops), default=0)
        if cut:
            return head[:cut] + "…"
    return head + "…"


#: the confidence the chat labels 高 (and 中): also what a suggested question must reach
HIGH, MID = 0.75, 0.5


def confidence_badge(found: bool, confidence: float) -> str:
    """高/中/低 at ``HIGH`` and ``MID``; a not-found answer shows its score without a word."""
    pct = round(max(0.0, min(1.0, float(confidence))) * 100)
    if not found:
        level, word = "none", ""
    elif confidence >= HIGH:
        level, word = "high", "高"
    elif confidence >= MID:
        level, word = "mid", "中"
    else:
        level, word = "low", "低"
    return (
        f'<span class="qa-badge qa-badge-{level}" title="置信度 {confidence:.2f}">'
        f"置信度 {word + ' · ' if word else ''}{pct}%</span>"
    )


def source_href(doc: str, start: int, end: int) -> str:
    return f"/source?doc={quote(doc, safe='')}&start={int(start)}&end={int(end)}#hit"


def label_citations(answer: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """``answer`` with each citation given its report's ``title`` and ``report`` id from the
    shelf's ``entries`` (for display: the answer object itself stays as the contract says)."""
    by_doc = {e.get("doc"): e for e in entries if e.get("doc")}
    cites = []
    for cit in answer.get("citations") or []:
        entry = by_doc.get(cit.get("doc"), {})
        cites.append({**cit, "title": entry.get("title", ""), "report": entry.get("id", "")})
    return {**answer, "citations": cites}


def where_cited(cit: dict[str, Any]) -> str:
    """The citation's report (its title when the shelf knows it, and its path) and, for a
    PDF, its page (for Word, its paragraph); as HTML."""
    title = cit.get("title") or ""
    title_html = f'<span class="qa-report">{esc(title)}</span>' if title else ""
    if cit.get("page"):
        title_html += f'<span class="qa-page">第 {int(cit["page"])} 页</span>'
    elif cit.get("paragraph"):
        title_html += f'<span class="qa-page">第 {int(cit["paragraph"])} 段</span>'
    return f'{title_html}<span class="qa-doc">{esc(cit.get("doc", ""))}</span>'


def render_citation(n: int, cit: dict[str, Any], found: bool, clip: int = 0) -> str:
    context = cit.get("context", "")
    rel = int(cit.get("start", 0)) - int(cit.get("context_start", 0))
    body = highlight(context, rel, cit.get("text", ""), "qa-hit" if found else "qa-near", clip)
    section = cit.get("section") or ""
    section_html = f'<span class="qa-section">{esc(section)}</span>' if section else ""
    doc = cit.get("doc", "")
    return (
        f'<div class="qa-cite">{cite_data(cit)}'
        f'<div class="qa-cite-head"><span class="qa-cite-n">[{n}]</span>{section_html}</div>'
        f'<div class="qa-context">{body}</div>'
        f'<div class="qa-cite-foot">{where_cited(cit)}'
        f'<span class="qa-score">相关度 {float(cit.get("score", 0)):.2f}</span>'
        f'<a class="qa-open-source" href="{esc(source_href(doc, cit["start"], cit["end"]))}"'
        f' target="_blank" rel="noopener">查看原文</a></div></div>'
    )


def _data(cls: str, value: dict[str, Any]) -> str:
    """``value`` as JSON in a hidden span: Gradio's sanitizer drops data-* attributes, and
    keeps classes and text."""
    return f'<span class="qa-data {cls}">{esc(json.dumps(value, ensure_ascii=False))}</span>'


def cite_data(cit: dict[str, Any]) -> str:
    """A citation's place and its whole paragraph, for chat.js to map a reader's selection
    in the shown (folded, clipped) paragraph back to report offsets: a correction sent to
    POST /api/feedback."""
    keys = ("doc", "start", "end", "context_start", "context")
    return _data("qa-cite-data", {k: cit.get(k) for k in keys})


def reply_data(ans: dict[str, Any]) -> str:
    """The question and answer a reply's 👍/👎 (chat.js) sends with the vote."""
    return _data("qa-reply-data", {"question": ans.get("question", ""),
                                   "answer": ans.get("answer", ""),
                                   "found": bool(ans.get("found"))})


def render_answer(ans: dict[str, Any], clip: int = 0) -> str:
    """One reply as HTML on a single line (so Markdown leaves it alone), every text escaped.

    ``clip`` > 0 (the compact view) shows about that many characters of each paragraph
    either side of the span; 查看原文 still opens the whole report."""
    found = bool(ans.get("found"))
    cites = list(ans.get("citations") or [])
    badge = confidence_badge(found, float(ans.get("confidence", 0.0)))
    if found:
        head = f'<strong class="qa-answer">{esc(ans.get("answer", ""))}</strong>{badge}'
        rendered = [render_citation(i, c, True, clip) for i, c in enumerate(cites, 1)]
        cites_html = "".join(rendered[:1])
        if len(rendered) > 1:
            cites_html += (
                f'<details class="qa-more"><summary>其他相关段落（{len(rendered) - 1}）'
                f"</summary>{''.join(rendered[1:])}</details>"
            )
    else:
        head = f'<strong class="qa-answer qa-notfound">报告中没有找到答案</strong>{badge}'
        if ans.get("reason"):
            head += f'<div class="qa-reason">{esc(ans["reason"])}</div>'
        cites_html = (
            '<div class="qa-note">以下是最接近的段落，供参考：</div>'
            + "".join(render_citation(i, c, False, clip) for i, c in enumerate(cites, 1))
            if cites
            else ""
        )
    understood = ans.get("understood_as") or ""
    if understood and understood != ans.get("question"):
        head = f'<div class="qa-understood">理解为：{esc(understood)}</div>' + head
    state = "found" if found else "not-found"
    return (
        f'<div class="qa-reply" data-state="{state}">{reply_data(ans)}'
        f'<div class="qa-head">{head}</div>'
        f'<div class="qa-cites">{cites_html}</div></div>'
    )


def render_question(question: str) -> str:
    return f'<div class="qa-question">{esc(fold_breaks(question))}</div>'


def render_error(message: str) -> str:
    return f'<div class="qa-reply qa-error" data-state="error">{esc(message)}</div>'


def render_source_page(doc: str, text: str, start: int, end: int) -> str:
    """The whole report with ``text[start:end]`` marked as ``#hit``."""
    body = f'{esc(text[:start])}<mark id="hit">{esc(text[start:end])}</mark>{esc(text[end:])}'
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>原文 · {esc(Path(doc).name)}</title>"
        '<link rel="stylesheet" href="/qa-assets/source.css"></head><body>'
        f'<header><span class="doc">{esc(doc)}</span>'
        f'<a href="#hit">跳到引用（字符 {start}–{end}）</a></header>'
        f'<pre class="report">{body}</pre></body></html>'
    )
