"""Slot holds and bookings. (SQLModel tables; see ``visits.tables``)."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from visits.tables import created_column, one_of, str_column, utc_column


class HoldStatus(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    RELEASED = "released"


class BookingStatus(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"  # replaced by a newer booking
    DONE = "done"


class SlotHold(SQLModel, table=True):
    __tablename__ = "slot_hold"
    __table_args__ = (one_of("status", HoldStatus), Index("ix_slot_hold_team_day_status", "team_day_id", "status"))
    id: int | None = Field(default=None, primary_key=True)
    offer_id: str = str_column(32, unique=True)  # public, random
    request_id: int = Field(foreign_key="visit_request.id", index=True)
    team_day_id: int = Field(foreign_key="team_day.id")
    window_start: time
    window_end: time
    status: str = str_column(10, default=HoldStatus.HELD)
    expires_at: datetime = utc_column(nullable=False)
    created_at: datetime = created_column()


class Booking(SQLModel, table=True):
    __table_args__ = (one_of("status", BookingStatus), Index("ix_booking_team_day_status", "team_day_id", "status"))
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="visit_request.id", index=True)
    team_day_id: int = Field(foreign_key="team_day.id")
    hold_id: int | None = Field(default=None, foreign_key="slot_hold.id", nullable=True)
    window_start: time
    window_end: time
    service_minutes: int
    status: str = str_column(12, default=BookingStatus.CONFIRMED)
    created_at: datetime = created_column()
    cancelled_at: datetime | None = utc_column()
    reminder_sent_at: datetime | None = utc_column()


class GroupMember(SQLModel, table=True):
    """A group visit (a care home, a family with two elderly members): one booking, the lead
    request's, at one address for several residents. Each member keeps its own request (and gets
    its own outcome, so each counts toward coverage); the lead's booking carries the summed
    service time (``visits.booking.groups``)."""

    __tablename__ = "group_member"
    id: int | None = Field(default=None, primary_key=True)
    lead_request_id: int = Field(foreign_key="visit_request.id", index=True)
    member_request_id: int = Field(foreign_key="visit_request.id", unique=True)
    created_at: datetime = created_column()
