"""Teams, their members, skills, recording kits, shift patterns, closures and service rules. (SQLModel tables; see ``visits.tables``)."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from visits.intake.models import Group
from visits.tables import created_column, one_of, str_column, utc_column


class KitState(StrEnum):
    OK = "ok"  # in service
    OUT_OF_SERVICE = "out_of_service"  # from ``out_from`` (None: already) until ``out_until`` (None: open-ended)
    UNDER_REPAIR = "under_repair"  # away until it is back (open-ended)


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = str_column(100, unique=True)
    active: bool = True
    max_visits_per_day: int | None = None
    min_members: int | None = None  # a day with fewer members present takes the team off the plan (None: not checked)


class TeamSkill(SQLModel, table=True):
    __tablename__ = "team_skill"
    __table_args__ = (UniqueConstraint("team_id", "skill"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    skill: str = str_column(30)  # e.g. "odgj"


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    name: str = str_column(200)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    left_on: date | None = None  # the first day without this member (None: still in the team)


class RecordingKit(SQLModel, table=True):
    __tablename__ = "recording_kit"
    __table_args__ = (one_of("state", KitState),)
    id: int | None = Field(default=None, primary_key=True)
    code: str = str_column(30, unique=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", nullable=True, unique=True)
    state: str = str_column(16, default=KitState.OK)
    notes: str | None = Field(default=None, sa_type=Text, nullable=True)
    updated_at: datetime = created_column()
    out_from: date | None = None  # OUT_OF_SERVICE from this day (None: already)
    out_until: date | None = None  # OUT_OF_SERVICE through this day, back the day after (None: open-ended)
    retired_at: datetime | None = utc_column()  # deactivated: kept for history, holds no team

    def in_service_on(self, day: date) -> bool:
        """Can the holder team work with this kit on ``day``?"""
        if self.retired_at is not None or self.state == KitState.UNDER_REPAIR:
            return False
        if self.state == KitState.OUT_OF_SERVICE:
            started = self.out_from is None or self.out_from <= day
            ongoing = self.out_until is None or day <= self.out_until
            return not (started and ongoing)
        return True


class CalendarOverride(SQLModel, table=True):
    """The office works on a collective-leave day (cuti bersama) after all."""

    __tablename__ = "calendar_override"
    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(unique=True)
    reason: str = str_column(200, default="")


class ShiftPattern(SQLModel, table=True):
    """Working hours per weekday (0 = Monday); team_id NULL is the office default."""

    __tablename__ = "shift_pattern"
    __table_args__ = (
        UniqueConstraint("team_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("end_time > start_time", name="ends_after_start"),
    )
    id: int | None = Field(default=None, primary_key=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", nullable=True)
    weekday: int
    start_time: time
    end_time: time
    break_earliest: time | None = None
    break_latest: time | None = None
    break_minutes: int = 0


class OfficeClosure(SQLModel, table=True):
    """A day without visits (office event, collective leave); team_id set = that team only."""

    __tablename__ = "office_closure"
    __table_args__ = (UniqueConstraint("day", "team_id"),)
    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", nullable=True)
    reason: str = str_column(200)


class ServiceRule(SQLModel, table=True):
    """Service time and required skill per served group."""

    __tablename__ = "service_rule"
    __table_args__ = (one_of("served_group", Group),)
    id: int | None = Field(default=None, primary_key=True)
    served_group: str = str_column(10, unique=True)
    minutes: int
    required_skill: str | None = str_column(30, default=None, nullable=True)
