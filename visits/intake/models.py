"""The service area, residents, KK documents and visit requests. (SQLModel tables; see ``visits.tables``)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, String, Text, event, inspect
from sqlmodel import Field, SQLModel

from visits import pii
from visits.pii import Sealed
from visits.tables import created_column, one_of, str_column, utc_column


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


# What may happen to a request in each status: the one place these rules live (services check them,
# templates get :func:`request_actions`).
OVERRIDABLE = (RequestStatus.INELIGIBLE, RequestStatus.NEEDS_REVIEW, RequestStatus.RECEIVED)  # an operator may declare it eligible
DECLINABLE = (RequestStatus.NEEDS_REVIEW, RequestStatus.RECEIVED)  # an operator may decide it is not
OFFERABLE = (RequestStatus.ELIGIBLE, RequestStatus.OFFERED, RequestStatus.BOOKED)  # slots may be offered (rescheduling when booked)
NOT_CANCELLABLE = (RequestStatus.CANCELLED, RequestStatus.CLOSED, RequestStatus.VISITED)


# Reasons staff see and the public never does: that a NIK has an open request is specific personal
# data (UU 27/2022), so a duplicate is answered, and then behaves, as the new request it claims to be.
PRIVATE_REASONS = frozenset({"DUPLICATE_OPEN_REQUEST"})


def is_unresolved_duplicate(row: VisitRequest) -> bool:
    """A request submitted while its resident had another open one, not yet decided by an operator."""
    return bool(PRIVATE_REASONS & set(row.reasons or ())) and row.overridden_by_id is None and row.override_reason is None


def public_status(row: VisitRequest) -> str:
    """The status the public sees, and acts on through the tracking token. A duplicate held for an
    operator (stored NEEDS_REVIEW) shows the first answer it was given, as a new request would;
    once it is offered or booked its status is its own, like any other's."""
    if row.status == RequestStatus.NEEDS_REVIEW and is_unresolved_duplicate(row) and row.first_answer:
        return str(row.first_answer.get("status") or row.status)
    if row.status == RequestStatus.INELIGIBLE and set(row.reasons or ()) and set(row.reasons or ()) <= PRIVATE_REASONS:
        return RequestStatus.CANCELLED  # declined as a duplicate: to the public, the office closed it (as it may close any request)
    return row.status


def request_actions(status: str) -> dict[str, bool]:
    """Which actions a request's status allows, by name (for pages)."""
    return {
        "override": status in OVERRIDABLE,
        "decline": status in DECLINABLE,
        "offer": status in OFFERABLE,
        "cancel": status not in NOT_CANCELLABLE and status != RequestStatus.INELIGIBLE,
    }


class HeardVia(StrEnum):
    """How the family heard of the service (an optional intake question; socialisation)."""

    FLYER = "flyer"
    KELURAHAN = "kelurahan"
    HEALTH_POST = "health_post"  # posyandu / puskesmas
    SOCIAL_MEDIA = "social_media"
    NEIGHBOUR_FAMILY = "neighbour_family"
    OTHER = "other"


class ConsentBy(StrEnum):
    RESIDENT = "resident"
    GUARDIAN = "guardian"


class Office(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = str_column(200)
    address: str = str_column(300)
    lat: float
    lon: float


class Kecamatan(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = str_column(12, unique=True)  # "35.76.01"
    name: str = str_column(100)


class Kelurahan(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = str_column(20, unique=True)  # "35.76.01.1003"
    name: str = str_column(100)
    postcode: str = str_column(5)
    kecamatan_id: int = Field(foreign_key="kecamatan.id", index=True)
    lat: float  # approximate centroid
    lon: float
    population_required: int | None = None  # residents required to hold an E-KTP (coverage base)
    population_recorded: int | None = None  # of those, recorded (coverage numerator baseline)


class Resident(SQLModel, table=True):
    __table_args__ = (
        one_of("sex", Sex),
        one_of("marital_status", MaritalStatus),
        one_of("location_source", LocationSource),
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
    # the NIK sealed (visits.pii: the attribute holds the plain NIK, the column only ciphertext) and its
    # keyed hash for lookups and the one-resident-per-NIK rule; both NULL once the resident is anonymised
    nik: str | None = Field(default=None, sa_column=Column("nik_sealed", Sealed(pii.NIK), nullable=True))
    nik_hash: str | None = str_column(64, default=None, nullable=True, unique=True)
    full_name: str = str_column(200)
    birth_date: date
    sex: str = str_column(1)
    marital_status: str = str_column(10)
    group_elderly: bool = False
    group_disabled: bool = False
    disability_type: str | None = str_column(100, default=None, nullable=True)
    group_mental: bool = False
    group_bedridden: bool = False
    approach_notes: str | None = Field(default=None, sa_type=Text, nullable=True)
    street: str = str_column(300)
    rt: str = str_column(3)
    rw: str = str_column(3)
    # NULL only for an address outside the service area (such a request is stored ineligible, OUTSIDE_SERVICE_AREA)
    kelurahan_id: int | None = Field(default=None, foreign_key="kelurahan.id", index=True, nullable=True)
    outside_kelurahan_code: str | None = str_column(20, default=None, nullable=True)  # "35.16.01.2001", as submitted
    lat: float | None = None  # NULL only outside the service area without a map pin
    lon: float | None = None
    # the default is the model's, not the column's: a column default would replace an explicit None at INSERT
    location_source: str | None = Field(default=LocationSource.CENTROID, sa_column=Column(String(12), nullable=True))
    ektp_recorded_at: datetime | None = utc_column()
    created_at: datetime = created_column()
    updated_at: datetime = created_column()
    anonymised_at: datetime | None = utc_column()  # personal data removed (visits.intake.rights)

    @property
    def groups(self) -> list[Group]:
        flags = (
            (Group.ELDERLY, self.group_elderly),
            (Group.DISABLED, self.group_disabled),
            (Group.MENTAL, self.group_mental),
            (Group.BEDRIDDEN, self.group_bedridden),
        )
        return [g for g, on in flags if on]


@event.listens_for(Resident, "before_insert")
def _hash_new_nik(_mapper: object, _connection: object, target: Resident) -> None:
    """A resident's NIK lookup hash is set whenever its NIK is written (under the current data key)."""
    target.nik_hash = None if target.nik is None else pii.lookup_hash(target.nik, pii.NIK)


@event.listens_for(Resident, "before_update")
def _hash_changed_nik(mapper: object, connection: object, target: Resident) -> None:
    if inspect(target).attrs.nik.history.has_changes():
        _hash_new_nik(mapper, connection, target)


class KkDocument(SQLModel, table=True):
    """A KK photocopy/photo stored outside the web root under a random name."""

    __tablename__ = "kk_document"
    id: int | None = Field(default=None, primary_key=True)
    storage_name: str = str_column(64, unique=True)
    content_type: str = str_column(50)
    size_bytes: int
    sha256: str = str_column(64)
    uploaded_at: datetime = created_column()
    delete_after: datetime = utc_column(nullable=False)
    deleted_at: datetime | None = utc_column()


class VisitRequest(SQLModel, table=True):
    __tablename__ = "visit_request"
    __table_args__ = (
        one_of("channel", Channel),
        one_of("status", RequestStatus),
        one_of("consent_by", ConsentBy),
        CheckConstraint("kk_document_id IS NOT NULL OR kk_check_at_visit OR status = 'ineligible'", name="kk_present"),
        Index("ix_visit_request_status_due_at", "status", "due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    reference: str = str_column(12, unique=True)  # short, for phone calls (with the companion's phone)
    tracking_token_hash: str = str_column(64, unique=True)  # sha256 of the unguessable token
    resident_id: int = Field(foreign_key="resident.id", index=True)
    channel: str = str_column(5)
    status: str = str_column(12, default=RequestStatus.RECEIVED)
    kk_number: str | None = Field(default=None, sa_column=Column("kk_number_sealed", Sealed(pii.KK), nullable=True))  # sealed; NULL once anonymised
    kk_document_id: int | None = Field(default=None, foreign_key="kk_document.id", nullable=True)
    kk_check_at_visit: bool = False
    companion_name: str = str_column(200)
    companion_phone: str = str_column(20)  # E.164
    companion_relation: str = str_column(50)
    availability: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    accept_any_time: bool = False  # auto-booking: any slot inside the availability is fine
    consent_by: str = str_column(8)
    consent_at: datetime = utc_column(nullable=False)
    consent_version: str = str_column(20, default="2026-11")
    kelurahan_letter: bool | None = None  # socialisation measure; never required
    heard_via: str | None = str_column(20, default=None, nullable=True)  # socialisation: how the family heard (HEARD_VIA), optional
    notes: str | None = Field(default=None, sa_type=Text, nullable=True)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # what the submission answered ({"status", "reasons"}): an idempotent retry answers the same, whatever happened since
    first_answer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    override_reason: str | None = Field(default=None, sa_type=Text, nullable=True)
    overridden_by_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    idempotency_key: str | None = str_column(100, default=None, nullable=True, unique=True)
    idempotency_hash: str | None = str_column(64, default=None, nullable=True)
    received_at: datetime = created_column()
    first_answer_at: datetime | None = utc_column()
    due_at: datetime = utc_column(nullable=False)
    updated_at: datetime = created_column()
    version: int = 1
    anonymised_at: datetime | None = utc_column()  # personal data removed (visits.intake.rights)


class TrackingLink(SQLModel, table=True):
    """An extra tracking token for a request, minted when a message goes out without the
    family's own token at hand (an operator's action, a reminder) or after a reference + phone
    lookup. Only the token's SHA-256 is stored; each works like the request's own token."""

    __tablename__ = "tracking_link"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="visit_request.id", index=True)
    token_hash: str = str_column(64, unique=True)
    created_at: datetime = created_column()
