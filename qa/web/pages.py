"""Pages and files outside the chat: /source, /widget.js, the chat's assets, offline /docs.

Files are served by name from a fixed list, never by path, so nothing else in a folder
(or above it) is reachable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from qa.web.constants import STATIC
from qa.web.render import render_source_page
from qa.web.responses import error, message_page

if TYPE_CHECKING:
    from qa.assistant import Assistant

JS, CSS = "text/javascript", "text/css"
ASSETS = {"chat.js": JS, "source.css": CSS}  # what the chat and /source pages load
# Swagger UI's files from the fastapi-offline package: FastAPI's default loads them from a CDN.
SWAGGER = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_ASSETS = {"swagger-ui-bundle.js": JS, "swagger-ui.css": CSS}


def _file(path: Path, kind: str, headers: dict[str, str] | None = None) -> FileResponse:
    return FileResponse(path, media_type=f"{kind}; charset=utf-8", headers=headers)


def add_page_routes(app: FastAPI, assistant: Assistant) -> None:
    @app.get("/embed", include_in_schema=False)
    async def embed_root() -> RedirectResponse:
        return RedirectResponse("/embed/", status_code=308)

    @app.get("/widget.js", include_in_schema=False)
    async def widget() -> FileResponse:
        return _file(STATIC / "widget.js", JS, {"Cache-Control": "public, max-age=300"})

    @app.get("/qa-assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in ASSETS:
            return error(404, "not found")
        return _file(STATIC / name, ASSETS[name])

    @app.get("/source", include_in_schema=False)
    def source(request: Request) -> Response:
        q = request.query_params
        doc = q.get("doc", "")
        try:
            start, end = int(q.get("start", "0")), int(q.get("end", "0"))
        except ValueError:
            return message_page(400, "参数错误", "start 和 end 必须是整数。")
        try:
            text = assistant.source_text(doc) if doc else None
        except Exception:  # unknown doc: never fall through to reading a path
            text = None
        if text is None:
            return message_page(404, "找不到报告", "没有这份报告。")
        if not 0 <= start <= end <= len(text):
            return message_page(400, "参数错误", "引用的位置超出了报告范围。")
        return HTMLResponse(render_source_page(doc, text, start, end))

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
        if name not in SWAGGER_ASSETS:
            return error(404, "not found")
        return _file(SWAGGER / name, SWAGGER_ASSETS[name])
