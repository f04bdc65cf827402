"""The data model for the whole product (SQLModel tables).

Table models skip validation: input and output schemas live in ``visits/schemas.py``.
Enumerations are stored as short strings guarded by named CHECK constraints, so the
schema is the same on SQLite and PostgreSQL and migrations stay plain.
Wall-clock visit times (days, windows) are local to the office's timezone; instants
(created, expires, sent...) are UTC (``UTCDateTime``).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, MetaData, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from visits.types import UTCDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


# ---------------------------------------------------------------- enumerations


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


class MaritalStatus(StrEnum):
    SINGLE = "single"
    MARRIED = "married"
    DIVORCED = "divorced"
    WIDOWED = "widowed"


class Group(StrEnum):
    ELDERLY = "elderly"
    DISABLED = "disabled"
    MENTAL = "mental"
    BEDRIDDEN = "bedridden"


class LocationSource(StrEnum):
    CENTROID = "centroid"
    MAP_PIN = "map_pin"
    GEOCODER = "geocoder"
    OFFICER_GPS = "officer_gps"


class Channel(StrEnum):
    WEB = "web"
    PHONE = "phone"


class RequestStatus(StrEnum):
    RECEIVED = "received"  # stored, not yet decided
    NEEDS_REVIEW = "needs_review"  # an operator must look (e.g. KK to check, override asked)
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    OFFERED = "offered"  # slots offered, waiting for the family
    BOOKED = "booked"
    VISITED = "visited"  # recorded at home
    FAILED = "failed"  # visit could not record; follow-up needed
    CANCELLED = "cancelled"
    CLOSED = "closed"


OPEN_REQUEST_STATUSES = (
    RequestStatus.RECEIVED,
    RequestStatus.NEEDS_REVIEW,
    RequestStatus.ELIGIBLE,
    RequestStatus.OFFERED,
    RequestStatus.BOOKED,
    RequestStatus.FAILED,
)


class ConsentBy(StrEnum):
    RESIDENT = "resident"
    GUARDIAN = "guardian"


class KitState(StrEnum):
    OK = "ok"
    OUT_OF_SERVICE = "out_of_service"


class HoldStatus(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    RELEASED = "released"


class BookingStatus(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"  # replaced by a newer booking
    DONE = "done"


class VisitOutcome(StrEnum):
    RECORDED = "recorded"
    NOT_HOME = "not_home"
    REFUSED = "refused"
    UNFIT = "unfit"  # resident could not be recorded (health, agitation)
    KIT_FAILURE = "kit_failure"
    ADDRESS_NOT_FOUND = "address_not_found"
    ALREADY_RECORDED = "already_recorded"


class PlanStatus(StrEnum):
    CURRENT = "current"
    SUPERSEDED = "superseded"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after retries


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    OFFICER = "officer"
    HEAD = "head"


def _one_of(column: str, enum: type[StrEnum], name: str | None = None) -> CheckConstraint:
    values = ", ".join(f"'{m.value}'" for m in enum)
    return CheckConstraint(f"{column} IN ({values})", name=name or f"{column}_valid")


def _utc(nullable: bool = True, **kw: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, **kw)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _s(n: int, **kw: Any) -> Any:
    return Field(sa_type=String(n), **kw)


# ---------------------------------------------------------------- service area


class Office(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = _s(200)
    address: str = _s(300)
    lat: float
    lon: float


class Kecamatan(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = _s(12, unique=True)  # "35.76.01"
    name: str = _s(100)


class Kelurahan(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = _s(20, unique=True)  # "35.76.01.1003"
    name: str = _s(100)
    postcode: str = _s(5)
    kecamatan_id: int = Field(foreign_key="kecamatan.id", index=True)
    lat: float  # approximate centroid
    lon: float
    population_required: int | None = None  # residents required to hold an E-KTP (coverage base)
    population_recorded: int | None = None  # of those, recorded (coverage numerator baseline)


# ---------------------------------------------------------------- residents and requests


class Resident(SQLModel, table=True):
    __table_args__ = (
        _one_of("sex", Sex),
        _one_of("marital_status", MaritalStatus),
        _one_of("location_source", LocationSource),
        # an address in the service area names one of its kelurahan; one outside it keeps the code as submitted
        CheckConstraint(
            "(kelurahan_id IS NOT NULL AND outside_kelurahan_code IS NULL) OR (kelurahan_id IS NULL AND outside_kelurahan_code IS NOT NULL)",
            name="one_kelurahan",
        ),
        CheckConstraint("kelurahan_id IS NULL OR lat IS NOT NULL", name="located_in_area"),  # slots and routes need a point
        CheckConstraint(
            "(lat IS NULL AND lon IS NULL AND location_source IS NULL) OR (lat IS NOT NULL AND lon IS NOT NULL AND location_source IS NOT NULL)",
            name="location_complete",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    nik: str = _s(16, unique=True)
    full_name: str = _s(200)
    birth_date: date
    sex: str = _s(1)
    marital_status: str = _s(10)
    group_elderly: bool = False
    group_disabled: bool = False
    disability_type: str | None = _s(100, default=None, nullable=True)
    group_mental: bool = False
    group_bedridden: bool = False
    approach_notes: str | None = Field(default=None, sa_type=Text, nullable=True)
    street: str = _s(300)
    rt: str = _s(3)
    rw: str = _s(3)
    # NULL only for an address outside the service area (such a request is stored ineligible, OUTSIDE_SERVICE_AREA)
    kelurahan_id: int | None = Field(default=None, foreign_key="kelurahan.id", index=True, nullable=True)
    outside_kelurahan_code: str | None = _s(20, default=None, nullable=True)  # "35.16.01.2001", as submitted
    lat: float | None = None  # NULL only outside the service area without a map pin
    lon: float | None = None
    # the default is the model's, not the column's: a column default would replace an explicit None at INSERT
    location_source: str | None = Field(default=LocationSource.CENTROID, sa_column=Column(String(12), nullable=True))
    ektp_recorded_at: datetime | None = _utc()
    created_at: datetime = _created()
    updated_at: datetime = _created()

    @property
    def groups(self) -> list[Group]:
        flags = (
            (Group.ELDERLY, self.group_elderly),
            (Group.DISABLED, self.group_disabled),
            (Group.MENTAL, self.group_mental),
            (Group.BEDRIDDEN, self.group_bedridden),
        )
        return [g for g, on in flags if on]


class KkDocument(SQLModel, table=True):
    """A KK photocopy/photo stored outside the web root under a random name."""

    __tablename__ = "kk_document"
    id: int | None = Field(default=None, primary_key=True)
    storage_name: str = _s(64, unique=True)
    content_type: str = _s(50)
    size_bytes: int
    sha256: str = _s(64)
    uploaded_at: datetime = _created()
    delete_after: datetime = _utc(nullable=False)
    deleted_at: datetime | None = _utc()


class VisitRequest(SQLModel, table=True):
    __tablename__ = "visit_request"
    __table_args__ = (
        _one_of("channel", Channel),
        _one_of("status", RequestStatus),
        _one_of("consent_by", ConsentBy),
        CheckConstraint("kk_document_id IS NOT NULL OR kk_check_at_visit OR status = 'ineligible'", name="kk_present"),
        Index("ix_visit_request_status_due_at", "status", "due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    reference: str = _s(12, unique=True)  # short, for phone calls (with the companion's phone)
    tracking_token_hash: str = _s(64, unique=True)  # sha256 of the unguessable token
    resident_id: int = Field(foreign_key="resident.id", index=True)
    channel: str = _s(5)
    status: str = _s(12, default=RequestStatus.RECEIVED)
    kk_number: str = _s(16)
    kk_document_id: int | None = Field(default=None, foreign_key="kk_document.id", nullable=True)
    kk_check_at_visit: bool = False
    companion_name: str = _s(200)
    companion_phone: str = _s(20)  # E.164
    companion_relation: str = _s(50)
    availability: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    accept_any_time: bool = False  # auto-booking: any slot inside the availability is fine
    consent_by: str = _s(8)
    consent_at: datetime = _utc(nullable=False)
    consent_version: str = _s(20, default="2026-11")
    kelurahan_letter: bool | None = None  # socialisation measure; never required
    notes: str | None = Field(default=None, sa_type=Text, nullable=True)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # what the submission answered ({"status", "reasons"}): an idempotent retry answers the same, whatever happened since
    first_answer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    override_reason: str | None = Field(default=None, sa_type=Text, nullable=True)
    overridden_by_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    idempotency_key: str | None = _s(100, default=None, nullable=True, unique=True)
    idempotency_hash: str | None = _s(64, default=None, nullable=True)
    received_at: datetime = _created()
    first_answer_at: datetime | None = _utc()
    due_at: datetime = _utc(nullable=False)
    updated_at: datetime = _created()
    version: int = 1


# ---------------------------------------------------------------- teams and calendars


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = _s(100, unique=True)
    active: bool = True
    max_visits_per_day: int | None = None


class TeamSkill(SQLModel, table=True):
    __tablename__ = "team_skill"
    __table_args__ = (UniqueConstraint("team_id", "skill"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    skill: str = _s(30)  # e.g. "odgj"


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    name: str = _s(200)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)


class RecordingKit(SQLModel, table=True):
    __tablename__ = "recording_kit"
    __table_args__ = (_one_of("state", KitState),)
    id: int | None = Field(default=None, primary_key=True)
    code: str = _s(30, unique=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", nullable=True, unique=True)
    state: str = _s(16, default=KitState.OK)
    notes: str | None = Field(default=None, sa_type=Text, nullable=True)
    updated_at: datetime = _created()


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
    reason: str = _s(200)


class ServiceRule(SQLModel, table=True):
    """Service time and required skill per served group."""

    __tablename__ = "service_rule"
    __table_args__ = (_one_of("served_group", Group),)
    id: int | None = Field(default=None, primary_key=True)
    served_group: str = _s(10, unique=True)
    minutes: int
    required_skill: str | None = _s(30, default=None, nullable=True)


# ---------------------------------------------------------------- slots, bookings, plans, visits


class TeamDay(SQLModel, table=True):
    """One team on one day: the row booking and re-planning lock and version."""

    __tablename__ = "team_day"
    __table_args__ = (UniqueConstraint("team_id", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    day: date = Field(index=True)
    version: int = 0  # bumped by every booking change; plans are written against it


class SlotHold(SQLModel, table=True):
    __tablename__ = "slot_hold"
    __table_args__ = (_one_of("status", HoldStatus), Index("ix_slot_hold_team_day_status", "team_day_id", "status"))
    id: int | None = Field(default=None, primary_key=True)
    offer_id: str = _s(32, unique=True)  # public, random
    request_id: int = Field(foreign_key="visit_request.id", index=True)
    team_day_id: int = Field(foreign_key="team_day.id")
    window_start: time
    window_end: time
    status: str = _s(10, default=HoldStatus.HELD)
    expires_at: datetime = _utc(nullable=False)
    created_at: datetime = _created()


class Booking(SQLModel, table=True):
    __table_args__ = (_one_of("status", BookingStatus), Index("ix_booking_team_day_status", "team_day_id", "status"))
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="visit_request.id", index=True)
    team_day_id: int = Field(foreign_key="team_day.id")
    hold_id: int | None = Field(default=None, foreign_key="slot_hold.id", nullable=True)
    window_start: time
    window_end: time
    service_minutes: int
    status: str = _s(12, default=BookingStatus.CONFIRMED)
    created_at: datetime = _created()
    cancelled_at: datetime | None = _utc()
    reminder_sent_at: datetime | None = _utc()


class Plan(SQLModel, table=True):
    __table_args__ = (_one_of("status", PlanStatus), UniqueConstraint("team_day_id", "version"))
    id: int | None = Field(default=None, primary_key=True)
    team_day_id: int = Field(foreign_key="team_day.id", index=True)
    version: int  # TeamDay.version it was computed from
    status: str = _s(12, default=PlanStatus.CURRENT)
    solver_status: str = _s(20)
    objective: int = 0
    travel_minutes: int = 0
    created_at: datetime = _created()


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


class Visit(SQLModel, table=True):
    """What happened at the door, as the officer recorded it (possibly offline)."""

    __table_args__ = (_one_of("outcome", VisitOutcome),)
    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = _s(36, unique=True)  # idempotent offline sync
    booking_id: int = Field(foreign_key="booking.id", index=True)
    request_id: int = Field(foreign_key="visit_request.id", index=True)
    officer_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    outcome: str = _s(20)
    notes: str | None = Field(default=None, sa_type=Text, nullable=True)
    arrived_at: datetime | None = _utc()
    finished_at: datetime | None = _utc()
    recorded_on_device_at: datetime = _utc(nullable=False)
    received_at: datetime = _created()
    gps_lat: float | None = None
    gps_lon: float | None = None
    follow_up_due: date | None = None


# ---------------------------------------------------------------- notifications


class Notification(SQLModel, table=True):
    """The outbox: written in the same transaction as the change it announces."""

    __table_args__ = (_one_of("status", NotificationStatus), Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"))
    id: int | None = Field(default=None, primary_key=True)
    request_id: int | None = Field(default=None, foreign_key="visit_request.id", nullable=True, index=True)
    recipient: str = _s(20)  # E.164
    language: str = _s(2)
    template: str = _s(40)
    body: str = Field(sa_type=Text)
    status: str = _s(8, default=NotificationStatus.PENDING)
    attempts: int = 0
    next_attempt_at: datetime = _created()
    sent_at: datetime | None = _utc()
    last_error: str | None = _s(500, default=None, nullable=True)
    created_at: datetime = _created()


# ---------------------------------------------------------------- staff, sessions, audit


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (
        _one_of("role", Role),
        CheckConstraint("role <> 'officer' OR team_id IS NOT NULL", name="officer_has_team"),
    )
    id: int | None = Field(default=None, primary_key=True)
    username: str = _s(50, unique=True)
    full_name: str = _s(200, default="")
    password_hash: str = _s(200)
    role: str = _s(10)
    team_id: int | None = Field(default=None, foreign_key="team.id", nullable=True)
    active: bool = True
    language: str | None = _s(2, default=None, nullable=True)
    created_at: datetime = _created()


class UserSession(SQLModel, table=True):
    """Server-side login session; the cookie carries the random id, the table its hash."""

    __tablename__ = "user_session"
    id: str = Field(sa_type=String(64), primary_key=True)  # sha256 of the cookie value
    user_id: int = Field(foreign_key="app_user.id", index=True)
    csrf_token: str = _s(64)
    created_at: datetime = _created()
    expires_at: datetime = _utc(nullable=False)
    last_seen_at: datetime = _created()


class ApiToken(SQLModel, table=True):
    """Bearer tokens for tablets and scripts; stored hashed."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = _s(64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = _s(100, default="")
    created_at: datetime = _created()
    expires_at: datetime = _utc(nullable=False)
    last_used_at: datetime | None = _utc()
    revoked_at: datetime | None = _utc()


class LoginAttempt(SQLModel, table=True):
    """Failed logins, for throttling repeated wrong passwords."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_username_at", "username", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    username: str = _s(50)
    at: datetime = _created()


class RateLimitHit(SQLModel, table=True):
    """Fixed-window counters shared by every worker (tracking lookups, login, intake)."""

    __tablename__ = "rate_limit_hit"
    __table_args__ = (UniqueConstraint("bucket", "window_start"),)
    id: int | None = Field(default=None, primary_key=True)
    bucket: str = _s(100)  # e.g. "track:<hashed client>"
    window_start: datetime = _utc(nullable=False)
    count: int = 0


class AuditLog(SQLModel, table=True):
    """Who read or changed which resident's personal data. Never holds the data itself."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_resident_id_at", "resident_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created()
    user_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True, index=True)
    action: str = _s(30)  # read, create, update, override, view_kk, export...
    entity: str = _s(30)  # resident, visit_request, kk_document...
    entity_id: int | None = None
    resident_id: int | None = Field(default=None, foreign_key="resident.id", nullable=True)
    route: str = _s(200, default="")  # the route template, never the URL with values
