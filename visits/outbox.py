"""The outbox: messages written in the same transaction as the change they announce. (SQLModel tables; see ``visits.tables``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from visits.tables import created_column, one_of, str_column, utc_column


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after retries


class Notification(SQLModel, table=True):
    """The outbox: written in the same transaction as the change it announces."""

    __table_args__ = (one_of("status", NotificationStatus), Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"))
    id: int | None = Field(default=None, primary_key=True)
    request_id: int | None = Field(default=None, foreign_key="visit_request.id", nullable=True, index=True)
    recipient: str = str_column(20)  # E.164
    language: str = str_column(2)
    template: str = str_column(40)
    body: str = Field(sa_type=Text)
    status: str = str_column(8, default=NotificationStatus.PENDING)
    attempts: int = 0
    next_attempt_at: datetime = created_column()
    sent_at: datetime | None = utc_column()
    last_error: str | None = str_column(500, default=None, nullable=True)
    created_at: datetime = created_column()
