"""Rate limits shared by every worker (counted in the database)."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from sqlalchemy.engine import Engine

from app.db import get_engine, session_scope
from app.settings import get_settings
from visits.errors import TooManyRequests
from visits.staff.ratelimit import client_key, count_hit


def hit_or_raise(engine: Engine, bucket: str, limit: int, window_seconds: int, now: datetime | None = None) -> None:
    """Count a hit in its own committed transaction; raise 429 when over ``limit``."""
    with session_scope(engine, write=True) as session:
        count = count_hit(session, bucket, window_seconds, now)
    if count > limit:
        raise TooManyRequests()


def rate_limit(request: Request, kind: str) -> None:
    """Count a hit in its own transaction. Declare as a dependency BEFORE the session one:
    on SQLite the write session holds the write lock from its start."""
    settings = get_settings()
    who = client_key(settings.resolved_secret_key(), request.client.host if request.client else None)
    if kind == "track":
        hit_or_raise(get_engine(), f"track:{who}", settings.track_rate_limit, settings.track_rate_window_seconds)
    else:
        hit_or_raise(get_engine(), f"intake:{who}", settings.intake_rate_limit, settings.intake_rate_window_seconds)


def limit_tracking(request: Request) -> None:
    rate_limit(request, "track")


def limit_intake(request: Request) -> None:
    rate_limit(request, "intake")
