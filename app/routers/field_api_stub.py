"""STUB — DROP AT MERGE. ``POST /api/v1/field/visits/{visit_id}/outcome`` of the field API
contract, just enough to drive the field page's browser test on the field-UI branch.

The field-API branch owns the real endpoint and the domain service (``visits/field/``); at merge
this file goes, ``app.main`` stops listing it, and ``app/routers/field_pages.py`` calls the domain
service instead of :func:`record_outcome` (one import line). It holds data access only because it
is a throw-away stand-in: no next steps (re-offers, closing requests, kit failure) are done here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from app.auth import Principal, require_roles
from app.deps import Now, WriteDB
from visits.booking.slots import bump
from visits.errors import Conflict, InvalidInput, NotFound
from visits.field.models import Visit, VisitOutcome
from visits.models import Booking, BookingStatus, TeamDay
from visits.staff.roles import FIELD

router = APIRouter(prefix="/api/v1/field", tags=["field (stub)"])
officer = require_roles(*FIELD)

OUTCOMES = ("recorded", "not_home", "companion_absent", "unwell", "refused", "wrong_address", "moved", "deceased", "already_recorded", "kit_failure")
# the contract's codes onto the columns the branch has (the field-API branch extends the table)
_STORED = {"companion_absent": VisitOutcome.NOT_HOME, "unwell": VisitOutcome.UNFIT, "wrong_address": VisitOutcome.ADDRESS_NOT_FOUND, "moved": VisitOutcome.REFUSED, "deceased": VisitOutcome.REFUSED}
_NEXT = {"recorded": "completed", "kit_failure": "kit_out_of_service", "not_home": "reoffered", "companion_absent": "reoffered", "unwell": "reoffered"}


class VisitConflict(Conflict):
    code = "visit_conflict"


class ClientIdReused(InvalidInput):
    code = "client_id_reused"


class OutcomeIn(BaseModel):
    client_id: str = Field(min_length=8, max_length=36)
    outcome: Literal["recorded", "not_home", "companion_absent", "unwell", "refused", "wrong_address", "moved", "deceased", "already_recorded", "kit_failure"]
    arrived_at: datetime | None = None
    finished_at: datetime | None = None
    note: str | None = Field(default=None, max_length=2000)
    lat: float | None = None
    lon: float | None = None


def record_outcome(session: Session, *, team_id: int | None, officer_id: int, visit_id: int, body: OutcomeIn, now: datetime) -> dict:
    booking = session.get(Booking, visit_id)
    team_day = session.get(TeamDay, booking.team_day_id) if booking else None
    if booking is None or team_day is None or team_day.team_id != team_id:
        raise NotFound()
    stored = _STORED.get(body.outcome, body.outcome)
    answer = {"visit_id": visit_id, "outcome": body.outcome, "next_step": _NEXT.get(body.outcome, "closed")}
    previous = session.exec(select(Visit).where(Visit.client_uuid == body.client_id)).first()
    if previous is not None:
        same = (previous.booking_id, previous.outcome, previous.notes, previous.gps_lat, previous.gps_lon) == (visit_id, stored, body.note, body.lat, body.lon)
        if not same:
            raise ClientIdReused("fieldui.client_id_reused")
        return answer | {"replayed": True}
    if booking.status != BookingStatus.CONFIRMED:
        raise VisitConflict("fieldui.conflict")
    session.add(Visit(
        client_uuid=body.client_id, booking_id=visit_id, request_id=booking.request_id, officer_id=officer_id, outcome=stored, notes=body.note,
        arrived_at=body.arrived_at, finished_at=body.finished_at, recorded_on_device_at=body.finished_at or now, received_at=now,
        gps_lat=body.lat, gps_lon=body.lon,
    ))
    booking.status = BookingStatus.DONE
    session.add(booking)
    bump(session, team_day.id)
    session.flush()
    return answer | {"replayed": False}


@router.post("/visits/{visit_id}/outcome")
def post_outcome(visit_id: int, body: OutcomeIn, session: WriteDB, now: Now, principal: Principal = Depends(officer)) -> dict:
    """STUB (field-UI branch): record a visit's outcome, idempotent on ``client_id``."""
    return record_outcome(session, team_id=principal.team_id, officer_id=principal.user_id, visit_id=visit_id, body=body, now=now)
