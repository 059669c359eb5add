"""Serve the report Q&A site: the chat, the embed view and widget, and the JSON API.

    python app.py                         # http://127.0.0.1:7860/
    python app.py --allowed-origins https://intranet.example.com

A thin entry point for ``qa serve`` (qa/web/serve.py): the same flags, the same exit codes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from qa.web import create_app, serve

__all__ = ["create_app", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python app.py``: ``qa serve`` with the same flags and exit codes."""
    return serve.main(argv, prog="app.py")

if __name__ == "__main__":
    sys.exit(main())
