"""Slot negotiation and booking: the family's API and forms (public, authorised by the
tracking token in the path), and the operator's actions on the family's behalf (staff).

Public routes: POST /api/v1/track/{token}/offers|confirm|cancel and the HTML form posts
/track/{token}/offers|confirm|cancel. Staff routes: /operator/requests/{request_id}/offers|
confirm|cancel (operator, admin).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from app.auth import Principal, audit_read, require_roles
from app.deps import DbId, Now, OfficeInfo, Policy, Travel, WriteDB
from app.i18n import translate
from app.intake_forms import availability_from_form
from app.limits import KnownToken
from app.web import request_language, small_form
from visits.booking import service as booking
from visits.booking import slots
from visits.errors import InvalidInput, NotFound
from visits.intake.schemas import AvailabilitySlot
from visits.intake.tracking import find_by_token
from visits.models import VisitRequest
from visits.staff.roles import CASE_WORKERS

router = APIRouter(tags=["booking"])
operator_only = require_roles(*CASE_WORKERS)
FORM = small_form()
_AVAILABILITY = TypeAdapter(list[AvailabilitySlot])


class OffersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    availability: list[AvailabilitySlot] | None = Field(default=None, min_length=1, max_length=42)


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offer_id: str = Field(min_length=8, max_length=32)


class OfferOut(BaseModel):
    offer_id: str
    date: str
    start: str
    end: str
    expires_at: datetime


class ReasonOut(BaseModel):
    code: str
    message: str


class OffersOut(BaseModel):
    offers: list[OfferOut]
    reason: ReasonOut | None


def offers_out(result: slots.OfferResult, lang: str) -> OffersOut:
    reason = ReasonOut(code=result.reason, message=translate(f"slots.reason.{result.reason}", lang)) if result.reason else None
    return OffersOut(
        offers=[OfferOut(offer_id=o.offer_id, date=o.day.isoformat(), start=o.start.strftime("%H:%M"), end=o.end.strftime("%H:%M"), expires_at=o.expires_at) for o in result.offers],
        reason=reason,
    )


def _request_for(session: Session, token: str) -> VisitRequest:
    row = find_by_token(session, token)
    if row is None:
        raise NotFound()
    return row


def form_availability(form: FormData) -> list[dict] | None:
    """New availability from the weekday rows of a page's form (a counter-proposal), or None
    when no row was ticked; 422 naming ``availability`` when a row is wrong."""
    rows = availability_from_form(form)
    try:
        return [a.as_json() for a in _AVAILABILITY.validate_python(rows)] if rows else None
    except ValidationError:
        raise InvalidInput(field="availability") from None


def _taken(exc: slots.SlotTaken, lang: str) -> JSONResponse:
    """409 with fresh offers; returned (not raised) so the fresh holds are committed."""
    body = {"detail": translate(exc.message_key, lang), "offers": offers_out(exc.offers, lang).model_dump(mode="json")["offers"]}
    return JSONResponse(body, status_code=409)


# ---------------------------------------------------------------- family API (public: the token authorises)


@router.post("/api/v1/track/{token}/offers", response_model=OffersOut)
def api_offers(
    token: str, _known: KnownToken, request: Request, session: WriteDB, now: Now, travel: Travel, policy: Policy, office: OfficeInfo, body: OffersIn | None = Body(default=None)
) -> OffersOut:
    row = _request_for(session, token)
    availability = [a.as_json() for a in body.availability] if body and body.availability else None
    result = booking.offer(session, row, now, travel, policy, office, availability=availability, link_token=token)
    return offers_out(result, request_language(request))


@router.post("/api/v1/track/{token}/confirm", responses={409: {"description": "the slot was taken; fresh offers"}})
def api_confirm(token: str, _known: KnownToken, body: ConfirmIn, request: Request, session: WriteDB, now: Now, travel: Travel, policy: Policy, office: OfficeInfo) -> Response:
    row = _request_for(session, token)
    try:
        booked = booking.confirm(session, row, body.offer_id, now, travel, policy, office, link_token=token)
    except slots.SlotTaken as exc:
        return _taken(exc, request_language(request))
    b = booked.booking
    return JSONResponse({"status": "booked", "booking": {"date": booked.team_day.day.isoformat(), "start": b.window_start.strftime("%H:%M"), "end": b.window_end.strftime("%H:%M")}})


@router.post("/api/v1/track/{token}/cancel")
def api_cancel(token: str, _known: KnownToken, session: WriteDB, now: Now, policy: Policy, office: OfficeInfo) -> dict:
    row = _request_for(session, token)
    booking.cancel(session, row, now, policy, office, link_token=token)
    return {"status": "cancelled"}


# ---------------------------------------------------------------- family forms (no JavaScript needed)


def _back_to_track(token: str, note: str) -> RedirectResponse:
    return RedirectResponse(f"/track/{token}?note={note}", status_code=303)


@router.post("/track/{token}/offers", include_in_schema=False)
def form_offers(token: str, _known: KnownToken, session: WriteDB, now: Now, travel: Travel, policy: Policy, office: OfficeInfo, form: FormData = Depends(FORM)) -> Response:
    row = _request_for(session, token)
    result = booking.offer(session, row, now, travel, policy, office, availability=form_availability(form), link_token=token)
    return _back_to_track(token, "offers" if result.offers else "no_offers")


@router.post("/track/{token}/confirm", include_in_schema=False)
def form_confirm(token: str, _known: KnownToken, session: WriteDB, now: Now, travel: Travel, policy: Policy, office: OfficeInfo, form: FormData = Depends(FORM)) -> Response:
    row = _request_for(session, token)
    try:
        booking.confirm(session, row, str(form.get("offer_id") or ""), now, travel, policy, office, link_token=token)
    except slots.SlotTaken:
        return _back_to_track(token, "taken")
    return _back_to_track(token, "booked")


@router.post("/track/{token}/cancel", include_in_schema=False)
def form_cancel(token: str, _known: KnownToken, session: WriteDB, now: Now, policy: Policy, office: OfficeInfo, form: FormData = Depends(FORM)) -> Response:
    """Cancels only with ``confirm=yes`` (sent by the "are you sure?" page); otherwise that page."""
    if form.get("confirm") != "yes":
        return RedirectResponse(f"/track/{token}/cancel", status_code=303)
    row = _request_for(session, token)
    booking.cancel(session, row, now, policy, office, link_token=token)
    return _back_to_track(token, "cancelled")


# ---------------------------------------------------------------- operator, on the family's behalf
# The office may act after the family's cutoff (staff=True); every action is audited.


def _staff_request(session: Session, request_id: int) -> VisitRequest:
    row = session.get(VisitRequest, request_id)
    if row is None:
        raise NotFound()
    return row


def _to_detail(request_id: int, note: str) -> RedirectResponse:
    return RedirectResponse(f"/operator/requests/{request_id}?note={note}", status_code=303)


def _audit(session: Session, request: Request, principal: Principal, row: VisitRequest, action: str) -> None:
    audit_read(session, request, principal, entity="visit_request", entity_id=row.id, resident_id=row.resident_id, action=action)


@router.post("/operator/requests/{request_id}/offers", include_in_schema=False)
def operator_offers(
    request_id: DbId, request: Request, session: WriteDB, now: Now, travel: Travel, policy: Policy, office: OfficeInfo, principal: Principal = Depends(operator_only), form: FormData = Depends(FORM)
) -> Response:
    """Offer slots on the family's behalf; availability rows in the form (a counter-proposal on
    the phone) replace the family's availability first."""
    row = _staff_request(session, request_id)
    result = booking.offer(session, row, now, travel, policy, office, availability=form_availability(form), staff=True)
    _audit(session, request, principal, row, "offer")
    return _to_detail(request_id, "offers" if result.offers else "no_offers")


@router.post("/operator/requests/{request_id}/confirm", include_in_schema=False)
def operator_confirm(
    request_id: DbId, request: Request, session: WriteDB, now: Now, travel: Travel, policy: Policy, office: OfficeInfo, principal: Principal = Depends(operator_only), form: FormData = Depends(FORM)
) -> Response:
    row = _staff_request(session, request_id)
    _audit(session, request, principal, row, "book")
    try:
        booking.confirm(session, row, str(form.get("offer_id") or ""), now, travel, policy, office, staff=True)
    except slots.SlotTaken:
        return _to_detail(request_id, "taken")
    return _to_detail(request_id, "booked")


@router.post("/operator/requests/{request_id}/cancel", include_in_schema=False)
def operator_cancel(
    request_id: DbId, request: Request, session: WriteDB, now: Now, policy: Policy, office: OfficeInfo, principal: Principal = Depends(operator_only), form: FormData = Depends(FORM)
) -> Response:
    """Cancels only with the "yes, cancel" box ticked (``confirm=yes``); otherwise back, asking."""
    if form.get("confirm") != "yes":
        return _to_detail(request_id, "confirm_cancel")
    row = _staff_request(session, request_id)
    booking.cancel(session, row, now, policy, office, staff=True)
    _audit(session, request, principal, row, "cancel")
    return _to_detail(request_id, "cancelled")
