"""Operator screens: phone intake and the request inbox.

NO public routes in this module: every route requires a staff role (``require_roles``).

- ``GET  /operator/intake``                    phone intake form (operator, admin)
- ``POST /operator/intake``                    submit a phone request; read-back summary (operator, admin; audited)
- ``GET  /operator/requests``                  inbox: filters, sorted by due time, overdue flagged (operator, admin, head; audited per resident shown)
- ``GET  /operator/requests/{request_id}``     one request with the resident's data (operator, admin, head; audited)
- ``POST /operator/requests/{request_id}/override``  declare eligible with a written reason (operator, admin; audited)
- ``POST /operator/requests/{request_id}/decline``   decide a request under review is ineligible (operator, admin; audited)
- ``GET  /operator/requests/{request_id}/kk``  the KK image/PDF (operator, admin; audited)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.auth import Principal, audit_read, audit_read_many, require_roles
from app.db import ReadSession, WriteSession
from app.deps import DbId, Now, Policy, Travel
from app.intake_forms import WEEKDAYS, Parsed, domain_field_error, form_again, form_body_limit, form_context, localise, parse_form_submission, store_submission, too_large_error
from app.settings import get_settings
from app.uploadguard import FORM_OVERHEAD_BYTES, guard_body
from app.web import render, request_language, small_form
from visits.booking import groups
from visits.clock import is_overdue
from visits.errors import InvalidInput, NotFound
from visits.field.queries import visit_proofs
from visits.intake.eligibility import REASONS
from visits.intake.models import request_actions
from visits.intake.nik import mask
from visits.intake.queries import INBOX_VIEWS as VIEWS
from visits.intake.queries import inbox_rows, kelurahan_list, kk_document, load_case, other_open_requests
from visits.intake.service import DECLINE_CODES, SubmitResult, decline, override
from visits.intake.tracking import summary
from visits.intake.uploads import read_kk
from visits.models import Channel, Group, VisitRequest
from visits.outreach.queries import candidate, intake_prefill
from visits.outreach.service import link_request
from visits.reporting.cards import card_state
from visits.staff.roles import CASE_WORKERS, DESK_READERS

router = APIRouter(prefix="/operator", include_in_schema=False)
SMALL_FORM = small_form(10)

WRITERS = CASE_WORKERS
READERS = DESK_READERS


def intake_body_guard(request: Request) -> None:
    """Declared before the role guard: its CSRF check reads the (multipart) form first."""
    guard_body(request, form_body_limit())


def small_body_guard(request: Request) -> None:
    guard_body(request, FORM_OVERHEAD_BYTES)


# ---------------------------------------------------------------- phone intake


def _outreach_id(value: object) -> int | None:
    """The outreach candidate phone intake was opened for (``?outreach=``, then a hidden field)."""
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and 0 < len(value) <= 9 else None


@router.get("/intake", response_class=HTMLResponse)
def phone_intake_form(request: Request, now: Now, outreach: str = "", principal: Principal = Depends(require_roles(*WRITERS)), session: Session = ReadSession) -> HTMLResponse:
    """Phone intake; ``?outreach=<id>`` starts it prefilled from the outreach candidate (audited) and keeps the link."""
    values: dict[str, Any] = {}
    outreach_id = _outreach_id(outreach)
    found = candidate(session, outreach_id, now, get_settings().timezone) if outreach_id else None
    if found is not None:
        values = intake_prefill(found) | {"outreach_id": str(outreach_id)}
        audit_read(session, request, principal, entity="outreach_resident", entity_id=outreach_id, action="intake_prefill")
    return render(request, "intake/form.html", form_context(session, values, [], phone=True))


@router.post("/intake", response_class=HTMLResponse)
def phone_intake_submit(
    request: Request,
    now: Now,
    travel: Travel,
    policy: Policy,
    _guard: None = Depends(intake_body_guard),
    principal: Principal = Depends(require_roles(*WRITERS)),
    parsed: Parsed = Depends(parse_form_submission),
    session: Session = ReadSession,
) -> HTMLResponse:
    lang = request_language(request)
    if parsed.too_large:
        return form_again(request, session, parsed, [too_large_error(lang)], phone=True)
    outreach_id = _outreach_id(parsed.raw.get("outreach_id"))

    def keep_outreach_link(target: Session, done: SubmitResult) -> None:
        if outreach_id is not None and not done.replayed:
            link_request(target, outreach_id, done.request.id, now=now, travel=travel, policy=policy)  # type: ignore[arg-type]

    result, errors = store_submission(parsed, now, channel=Channel.PHONE, language=lang, idempotency_key=None, created_by_id=principal.user_id, then=keep_outreach_link)
    if result is None:
        return form_again(request, session, parsed, localise(errors, lang), phone=True)
    row = session.get(VisitRequest, result.request.id)
    assert row is not None
    audit_read(session, request, principal, entity="visit_request", entity_id=row.id, resident_id=row.resident_id, action="create")
    context = _detail_context(session, row, lang, now) | {"readback": True, "tracking_token": result.tracking_token}
    return render(request, "operator/readback.html", context, 201)


# ---------------------------------------------------------------- inbox


@router.get("/requests", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    now: Now,
    view: str = "open",
    kelurahan: str = "",
    group: str = "",
    principal: Principal = Depends(require_roles(*READERS)),
    session: Session = ReadSession,
) -> HTMLResponse:
    view = view if view in VIEWS else "open"
    kelurahan_id = int(kelurahan) if kelurahan.isascii() and kelurahan.isdigit() and len(kelurahan) <= 9 else None
    rows = inbox_rows(session, view, kelurahan_id, group or None, now)
    items = [{"r": r, "kelurahan": k.name if k else res.outside_kelurahan_code, "groups": res.groups, "overdue": is_overdue(r.due_at, r.first_answer_at, now)} for r, res, k in rows]
    # the list shows each resident's served group (specific personal data): one audit row per request shown
    audit_read_many(session, request, principal, entity="visit_request", items=[(r.id, r.resident_id) for r, _res, _k in rows])
    return render(
        request,
        "operator/inbox.html",
        {
            "items": items,
            "view": view,
            "views": VIEWS,
            "kelurahan_list": kelurahan_list(session),
            "kelurahan_id": kelurahan_id,
            "group": group,
            "groups": [g.value for g in Group],
            "tz": ZoneInfo(get_settings().timezone),
        },
    )


# ---------------------------------------------------------------- one request


def _detail_context(session: Session, row: VisitRequest, lang: str, now: datetime) -> dict[str, Any]:
    row, resident, kelurahan = load_case(session, row.id)  # type: ignore[arg-type]
    doc = kk_document(session, row)
    return {
        "r": row,
        "res": resident,
        "kel": kelurahan,
        "doc": doc,
        "duplicate_of": other_open_requests(session, row),
        "s": summary(session, row, lang, now),
        "overdue": is_overdue(row.due_at, row.first_answer_at, now),
        "tz": ZoneInfo(get_settings().timezone),
        "nik_masked": mask(resident.nik),
        "kk_masked": mask(row.kk_number),
        "decline_codes": [(code, REASONS[code].message(lang)) for code in DECLINE_CODES],
        "actions": request_actions(row.status),
        "weekdays": list(WEEKDAYS),
        "visits": visit_proofs(session, row.id),  # type: ignore[arg-type]
        "group_lead": groups.can_lead(session, row),
        "card": card_state(session, row.id, now, get_settings().card_delivery_days),  # type: ignore[arg-type]
    }


BOOKING_NOTES = ("offers", "no_offers", "booked", "taken", "cancelled", "confirm_cancel", "card_printed", "card_delivered", "card_refused")  # set by the booking and card actions' redirects
PUBLIC_NOTES = ("confirm_cancel",)  # its message is in public.json
BAD_NOTES = ("no_offers", "taken", "confirm_cancel")


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_detail(request: Request, request_id: DbId, now: Now, principal: Principal = Depends(require_roles(*READERS)), session: Session = ReadSession) -> HTMLResponse:
    context = _detail_context(session, VisitRequest(id=request_id), request_language(request), now)  # type: ignore[call-arg]
    row = context["r"]
    audit_read(session, request, principal, entity="visit_request", entity_id=row.id, resident_id=row.resident_id)
    context["can_write"] = principal.role in WRITERS
    note = request.query_params.get("note", "")
    context["note"] = note if note in BOOKING_NOTES else ""
    context["note_key"] = ("public.note." if note in PUBLIC_NOTES else "booking.note.") + note
    context["note_bad"] = note in BAD_NOTES
    return render(request, "operator/detail.html", context)


def _decided(request: Request, request_id: int, principal: Principal, session: Session, now: datetime, action: str, decide: Callable[[], VisitRequest]) -> Response:
    """Run an operator's decision: back to the case page, or the page again with the error (422)."""
    try:
        row = decide()
    except InvalidInput as exc:
        lang = request_language(request)
        context = _detail_context(session, VisitRequest(id=request_id), lang, now)  # type: ignore[call-arg]
        context |= {"can_write": True, f"{action}_error": localise([_field_error(exc)], lang)[0]["reason"]}
        return render(request, "operator/detail.html", context, 422)
    audit_read(session, request, principal, entity="visit_request", entity_id=row.id, resident_id=row.resident_id, action=action)
    return RedirectResponse(f"/operator/requests/{row.id}", status_code=303)


def _text_field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.post("/requests/{request_id}/override", response_class=HTMLResponse)
def request_override(
    request: Request,
    request_id: DbId,
    now: Now,
    _guard: None = Depends(small_body_guard),
    principal: Principal = Depends(require_roles(*WRITERS)),
    form: FormData = Depends(SMALL_FORM),
    session: Session = WriteSession,
) -> Response:
    reason = _text_field(form, "override_reason")
    return _decided(request, request_id, principal, session, now, "override", lambda: override(session, request_id, user_id=principal.user_id, reason=reason, now=now))


@router.post("/requests/{request_id}/decline", response_class=HTMLResponse)
def request_decline(
    request: Request,
    request_id: DbId,
    now: Now,
    _guard: None = Depends(small_body_guard),
    principal: Principal = Depends(require_roles(*WRITERS)),
    form: FormData = Depends(SMALL_FORM),
    session: Session = WriteSession,
) -> Response:
    code, reason = _text_field(form, "decline_code"), _text_field(form, "override_reason")
    return _decided(request, request_id, principal, session, now, "decline", lambda: decline(session, request_id, user_id=principal.user_id, code=code, reason=reason, now=now))


def _field_error(exc: InvalidInput):  # noqa: ANN202

    return domain_field_error(exc)


@router.get("/requests/{request_id}/kk")
def request_kk(request: Request, request_id: DbId, principal: Principal = Depends(require_roles(*WRITERS)), session: Session = ReadSession) -> Response:
    row, _resident, _kel = load_case(session, request_id)
    doc = kk_document(session, row)
    if doc is None:
        raise NotFound()
    data = read_kk(doc, get_settings().upload_dir)
    audit_read(session, request, principal, entity="kk_document", entity_id=doc.id, resident_id=row.resident_id, action="view_kk")
    return Response(
        data,
        media_type=doc.content_type,
        headers={
            "Content-Disposition": f'inline; filename="kk-{row.reference}.{doc.storage_name.rsplit(".", 1)[-1]}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )
