"""``POST /api/feedback``: a 👍 or 👎 on an answer, with an optional corrected span (👎
only) or "the report does not say this" (a 👎, or a 👍 on an answer that said so), stored
by qa/feedback/store.py.

Checked here: the body's shape (422 with one line saying what is wrong), that a cited or
corrected span slices a report on the shelf answering now (422 otherwise), and the rate
(429 with Retry-After, per client and for all clients together; the client's address is
held in memory only). Answered 201 with the stored vote's id.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from qa.feedback.export import evidence_window
from qa.feedback.store import LIMITS, VOTES, FeedbackStore, Piece, Vote
from qa.web.api import BodyTooLarge, read_json
from qa.web.library import Library
from qa.web.ratelimit import Rate, RateLimiter, retry_after
from qa.web.responses import error

log = logging.getLogger(__name__)

#: per client: 10 votes at once, then one every 3 seconds; all clients: 60, then 2 a second.
EACH, EVERYONE = Rate(10, 1 / 3), Rate(60, 2.0)


@dataclass(frozen=True)
class Where:
    """``{"doc", "start", "end"}`` of the request, not yet checked against the shelf."""

    doc: str
    start: int
    end: int


@dataclass(frozen=True)
class FeedbackRequest:
    question: str
    vote: str
    answer: str
    citation: Where | None
    correction: Where | None
    not_in_report: bool
    name: str


class Refused(Exception):
    """A request the store cannot take: 422 with this message."""


def _where(value: Any, what: str) -> Where | None:
    if value is None:
        return None
    ok = (isinstance(value, dict) and isinstance(value.get("doc"), str) and value["doc"]
          and all(type(value.get(k)) is int for k in ("start", "end")))
    if not ok:
        raise Refused(f'{what} must be {{"doc": "…", "start": int, "end": int}} '
                      f"（{what} 须给出报告 doc 与起止位置 start、end）")
    return Where(value["doc"], value["start"], value["end"])


def _text(payload: dict[str, Any], key: str, most: int, required: bool = False) -> str:
    value = payload.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Refused(f"{key} must be a non-empty string" if required
                      else f"{key} must be a string")
    if len(value) > most:
        raise Refused(f"{key} is longer than {most} characters")
    return value


def parse_feedback(payload: Any, max_question: int) -> FeedbackRequest:
    """The request in ``payload``; Refused saying what is wrong with it."""
    if not isinstance(payload, dict):
        raise Refused('the body must be a JSON object such as {"question": "…", "vote": "up"}')
    question = _text(payload, "question", max_question, required=True)
    vote = payload.get("vote")
    if vote not in VOTES:
        raise Refused('vote must be "up" or "down"（vote 须为 "up" 或 "down"）')
    not_in_report = payload.get("not_in_report", False)
    if not isinstance(not_in_report, bool):
        raise Refused("not_in_report must be true or false")
    citation = _where(payload.get("citation"), "citation")
    correction = _where(payload.get("correction"), "correction")
    if correction is not None and vote != "down":
        raise Refused("a correction goes with a down-vote only")
    if correction is not None and not_in_report:
        raise Refused("give a correction or not_in_report, not both")
    return FeedbackRequest(question.strip(), vote, _text(payload, "answer", LIMITS.answer),
                           citation, correction, not_in_report,
                           _text(payload, "name", LIMITS.name).strip())


def _slice(library: Library, where: Where, what: str) -> tuple[Piece, str]:
    """(the piece ``where`` names, its report's text); Refused unless it slices a report
    on the shelf answering now."""
    shown = {e.get("doc") for e in library.entries() if e.get("indexed")}
    try:
        text = library.source_text(where.doc) if where.doc in shown else None
    except KeyError:
        text = None
    if text is None:
        raise Refused(f"{what}: no report {where.doc!r} on the shelf（书架上没有这份报告）")
    if not 0 <= where.start < where.end <= len(text):
        raise Refused(f"{what}: [{where.start}:{where.end}] is not a span of {where.doc!r}, "
                      f"whose text has {len(text)} characters（位置超出报告范围）")
    piece = text[where.start:where.end]
    if len(piece) > LIMITS.span or not piece.strip():
        raise Refused(f"{what}: the span must hold 1 to {LIMITS.span} characters of text "
                      "（所选文字为空或过长）")
    return Piece(where.doc, where.start, where.end, piece), text


def make_vote(library: Library, req: FeedbackRequest) -> Vote:
    """The vote to store: spans checked and sliced, the evidence window of the span the
    vote stands for, the generation answering now."""
    citation = correction = None
    evidence = ""
    if req.citation is not None:
        citation, text = _slice(library, req.citation, "citation")
        if req.vote == "up":
            gold = evidence_window(text, citation.start, citation.end)
            evidence = gold.evidence if gold else ""
    if req.correction is not None:
        correction, text = _slice(library, req.correction, "correction")
        gold = evidence_window(text, correction.start, correction.end)
        evidence = gold.evidence if gold else ""
    return Vote(req.question, req.vote, req.answer, citation, correction, req.not_in_report,
                library.index_generation, req.name, evidence)


class LazyStore:
    """The store, opened on the first vote (a server that never gets one never creates
    the data folder)."""

    def __init__(self, store: FeedbackStore | None) -> None:
        self._store, self._lock = store, threading.Lock()

    def get(self) -> FeedbackStore:
        with self._lock:
            if self._store is None:
                self._store = FeedbackStore()
            return self._store


def add_feedback_routes(app: FastAPI, library: Library, store: FeedbackStore | None = None,
                        limiter: RateLimiter | None = None) -> None:
    held, limiter = LazyStore(store), limiter or RateLimiter(EACH, EVERYONE)

    @app.post("/api/feedback", status_code=201, tags=["feedback"], summary="Vote on an answer")
    async def api_feedback(request: Request) -> Response:
        """`{"question", "vote": "up"|"down", "answer"?, "citation"?: {"doc","start","end"},
        "correction"?: {"doc","start","end"}, "not_in_report"?: true, "name"?}`: 201 with
        the vote's `id`; 422 when a span does not slice a report on the shelf; 429 when
        votes come too fast."""
        wait = limiter.wait(request.client.host if request.client else "")
        if wait:
            response = error(429, "too many votes; try again in a moment（投票过于频繁，请稍后再试）")
            response.headers["Retry-After"] = retry_after(wait)
            return response
        try:
            payload = await read_json(request)
        except BodyTooLarge:
            return error(413, "the request body is too large")
        except ValueError:
            return error(400, "the request body is not valid JSON（请求体不是合法的 JSON）")
        try:
            req = parse_feedback(payload, library.settings.max_question_chars)
            vote = await run_in_threadpool(make_vote, library, req)
            row_id = await run_in_threadpool(lambda: held.get().add(vote))
        except (Refused, ValueError) as exc:
            return error(422, str(exc))
        except Exception:
            log.exception("POST /api/feedback failed")
            return error(500, "internal error: the vote was not stored")
        return JSONResponse({"id": row_id, "generation": vote.generation}, status_code=201)
