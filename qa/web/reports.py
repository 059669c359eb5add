"""The shelf over HTTP: ``GET /api/reports``, ``POST /api/reports`` (one file, multipart
field ``file``) and ``DELETE /api/reports/{id}``.

Listing needs nothing; an upload or a removal needs ``Authorization: Bearer <token>`` with
the token the server was started with (``QA_ADMIN_TOKEN``). Without one the shelf is
read-only and says so (403); a missing or wrong token is a 401. The token is checked
before the body is read, and the body is read no further than the upload limit.
"""

from __future__ import annotations

import hmac
import logging
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.types import Message

from qa.web.library import Library, ShelfError
from qa.web.responses import error

log = logging.getLogger(__name__)

#: room for the multipart framing around the file itself.
FORM_OVERHEAD = 64 * 1024
READ_ONLY = ("the shelf is read-only: the server was started without QA_ADMIN_TOKEN"
             "（书架只读：服务器未设置管理口令 QA_ADMIN_TOKEN）")
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f]")


class UploadTooLarge(Exception):
    pass


def admin_refusal(request: Request, token: str | None, library: Library) -> Response | None:
    """None when the request carries the admin token, else the 401/403 that says why."""
    if not token or not library.editable:
        return error(403, READ_ONLY)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                          token.encode()):
        return None
    response = error(401, "an admin token is needed: send Authorization: Bearer <token>"
                     "（需要管理口令）")
    response.headers["WWW-Authenticate"] = 'Bearer realm="qa-shelf"'
    return response


def upload_name(raw: str | None) -> str | None:
    """The file name of an upload without any folder part, or None when it has none or is
    not a name a file on the shelf could have."""
    name = PurePosixPath((raw or "").replace("\\", "/")).name.strip()
    if not name or name.startswith(".") or len(name) > 200 or _BAD_NAME.search(name):
        return None
    return name


async def read_upload(request: Request, limit: int) -> tuple[str, bytes] | Response:
    """(file name, bytes) of the multipart field ``file``, or the 4xx that refuses it."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + FORM_OVERHEAD:
        raise UploadTooLarge
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit + FORM_OVERHEAD:
            raise UploadTooLarge
        return message

    try:
        form = await Request(request.scope, receive).form(max_files=1, max_fields=8)
    except MultiPartException as exc:
        return error(400, f"the upload is not a valid multipart form: {exc.message}")
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return error(422, "missing field: file (send the report as multipart/form-data, "
                     "field file)（缺少文件）")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge
    name = upload_name(upload.filename)
    if name is None:
        return error(422, f"not a usable file name: {upload.filename!r}")
    return name, data


def add_report_routes(app: FastAPI, library: Library, admin_token: str | None,
                      max_upload: int) -> None:
    mb = max_upload / 2**20

    @app.get("/api/reports", tags=["shelf"], summary="The reports on the shelf")
    def list_reports() -> dict[str, Any]:
        """Every report with its `id` (for `reports` in `/api/ask`), title, file name,
        format, paragraphs, when it was added, its sha256, and whether it is indexed yet."""
        writable = bool(admin_token) and library.editable
        return {"reports": library.entries(), "writable": writable,
                "read_only": "" if writable else READ_ONLY, **library.status()}

    @app.post("/api/reports", status_code=201, tags=["shelf"], summary="Add a report")
    async def add_report(request: Request) -> Response:
        """Upload one report (multipart, field `file`): PDF, Word (.docx), HTML, .txt or
        .md, told by its content. 201 with its entry; it is answerable once `indexed`."""
        refused = admin_refusal(request, admin_token, library)
        if refused is not None:
            return refused
        try:
            upload = await read_upload(request, max_upload)
        except UploadTooLarge:
            return error(413, f"the file is larger than the limit of {mb:.0f} MB for one "
                         f"report（文件超过 {mb:.0f} MB）")
        if isinstance(upload, Response):
            return upload
        try:
            entry = await run_in_threadpool(library.add, *upload)
        except ShelfError as exc:
            return error(exc.status, str(exc))
        except Exception:
            log.exception("POST /api/reports failed")
            return error(500, "internal error")
        return JSONResponse(entry, status_code=201,
                            headers={"Location": f"/api/reports/{quote(entry['id'])}"})

    @app.delete("/api/reports/{report_id:path}", tags=["shelf"], summary="Remove a report")
    async def remove_report(report_id: str, request: Request) -> Response:
        """Take a report off the shelf: its answers stop at once; 200 with its entry."""
        refused = admin_refusal(request, admin_token, library)
        if refused is not None:
            return refused
        try:
            entry = await run_in_threadpool(library.remove, report_id)
        except ShelfError as exc:
            return error(exc.status, str(exc))
        except Exception:
            log.exception("DELETE /api/reports failed")
            return error(500, "internal error")
        return JSONResponse(entry)
