"""The two error shapes: ``{"error": …}`` JSON for programs, a one-line page for people."""

from __future__ import annotations

from fastapi.responses import HTMLResponse, JSONResponse

from qa.web.render import esc


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def message_page(status: int, title: str, message: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<p>{esc(message)}</p></html>",
        status_code=status,
    )
