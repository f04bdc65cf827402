"""Slot negotiation and booking: the family's API and forms (public, authorised by the
tracking token in the path), and the operator's actions on the family's behalf (staff).

Public routes: POST /api/v1/track/{token}/offers|confirm|cancel and the HTML form posts
/track/{token}/offers|confirm|cancel. Staff routes: /operator/requests/{request_id}/offers|
confirm|cancel (operator, admin).
"""

from __future__ import annotations

from datetime import datetime, time
from functools import lru_cache

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from app.auth import Principal, audit_read, require_roles
from app.db import WriteSession
from app.i18n import translate
from app.routers.intake import availability_from_form, limit_tracking
from app.settings import get_settings
from app.web import request_language, small_form
from visits import slots
from visits.booking_notices import family_link, notify
from visits.errors import InvalidInput, NotFound
from visits.models import VisitRequest
from visits.schemas import AvailabilitySlot
from visits.tracking import find_by_token
from visits.travel import TravelService, travel_service
from visits.types import utcnow

router = APIRouter(tags=["booking"])
operator_only = require_roles("operator", "admin")
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


def policy() -> slots.SlotPolicy:
    s = get_settings()
    return slots.SlotPolicy(
        window_minutes=s.slot_window_minutes, offer_count=s.slot_offer_count, horizon_days=s.planning_horizon_days,
        hold_minutes_phone=s.hold_minutes_phone, hold_minutes_web=s.hold_minutes_web,
        change_cutoff=time.fromisoformat(s.change_cutoff), timezone=s.timezone,
    )


@lru_cache
def _travel(osrm_url: str, detour: float, speed: float) -> TravelService:
    return travel_service(osrm_url, detour, speed)


def travel() -> TravelService:
    s = get_settings()
    return _travel(s.osrm_url, s.travel_detour, s.travel_speed_kmh)


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


def _replan(background: BackgroundTasks, team_day_ids: list[int]) -> None:
    """Re-optimise the changed team-days after the response, in a worker (never in the request)."""
    from visits.replan import schedule_replan

    if team_day_ids:
        background.add_task(schedule_replan, team_day_ids)


# ---------------------------------------------------------------- the services, shared by every surface


def do_offers(session: Session, request: VisitRequest, *, availability: list[dict] | None, link_token: str | None, staff: bool = False) -> slots.OfferResult:
    now = utcnow()
    result = slots.make_offers(session, request.id, now, travel(), policy(), availability=availability, staff=staff)  # type: ignore[arg-type]
    if result.offers:
        s = get_settings()
        notify(session, request, "offers", office=s.office_name, link=family_link(s.public_base_url, request, link_token), slots=[(o.day, o.start, o.end) for o in result.offers])
    return result


def do_confirm(session: Session, request: VisitRequest, offer_id: str, *, link_token: str | None, staff: bool = False) -> tuple[slots.Booking, list[int]]:
    before = slots.booking_of(session, request.id)  # type: ignore[arg-type]
    booking = slots.confirm(session, request.id, offer_id, utcnow(), travel(), policy(), staff=staff)  # type: ignore[arg-type]
    _, team_day = slots.booking_of(session, request.id)  # type: ignore[misc, arg-type]
    s = get_settings()
    template = "rescheduled" if before else "booked"
    notify(session, request, template, office=s.office_name, link=family_link(s.public_base_url, request, link_token), slots=[(team_day.day, booking.window_start, booking.window_end)])
    changed = [team_day.id] + ([before[1].id] if before and before[1].id != team_day.id else [])
    return booking, changed


def do_cancel(session: Session, request: VisitRequest, *, staff: bool, link_token: str | None) -> list[int]:
    changed = slots.cancel(session, request.id, utcnow(), policy(), staff=staff)  # type: ignore[arg-type]
    s = get_settings()
    notify(session, request, "cancelled", office=s.office_name, link=family_link(s.public_base_url, request, link_token), slots=[])
    return changed


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
def api_offers(token: str, request: Request, body: OffersIn | None = Body(default=None), _limit: None = Depends(limit_tracking), session: Session = WriteSession) -> OffersOut:
    row = _request_for(session, token)
    availability = [a.as_json() for a in body.availability] if body and body.availability else None
    return offers_out(do_offers(session, row, availability=availability, link_token=token), request_language(request))


@router.post("/api/v1/track/{token}/confirm", responses={409: {"description": "the slot was taken; fresh offers"}})
def api_confirm(token: str, body: ConfirmIn, request: Request, background: BackgroundTasks, _limit: None = Depends(limit_tracking), session: Session = WriteSession) -> Response:
    row = _request_for(session, token)
    try:
        booking, changed = do_confirm(session, row, body.offer_id, link_token=token)
    except slots.SlotTaken as exc:
        return _taken(exc, request_language(request))
    _replan(background, changed)
    td = slots.booking_of(session, row.id)[1]  # type: ignore[index, arg-type]
    return JSONResponse({"status": "booked", "booking": {"date": td.day.isoformat(), "start": booking.window_start.strftime("%H:%M"), "end": booking.window_end.strftime("%H:%M")}})


@router.post("/api/v1/track/{token}/cancel")
def api_cancel(token: str, background: BackgroundTasks, _limit: None = Depends(limit_tracking), session: Session = WriteSession) -> dict:
    row = _request_for(session, token)
    _replan(background, do_cancel(session, row, staff=False, link_token=token))
    return {"status": "cancelled"}


# ---------------------------------------------------------------- family forms (no JavaScript needed)


def _back_to_track(token: str, note: str) -> RedirectResponse:
    return RedirectResponse(f"/track/{token}?note={note}", status_code=303)


@router.post("/track/{token}/offers", include_in_schema=False)
def form_offers(token: str, form: FormData = Depends(FORM), _limit: None = Depends(limit_tracking), session: Session = WriteSession) -> Response:
    row = _request_for(session, token)
    result = do_offers(session, row, availability=form_availability(form), link_token=token)
    return _back_to_track(token, "offers" if result.offers else "no_offers")


@router.post("/track/{token}/confirm", include_in_schema=False)
def form_confirm(token: str, background: BackgroundTasks, form: FormData = Depends(FORM), _limit: None = Depends(limit_tracking), session: Session = WriteSession) -> Response:
    row = _request_for(session, token)
    offer_id = str(form.get("offer_id") or "")
    try:
        _, changed = do_confirm(session, row, offer_id, link_token=token)
    except slots.SlotTaken:
        return _back_to_track(token, "taken")
    _replan(background, changed)
    return _back_to_track(token, "booked")


@router.post("/track/{token}/cancel", include_in_schema=False)
def form_cancel(token: str, background: BackgroundTasks, _limit: None = Depends(limit_tracking), session: Session = WriteSession) -> Response:
    row = _request_for(session, token)
    _replan(background, do_cancel(session, row, staff=False, link_token=token))
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
def operator_offers(request_id: int, request: Request, principal: Principal = Depends(operator_only), form: FormData = Depends(FORM), session: Session = WriteSession) -> Response:
    """Offer slots on the family's behalf; availability rows in the form (a counter-proposal on
    the phone) replace the family's availability first."""
    row = _staff_request(session, request_id)
    result = do_offers(session, row, availability=form_availability(form), link_token=None, staff=True)
    _audit(session, request, principal, row, "offer")
    return _to_detail(request_id, "offers" if result.offers else "no_offers")


@router.post("/operator/requests/{request_id}/confirm", include_in_schema=False)
def operator_confirm(request_id: int, request: Request, background: BackgroundTasks, principal: Principal = Depends(operator_only), form: FormData = Depends(FORM), session: Session = WriteSession) -> Response:
    row = _staff_request(session, request_id)
    try:
        _, changed = do_confirm(session, row, str(form.get("offer_id") or ""), link_token=None, staff=True)
    except slots.SlotTaken:
        _audit(session, request, principal, row, "book")
        return _to_detail(request_id, "taken")
    _audit(session, request, principal, row, "book")
    _replan(background, changed)
    return _to_detail(request_id, "booked")


@router.post("/operator/requests/{request_id}/cancel", include_in_schema=False)
def operator_cancel(request_id: int, request: Request, background: BackgroundTasks, principal: Principal = Depends(operator_only), session: Session = WriteSession) -> Response:
    row = _staff_request(session, request_id)
    _replan(background, do_cancel(session, row, staff=True, link_token=None))
    _audit(session, request, principal, row, "cancel")
    return _to_detail(request_id, "cancelled")
