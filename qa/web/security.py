"""Who may frame the chat and call the API: origin parsing, and the middleware that sets
CORS, framing and hardening headers on every response and blocks Gradio routes we never use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from fastapi.responses import Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.web.responses import error

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


def parse_origins(raw: str | Iterable[str] | None) -> list[str]:
    """Normalise a comma-separated list of origins; raise ValueError on anything else."""
    items = raw.split(",") if isinstance(raw, str) else list(raw or [])
    origins: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        origin = normalise_origin(item)
        if origin is None:
            raise ValueError(
                f"not an origin: {item!r}; give scheme://host[:port] such as "
                "https://intranet.example.com (no path, no wildcard)"
            )
        if origin not in origins:
            origins.append(origin)
    return origins


def normalise_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or None if ``value``
    is not an http(s) origin (a path, query, credentials or wildcard make it none)."""
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
    # Browsers leave a default port out of Origin; a Host header may carry it.
    netloc = netloc.lower()
    for suffix in (":80", ":443"):
        if netloc.endswith(suffix):
            return netloc[: -len(suffix)]
    return netloc


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
        "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Authorization",
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
        # "This host" is the Host header: behind a reverse proxy that rewrites it, the
        # chat's own POSTs look cross-origin unless the public origin is allowlisted.
        host = headers.get("host", "")
        netloc = urlsplit(origin).netloc
        return bool(host) and _strip_default_port(netloc) == _strip_default_port(host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin is not None and normalise_origin(origin) in self.allowed
        method = scope["method"]

        cors = origin if allowed else None
        extra: dict[str, str] | None = None
        if self._blocked(scope["path"]):
            response: Response = error(404, "not found")
        elif method == "OPTIONS" and origin and "access-control-request-method" in headers:
            if allowed:
                response, extra = Response(status_code=204), self.PREFLIGHT
            else:
                response = error(403, "origin not allowed")
        elif (
            origin is not None
            and method not in self.SAFE_METHODS
            and not allowed
            and not self._same_origin(origin, headers)
        ):
            response = error(403, f"cross-origin requests from {origin} are not allowed")
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
