"""``create_app``: the API, the pages and both chats on one FastAPI app, behind the
security middleware."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.text.readers import LIMITS
from qa.web.api import add_api_routes
from qa.web.chat import mount_chats
from qa.web.constants import EXAMPLES
from qa.web.feedback import add_feedback_routes
from qa.web.library import Library
from qa.web.pages import add_page_routes
from qa.web.reports import add_report_routes
from qa.web.responses import error
from qa.web.security import SecurityMiddleware, parse_origins
from qa.web.suggestions import add_suggestion_routes

if TYPE_CHECKING:
    from qa.assistant import Assistant
    from qa.feedback.store import FeedbackStore
    from qa.web.ratelimit import RateLimiter


#: the largest report an upload may carry: the converters' own limit (qa/text/readers).
MAX_UPLOAD = LIMITS.max_bytes


def create_app(
    assistant: Assistant | Library,
    allowed_origins: Sequence[str] = (),
    *,
    examples: Sequence[str] = EXAMPLES,
    blocked_paths: Sequence[str | Path] = (),
    admin_token: str | None = None,
    max_upload: int = MAX_UPLOAD,
    feedback: FeedbackStore | None = None,
    feedback_limiter: RateLimiter | None = None,
) -> FastAPI:
    """The whole site for one loaded assistant, or for a ``Library`` (a shelf that can be
    edited and the rebuild that follows an edit); no port is opened here.

    ``allowed_origins`` may frame the chat and call the API from their pages (ValueError if
    one is not ``scheme://host[:port]``); ``blocked_paths`` are folders Gradio must never
    serve a file from; ``admin_token`` opens uploads and removals (read-only without)."""
    origins = parse_origins(list(allowed_origins))
    library = assistant if isinstance(assistant, Library) else Library(assistant)
    stats = dict(library.current.stats())
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

    add_report_routes(app, library, admin_token, max_upload)  # before /api's catch-all
    add_feedback_routes(app, library, feedback, feedback_limiter)
    add_suggestion_routes(app, library)
    add_api_routes(app, library, stats)
    add_page_routes(app, library)
    # Last: the chat mounted at "/" would otherwise shadow every route added after it.
    mount_chats(app, library, examples=examples, stats=stats, blocked_paths=blocked_paths)
    app.add_middleware(SecurityMiddleware, allowed_origins=origins)
    return app
