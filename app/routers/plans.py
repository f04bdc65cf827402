"""The day's routes for staff: ``GET /api/v1/plans?date=YYYY-MM-DD`` (references and times only).

Importing this router also configures the background re-plan queue (``visits.replan``) with the
application's engine, travel times and time limit; ``create_app`` imports every router.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from app.auth import Principal, require_roles
from app.db import ReadSession, get_engine
from app.routers.booking import travel
from app.settings import get_settings
from visits import replan
from visits.models import Role
from visits.plans import day_plan
from visits.types import utcnow

router = APIRouter(prefix="/api/v1", tags=["plans"])
staff = require_roles(Role.ADMIN, Role.OPERATOR, Role.HEAD, Role.OFFICER)


def configure_replans() -> replan.ReplanQueue:
    """The default re-plan queue: engine, travel and time limit resolved when each job runs."""
    return replan.configure(get_engine, travel, time_limit=lambda: get_settings().replan_time_limit_seconds)


if replan.default_queue() is None:
    configure_replans()


@router.get("/plans")
def get_plans(day: date = Query(alias="date", description="The day, YYYY-MM-DD."), principal: Principal = Depends(staff), session: Session = ReadSession) -> dict:
    """Every working team's route of the day (an officer sees only their own team).

    ``version`` is the largest team-day/plan version of the day: it grows with every booking change.
    """
    if principal.role == Role.OFFICER:
        if principal.team_id is None:
            return {"date": day.isoformat(), "version": 0, "routes": []}
        return day_plan(session, day, principal.team_id, travel=travel(), now=utcnow()).as_dict()
    return day_plan(session, day, travel=travel(), now=utcnow()).as_dict()
