"""Team-days and their versioned plans. (SQLModel tables; see ``visits.tables``)."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from visits.tables import created_column, one_of, str_column


class PlanStatus(StrEnum):
    CURRENT = "current"
    SUPERSEDED = "superseded"


class TeamDay(SQLModel, table=True):
    """One team on one day: the row booking and re-planning lock and version."""

    __tablename__ = "team_day"
    __table_args__ = (UniqueConstraint("team_id", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    day: date = Field(index=True)
    version: int = 0  # bumped by every booking change; plans are written against it


class Plan(SQLModel, table=True):
    __table_args__ = (one_of("status", PlanStatus), UniqueConstraint("team_day_id", "version"))
    id: int | None = Field(default=None, primary_key=True)
    team_day_id: int = Field(foreign_key="team_day.id", index=True)
    version: int  # TeamDay.version it was computed from
    status: str = str_column(12, default=PlanStatus.CURRENT)
    solver_status: str = str_column(20)
    objective: int = 0
    travel_minutes: int = 0
    created_at: datetime = created_column()


class PlanStop(SQLModel, table=True):
    __tablename__ = "plan_stop"
    __table_args__ = (UniqueConstraint("plan_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    position: int
    booking_id: int = Field(foreign_key="booking.id")
    arrival: time
    start: time
    end: time


class TravelPair(SQLModel, table=True):
    """A road travel time from one point to another, kept across processes and days (the OSRM
    provider's store, ``visits.planning.travel.TravelPairStore``). Points are packed rounded to
    five decimals (:func:`visits.planning.travel.point_key`); ``source`` names the provider (server
    and profile), so another server's times are never mixed in. Safe to empty."""

    __tablename__ = "travel_pair"
    source: str = Field(sa_type=String(40), primary_key=True)
    origin: int = Field(sa_type=BigInteger, primary_key=True)
    destination: int = Field(sa_type=BigInteger, primary_key=True)
    seconds: float
