"""The operator records the E-KTP card's delivery after a recorded visit (monitoring).

- ``POST /operator/requests/{request_id}/card``  ``stage=printed`` or ``stage=delivered`` (operator, admin; audited)
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.auth import Principal, audit_read, require_roles
from app.db import WriteSession
from app.deps import DbId, Now
from app.uploadguard import FORM_OVERHEAD_BYTES, guard_body
from app.web import small_form
from visits.errors import InvalidInput
from visits.reporting.cards import mark_card
from visits.staff.roles import CASE_WORKERS

router = APIRouter(include_in_schema=False)
CARD_FORM = small_form(5)


def card_body_guard(request: Request) -> None:
    guard_body(request, FORM_OVERHEAD_BYTES)


@router.post("/operator/requests/{request_id}/card")
def record_card(
    request: Request,
    request_id: DbId,
    now: Now,
    _guard: None = Depends(card_body_guard),
    principal: Principal = Depends(require_roles(*CASE_WORKERS)),
    form: FormData = Depends(CARD_FORM),
    session: Session = WriteSession,
) -> Response:
    stage = form.get("stage")
    try:
        row = mark_card(session, request_id, stage if isinstance(stage, str) else "", now, principal.user_id)
    except InvalidInput:
        return RedirectResponse(f"/operator/requests/{request_id}?note=card_refused#card", status_code=303)
    audit_read(session, request, principal, entity="visit_request", entity_id=request_id, action=f"card_{stage}")
    del row
    return RedirectResponse(f"/operator/requests/{request_id}?note=card_{stage}#card", status_code=303)
