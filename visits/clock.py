"""The response clock: every request gets a first answer within 1 working day.

Working days exclude Saturdays, Sundays, Indonesian public holidays
(``holidays.country_holidays("ID")``) and office-wide closures (OfficeClosure rows without
a team). Days are counted in the office's timezone; instants are stored in UTC.

A request received on a working day at 10:00 is due the next working day at 10:00; one
received on a non-working day starts its clock at 00:00 of the next working day (so it is
due by the end of that day).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from sqlmodel import Session, col, select

from visits.models import OfficeClosure


@lru_cache(maxsize=32)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("ID", years=year).keys())


def is_working_day(day: date, closures: frozenset[date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in _public_holidays(day.year) and day not in closures


def next_working_day(day: date, closures: frozenset[date] = frozenset()) -> date:
    """The first working day strictly after ``day``."""
    day += timedelta(days=1)
    while not is_working_day(day, closures):
        day += timedelta(days=1)
    return day


def add_working_days(received: datetime, days: int, tz: str, closures: Iterable[date] = ()) -> datetime:
    """``received`` (aware) plus ``days`` working days, as an aware UTC instant."""
    if received.tzinfo is None:
        raise ValueError("received must be timezone-aware")
    closed = frozenset(closures)
    zone = ZoneInfo(tz)
    local = received.astimezone(zone)
    day, clock = local.date(), local.time().replace(tzinfo=None)
    if not is_working_day(day, closed):
        day, clock = next_working_day(day, closed), time(0)
    for _ in range(days):
        day = next_working_day(day, closed)
    return datetime.combine(day, clock, tzinfo=zone).astimezone(timezone.utc)


def office_closures(session: Session, start: date, end: date) -> frozenset[date]:
    rows = session.exec(
        select(col(OfficeClosure.day)).where(col(OfficeClosure.team_id).is_(None), col(OfficeClosure.day) >= start, col(OfficeClosure.day) <= end)
    ).all()
    return frozenset(rows)


def first_answer_due(session: Session, received: datetime, tz: str, days: int = 1) -> datetime:
    """Due time of the first answer for a request received at ``received``."""
    start = received.astimezone(ZoneInfo(tz)).date()
    return add_working_days(received, days, tz, office_closures(session, start, start + timedelta(days=45)))


def is_overdue(due_at: datetime, answered_at: datetime | None, now: datetime) -> bool:
    return answered_at is None and now > due_at
