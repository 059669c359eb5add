"""``create_app``: the API, the pages and both chats on one FastAPI app, behind the
security middleware."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.web.api import add_api_routes
from qa.web.chat import mount_chats
from qa.web.constants import EXAMPLES
from qa.web.pages import add_page_routes
from qa.web.responses import error
from qa.web.security import SecurityMiddleware, parse_origins

if TYPE_CHECKING:
    from qa.assistant import Assistant


def create_app(
    assistant: Assistant,
    allowed_origins: Sequence[str] = (),
    *,
    examples: Sequence[str] = EXAMPLES,
    blocked_paths: Sequence[str | Path] = (),
) -> FastAPI:
    """The whole site for one loaded assistant; no port is opened here.

    ``allowed_origins`` may frame the chat and call the API from their pages (ValueError if
    one is not ``scheme://host[:port]``); ``blocked_paths`` are folders Gradio must never
    serve a file from."""
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
    # Last: the chat mounted at "/" would otherwise shadow every route added after it.
    mount_chats(app, assistant, examples=examples, stats=stats, blocked_paths=blocked_paths)
    app.add_middleware(SecurityMiddleware, allowed_origins=origins)
    return app
