"""``GET /api/suggestions[?report=ID]``: three to five questions the shelf (or one report)
answers, for the chat to offer when it opens and after an abstention.

Candidates come from qa/answer/suggest.py; each is asked (of its own report when one is
named, else of the whole shelf) and kept only when the answer is found with high
confidence — the chat's 高 badge, ``HIGH`` — and its span lies in the clause the question
was made from. Worked out once per index generation and scope, then served from memory.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from qa.answer.suggest import Candidate, candidates
from qa.errors import BadQuestion
from qa.web.library import Library, NotIndexedYet, UnknownReport
from qa.web.render import HIGH
from qa.web.responses import error

log = logging.getLogger(__name__)

MOST, FEWEST = 5, 3
#: candidates asked at most per scope: bounds the first request on a large shelf.
ASKED_MAX = 40


@dataclass(frozen=True)
class Suggestion:
    question: str
    answer: str
    doc: str
    section: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "answer": self.answer, "doc": self.doc,
                "section": self.section, "confidence": round(self.confidence, 4)}


def checked(library: Library, cand: Candidate, docs: list[str] | None) -> Suggestion | None:
    """``cand`` as a suggestion when asking it finds, with high confidence, a span inside
    the clause it was made from; else None."""
    try:
        answer = library.ask(cand.question, reports=docs)
    except BadQuestion:
        return None
    if not answer.found or answer.confidence < HIGH or not answer.citations:
        return None
    top = answer.citations[0]
    if top.doc != cand.doc or top.start < cand.start or top.end > cand.end:
        return None
    return Suggestion(cand.question, answer.answer, cand.doc, cand.section, answer.confidence)


def suggest(library: Library, docs: list[str] | None, most: int = MOST) -> list[Suggestion]:
    """Up to ``most`` checked suggestions from the reports ``docs`` (all when None)."""
    index = library.current.index
    wanted = set(docs) if docs is not None else None
    chunks = (c for c in index.chunks if wanted is None or c.doc in wanted)
    out: list[Suggestion] = []
    for cand in candidates(chunks, most=ASKED_MAX):
        found = checked(library, cand, docs)
        if found is not None:
            out.append(found)
            if len(out) >= most:
                break
    return out


class SuggestionCache:
    """The suggestions of each (index generation, report id or "") worked out once."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._lock = threading.Lock()
        self._made: dict[tuple[str, str], list[Suggestion]] = {}

    def get(self, report_id: str = "") -> list[Suggestion]:
        """UnknownReport / NotIndexedYet for a report id the shelf cannot ask."""
        docs = self.library.resolve([report_id]) if report_id else None
        key = (self.library.index_generation, report_id)
        with self._lock:  # one computation per key, however many requests wait for it
            if key not in self._made:
                self._made = {k: v for k, v in self._made.items() if k[0] == key[0]}
                self._made[key] = suggest(self.library, docs)
            return self._made[key]


def add_suggestion_routes(app: FastAPI, library: Library) -> None:
    cache = SuggestionCache(library)

    @app.get("/api/suggestions", tags=["qa"], summary="Questions the reports answer")
    async def api_suggestions(request: Request) -> Response:
        """Up to five questions the shelf (or, with `?report=ID`, that report) answers with
        high confidence, each with its answer, report and section: `{"suggestions": […],
        "generation"}`. 400 for an unknown report, 409 for one not indexed yet."""
        report_id = request.query_params.get("report", "").strip()
        try:
            made = await run_in_threadpool(cache.get, report_id)
        except NotIndexedYet as exc:
            return error(409, str(exc))
        except UnknownReport as exc:
            return error(400, str(exc))
        except Exception:
            log.exception("GET /api/suggestions failed")
            return error(500, "internal error")
        return JSONResponse({"suggestions": [s.to_dict() for s in made],
                             "generation": library.index_generation})
