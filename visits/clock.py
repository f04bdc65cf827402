"""The response clock: every request gets a first answer within 1 working day.

Working days exclude Saturdays, Sundays, Indonesian public holidays
(``holidays.country_holidays("ID")``) and office-wide closures (OfficeClosure rows without
a team, and, unless switched off with ``JEMPUT_COLLECTIVE_LEAVE=false``, the collective-leave
days of the package's "government" category that the office did not override with a
CalendarOverride). Days are counted in the office's timezone; instants are stored in UTC.

A request received on a working day at 10:00 is due the next working day at 10:00; one
received on a non-working day starts its clock at 00:00 of the next working day (so it is
due by the end of that day).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from sqlmodel import Session, col, select

from visits.models import CalendarOverride, OfficeClosure

# Collective-leave days (cuti bersama, the ``holidays`` package's "government" category) close the
# office unless it overrides a day (CalendarOverride). Set from JEMPUT_COLLECTIVE_LEAVE at start-up.
_collective_leave = True


def set_collective_leave(enabled: bool) -> bool:
    """Whether collective-leave days close the office; returns the previous value."""
    global _collective_leave
    previous, _collective_leave = _collective_leave, bool(enabled)
    return previous


def collective_leave_enabled() -> bool:
    return _collective_leave


@lru_cache(maxsize=32)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("ID", years=year).keys())


@lru_cache(maxsize=32)
def _collective_leave_days(year: int) -> dict[date, str]:
    return dict(holidays.country_holidays("ID", years=year, categories=("government",)).items())


def collective_leave_days(start: date, end: date) -> dict[date, str]:
    """The package's collective-leave days in [start, end] with their names (overrides not applied)."""
    found: dict[date, str] = {}
    for year in range(start.year, end.year + 1):
        found.update({d: n for d, n in _collective_leave_days(year).items() if start <= d <= end})
    return found


def public_holiday_names(start: date, end: date) -> dict[date, str]:
    found: dict[date, str] = {}
    for year in range(start.year, end.year + 1):
        found.update({d: n for d, n in holidays.country_holidays("ID", years=year).items() if start <= d <= end})
    return found


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
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def office_closures(session: Session, start: date, end: date) -> frozenset[date]:
    """Office-wide closed days in [start, end]: closures without a team, and collective-leave days
    (when enabled) the office has not overridden."""
    rows = session.exec(select(col(OfficeClosure.day)).where(col(OfficeClosure.team_id).is_(None), col(OfficeClosure.day) >= start, col(OfficeClosure.day) <= end)).all()
    closed = set(rows)
    if _collective_leave:
        leave = collective_leave_days(start, end)
        if leave:
            worked = set(session.exec(select(col(CalendarOverride.day)).where(CalendarOverride.day >= start, CalendarOverride.day <= end)).all())
            closed |= set(leave) - worked
    return frozenset(closed)


def first_answer_due(session: Session, received: datetime, tz: str, days: int = 1) -> datetime:
    """Due time of the first answer for a request received at ``received``."""
    start = received.astimezone(ZoneInfo(tz)).date()
    return add_working_days(received, days, tz, office_closures(session, start, start + timedelta(days=45)))


def is_overdue(due_at: datetime, answered_at: datetime | None, now: datetime) -> bool:
    return answered_at is None and now > due_at
