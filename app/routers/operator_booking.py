"""Operator screens for slot negotiation (staff: operator, admin, head read-only):
the chase list of offers not yet confirmed, and the booked visits per day and team."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, select

from app.auth import Principal, require_roles
from app.db import ReadSession
from app.settings import get_settings
from app.web import render
from visits.booking_ops import chase_list
from visits.models import Booking, BookingStatus, Team, TeamDay, VisitRequest
from visits.types import utcnow

router = APIRouter(include_in_schema=False)
desk = require_roles("operator", "admin", "head")


@router.get("/operator/chase", response_class=HTMLResponse)
def chase(request: Request, principal: Principal = Depends(desk), session: Session = ReadSession) -> HTMLResponse:
    rows = chase_list(session, utcnow())
    return render(request, "operator/chase.html", {"rows": rows, "tz": ZoneInfo(get_settings().timezone)})


@router.get("/operator/bookings", response_class=HTMLResponse)
def bookings(request: Request, day: date | None = Query(default=None, alias="date"), principal: Principal = Depends(desk), session: Session = ReadSession) -> HTMLResponse:
    day = day or utcnow().astimezone(ZoneInfo(get_settings().timezone)).date()
    rows = session.exec(
        select(Booking, TeamDay, Team, VisitRequest)
        .join(TeamDay, Booking.team_day_id == TeamDay.id)  # type: ignore[arg-type]
        .join(Team, TeamDay.team_id == Team.id)  # type: ignore[arg-type]
        .join(VisitRequest, Booking.request_id == VisitRequest.id)  # type: ignore[arg-type]
        .where(TeamDay.day == day, Booking.status == BookingStatus.CONFIRMED)
        .order_by(Team.name, Booking.window_start)
    ).all()
    teams: dict[str, list[tuple[Booking, VisitRequest]]] = {}
    for booking, _, team, req in rows:
        teams.setdefault(team.name, []).append((booking, req))
    return render(request, "operator/bookings.html", {"day": day, "teams": teams})
