"""The JSON API: ``POST /api/ask`` and ``GET /api/health``, with their OpenAPI description.

The body is read and checked here, so that every bad request gets a one-line
``{"error": …}`` with a 4xx status instead of FastAPI's validation detail.
"""

from __future__ import annotations

import json
import logging
from typing import Any, get_type_hints

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, create_model

from qa.config import TOP_K_MAX, TOP_K_MIN, valid_top_k
from qa.errors import BackendError, BadQuestion
from qa.schema import Answer, Citation
from qa.web.constants import EXAMPLES
from qa.web.library import Library, NotIndexedYet, UnknownReport
from qa.web.responses import error

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
MAX_REPORTS = 1000  # ids in one question's ``reports``
MAX_HISTORY = 20  # earlier questions in one question's ``history``


def _model(name: str, contract: type, **overrides: Any) -> type[BaseModel]:
    """A pydantic model with the fields of a ``qa.schema`` dataclass, for the API docs only:
    the response itself is ``to_dict()`` of the dataclass."""
    fields: dict[str, Any] = {k: (t, ...) for k, t in get_type_hints(contract).items()}
    return create_model(name, **{**fields, **overrides})


CitationOut = _model("CitationOut", Citation)
AnswerOut = _model(
    "AnswerOut",
    Answer,
    confidence=(float, Field(ge=0, le=1)),
    citations=(list[CitationOut], ...),  # type: ignore[valid-type]
)


class ErrorOut(BaseModel):
    error: str


def ask_body_schema(max_question_chars: int) -> dict[str, Any]:
    """The OpenAPI description of POST /api/ask's body, with the engine's own limits."""
    properties = {
        "question": {"type": "string", "minLength": 1, "maxLength": max_question_chars},
        "top_k": {"type": "integer", "minimum": TOP_K_MIN, "maximum": TOP_K_MAX, "default": 3},
        "explain": {"type": "boolean", "default": False,
                    "description": "also return the trace of each answering stage"},
        "reports": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_REPORTS,
                    "description": "ask only these reports (ids from GET /api/reports); "
                                   "all when absent"},
        "history": {"type": "array", "maxItems": MAX_HISTORY,
                    "items": {"type": "string", "maxLength": max_question_chars},
                    "description": "the conversation's earlier questions, oldest first: an "
                                   "elliptical question (总投资呢？) is read with their topic; "
                                   "the answer's understood_as says how"},
    }
    return {
        "required": True,
        "content": {"application/json": {
            "schema": {"type": "object", "required": ["question"], "properties": properties},
            "example": {"question": EXAMPLES[0], "top_k": 3},
        }},
    }
ERRORS = {
    400: {"model": ErrorOut, "description": "The body is not JSON, or an unknown report id"},
    403: {"model": ErrorOut, "description": "Cross-origin call from an origin not allowed"},
    409: {"model": ErrorOut, "description": "A report asked is still being indexed"},
    413: {"model": ErrorOut, "description": "The body is too large"},
    422: {"model": ErrorOut, "description": "A missing, empty or invalid field"},
    500: {"model": ErrorOut, "description": "Internal error (logged on the server)"},
}


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


def parse_reports(payload: dict[str, Any]) -> list[str] | None | str:
    """The report ids of ``reports`` (None when absent or null), or an error message."""
    reports = payload.get("reports")
    if reports is None:
        return None
    if (not isinstance(reports, list) or not 0 < len(reports) <= MAX_REPORTS
            or not all(isinstance(r, str) and r for r in reports)):
        return (f"reports must be a list of 1 to {MAX_REPORTS} report ids "
                "(GET /api/reports)（reports 必须是报告编号的列表）")
    return reports


def parse_history(payload: dict[str, Any], max_chars: int) -> list[str] | None | str:
    """The earlier questions of ``history`` (None when absent or null), or an error message."""
    history = payload.get("history")
    if history is None:
        return None
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        return "history must be a list of the earlier questions（history 必须是之前问题的列表）"
    if len(history) > MAX_HISTORY:
        return f"history holds {len(history)} questions; the limit is {MAX_HISTORY}"
    if any(len(h.strip()) > max_chars for h in history):
        return f"a question in history is longer than {max_chars} characters"
    return history


def scope_of(library: Library, payload: dict[str, Any]) -> list[str] | None | Response:
    """The cited paths of the reports a question asks (None: all), or the error response:
    422 for a malformed list, 400 for an unknown id, 409 for a report not indexed yet."""
    scope = parse_reports(payload)
    if isinstance(scope, str):
        return error(422, scope)
    try:
        return None if scope is None else library.resolve(scope)
    except NotIndexedYet as exc:
        return error(409, str(exc))
    except UnknownReport as exc:
        return error(400, str(exc))


def parse_ask(payload: Any, max_chars: int) -> tuple[str, int, bool, list[str] | None] | str:
    """The question, top_k, explain and history of a request body, or an error message."""
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
    if not valid_top_k(top_k):
        return f"top_k must be an integer from {TOP_K_MIN} to {TOP_K_MAX}"
    explain = payload.get("explain", False)
    if not isinstance(explain, bool):
        return "explain must be true or false"
    history = parse_history(payload, max_chars)
    return history if isinstance(history, str) else (question, top_k, explain, history)


async def health(library: Library) -> JSONResponse:
    """The index's figures and its backend's state: 503 while the backend (a Milvus server)
    does not answer, so that a load balancer stops sending questions here."""
    backend = await run_in_threadpool(library.backend_health)
    ok = bool(backend.get("ok"))
    return JSONResponse({"status": "ok" if ok else "backend unavailable", **library.stats(),
                         "backend": backend}, status_code=200 if ok else 503)


#: the paths under /api/ this app answers (another method on one of them gets 405)
API_PATHS = ("ask", "health", "reports", "feedback", "suggestions")


def add_api_routes(app: FastAPI, assistant: Library, stats: dict[str, Any]) -> None:
    @app.post(
        "/api/ask",
        response_model=AnswerOut,
        responses=ERRORS,
        openapi_extra={"requestBody": ask_body_schema(assistant.settings.max_question_chars)},
        summary="Answer a question from the reports",
        tags=["qa"],
    )
    async def api_ask(request: Request) -> Response:
        """Returns the answer object of docs/CONTRACT.md: a verbatim span of a report with
        its citations, or `found: false` and the nearest passages; with `"explain": true`
        also a `trace` of what each answering stage saw and scored."""
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
        parsed = parse_ask(payload, assistant.settings.max_question_chars)
        if isinstance(parsed, str):
            return error(422, parsed)
        question, top_k, explain, history = parsed
        docs = scope_of(assistant, payload)
        if isinstance(docs, Response):
            return docs
        try:
            if not explain:
                answer = await run_in_threadpool(assistant.ask, question, top_k=top_k,
                                                 reports=docs, history=history)
                return JSONResponse(answer.to_dict())
            answer, trace = await run_in_threadpool(assistant.ask_traced, question, top_k,
                                                    "hybrid", docs, history)
        except BadQuestion as exc:
            return error(422, str(exc))
        except BackendError as exc:  # Milvus went away: one line naming its URI
            return error(503, str(exc))
        return JSONResponse({**answer.to_dict(), "trace": trace.to_dict()})

    @app.get("/api/health", tags=["qa"], summary="200 once the index is loaded, 503 if its backend is down")
    async def api_health() -> JSONResponse:
        return await health(assistant)

    # Without this the chat mounted at "/" would answer other /api paths with its own 404.
    @app.api_route(
        "/api/{rest:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def api_other(rest: str) -> JSONResponse:
        if rest in API_PATHS or rest.startswith("reports/"):
            return error(405, "method not allowed")
        return error(404, "not found")
