"""Coverage baselines imported from the population system. (SQLModel tables; see ``visits.tables``).

A baseline is the office's recap on one date: per kelurahan, the residents required to hold an
E-KTP and those already recorded. One baseline per date (importing the same recap again replaces
its rows, so the same file twice gives one baseline); older baselines are kept, so the head sees
coverage over time.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from visits.field.models import Visit
from visits.intake.models import VisitRequest
from visits.tables import created_column, str_column, utc_column


class CoverageBaseline(SQLModel, table=True):
    __tablename__ = "coverage_baseline"
    id: int | None = Field(default=None, primary_key=True)
    as_of: date = Field(unique=True)  # the recap's date: one baseline per date
    source_name: str = str_column(200)  # the uploaded file's name (no personal data: aggregates only)
    sha256: str = str_column(64)
    imported_by_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    imported_at: datetime = created_column()


class CoverageBaselineRow(SQLModel, table=True):
    __tablename__ = "coverage_baseline_row"
    __table_args__ = (
        UniqueConstraint("baseline_id", "kelurahan_id"),
        CheckConstraint("required >= 0 AND recorded >= 0 AND recorded <= required", name="consistent"),
    )
    id: int | None = Field(default=None, primary_key=True)
    baseline_id: int = Field(foreign_key="coverage_baseline.id", index=True)
    kelurahan_id: int = Field(foreign_key="kelurahan.id", index=True)
    required: int  # residents required to hold an E-KTP
    recorded: int  # of those, already recorded


# Indexes the reports need on other domains' tables (declared here, created by migrations
# 0003_reporting, 0004_report_indexes and 0005_visit_area).
_UNANSWERED = text("first_answer_at IS NULL")
REPORT_INDEXES = (
    Index("ix_visit_request_received_at", VisitRequest.received_at),  # type: ignore[arg-type]
    # recorded visits since a date, with their kelurahan and resident read from the index itself (coverage)
    Index("ix_visit_recorded_area", Visit.outcome, Visit.recorded_on_device_at, Visit.kelurahan_id, Visit.resident_id),  # type: ignore[arg-type]
    # the requests still waiting for their first answer, by due time (the clock's "overdue now"): a few rows of many
    Index("ix_visit_request_unanswered_due_at", VisitRequest.due_at, postgresql_where=_UNANSWERED, sqlite_where=_UNANSWERED),  # type: ignore[arg-type]
)


class FollowUpSurvey(SQLModel, table=True):
    """The two-question survey a day after a ``recorded`` visit (monitoring): one per visit, answered once.

    Reached by an unguessable link (only the token's SHA-256 is stored); it holds no personal data.
    """

    __tablename__ = "follow_up_survey"
    __table_args__ = (CheckConstraint("satisfaction IS NULL OR (satisfaction >= 1 AND satisfaction <= 5)", name="satisfaction_range"),)
    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", unique=True)
    request_id: int = Field(foreign_key="visit_request.id", index=True)
    token_hash: str = str_column(64, unique=True)
    sent_at: datetime = utc_column(nullable=False)
    answered_at: datetime | None = utc_column()
    satisfaction: int | None = None  # 1 (very dissatisfied) .. 5 (very satisfied)
    comment: str | None = Field(default=None, sa_type=Text, nullable=True)


class CardDelivery(SQLModel, table=True):
    """The E-KTP card of a recorded resident: printed, then handed over (monitoring; the operator records it)."""

    __tablename__ = "card_delivery"
    __table_args__ = (CheckConstraint("delivered_at IS NULL OR printed_at IS NOT NULL", name="printed_before_delivered"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="visit_request.id", unique=True)
    printed_at: datetime | None = utc_column()
    delivered_at: datetime | None = utc_column()
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    updated_at: datetime = created_column()
