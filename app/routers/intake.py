"""Intake and tracking for families.

PUBLIC routes (no login; they never show NIK, KK, address, phone or group):

- ``GET  /request``                 the request form (phone-first, works without JavaScript)
- ``POST /request``                 submit the form (multipart; body size guarded, 413)
- ``GET  /track``                   look up by reference + companion phone (form)
- ``POST /track``                   the same lookup (rate-limited)
- ``GET  /track/{token}``           status page for a tracking token (rate-limited)
- ``POST /api/v1/requests``         JSON API: submit (multipart; Idempotency-Key header)
- ``GET  /api/v1/track/{token}``    JSON API: status summary (rate-limited)
- ``POST /api/v1/track``            JSON API: status by reference + phone (rate-limited)

No staff routes here (phone intake and the inbox are in ``app/routers/operator.py``).
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import Session

from app.db import ReadSession
from app.deps import Now, WriteDB
from app.intake_forms import Parsed, answer, form_again, localise, parse_form_submission, parse_submission, store_submission, too_large_error
from app.limits import KnownToken, ReferenceLookup, limit_intake
from app.settings import get_settings
from app.web import render, request_language
from visits.errors import NotFound
from visits.intake.models import request_actions
from visits.intake.schemas import SubmitAnswer, TrackSummary
from visits.intake.tracking import find_by_token, mint_link, page_view, public_status, summary, tracking_link
from visits.models import Channel, VisitRequest

router = APIRouter()

# The endpoints below are plain functions (run in the thread pool): their bodies are read and
# validated by async dependencies first, so database work never runs on the event loop.


@router.post("/api/v1/requests", status_code=201, response_model=SubmitAnswer, tags=["intake"])
def api_submit(request: Request, now: Now, _limit: None = Depends(limit_intake), parsed: Parsed = Depends(parse_submission)) -> Response:
    """Submit a request (multipart form; see the issue for fields). 422 names every wrong field."""
    lang = request_language(request)
    result, errors = store_submission(parsed, now, channel=Channel.WEB, language=lang, idempotency_key=request.headers.get("idempotency-key"))
    if result is None:
        return JSONResponse({"detail": localise(errors, lang)}, status_code=422)
    return JSONResponse(answer(result, lang).model_dump(mode="json"), status_code=201)


@router.get(
    "/api/v1/track/{token}",
    response_model=TrackSummary,
    tags=["intake"],
    responses={404: {"description": "unknown token (counted against the address's budget)"}, 429: {"description": "too many failed lookups from this address"}},
)
def api_track(token: str, _known: KnownToken, request: Request, now: Now, session: Session = ReadSession) -> TrackSummary:
    """The status of a request. A valid token is never rate-limited; unknown tokens count
    against the client address's budget of failed lookups."""
    row = find_by_token(session, token)
    if row is None:
        raise NotFound()
    return summary(session, row, request_language(request), now)


@router.post("/api/v1/track", response_model=TrackSummary, tags=["intake"])
def api_track_reference(request: Request, now: Now, request_id: ReferenceLookup, session: Session = ReadSession) -> TrackSummary:
    row = session.get(VisitRequest, request_id) if request_id is not None else None
    if row is None:
        raise NotFound()
    return summary(session, row, request_language(request), now)


# ---------------------------------------------------------------- HTML pages (public)


@router.get("/request", response_class=HTMLResponse, include_in_schema=False)
def request_form(request: Request, session: Session = ReadSession) -> HTMLResponse:
    from app.intake_forms import form_context

    return render(request, "intake/form.html", form_context(session, {}, [], phone=False))


@router.post("/request", response_class=HTMLResponse, include_in_schema=False)
def request_form_submit(request: Request, now: Now, _limit: None = Depends(limit_intake), parsed: Parsed = Depends(parse_form_submission), session: Session = ReadSession) -> HTMLResponse:
    lang = request_language(request)
    if parsed.too_large:
        return form_again(request, session, parsed, [too_large_error(lang)], phone=False)
    result, errors = store_submission(parsed, now, channel=Channel.WEB, language=lang, idempotency_key=None)
    if result is None:
        return form_again(request, session, parsed, localise(errors, lang), phone=False)
    settings = get_settings()
    response = render(
        request, "intake/submitted.html", {"answer": answer(result, lang), "link": tracking_link(settings.public_base_url, result.tracking_token), "tz": ZoneInfo(settings.timezone)}, 201
    )
    response.headers["Cache-Control"] = "no-store"  # the page holds the tracking link
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


REFERENCE_SHAPE = re.compile(r"^[A-Za-z0-9-]{4,12}$")


@router.get("/track", response_class=HTMLResponse, include_in_schema=False)
def track_lookup_form(request: Request, ref: str = "") -> HTMLResponse:
    """The lookup form; ``?ref=`` (the link in older messages) fills in the reference."""
    return render(request, "intake/track_lookup.html", {"not_found": False, "reference": ref if REFERENCE_SHAPE.match(ref) else ""})


@router.post("/track", response_class=HTMLResponse, include_in_schema=False)
def track_lookup(request: Request, now: Now, request_id: ReferenceLookup, session: WriteDB) -> Response:
    """Reference + phone: on a match, a fresh tracking link (only its hash is stored) opens the
    status page with its actions (choose, change, cancel)."""
    if request_id is None:
        return render(request, "intake/track_lookup.html", {"not_found": True, "reference": ""}, 404)
    token = mint_link(session, request_id, now)
    response = RedirectResponse(f"/track/{token}", status_code=303)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


TRACK_NOTES = ("offers", "no_offers", "booked", "taken", "cancelled")
BAD_NOTES = ("no_offers", "taken")


def _private(response: Response) -> Response:
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/track/{token}", response_class=HTMLResponse, include_in_schema=False)
def track_page(token: str, _known: KnownToken, request: Request, now: Now, session: Session = ReadSession) -> Response:
    row: VisitRequest | None = find_by_token(session, token)
    if row is None:
        raise NotFound()
    note = request.query_params.get("note", "")
    note = note if note in TRACK_NOTES else ""
    s = summary(session, row, request_language(request), now)
    context = {"s": s, "view": page_view(s), "actions": request_actions(public_status(row)), "token": token, "note": note, "note_bad": note in BAD_NOTES}
    return _private(render(request, "intake/track.html", context))


@router.get("/track/{token}/cancel", response_class=HTMLResponse, include_in_schema=False)
def track_cancel_confirm(token: str, _known: KnownToken, request: Request, now: Now, session: Session = ReadSession) -> Response:
    """ "Are you sure?" before cancelling (a page, so it works without JavaScript)."""
    row = find_by_token(session, token)
    if row is None:
        raise NotFound()
    s = summary(session, row, request_language(request), now)
    return _private(render(request, "intake/cancel_confirm.html", {"s": s, "view": page_view(s), "actions": request_actions(public_status(row)), "token": token}))
