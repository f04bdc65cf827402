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

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.db import ReadSession
from app.settings import get_settings
from app.web import render, request_language
from visits.errors import NotFound
from visits.intake.models import request_actions
from visits.models import Channel, VisitRequest
from visits.intake.schemas import SubmitAnswer, TrackSummary
from visits.intake.tracking import public_status, summary, tracking_link

from app.intake_forms import Parsed, answer, form_context, localise, parse_submission, reference_form, store_submission, text_field
from app.deps import Now
from app.limits import limit_intake, limit_tracking

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


@router.get("/api/v1/track/{token}", response_model=TrackSummary, tags=["intake"])
def api_track(token: str, request: Request, now: Now, _limit: None = Depends(limit_tracking), session: Session = ReadSession) -> TrackSummary:
    from visits.intake.tracking import find_by_token

    row = find_by_token(session, token)
    if row is None:
        raise NotFound()
    return summary(session, row, request_language(request), now)


@router.post("/api/v1/track", response_model=TrackSummary, tags=["intake"])
def api_track_reference(request: Request, now: Now, _limit: None = Depends(limit_tracking), form: FormData = Depends(reference_form), session: Session = ReadSession) -> TrackSummary:
    from visits.intake.tracking import find_by_reference

    row = find_by_reference(session, text_field(form, "reference") or "", text_field(form, "phone") or "")
    if row is None:
        raise NotFound()
    return summary(session, row, request_language(request), now)


# ---------------------------------------------------------------- HTML pages (public)


@router.get("/request", response_class=HTMLResponse, include_in_schema=False)
def request_form(request: Request, session: Session = ReadSession) -> HTMLResponse:
    return render(request, "intake/form.html", form_context(session, {}, [], phone=False))


@router.post("/request", response_class=HTMLResponse, include_in_schema=False)
def request_form_submit(request: Request, now: Now, _limit: None = Depends(limit_intake), parsed: Parsed = Depends(parse_submission), session: Session = ReadSession) -> HTMLResponse:
    lang = request_language(request)
    result, errors = store_submission(parsed, now, channel=Channel.WEB, language=lang, idempotency_key=None)
    if result is None:
        values = dict(parsed.raw) | {"idempotency_key": parsed.form_key}
        return render(request, "intake/form.html", form_context(session, values, localise(errors, lang), phone=False), 422)
    settings = get_settings()
    response = render(request, "intake/submitted.html", {"answer": answer(result, lang), "link": tracking_link(settings.public_base_url, result.tracking_token), "tz": ZoneInfo(settings.timezone)}, 201)
    response.headers["Cache-Control"] = "no-store"  # the page holds the tracking link
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/track", response_class=HTMLResponse, include_in_schema=False)
def track_lookup_form(request: Request) -> HTMLResponse:
    return render(request, "intake/track_lookup.html", {"not_found": False})


@router.post("/track", response_class=HTMLResponse, include_in_schema=False)
def track_lookup(request: Request, now: Now, _limit: None = Depends(limit_tracking), form: FormData = Depends(reference_form), session: Session = ReadSession) -> HTMLResponse:
    from visits.intake.tracking import find_by_reference

    row = find_by_reference(session, text_field(form, "reference") or "", text_field(form, "phone") or "")
    if row is None:
        return render(request, "intake/track_lookup.html", {"not_found": True}, 404)
    return render(request, "intake/track.html", {"s": summary(session, row, request_language(request), now), "actions": request_actions(public_status(row))})


TRACK_NOTES = ("offers", "no_offers", "booked", "taken", "cancelled")


@router.get("/track/{token}", response_class=HTMLResponse, include_in_schema=False)
def track_page(token: str, request: Request, now: Now, _limit: None = Depends(limit_tracking), session: Session = ReadSession) -> HTMLResponse:
    from visits.intake.tracking import find_by_token

    row: VisitRequest | None = find_by_token(session, token)
    if row is None:
        raise NotFound()
    note = request.query_params.get("note", "")
    context = {"s": summary(session, row, request_language(request), now), "actions": request_actions(public_status(row)), "token": token, "note": note if note in TRACK_NOTES else ""}
    response = render(request, "intake/track.html", context)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    response.headers["Cache-Control"] = "no-store"
    return response
