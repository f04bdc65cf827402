"""Fixed-window rate limits shared by every worker (RateLimitHit rows).

A hit is counted in its own short transaction, so it stays counted even when the request
that made it fails (a wrong tracking token answers 404 and the request's transaction rolls
back). Clients are identified by an HMAC of their IP address, never the address itself.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from visits.models import RateLimitHit
from visits.types import utcnow


def client_key(secret: str, client_ip: str | None) -> str:
    """A stable, non-reversible identifier for a client address (24 hex chars)."""
    return hmac.new(secret.encode(), (client_ip or "unknown").encode(), hashlib.sha256).hexdigest()[:24]


def window_start(now: datetime, window_seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, tz=UTC)


def count_hit(session: Session, bucket: str, window_seconds: int, now: datetime | None = None) -> int:
    """Add one hit to ``bucket``'s current window and return the window's count (flushes)."""
    start = window_start(now or utcnow(), window_seconds)
    stmt = update(RateLimitHit).where(RateLimitHit.bucket == bucket, RateLimitHit.window_start == start).values(count=RateLimitHit.count + 1)  # type: ignore[arg-type]
    if session.execute(stmt).rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(RateLimitHit(bucket=bucket, window_start=start, count=1))
        except IntegrityError:  # another worker created the window first
            session.execute(stmt)
    row = session.exec(select(RateLimitHit.count).where(RateLimitHit.bucket == bucket, RateLimitHit.window_start == start)).one()
    return int(row)


def purge_old(session: Session, older_than: timedelta = timedelta(days=1), now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - older_than
    rows = session.exec(select(RateLimitHit).where(RateLimitHit.window_start < cutoff)).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def current_count(session: Session, bucket: str, window_seconds: int, now: datetime | None = None) -> int:
    """The hits already counted in ``bucket``'s current window (counts nothing)."""
    start = window_start(now or utcnow(), window_seconds)
    row = session.exec(select(RateLimitHit.count).where(RateLimitHit.bucket == bucket, RateLimitHit.window_start == start)).first()
    return int(row or 0)
