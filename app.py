"""The web front end: a Gradio chat, a JSON API, an embeddable view and its widget script.

Rendering and routing only; every answer comes from ``qa`` (docs/CONTRACT.md).

    python app.py                         # http://127.0.0.1:7860/
    python app.py --allowed-origins https://intranet.example.com

Routes: ``/`` chat, ``/embed/`` compact chat for an iframe, ``/widget.js`` the floating
问答 button, ``/source`` one report with a span highlighted, ``POST /api/ask``,
``GET /api/health``, ``/docs`` the API reference. Everything is served from this host:
no fonts, scripts or analytics from anywhere else.
"""

from __future__ import annotations

import os

# Before gradio is imported: it reads these at import time.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import argparse  # noqa: E402
import html  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402
from urllib.parse import quote, urlsplit  # noqa: E402

import fastapi_offline  # noqa: E402
import gradio as gr  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.concurrency import run_in_threadpool  # noqa: E402
from fastapi.openapi.docs import get_swagger_ui_html  # noqa: E402
from fastapi.responses import (  # noqa: E402
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from pydantic import BaseModel, Field  # noqa: E402
from starlette.datastructures import Headers, MutableHeaders  # noqa: E402
from starlette.exceptions import HTTPException as StarletteHTTPException  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402

from qa import BadQuestion, QAError  # noqa: E402

if TYPE_CHECKING:
    from qa import Assistant

log = logging.getLogger("qa.app")

STATIC = Path(__file__).resolve().parent / "static"
MAX_QUESTION = 500  # the engine enforces it; the page stops typing there too
MAX_BODY = 16 * 1024
TOP_K_RANGE = (1, 10)
MAX_TURNS = 50  # answers kept per browser session
EXAMPLES = (
    "签约了多少个项目？",
    "2016年至2020年全区累计实施了多少个产业扶贫项目？",
    "吸引了多少名人才回乡？",
    "生活垃圾焚烧发电项目每天处理多少吨垃圾？",
)
# Gradio routes the chat never uses: remote fetching, uploads, file serving, monitoring,
# run history, vibe editing, MCP. Blocked under both mounts.
BLOCKED_GRADIO_PATHS = (
    "/gradio_api/proxy=",
    "/gradio_api/file=",
    "/gradio_api/file/",
    "/gradio_api/upload",
    "/gradio_api/stream/",
    "/gradio_api/runs",
    "/gradio_api/run-history",
    "/gradio_api/vibe",
    "/gradio_api/undo-vibe",
    "/gradio_api/process_recording",
    "/gradio_api/mcp",
    "/gradio_api/dev/",
    "/monitoring",
)
CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"


# ---------------------------------------------------------------------------- origins


def parse_origins(raw: str | Iterable[str] | None) -> list[str]:
    """Normalise a comma-separated list of origins; raise ValueError on anything else."""
    items = raw.split(",") if isinstance(raw, str) else list(raw or [])
    origins: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        origin = _normalise_origin(item)
        if origin is None:
            raise ValueError(
                f"not an origin: {item!r}; give scheme://host[:port] such as "
                "https://intranet.example.com (no path, no wildcard)"
            )
        if origin not in origins:
            origins.append(origin)
    return origins


def _normalise_origin(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
        or "*" in value
    ):
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def _strip_default_port(netloc: str) -> str:
    netloc = netloc.lower()
    for suffix in (":80", ":443"):
        if netloc.endswith(suffix):
            return netloc[: -len(suffix)]
    return netloc


# ---------------------------------------------------------------------------- security


class SecurityMiddleware:
    """Framing, CORS and hardening headers for every response, Gradio's included.

    Gradio 6 reflects any Origin with credentials when the host is not localhost; this
    middleware sits outside it, answers preflights itself, drops whatever CORS headers
    an inner app set, and grants ``Access-Control-Allow-Origin`` (never credentials) to
    the allowlist only. A state-changing request whose Origin is neither this host nor
    allowlisted is refused before it reaches a route.
    """

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
    REPLACED = (
        b"access-control-",
        b"content-security-policy",
        b"x-frame-options",
        b"x-content-type-options",
        b"referrer-policy",
        b"cross-origin-",
    )

    PREFLIGHT = {
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "600",
    }

    def __init__(self, app: ASGIApp, allowed_origins: Sequence[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed_origins)
        ancestors = " ".join(["'self'", *allowed_origins])
        self.csp = "; ".join(
            [
                "default-src 'self'",
                "script-src 'self' 'unsafe-inline'",
                "style-src 'self' 'unsafe-inline'",
                "img-src 'self' data: blob:",
                "font-src 'self' data:",
                "connect-src 'self'",
                "media-src 'self' data: blob:",
                "worker-src 'self' blob:",
                "frame-src 'self'",
                "object-src 'none'",
                "base-uri 'self'",
                "form-action 'self'",
                f"frame-ancestors {ancestors}",
            ]
        )

    def _blocked(self, path: str) -> bool:
        if path.startswith("/embed/"):
            path = path[len("/embed") :]
        return path.startswith(BLOCKED_GRADIO_PATHS)

    def _same_origin(self, origin: str, headers: Headers) -> bool:
        host = headers.get("host", "")
        netloc = urlsplit(origin).netloc
        return bool(host) and _strip_default_port(netloc) == _strip_default_port(host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin is not None and _normalise_origin(origin) in self.allowed
        method = scope["method"]

        cors = origin if allowed else None
        extra: dict[str, str] | None = None
        if self._blocked(scope["path"]):
            response: Response = JSONResponse({"error": "not found"}, status_code=404)
        elif method == "OPTIONS" and origin and "access-control-request-method" in headers:
            if allowed:
                response, extra = Response(status_code=204), self.PREFLIGHT
            else:
                response = JSONResponse({"error": "origin not allowed"}, status_code=403)
        elif (
            origin is not None
            and method not in self.SAFE_METHODS
            and not allowed
            and not self._same_origin(origin, headers)
        ):
            response = JSONResponse(
                {"error": f"cross-origin requests from {origin} are not allowed"},
                status_code=403,
            )
        else:
            await self.app(scope, receive, self._wrap_send(send, cors))
            return
        await response(scope, receive, self._wrap_send(send, cors, extra))

    def _wrap_send(
        self, send: Send, cors_origin: str | None, extra: dict[str, str] | None = None
    ) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(self.REPLACED)
                ]
                message["headers"] = raw
                out = MutableHeaders(scope=message)
                out["Content-Security-Policy"] = self.csp
                out["X-Content-Type-Options"] = "nosniff"
                out["Referrer-Policy"] = "same-origin"
                if not self.allowed:
                    out["X-Frame-Options"] = "SAMEORIGIN"
                if cors_origin:
                    out["Access-Control-Allow-Origin"] = cors_origin
                for key, value in (extra or {}).items():
                    out[key] = value
                out.add_vary_header("Origin")
            await send(message)

        return wrapped


# ---------------------------------------------------------------------------- rendering


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


_CJK = re.compile(f"[{CJK}]")
_BREAKS = re.compile(r"[ \t\u3000]*(?:(?:\r\n|\r|\n|\u2028|\u2029)[ \t\u3000]*)+")


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


_STOPS = ("。！？；!?;", "，、,：:")  # cut at a sentence end, else at a clause end


def clip_before(text: str, room: int) -> str:
    if len(text) <= room:
        return text
    tail = text[-room:]
    for stops in _STOPS:
        cut = next((i + 1 for i, ch in enumerate(tail) if ch in stops), 0)
        if 0 < cut < len(tail):
            return "…" + tail[cut:]
    return "…" + tail


def clip_after(text: str, room: int) -> str:
    if len(text) <= room:
        return text
    head = text[:room]
    for stops in _STOPS:
        cut = max((i + 1 for i, ch in enumerate(head) if ch in stops), default=0)
        if cut:
            return head[:cut] + "…"
    return head + "…"


def confidence_badge(found: bool, confidence: float) -> str:
    pct = round(max(0.0, min(1.0, float(confidence))) * 100)
    if not found:
        level, word = "none", ""
    elif confidence >= 0.75:
        level, word = "high", "高"
    elif confidence >= 0.5:
        level, word = "mid", "中"
    else:
        level, word = "low", "低"
    return (
        f'<span class="qa-badge qa-badge-{level}" title="置信度 {confidence:.2f}">'
        f"置信度 {word + ' · ' if word else ''}{pct}%</span>"
    )


def source_href(doc: str, start: int, end: int) -> str:
    return f"/source?doc={quote(doc, safe='')}&start={int(start)}&end={int(end)}#hit"


def render_citation(n: int, cit: dict[str, Any], found: bool, clip: int = 0) -> str:
    context = cit.get("context", "")
    rel = int(cit.get("start", 0)) - int(cit.get("context_start", 0))
    body = highlight(context, rel, cit.get("text", ""), "qa-hit" if found else "qa-near", clip)
    section = cit.get("section") or ""
    section_html = f'<span class="qa-section">{esc(section)}</span>' if section else ""
    doc = cit.get("doc", "")
    return (
        '<div class="qa-cite">'
        f'<div class="qa-cite-head"><span class="qa-cite-n">[{n}]</span>{section_html}</div>'
        f'<div class="qa-context">{body}</div>'
        f'<div class="qa-cite-foot"><span class="qa-doc">{esc(doc)}</span>'
        f'<span class="qa-score">相关度 {float(cit.get("score", 0)):.2f}</span>'
        f'<a class="qa-open-source" href="{esc(source_href(doc, cit["start"], cit["end"]))}"'
        f' target="_blank" rel="noopener">查看原文</a></div></div>'
    )


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
        cites_html = (
            '<div class="qa-note">以下是最接近的段落，供参考：</div>'
            + "".join(render_citation(i, c, False, clip) for i, c in enumerate(cites, 1))
            if cites
            else ""
        )
    state = "found" if found else "not-found"
    return (
        f'<div class="qa-reply" data-state="{state}"><div class="qa-head">{head}</div>'
        f'<div class="qa-cites">{cites_html}</div></div>'
    )


def render_question(question: str) -> str:
    return f'<div class="qa-question">{esc(fold_breaks(question))}</div>'


def render_error(message: str) -> str:
    return f'<div class="qa-reply qa-error" data-state="error">{esc(message)}</div>'


def render_source_page(doc: str, text: str, start: int, end: int) -> str:
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


# ---------------------------------------------------------------------------- JSON API


class CitationOut(BaseModel):
    doc: str
    start: int
    end: int
    text: str
    context: str
    context_start: int
    section: str
    score: float


class AnswerOut(BaseModel):
    question: str
    found: bool
    answer: str
    confidence: float = Field(ge=0, le=1)
    citations: list[CitationOut]


class ErrorOut(BaseModel):
    error: str


ASK_BODY_SCHEMA = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["question"],
                "properties": {
                    "question": {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION},
                    "top_k": {
                        "type": "integer",
                        "minimum": TOP_K_RANGE[0],
                        "maximum": TOP_K_RANGE[1],
                        "default": 3,
                    },
                },
            },
            "example": {"question": EXAMPLES[0], "top_k": 3},
        }
    },
}
ERRORS = {
    400: {"model": ErrorOut, "description": "The body is not JSON"},
    403: {"model": ErrorOut, "description": "Cross-origin call from an origin not allowed"},
    413: {"model": ErrorOut, "description": "The body is too large"},
    422: {"model": ErrorOut, "description": "A missing, empty or invalid field"},
    500: {"model": ErrorOut, "description": "Internal error (logged on the server)"},
}


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class BodyTooLarge(Exception):
    pass


async def read_json(request: Request) -> Any:
    """The parsed body, read no further than MAX_BODY bytes; ValueError if it is not JSON."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY:
            raise BodyTooLarge
    try:
        return json.loads(bytes(body).decode("utf-8"))
    except RecursionError:  # [[[[… nested deeper than the parser's stack
        raise ValueError("nested too deeply") from None


def parse_ask(payload: Any) -> tuple[str, int] | str:
    """The question and top_k of a request body, or an error message."""
    if not isinstance(payload, dict):
        return 'the body must be a JSON object such as {"question": "…", "top_k": 3}'
    if "question" not in payload:
        return "missing field: question（缺少问题）"
    question = payload["question"]
    if not isinstance(question, str):
        return "question must be a string（问题必须是文本）"
    top_k = payload.get("top_k", 3)
    if top_k is None:
        top_k = 3
    lo, hi = TOP_K_RANGE
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not lo <= top_k <= hi:
        return f"top_k must be an integer from {lo} to {hi}"
    return question, top_k


def add_api_routes(app: FastAPI, assistant: Assistant, stats: dict[str, Any]) -> None:
    @app.post(
        "/api/ask",
        response_model=AnswerOut,
        responses=ERRORS,
        openapi_extra={"requestBody": ASK_BODY_SCHEMA},
        summary="Answer a question from the reports",
        tags=["qa"],
    )
    async def api_ask(request: Request) -> Response:
        """Returns the answer object of docs/CONTRACT.md: a verbatim span of a report with
        its citations, or `found: false` and the nearest passages."""
        try:
            return await answer_request(request)
        except Exception:
            log.exception("POST /api/ask failed")
            return error(500, "internal error")

    async def answer_request(request: Request) -> Response:
        try:
            payload = await read_json(request)
        except BodyTooLarge:
            return error(413, f"the request body is larger than {MAX_BODY} bytes")
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return error(400, "the request body is not valid JSON（请求体不是合法的 JSON）")
        parsed = parse_ask(payload)
        if isinstance(parsed, str):
            return error(422, parsed)
        question, top_k = parsed
        try:
            answer = await run_in_threadpool(assistant.ask, question, top_k=top_k)
        except BadQuestion as exc:
            return error(422, str(exc))
        return JSONResponse(answer.to_dict())

    @app.get("/api/health", tags=["qa"], summary="200 once the index is loaded")
    async def api_health() -> dict[str, Any]:
        return {"status": "ok", **stats}

    # Without this the chat mounted at "/" would answer other /api paths with its own 404.
    @app.api_route(
        "/api/{rest:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def api_other(rest: str) -> JSONResponse:
        if rest in ("ask", "health"):
            return error(405, "method not allowed")
        return error(404, "not found")


# ---------------------------------------------------------------------------- pages


def add_page_routes(app: FastAPI, assistant: Assistant) -> None:
    assets = {
        "chat.js": "text/javascript",
        "source.css": "text/css",
    }

    @app.get("/embed", include_in_schema=False)
    async def embed_root() -> RedirectResponse:
        return RedirectResponse("/embed/", status_code=308)

    @app.get("/widget.js", include_in_schema=False)
    async def widget() -> FileResponse:
        return FileResponse(
            STATIC / "widget.js",
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @app.get("/qa-assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in assets:
            return error(404, "not found")
        return FileResponse(STATIC / name, media_type=f"{assets[name]}; charset=utf-8")

    @app.get("/source", include_in_schema=False)
    def source(request: Request) -> Response:
        q = request.query_params
        doc = q.get("doc", "")
        try:
            start, end = int(q.get("start", "0")), int(q.get("end", "0"))
        except ValueError:
            return _page(400, "参数错误", "start 和 end 必须是整数。")
        try:
            text = assistant.source_text(doc) if doc else None
        except Exception:  # unknown doc: never fall through to reading a path
            text = None
        if text is None:
            return _page(404, "找不到报告", "没有这份报告。")
        if not 0 <= start <= end <= len(text):
            return _page(400, "参数错误", "引用的位置超出了报告范围。")
        return HTMLResponse(render_source_page(doc, text, start, end))

    # Swagger UI's files from the fastapi-offline package: FastAPI's default loads them from a CDN.
    offline = Path(fastapi_offline.__file__).parent / "static"

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="报告问答 API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="data:,",
            swagger_ui_parameters={"validatorUrl": None, "defaultModelsExpandDepth": 0},
        )

    @app.get("/docs-assets/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        if name not in ("swagger-ui-bundle.js", "swagger-ui.css"):
            return error(404, "not found")
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return FileResponse(offline / name, media_type=f"{kind}; charset=utf-8")


def _page(status: int, title: str, message: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<p>{esc(message)}</p></html>",
        status_code=status,
    )


# ---------------------------------------------------------------------------- Gradio


def make_theme() -> gr.themes.Base:
    # System fonts only: a named Google font would make every page call fonts.googleapis.com.
    sans = [
        "Noto Sans CJK SC",
        "Source Han Sans SC",
        "PingFang SC",
        "Microsoft YaHei",
        "sans-serif",
    ]
    mono = ["Noto Sans Mono CJK SC", "DejaVu Sans Mono", "monospace"]
    return gr.themes.Default(primary_hue="blue", font=sans, font_mono=mono)


def build_chat(
    assistant: Assistant, *, compact: bool, examples: Sequence[str], stats: dict[str, Any]
) -> gr.Blocks:
    """The chat UI; ``compact`` is the /embed variant (no header, fills its iframe)."""

    def turn(question: Any, history: list[dict[str, str]] | None) -> tuple[Any, Any, Any]:
        history = list(history or [])
        if not isinstance(question, str) or not question.strip():
            return gr.skip(), gr.skip(), gr.skip()
        try:
            reply = render_answer(assistant.ask(question).to_dict(), clip=60 if compact else 0)
        except BadQuestion as exc:
            reply = render_error(str(exc))
        except Exception:
            log.exception("chat turn failed for a %d-character question", len(question))
            reply = render_error("出错了，请稍后再试。/ Internal error, please try again.")
        history += [
            {"role": "user", "content": render_question(question)},
            {"role": "assistant", "content": reply},
        ]
        history = history[-2 * MAX_TURNS :]
        return history, history, ""

    def example(history: list[dict[str, str]] | None, evt: gr.SelectData) -> tuple[Any, ...]:
        value = evt.value if isinstance(evt.value, dict) else {}
        return turn(value.get("text", ""), history)

    def clear() -> tuple[list, list, str]:
        return [], [], ""

    def ask(question: str, top_k: int = 3) -> dict:
        """The answer object of docs/CONTRACT.md, for gradio_client users."""
        try:
            return assistant.ask(question, top_k=int(top_k)).to_dict()
        except BadQuestion as exc:
            raise gr.Error(str(exc)) from None

    subtitle = f"{stats.get('documents', '?')} 份报告 · {stats.get('paragraphs', '?')} 个段落"
    with gr.Blocks(
        title="报告问答",
        analytics_enabled=False,
        fill_width=compact,
    ) as demo:
        history = gr.State([])
        if not compact:
            # Markdown, not gr.HTML: Gradio 6 evaluates gr.HTML templates with `new Function`,
            # which the page's Content-Security-Policy (no 'unsafe-eval') refuses.
            gr.Markdown(
                "# 报告问答\n\n答案逐字摘自报告原文，并注明出处。"
                f"{esc(subtitle)} · [API 文档](/docs)",
                elem_classes=["qa-title"],
                sanitize_html=True,
            )
        chatbot = gr.Chatbot(
            show_label=False,
            elem_id="qa-chat",
            # The embed view: the chat takes the iframe's height less the input row.
            height="calc(100dvh - 84px)" if compact else 560,
            sanitize_html=True,
            latex_delimiters=[],
            feedback_options=None,
            buttons=[],
            layout="panel" if compact else "bubble",
            group_consecutive_messages=False,
            placeholder="<div class='qa-placeholder'>请输入关于报告的问题，或点一个示例问题。</div>",
            examples=[{"text": q} for q in examples] or None,
        )
        with gr.Row(equal_height=True, elem_id="qa-input-row"):
            box = gr.Textbox(
                show_label=False,
                placeholder="输入问题，回车提问"
                if compact
                else "输入问题，按回车提问（最多 500 字）",
                max_length=MAX_QUESTION,
                lines=1,
                scale=8,
                autofocus=not compact,
                elem_id="qa-question",
                container=False,
            )
            send = gr.Button("提问", variant="primary", scale=1, min_width=72, elem_id="qa-send")
            reset = gr.Button(
                "清空", variant="secondary", scale=1, min_width=72, elem_id="qa-clear"
            )

        outputs = [chatbot, history, box]
        box.submit(turn, [box, history], outputs, api_name="chat")
        send.click(turn, [box, history], outputs, api_visibility="private")
        chatbot.example_select(example, [history], outputs, api_visibility="private")
        reset.click(clear, None, outputs, api_name="clear")
        chatbot.clear(clear, None, outputs, api_visibility="private")  # its own 🗑 button
        gr.api(ask, api_name="ask")
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo


# ---------------------------------------------------------------------------- app


def create_app(
    assistant: Assistant,
    allowed_origins: Sequence[str] = (),
    *,
    examples: Sequence[str] = EXAMPLES,
    blocked_paths: Sequence[str | Path] = (),
) -> FastAPI:
    """The whole site for one loaded assistant; no port is opened here."""
    origins = parse_origins(list(allowed_origins))
    stats = dict(assistant.stats())
    app = FastAPI(
        title="报告问答 API",
        version="1",
        description="Extractive, cited answers from the reports. See docs/CONTRACT.md.",
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    add_api_routes(app, assistant, stats)
    add_page_routes(app, assistant)

    head = '<script src="/qa-assets/chat.js" defer></script>'
    blocked = [str(Path(p).resolve()) for p in blocked_paths]
    common: dict[str, Any] = dict(
        footer_links=[],
        run_history=False,
        enable_monitoring=False,
        pwa=False,
        mcp_server=False,
        ssr_mode=False,
        show_error=False,
        max_file_size="1kb",
        blocked_paths=blocked,
        theme=make_theme(),
        head=head,
    )
    embed = build_chat(assistant, compact=True, examples=examples, stats=stats)
    gr.mount_gradio_app(
        app, embed, path="/embed", css_paths=[STATIC / "chat.css", STATIC / "embed.css"], **common
    )
    chat = build_chat(assistant, compact=False, examples=examples, stats=stats)
    gr.mount_gradio_app(app, chat, path="/", css_paths=[STATIC / "chat.css"], **common)
    app.add_middleware(SecurityMiddleware, allowed_origins=origins)
    return app


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    """``python app.py``: load the assistant once, then serve until interrupted.

    Flags win over the environment (QA_HOST, QA_PORT, QA_ALLOWED_ORIGINS)."""
    env = os.environ
    parser = argparse.ArgumentParser(description="Serve the report Q&A chat, embed view and API.")
    parser.add_argument("--host", default=env.get("QA_HOST", "127.0.0.1"), help="[127.0.0.1]")
    parser.add_argument("--port", type=_port, default=env.get("QA_PORT", "7860"), help="[7860]")
    parser.add_argument("--source", default="seeds", help="folder of reports [seeds]")
    parser.add_argument("--index", default="index", help="index folder, built if missing [index]")
    parser.add_argument(
        "--allowed-origins",
        default=env.get("QA_ALLOWED_ORIGINS", ""),
        metavar="ORIGINS",
        help="comma-separated origins (scheme://host[:port]) that may frame the chat and call "
        "the API from their pages [none: this server only]",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)
    try:
        origins = parse_origins(args.allowed_origins)
    except ValueError as exc:
        print(f"error: --allowed-origins: {exc}", file=sys.stderr)
        return 2

    import uvicorn

    from qa import load_assistant

    began = time.perf_counter()
    try:
        assistant = load_assistant(source=args.source, index=args.index)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    loaded = time.perf_counter() - began
    default_source = Path(args.source).resolve() == (Path.cwd() / "seeds").resolve()
    app = create_app(
        assistant,
        origins,
        examples=EXAMPLES if default_source else (),
        blocked_paths=[args.index, args.source],
    )
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{shown}:{args.port}/"
    stats = assistant.stats()
    log.info(
        "start-up took %.1f s (index and model loaded in %.1f s: %s report(s), %s paragraphs, "
        "model %s)",
        time.perf_counter() - began,
        loaded,
        stats.get("documents", "?"),
        stats.get("paragraphs", "?"),
        stats.get("model", "?"),
    )
    log.info(
        "chat at %s · embed at %sembed/ · widget at %swidget.js · API docs at %sdocs",
        url,
        url,
        url,
        url,
    )
    log.info("framing and CORS allowed for: %s", ", ".join(origins) or "this origin only")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
