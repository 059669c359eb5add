"""`qa serve` (and `python app.py`): the chat, the embed view and widget, and the JSON API.

    python -m qa serve                    # http://127.0.0.1:7860/  (= python app.py)
    python app.py --allowed-origins https://intranet.example.com

Loads the assistant once, then hands ``qa.web.create_app`` to uvicorn. Routes and
security are described in ``qa/web/__init__.py``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from qa.config import BACKENDS, Settings
from qa.errors import QAError
from qa.web.constants import EXAMPLES
from qa.web.library import Library, rebuild_from
from qa.web.security import parse_origins
from qa.web.server import create_app

__all__ = ["main"]

log = logging.getLogger("qa.app")


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}")
    return port


def _arguments(argv: Sequence[str] | None, prog: str) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog=prog, description="Serve the report Q&A chat, embed view and API.")
    parser.add_argument("--host", default=env.get("QA_HOST", "127.0.0.1"), help="[127.0.0.1]")
    parser.add_argument("--port", type=_port, default=env.get("QA_PORT", "7860"), help="[7860]")
    parser.add_argument("--source", default="seeds", help="folder of reports [seeds]")
    parser.add_argument("--index", default="index", help="index folder, built if missing [index]")
    parser.add_argument("--backend", choices=BACKENDS, default=env.get("QA_BACKEND") or None,
                        help="where the index is searched: local or milvus [QA_BACKEND or "
                        "local]")
    parser.add_argument(
        "--allowed-origins",
        default=env.get("QA_ALLOWED_ORIGINS", ""),
        metavar="ORIGINS",
        help="comma-separated origins (scheme://host[:port]) that may frame the chat and call "
        "the API from their pages [none: this server only]",
    )
    return parser.parse_args(argv)


def _announce(url: str, origins: Sequence[str], stats: dict, began: float, loaded: float) -> None:
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
        "chat at %(u)s · embed at %(u)sembed/ · widget at %(u)swidget.js · API docs at %(u)sdocs",
        {"u": url},
    )
    log.info("framing and CORS allowed for: %s", ", ".join(origins) or "this origin only")
    log.info("shelf: %s", "uploads and removals with the admin token"
             if os.environ.get("QA_ADMIN_TOKEN") else "read-only (no QA_ADMIN_TOKEN)")


def main(argv: Sequence[str] | None = None, prog: str = "qa serve") -> int:
    """``qa serve`` / ``python app.py``: load the assistant once, then serve until interrupted.

    Flags win over the environment (QA_HOST, QA_PORT, QA_ALLOWED_ORIGINS). QA_ADMIN_TOKEN
    opens the shelf to uploads and removals (read-only without)."""
    args = _arguments(argv, prog)
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
        settings = Settings.from_env()
        if args.backend:
            settings = replace(settings, backend=args.backend)
        assistant = load_assistant(source=args.source, index=args.index, settings=settings)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    loaded = time.perf_counter() - began
    library = Library(assistant, Path(args.source), rebuild_from(Path(args.source),
                                                                 Path(args.index)))
    library.watch(assistant.settings.watch_seconds)
    # The example questions are about the bundled report: offer them only when serving it.
    default_source = Path(args.source).resolve() == (Path.cwd() / "seeds").resolve()
    app = create_app(
        library,
        origins,
        examples=EXAMPLES if default_source else (),
        blocked_paths=[args.index, args.source],
        admin_token=os.environ.get("QA_ADMIN_TOKEN") or None,
    )
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    _announce(f"http://{shown}:{args.port}/", origins, assistant.stats(), began, loaded)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
