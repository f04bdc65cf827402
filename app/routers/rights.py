"""The data subject's rights at the front office: correction and erasure (``visits.intake.rights``).

Staff routes only (operator, admin: ``CASE_WORKERS``); every one is audited (which fields, never
their values; the written reason):

- ``POST /api/v1/requests/{request_id}/correction``  JSON ``{"reason", "changes": {field: value}}``
- ``POST /api/v1/residents/{resident_id}/erasure``   JSON ``{"reason"}``: anonymise on request (409 while a request is open)
- ``GET  /operator/requests/{request_id}/correct``   the correction and erasure page
- ``POST /operator/requests/{request_id}/correct``   the correction form
- ``POST /operator/requests/{request_id}/erase``     the erasure form
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.datastructures import FormData

from app.auth import Principal, audit_read, require_roles, route_template
from app.db import ReadSession, WriteSession
from app.deps import DbId, Now
from app.i18n import translate
from app.intake_forms import localise
from app.settings import get_settings
from app.uploadguard import FORM_OVERHEAD_BYTES, guard_body
from app.web import render, request_language, small_form
from visits.errors import Conflict, NotFound
from visits.intake.rights import CORRECTABLE, RESIDENT_FIELDS, CorrectionRefused, correct, erase_resident
from visits.models import MaritalStatus, Resident, VisitRequest
from visits.staff import audit
from visits.staff.roles import CASE_WORKERS

router = APIRouter()
DESK = require_roles(*CASE_WORKERS)
FORM = small_form(len(CORRECTABLE) + 4)


class CorrectionBody(BaseModel):
    reason: str = Field(default="", max_length=2000)
    changes: dict[str, Any] = Field(default_factory=dict, max_length=len(CORRECTABLE) + 5)


class ErasureBody(BaseModel):
    reason: str = Field(default="", max_length=2000)


def _today(now: datetime) -> date:
    return now.astimezone(ZoneInfo(get_settings().timezone)).date()


def _audit_correction(session: Session, request: Request, principal: Principal, row: VisitRequest, fields: list[str], reason: str) -> None:
    audit.record_change(
        session,
        user_id=principal.user_id,
        action="correct",
        entity="resident",
        entity_id=row.resident_id,
        resident_id=row.resident_id,
        after={"fields": fields, "reason": reason.strip(), "request_id": row.id},
        route=route_template(request),
    )


def _erase(session: Session, request: Request, principal: Principal, resident_id: int, reason: str, now: datetime) -> dict[str, Any]:
    done = erase_resident(session, resident_id, reason=reason, upload_dir=get_settings().upload_dir, now=now)
    audit.record_change(
        session,
        user_id=principal.user_id,
        action="anonymise",
        entity="resident",
        entity_id=resident_id,
        resident_id=resident_id,
        after={"requests": done.requests, "reason": reason.strip()},
        route=route_template(request),
    )
    return {"resident_id": resident_id, "requests": done.requests, "kk_files_deleted": done.files}


@router.post(
    "/api/v1/requests/{request_id}/correction",
    tags=["residents"],
    responses={409: {"description": "anonymised, or the NIK belongs to another resident"}, 422: {"description": "a wrong field; nothing changed"}},
)
def api_correct(request_id: DbId, body: CorrectionBody, request: Request, now: Now, principal: Principal = Depends(DESK), session: Session = WriteSession) -> Response:
    """Correct the resident of a request (and the request's companion, KK number, notes) with a written reason."""
    try:
        done = correct(session, request_id, body.changes, reason=body.reason, today=_today(now), now=now)
    except CorrectionRefused as exc:
        return JSONResponse({"detail": localise(exc.errors, request_language(request))}, status_code=422)
    _audit_correction(session, request, principal, done.request, done.fields, body.reason)
    return JSONResponse({"request_id": request_id, "resident_id": done.resident.id, "fields": done.fields})


@router.post("/api/v1/residents/{resident_id}/erasure", tags=["residents"], responses={409: {"description": "a request of the resident is still open, or already anonymised"}})
def api_erase(resident_id: DbId, body: ErasureBody, request: Request, now: Now, principal: Principal = Depends(DESK), session: Session = WriteSession) -> Response:
    """Anonymise a resident and every request of theirs, at their (or their guardian's) request."""
    try:
        out = _erase(session, request, principal, resident_id, body.reason, now)
    except CorrectionRefused as exc:
        return JSONResponse({"detail": localise(exc.errors, request_language(request))}, status_code=422)
    return JSONResponse(out)


# ---------------------------------------------------------------- the page


def _page(
    request: Request, session: Session, request_id: int, *, values: dict[str, Any] | None = None, errors: list[dict[str, str]] | None = None, erase_error: str = "", status: int = 200
) -> HTMLResponse:
    row = session.get(VisitRequest, request_id)
    resident = session.get(Resident, row.resident_id) if row is not None else None
    if row is None or resident is None:
        raise NotFound()
    stored = {name: getattr(resident if name in RESIDENT_FIELDS else row, name) for name in CORRECTABLE}
    stored = {k: ("" if v is None else str(v)) for k, v in stored.items()}
    errs = errors or []
    context = {
        "r": row,
        "res": resident,
        "values": values if values is not None else stored,
        "errors": {e["field"]: e["reason"] for e in errs},
        "error_list": errs,
        "marital": [m.value for m in MaritalStatus],
        "erase_error": erase_error,
    }
    return render(request, "operator/correct.html", context, status)


def _small_body(request: Request) -> None:
    guard_body(request, FORM_OVERHEAD_BYTES * 4)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.get("/operator/requests/{request_id}/correct", response_class=HTMLResponse, include_in_schema=False)
def correct_page(request: Request, request_id: DbId, principal: Principal = Depends(DESK), session: Session = ReadSession) -> HTMLResponse:
    page = _page(request, session, request_id)
    row = session.get(VisitRequest, request_id)
    assert row is not None
    audit_read(session, request, principal, entity="visit_request", entity_id=request_id, resident_id=row.resident_id)
    return page


@router.post("/operator/requests/{request_id}/correct", response_class=HTMLResponse, include_in_schema=False)
def correct_form(
    request: Request, request_id: DbId, now: Now, _guard: None = Depends(_small_body), principal: Principal = Depends(DESK), form: FormData = Depends(FORM), session: Session = WriteSession
) -> Response:
    changes = {name: _text(form, name) for name in CORRECTABLE if name in form}
    reason = _text(form, "reason")
    try:
        done = correct(session, request_id, changes, reason=reason, today=_today(now), now=now)
    except CorrectionRefused as exc:
        return _page(request, session, request_id, values=changes | {"reason": reason}, errors=localise(exc.errors, request_language(request)), status=422)
    _audit_correction(session, request, principal, done.request, done.fields, reason)
    return RedirectResponse(f"/operator/requests/{request_id}", status_code=303)


@router.post("/operator/requests/{request_id}/erase", response_class=HTMLResponse, include_in_schema=False)
def erase_form(
    request: Request, request_id: DbId, now: Now, _guard: None = Depends(_small_body), principal: Principal = Depends(DESK), form: FormData = Depends(FORM), session: Session = WriteSession
) -> Response:
    row = session.get(VisitRequest, request_id)
    if row is None:
        raise NotFound()
    lang = request_language(request)
    if _text(form, "confirm") != "yes":
        return _page(request, session, request_id, erase_error=translate("rights.err.confirm", lang), status=422)
    try:
        _erase(session, request, principal, row.resident_id, _text(form, "erase_reason"), now)
    except CorrectionRefused as exc:
        return _page(request, session, request_id, erase_error=localise(exc.errors, lang)[0]["reason"], status=422)
    except Conflict as exc:
        return _page(request, session, request_id, erase_error=translate(exc.message_key, lang), status=409)
    return RedirectResponse(f"/operator/requests/{request_id}", status_code=303)
