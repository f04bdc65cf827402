"""Visits carried out in the field and their outcomes. (SQLModel tables; see ``visits.tables``)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from visits.tables import created_column, one_of, str_column, utc_column


class VisitOutcome(StrEnum):
    RECORDED = "recorded"
    NOT_HOME = "not_home"
    REFUSED = "refused"
    UNFIT = "unfit"  # resident could not be recorded (health, agitation)
    KIT_FAILURE = "kit_failure"
    ADDRESS_NOT_FOUND = "address_not_found"
    ALREADY_RECORDED = "already_recorded"


class Visit(SQLModel, table=True):
    """What happened at the door, as the officer recorded it (possibly offline)."""

    __table_args__ = (one_of("outcome", VisitOutcome),)
    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = str_column(36, unique=True)  # idempotent offline sync
    booking_id: int = Field(foreign_key="booking.id", index=True)
    request_id: int = Field(foreign_key="visit_request.id", index=True)
    officer_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    outcome: str = str_column(20)
    notes: str | None = Field(default=None, sa_type=Text, nullable=True)
    arrived_at: datetime | None = utc_column()
    finished_at: datetime | None = utc_column()
    recorded_on_device_at: datetime = utc_column(nullable=False)
    received_at: datetime = created_column()
    gps_lat: float | None = None
    gps_lon: float | None = None
    follow_up_due: date | None = None
