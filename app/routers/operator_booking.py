"""Operator screens for slot negotiation (staff: operator, admin, head read-only):
the chase list of offers not yet confirmed, and the booked visits per day and team."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from app.auth import Principal, audit_read_many, require_roles
from app.db import ReadSession
from app.deps import Now
from app.settings import get_settings
from app.web import render
from visits.booking.chores import chase_list
from visits.booking.queries import default_bookings_day, visits_by_team
from visits.staff.roles import DESK_READERS

router = APIRouter(include_in_schema=False)
desk = require_roles(*DESK_READERS)


@router.get("/operator/chase", response_class=HTMLResponse)
def chase(request: Request, now: Now, principal: Principal = Depends(desk), session: Session = ReadSession) -> HTMLResponse:
    rows = chase_list(session, now)
    # the list shows each family's companion and phone (personal data): one audit row per request shown
    audit_read_many(session, request, principal, entity="visit_request", items=[(r.request_id, r.resident_id) for r in rows])
    return render(request, "operator/chase.html", {"rows": rows, "tz": ZoneInfo(get_settings().timezone)})


@router.get("/operator/bookings", response_class=HTMLResponse)
def bookings(request: Request, now: Now, day: date | None = Query(default=None, alias="date"), principal: Principal = Depends(desk), session: Session = ReadSession) -> HTMLResponse:
    today = now.astimezone(ZoneInfo(get_settings().timezone)).date()
    day = day or default_bookings_day(session, today)
    teams = visits_by_team(session, day)
    # the page shows each visit's address (personal data): one audit row per request shown
    audit_read_many(session, request, principal, entity="visit_request", items=[(v.request.id, v.request.resident_id) for items in teams.values() for v in items])
    return render(request, "operator/bookings.html", {"day": day, "today": today, "teams": teams, "prev_day": day - timedelta(days=1), "next_day": day + timedelta(days=1)})
