"""The web front end: a Gradio chat, a JSON API, an embeddable view and its widget script.

Rendering and routing only; every answer comes from ``qa`` (docs/CONTRACT.md).
``create_app(assistant, allowed_origins)`` builds the whole site; ``app.py`` serves it.

Routes: ``/`` chat, ``/embed/`` compact chat for an iframe, ``/widget.js`` the floating
问答 button, ``/source`` one report with a span highlighted, ``POST /api/ask``,
``GET /api/health``, ``GET/POST /api/reports`` and ``DELETE /api/reports/{id}`` the shelf,
``POST /api/feedback`` votes, ``GET /api/suggestions`` questions the reports answer,
``/docs`` the API reference. Everything is served from this host:
no fonts, scripts or analytics from anywhere else.

    security.py  origins, the CORS/framing middleware, Gradio routes that are blocked
    render.py    answers, citations and the source page as escaped HTML (pure functions)
    api.py       /api/ask and /api/health: body parsing, validation, JSON errors
    library.py   the generation answering now, the shelf, the background rebuild and swap
    reports.py   /api/reports: the shelf over HTTP, the admin token, the upload limit
    feedback.py  /api/feedback: votes checked against the shelf and stored (qa/feedback)
    ratelimit.py the in-memory token buckets behind /api/feedback's 429
    suggestions.py /api/suggestions: candidate questions asked and kept when answered
    pages.py     /source, /widget.js, the chat's assets, /docs served offline
    chat.py      the Gradio chat and its compact /embed variant
    server.py    create_app: all of the above on one FastAPI app
"""

import os

# Gradio reads these when it is imported, and every module of this package is imported
# after this file has run.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from qa.web.server import create_app  # noqa: E402

__all__ = ["create_app"]
