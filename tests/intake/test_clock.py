"""The 1-working-day response clock (office timezone, weekends, public holidays, closures)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from visits.clock import add_working_days, first_answer_due, is_overdue, is_working_day

WIB = ZoneInfo("Asia/Jakarta")


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


def due(received: datetime, closures=()) -> datetime:
    return add_working_days(received, 1, "Asia/Jakarta", closures).astimezone(WIB)


def test_weekday_to_next_weekday_same_time() -> None:
    assert due(local(2026, 11, 24)) == local(2026, 11, 25)  # Tue -> Wed 10:00


def test_friday_to_monday() -> None:
    assert due(local(2026, 11, 27)) == local(2026, 11, 30)


def test_weekend_starts_at_next_working_day() -> None:
    assert due(local(2026, 11, 28, 9)) == local(2026, 12, 1, 0, 0)  # Sat -> Tue 00:00 (end of Monday)


def test_public_holiday_skipped() -> None:
    assert not is_working_day(date(2026, 12, 25))  # Christmas
    assert due(local(2026, 12, 24)) == local(2026, 12, 28)  # Thu -> (Fri holiday, weekend) -> Mon
    assert not is_working_day(date(2026, 8, 17))  # Independence Day


def test_office_closure_skipped() -> None:
    assert due(local(2026, 11, 24), closures=[date(2026, 11, 25)]) == local(2026, 11, 26)


def test_day_is_counted_in_office_timezone() -> None:
    # Friday 23:30 WIB is Friday 16:30 UTC: due Monday 23:30 WIB, not Saturday-based
    received = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
    assert due(received) == local(2026, 11, 30, 23, 30)
    # Monday 01:00 WIB is still Sunday in UTC: the clock counts from Monday (a working day)
    received = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
    assert due(received) == local(2026, 12, 1, 1, 0)


def test_closures_from_database(session) -> None:
    from visits.models import OfficeClosure

    session.add(OfficeClosure(day=date(2026, 11, 25), reason="Rapat kerja"))
    session.flush()
    assert first_answer_due(session, local(2026, 11, 24), "Asia/Jakarta").astimezone(WIB) == local(2026, 11, 26)


def test_overdue() -> None:
    d = local(2026, 11, 25)
    assert is_overdue(d, None, local(2026, 11, 25, 10, 1))
    assert not is_overdue(d, local(2026, 11, 24), local(2026, 11, 26))
    assert not is_overdue(d, None, local(2026, 11, 25, 9))
