"""Operator screens for slot negotiation (staff: operator, admin, head read-only):
the chase list of offers not yet confirmed, and the booked visits per day and team."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from app.auth import Principal, require_roles
from app.db import ReadSession
from app.deps import Now
from visits.staff.roles import DESK_READERS
from app.settings import get_settings
from app.web import render
from visits.booking.chores import chase_list
from visits.booking.queries import bookings_by_team

router = APIRouter(include_in_schema=False)
desk = require_roles(*DESK_READERS)


@router.get("/operator/chase", response_class=HTMLResponse)
def chase(request: Request, now: Now, principal: Principal = Depends(desk), session: Session = ReadSession) -> HTMLResponse:
    rows = chase_list(session, now)
    return render(request, "operator/chase.html", {"rows": rows, "tz": ZoneInfo(get_settings().timezone)})


@router.get("/operator/bookings", response_class=HTMLResponse)
def bookings(request: Request, now: Now, day: date | None = Query(default=None, alias="date"), principal: Principal = Depends(desk), session: Session = ReadSession) -> HTMLResponse:
    day = day or now.astimezone(ZoneInfo(get_settings().timezone)).date()
    return render(request, "operator/bookings.html", {"day": day, "teams": bookings_by_team(session, day)})
