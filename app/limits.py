"""Rate limits shared by every worker (counted in the database).

Tracking: only FAILED lookups count against a client address's budget (an unknown token, a
wrong reference or phone). A family opening its status page with a valid token, or acting on
it, is never counted nor refused: families on one carrier's shared address, or a kelurahan
office helping several families, do not share a budget for normal use. Tokens are 256 random
bits, so counting only failures still stops guessing; a reference + phone lookup is refused
once the budget is spent, even when it would match.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from starlette.datastructures import FormData

from app.db import get_engine, session_scope
from app.intake_forms import reference_form, text_field
from app.settings import get_settings
from visits.errors import NotFound, TooManyRequests
from visits.intake.tracking import find_by_reference, find_by_token
from visits.staff.ratelimit import client_key, count_hit, current_count


def hit_or_raise(engine: Engine, bucket: str, limit: int, window_seconds: int, now: datetime | None = None) -> None:
    """Count a hit in its own committed transaction; raise 429 when over ``limit``."""
    with session_scope(engine, write=True) as session:
        count = count_hit(session, bucket, window_seconds, now)
    if count > limit:
        raise TooManyRequests()


def _bucket(request: Request, kind: str) -> str:
    settings = get_settings()
    return f"{kind}:{client_key(settings.resolved_secret_key(), request.client.host if request.client else None)}"


def rate_limit(request: Request, kind: str) -> None:
    """Count a hit in its own transaction. Declare as a dependency BEFORE the session one:
    on SQLite the write session holds the write lock from its start."""
    settings = get_settings()
    if kind == "track":
        hit_or_raise(get_engine(), _bucket(request, "track"), settings.track_rate_limit, settings.track_rate_window_seconds)
    else:
        hit_or_raise(get_engine(), _bucket(request, "intake"), settings.intake_rate_limit, settings.intake_rate_window_seconds)


def failed_tracking_lookup(request: Request) -> None:
    """Count one failed tracking lookup; 429 once the address's budget is spent."""
    rate_limit(request, "track")


def tracking_budget_left(request: Request) -> None:
    """429 when the address has spent its budget of failed lookups (counts nothing)."""
    settings = get_settings()
    with session_scope(get_engine()) as session:
        spent = current_count(session, _bucket(request, "track"), settings.track_rate_window_seconds)
    if spent >= settings.track_rate_limit:
        raise TooManyRequests()


def known_token(token: str, request: Request) -> None:
    """A dependency for every route authorised by a tracking token: a valid token passes
    uncounted; an unknown one counts as a failed lookup (429 once over budget, else 404).
    Declare it BEFORE the session dependency (it uses its own short transactions)."""
    with session_scope(get_engine()) as session:
        found = find_by_token(session, token) is not None
    if not found:
        failed_tracking_lookup(request)
        raise NotFound()


def reference_lookup(request: Request, form: FormData = Depends(reference_form)) -> int | None:
    """The request id for a reference + companion phone lookup, or None (counted as a failure;
    429 once over budget). Refused with 429 before looking when the budget is already spent."""
    tracking_budget_left(request)
    with session_scope(get_engine()) as session:
        row = find_by_reference(session, text_field(form, "reference") or "", text_field(form, "phone") or "")
        request_id = row.id if row else None
    if request_id is None:
        failed_tracking_lookup(request)
    return request_id


KnownToken = Annotated[None, Depends(known_token)]
ReferenceLookup = Annotated[int | None, Depends(reference_lookup)]


def limit_tracking(request: Request) -> None:
    """Counts EVERY hit (the old behaviour), kept for callers outside the family's token routes."""
    rate_limit(request, "track")


def limit_intake(request: Request) -> None:
    rate_limit(request, "intake")
