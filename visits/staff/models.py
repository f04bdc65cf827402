"""Staff users, sessions, API tokens, login throttling, rate limits and the audit log. (SQLModel tables; see ``visits.tables``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from visits.tables import created_column, one_of, str_column, utc_column


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    OFFICER = "officer"
    HEAD = "head"


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (
        one_of("role", Role),
        CheckConstraint("role <> 'officer' OR team_id IS NOT NULL", name="officer_has_team"),
    )
    id: int | None = Field(default=None, primary_key=True)
    username: str = str_column(50, unique=True)
    full_name: str = str_column(200, default="")
    password_hash: str = str_column(200)
    role: str = str_column(10)
    team_id: int | None = Field(default=None, foreign_key="team.id", nullable=True)
    active: bool = True
    language: str | None = str_column(2, default=None, nullable=True)
    created_at: datetime = created_column()


class UserSession(SQLModel, table=True):
    """Server-side login session; the cookie carries the random id, the table its hash."""

    __tablename__ = "user_session"
    id: str = Field(sa_type=String(64), primary_key=True)  # sha256 of the cookie value
    user_id: int = Field(foreign_key="app_user.id", index=True)
    csrf_token: str = str_column(64)
    created_at: datetime = created_column()
    expires_at: datetime = utc_column(nullable=False)
    last_seen_at: datetime = created_column()


class ApiToken(SQLModel, table=True):
    """Bearer tokens for tablets and scripts; stored hashed."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = str_column(64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = str_column(100, default="")
    created_at: datetime = created_column()
    expires_at: datetime = utc_column(nullable=False)
    last_used_at: datetime | None = utc_column()
    revoked_at: datetime | None = utc_column()


class LoginAttempt(SQLModel, table=True):
    """Failed logins, for throttling repeated wrong passwords."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_username_at", "username", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    username: str = str_column(50)
    at: datetime = created_column()


class RateLimitHit(SQLModel, table=True):
    """Fixed-window counters shared by every worker (tracking lookups, login, intake)."""

    __tablename__ = "rate_limit_hit"
    __table_args__ = (UniqueConstraint("bucket", "window_start"),)
    id: int | None = Field(default=None, primary_key=True)
    bucket: str = str_column(100)  # e.g. "track:<hashed client>"
    window_start: datetime = utc_column(nullable=False)
    count: int = 0


class AuditLog(SQLModel, table=True):
    """Who read or changed which resident's personal data. Never holds the data itself."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_resident_id_at", "resident_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_column()
    user_id: int | None = Field(default=None, foreign_key="app_user.id", nullable=True, index=True)
    action: str = str_column(30)  # read, create, update, override, view_kk, export...
    entity: str = str_column(30)  # resident, visit_request, kk_document...
    entity_id: int | None = None
    resident_id: int | None = Field(default=None, foreign_key="resident.id", nullable=True)
    route: str = str_column(200, default="")  # the route template, never the URL with values
    before: str | None = Field(default=None, sa_type=Text, nullable=True)  # an admin change: JSON of the changed fields before
    after: str | None = Field(default=None, sa_type=Text, nullable=True)  # ... and after (never personal data)
