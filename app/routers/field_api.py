"""The field officer's API for the tablet (role officer, their own team only; bearer token or
cookie session with CSRF):

- ``GET  /api/v1/field/day?date=``                    the route of the day (audited: one row per resident shown)
- ``POST /api/v1/field/visits/{visit_id}/outcome``    a visit's outcome, idempotent on ``client_id``
- ``POST /api/v1/field/visits/{visit_id}/on-our-way`` tell the companion the team is coming
- ``POST /api/v1/field/late``                         the team runs late: re-plan the rest of today

``visit_id`` is the id of a booking on the officer's team (another team's: 404).
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from app.auth import Principal, audit_read, audit_read_many, require_roles
from app.db import WriteSession
from app.deps import DbId, Now, OfficeInfo, Policy, Travel
from app.field_forms import OutcomeIn
from app.i18n import translate
from app.web import request_language
from visits.field import service
from visits.field.queries import day_route
from visits.staff.roles import FIELD

router = APIRouter(prefix="/api/v1/field", tags=["field"])
officer = require_roles(*FIELD)


class OutcomeOut(BaseModel):
    visit_id: int
    outcome: str
    next_step: str
    replayed: bool


class OnOurWayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float | None = Field(default=None, ge=-90, le=90, strict=True)  # strict: false is no latitude (it was read as 0.0)
    lon: float | None = Field(default=None, ge=-180, le=180, strict=True)
    again: bool = False


class OnOurWayOut(BaseModel):
    sent: bool
    eta: str


class LateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes: int = Field(ge=0, le=600)
    lat: float | None = Field(default=None, ge=-90, le=90, strict=True)  # strict: false is no latitude (it was read as 0.0)
    lon: float | None = Field(default=None, ge=-180, le=180, strict=True)


@router.get("/day")
def get_day(
    request: Request, now: Now, travel: Travel, day: date = Query(alias="date", description="The day, YYYY-MM-DD."), principal: Principal = Depends(officer), session: Session = WriteSession
) -> dict:
    """The officer's route of the day: stops in planned order with the resident, address,
    companion and links, the estimated end and the breaks. ``version`` grows with every change.

    Reading it writes one audit row per resident shown, so it takes the write lock up front (on
    SQLite a read transaction that then writes fails when a re-plan committed meanwhile)."""
    if principal.team_id is None:
        return {"date": day.isoformat(), "team": None, "version": 0, "estimated_end": None, "breaks": [], "office": None, "pending": 0, "replan_pending": False, "stops": []}
    route = day_route(session, principal.team_id, day, now, travel)
    lang = request_language(request)
    body = route.as_dict()
    for stop in body["stops"]:
        stop["group_labels"] = [translate(f"field.group.{g}", lang) for g in stop["groups"]]
    if route.residents:
        audit_read_many(session, request, principal, entity="visit_request", items=route.residents)
    return body


@router.post(
    "/visits/{visit_id}/outcome",
    response_model=OutcomeOut,
    responses={
        404: {"description": "not a visit of your team"},
        409: {"description": "the visit is no longer booked for your team"},
        422: {"description": "invalid body, or the client_id was used with another body"},
    },
)
def post_outcome(
    visit_id: DbId, body: OutcomeIn, request: Request, now: Now, travel: Travel, policy: Policy, office: OfficeInfo, principal: Principal = Depends(officer), session: Session = WriteSession
) -> OutcomeOut:
    """Record a visit's outcome (proof of visit: arrival, finish, position, officer) and take its next step."""
    tz = ZoneInfo(policy.timezone)  # a time without an offset is the office's wall clock
    arrived, finished = (t if t.tzinfo is not None else t.replace(tzinfo=tz) for t in (body.arrived_at, body.finished_at))
    data = service.OutcomeInput(body.client_id, body.outcome, arrived, finished, body.note, body.lat, body.lon, body.request_id)
    result = service.record_outcome(session, team_id=principal.team_id, officer_id=principal.user_id, booking_id=visit_id, data=data, now=now, travel=travel, policy=policy, office=office)
    if not result.replayed:  # the tablet showed this resident's data and the officer acted on it
        audit_read(session, request, principal, entity="visit_request", entity_id=result.request_id, resident_id=result.resident_id, action="visit_outcome")
    return OutcomeOut(**result.as_dict())


@router.post(
    "/visits/{visit_id}/on-our-way", response_model=OnOurWayOut, responses={404: {"description": "not a visit of your team"}, 409: {"description": "the visit is no longer booked for your team"}}
)
def post_on_our_way(
    visit_id: DbId, now: Now, travel: Travel, policy: Policy, office: OfficeInfo, body: OnOurWayIn | None = None, principal: Principal = Depends(officer), session: Session = WriteSession
) -> OnOurWayOut:
    """Send the companion "on our way" with the expected arrival (once per visit unless ``again``)."""
    body = body or OnOurWayIn()
    result = service.on_our_way(session, team_id=principal.team_id, booking_id=visit_id, lat=body.lat, lon=body.lon, again=body.again, now=now, travel=travel, policy=policy, office=office)
    return OnOurWayOut(sent=result.sent, eta=result.eta.strftime("%H:%M"))


@router.post("/late")
def post_late(body: LateIn, now: Now, travel: Travel, policy: Policy, office: OfficeInfo, principal: Principal = Depends(officer), session: Session = WriteSession) -> dict:
    """The team runs ``minutes`` late: the rest of today is re-planned from here, now + minutes."""
    service.report_late(session, team_id=principal.team_id, minutes=body.minutes, lat=body.lat, lon=body.lon, now=now, travel=travel, policy=policy, office=office)
    return {"queued": True}
