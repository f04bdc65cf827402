"""Visits carried out in the field, their outcomes, "on our way" messages and where a team
stands on its day. (SQLModel tables; see ``visits.tables``)."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, event, select
from sqlmodel import Field, SQLModel, col

from visits.intake.models import Resident, VisitRequest
from visits.tables import created_column, one_of, str_column, utc_column


class VisitOutcome(StrEnum):
    RECORDED = "recorded"  # biometrics taken
    NOT_HOME = "not_home"
    COMPANION_ABSENT = "companion_absent"
    UNWELL = "unwell"  # resident too unwell / could not be recorded
    REFUSED = "refused"
    WRONG_ADDRESS = "wrong_address"
    MOVED = "moved"
    DECEASED = "deceased"
    ALREADY_RECORDED = "already_recorded"  # recorded elsewhere already
    KIT_FAILURE = "kit_failure"
    # codes of the first schema, never written by the field API (kept so old rows stay valid)
    UNFIT = "unfit"
    ADDRESS_NOT_FOUND = "address_not_found"


class NextStep(StrEnum):
    """What an outcome leads to (the field API's ``next_step``)."""

    COMPLETED = "completed"  # the request is visited: counts toward coverage
    REOFFERED = "reoffered"  # back to the family with new offers
    CLOSED = "closed"  # closed with the outcome as its reason
    KIT_OUT_OF_SERVICE = "kit_out_of_service"  # the team's kit is out; its bookings moved or re-offered


class Visit(SQLModel, table=True):
    """What happened at the door, as the officer recorded it (possibly offline): the proof of visit."""

    __table_args__ = (one_of("outcome", VisitOutcome), one_of("next_step", NextStep))
    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = str_column(36, unique=True)  # idempotent offline sync
    body_hash: str = str_column(64)  # sha256 of the synced body: the same client_uuid with another body is refused
    booking_id: int = Field(foreign_key="booking.id", index=True)
    request_id: int = Field(foreign_key="visit_request.id", index=True)
    # the resident visited (the request's) and the kelurahan they lived in when visited: the
    # coverage counts recorded residents per kelurahan from this table alone (filled on insert)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", nullable=True)
    kelurahan_id: int | None = Field(default=None, foreign_key="kelurahan.id", nullable=True)
    officer_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    outcome: str = str_column(20)
    next_step: str = str_column(20)
    notes: str | None = Field(default=None, sa_type=Text, nullable=True)
    arrived_at: datetime | None = utc_column()
    finished_at: datetime | None = utc_column()
    recorded_on_device_at: datetime = utc_column(nullable=False)
    received_at: datetime = created_column()
    gps_lat: float | None = None
    gps_lon: float | None = None
    follow_up_due: date | None = None


class OnOurWay(SQLModel, table=True):
    """The "on our way" message of one booked visit: sent at most once unless sent again on purpose."""

    __tablename__ = "on_our_way"
    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", unique=True)
    eta: time
    times_sent: int = 1
    first_sent_at: datetime = utc_column(nullable=False)
    last_sent_at: datetime = utc_column(nullable=False)


class TeamStand(SQLModel, table=True):
    """Where a team stands on its day, as the re-planner needs it: the rest of the day starts at
    ``free_from`` (office wall-clock time) from ``lat``/``lon`` (NULL: the office), after the
    ``done`` visits (``[{"booking_id", "lat", "lon", "start": "HH:MM", "service"}]``, history).
    Written by every outcome (where the visit that finished last ended) and every "running late"
    report (``live``: here, now + the minutes late)."""

    __tablename__ = "team_stand"
    id: int | None = Field(default=None, primary_key=True)
    team_day_id: int = Field(foreign_key="team_day.id", unique=True)
    free_from: time
    lat: float | None = None
    lon: float | None = None
    late_minutes: int = 0
    live: bool = False  # free_from was reported live (running late): visits whose window closes before it are missed
    done: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = created_column()


@event.listens_for(Visit, "before_insert")
def _where_visited(_mapper: Any, connection: Any, visit: Visit) -> None:
    """Every visit row carries its resident and their kelurahan at the time of the visit."""
    if visit.resident_id is None or visit.kelurahan_id is None:
        row = connection.execute(
            select(col(VisitRequest.resident_id), col(Resident.kelurahan_id)).join(Resident, col(VisitRequest.resident_id) == col(Resident.id)).where(col(VisitRequest.id) == visit.request_id)
        ).first()
        if row is not None:
            visit.resident_id = visit.resident_id or row[0]
            visit.kelurahan_id = visit.kelurahan_id or row[1]
