"""The response clock for the head (read model): the 1-working-day SOP, measured.

Working time counts only working days (``visits.clock``: no weekends, Indonesian public holidays or
office closures), all 24 hours of each, in the office's timezone. A request is *answered within 1
working day* when at most 24 working hours pass between its receipt and its first answer (the same
rule as the due time ``visits.clock.add_working_days`` gives at intake). Times to the first answer
are in working hours. Overdue now: not answered and past its due time (the operator's overdue view).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from visits.clock import is_working_day, office_closures
from visits.intake.models import VisitRequest

DAY = 86400.0
SOP_SECONDS = DAY  # 1 working day


class WorkingTime:
    """Working seconds since a fixed day, for instants in ``[start, end]`` (O(1) per instant)."""

    def __init__(self, start: date, end: date, zone: ZoneInfo, closures: frozenset[date]) -> None:
        self.zone, self.start = zone, start
        self.before: dict[date, float] = {}  # working seconds before each day's midnight
        self.working: dict[date, bool] = {}
        total, day = 0.0, start
        while day <= end:
            self.before[day] = total
            self.working[day] = is_working_day(day, closures)
            total += DAY if self.working[day] else 0.0
            day += timedelta(days=1)

    def at(self, instant: datetime) -> float:
        local = instant.astimezone(self.zone)
        day = local.date()
        since_midnight = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        return self.before[day] + (since_midnight if self.working[day] else 0.0)

    def between(self, a: datetime, b: datetime) -> float:
        return max(0.0, self.at(b) - self.at(a))


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass
class WeekFigures:
    week_start: date  # the Monday
    received: int = 0
    answered: int = 0
    within: int = 0

    @property
    def within_share(self) -> float | None:
        return self.within / self.received if self.received else None


@dataclass
class ClockReport:
    start: date
    end: date  # inclusive
    received: int
    answered: int
    within: int  # answered within 1 working day
    not_yet_due: int  # not answered, still inside its working day
    median_hours: float | None
    p90_hours: float | None
    overdue_now: int
    weeks: list[WeekFigures]

    @property
    def within_share(self) -> float | None:
        """Answered within 1 working day, of the requests whose day has passed or that were answered."""
        decided = self.received - self.not_yet_due
        return self.within / decided if decided else None

    def as_dict(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "received": self.received,
            "answered": self.answered,
            "within_1_working_day": self.within,
            "within_share": self.within_share,
            "not_yet_due": self.not_yet_due,
            "median_working_hours": self.median_hours,
            "p90_working_hours": self.p90_hours,
            "overdue_now": self.overdue_now,
            "weeks": [{"week_start": w.week_start.isoformat(), "received": w.received, "answered": w.answered, "within": w.within, "within_share": w.within_share} for w in self.weeks],
        }


def local_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC instants of ``start`` 00:00 and the day after ``end`` 00:00, local time."""
    lo = datetime.combine(start, datetime.min.time(), tzinfo=zone)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return lo, hi


def clock_report(session: Session, start: date, end: date, now: datetime, tz: str) -> ClockReport:
    zone = ZoneInfo(tz)
    lo, hi = local_bounds(start, end, zone)
    rows = session.exec(select(VisitRequest.received_at, VisitRequest.first_answer_at).where(VisitRequest.received_at >= lo, VisitRequest.received_at < hi)).all()
    today = now.astimezone(zone).date()
    last = max([today, end] + [a.astimezone(zone).date() for _r, a in rows if a is not None]) + timedelta(days=40)
    wt = WorkingTime(start - timedelta(days=1), last, zone, office_closures(session, start - timedelta(days=1), last))
    weeks: dict[date, WeekFigures] = {}
    monday = start - timedelta(days=start.weekday())
    while monday <= end:
        weeks[monday] = WeekFigures(monday)
        monday += timedelta(days=7)
    hours: list[float] = []
    answered = within = not_yet_due = 0
    for received_at, answer_at in rows:
        local_day = received_at.astimezone(zone).date()
        week = weeks[local_day - timedelta(days=local_day.weekday())]
        week.received += 1
        if answer_at is not None:
            took = wt.between(received_at, answer_at)
            answered += 1
            week.answered += 1
            hours.append(took / 3600)
            if took <= SOP_SECONDS:
                within += 1
                week.within += 1
        elif wt.between(received_at, now) <= SOP_SECONDS:
            not_yet_due += 1
    overdue_now = session.exec(select(func.count()).select_from(VisitRequest).where(col(VisitRequest.first_answer_at).is_(None), VisitRequest.due_at < now)).one()
    return ClockReport(
        start,
        end,
        len(rows),
        answered,
        within,
        not_yet_due,
        percentile(hours, 0.5),
        percentile(hours, 0.9),
        overdue_now,
        [weeks[k] for k in sorted(weeks)],
    )


def default_period(now: datetime, tz: str, weeks: int = 12) -> tuple[date, date]:
    """The last ``weeks`` whole weeks up to today (Monday to today)."""
    today = now.astimezone(ZoneInfo(tz)).date()
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=weeks - 1), today
