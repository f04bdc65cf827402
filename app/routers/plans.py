"""The day's routes for staff: ``GET /api/v1/plans?date=YYYY-MM-DD`` (references and times only)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from app.auth import Principal, require_roles
from app.db import ReadSession
from app.deps import Now, Travel
from visits.models import Role
from visits.planning.plans import day_plan
from visits.staff.roles import ALL_STAFF

router = APIRouter(prefix="/api/v1", tags=["plans"])
staff = require_roles(*ALL_STAFF)


@router.get("/plans")
def get_plans(now: Now, travel: Travel, day: date = Query(alias="date", description="The day, YYYY-MM-DD."), principal: Principal = Depends(staff), session: Session = ReadSession) -> dict:
    """Every working team's route of the day (an officer sees only their own team).

    ``version`` is the largest team-day/plan version of the day: it grows with every booking change.
    """
    if principal.role == Role.OFFICER:
        if principal.team_id is None:
            return {"date": day.isoformat(), "version": 0, "routes": []}
        return day_plan(session, day, principal.team_id, travel=travel, now=now).as_dict()
    return day_plan(session, day, travel=travel, now=now).as_dict()
