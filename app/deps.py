"""The application's dependencies in one place (FastAPI ``Annotated`` aliases).

Routes declare what they need: ``session: ReadDB`` (or ``WriteDB``), ``now: Now``,
``travel: Travel``, ``policy: Policy``, ``office: OfficeInfo``. Tests override :func:`get_now`
(``app.dependency_overrides[get_now] = lambda: FIXED``) so nothing depends on the hour, the
weekday or the date the suite runs; the background re-planner reads the same clock.
"""

from __future__ import annotations

from datetime import datetime, time
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, FastAPI, Path
from sqlmodel import Session

from app.db import ReadSession, WriteSession, get_engine
from app.settings import Settings, get_settings
from visits.booking.notices import Office
from visits.booking.slots import SlotPolicy
from visits.planning.travel import TravelService, travel_service
from visits.types import utcnow


def get_now() -> datetime:
    """The current instant (UTC). The one clock of the web app: tests override it."""
    return utcnow()


def app_clock(app: FastAPI) -> datetime:
    """The app's clock outside a request (the re-plan queue): honours a test's override."""
    return app.dependency_overrides.get(get_now, get_now)()


def slot_policy(settings: Settings | None = None) -> SlotPolicy:
    s = settings or get_settings()
    return SlotPolicy(
        window_minutes=s.slot_window_minutes,
        offer_count=s.slot_offer_count,
        horizon_days=s.planning_horizon_days,
        hold_minutes_phone=s.hold_minutes_phone,
        hold_minutes_web=s.hold_minutes_web,
        change_cutoff=time.fromisoformat(s.change_cutoff),
        timezone=s.timezone,
    )


@lru_cache
def _travel(osrm_url: str, detour: float, speed: float, max_table_size: int) -> TravelService:
    return travel_service(osrm_url, detour, speed, max_table_size=max_table_size, engine=get_engine)


def travel_times() -> TravelService:
    """Travel times (kept between requests: its matrix cache and location indices; OSRM's road
    times also in the database, for every process)."""
    s = get_settings()
    return _travel(s.osrm_url, s.travel_detour, s.travel_speed_kmh, s.osrm_max_table_size)


def office_info() -> Office:
    s = get_settings()
    return Office(s.office_name, s.public_base_url)


def _policy() -> SlotPolicy:
    return slot_policy()


MAX_ID = 2**31 - 1  # the largest id a table holds (PostgreSQL integer): a bigger one is a 422, never an overflow
DbId = Annotated[int, Path(ge=1, le=MAX_ID)]  # an id in a route's path

Now = Annotated[datetime, Depends(get_now)]
ReadDB = Annotated[Session, ReadSession]
WriteDB = Annotated[Session, WriteSession]
Travel = Annotated[TravelService, Depends(travel_times)]
Policy = Annotated[SlotPolicy, Depends(_policy)]
OfficeInfo = Annotated[Office, Depends(office_info)]
