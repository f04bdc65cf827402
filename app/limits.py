"""Rate limits shared by every worker (counted in the database)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from app.db import session_scope
from visits.errors import TooManyRequests
from visits.ratelimit import count_hit


def hit_or_raise(engine: Engine, bucket: str, limit: int, window_seconds: int, now: datetime | None = None) -> None:
    """Count a hit in its own committed transaction; raise 429 when over ``limit``."""
    with session_scope(engine, write=True) as session:
        count = count_hit(session, bucket, window_seconds, now)
    if count > limit:
        raise TooManyRequests()
