"""The one place that knows both the database rows and the planner's dataclasses.

Times: the planner works in absolute minutes from midnight (office time) of the horizon's
first day; bookings and shifts are stored as local dates and wall-clock times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, time, timedelta

from sqlmodel import Session, select

import routing
from visits.models import Group, Resident, ServiceRule
from visits.planning.calendar import TeamShift

DEFAULT_SERVICE_MINUTES = 30


@dataclass(frozen=True)
class Horizon:
    """Minute 0 is midnight of ``base``."""

    base: date

    def minute(self, day: date, t: time) -> int:
        return (day - self.base).days * routing.MINUTES_PER_DAY + t.hour * 60 + t.minute

    def day_of(self, minute: int) -> date:
        return self.base + timedelta(days=minute // routing.MINUTES_PER_DAY)

    def time_of(self, minute: int) -> time:
        m = minute % routing.MINUTES_PER_DAY
        return time(m // 60, m % 60)


def shift_id(team_id: int, day: date) -> str:
    return f"{team_id}:{day.isoformat()}"


def parse_shift_id(value: str) -> tuple[int, date]:
    team, day = value.split(":", 1)
    return int(team), date.fromisoformat(day)


def to_routing_shift(ts: TeamShift, horizon: Horizon, office_location: int = 0) -> routing.Shift:
    breaks: tuple[routing.Break, ...] = ()
    if ts.break_minutes and ts.break_earliest and ts.break_latest:
        window = routing.TimeWindow(horizon.minute(ts.day, ts.break_earliest), horizon.minute(ts.day, ts.break_latest))
        breaks = (routing.Break(window=window, duration=ts.break_minutes),)
    return routing.Shift(
        id=shift_id(ts.team_id, ts.day),
        team=str(ts.team_id),
        day=(ts.day - horizon.base).days,
        start_location=office_location,
        end_location=office_location,
        start=horizon.minute(ts.day, ts.start),
        end=horizon.minute(ts.day, ts.end),
        breaks=breaks,
        skills=ts.skills,
        max_visits=ts.max_visits,
    )


@dataclass(frozen=True)
class ServiceNeeds:
    minutes: int
    skills: frozenset[str]


def service_rules(session: Session) -> dict[str, ServiceRule]:
    """The office's service rules by group (read once per use case: they change by administration only)."""
    return {r.served_group: r for r in session.exec(select(ServiceRule)).all()}


def service_needs(session: Session, resident: Resident, rules: Mapping[str, ServiceRule] | None = None) -> ServiceNeeds:
    """Service time (the longest of the resident's groups) and the skills any group requires
    (``rules``: :func:`service_rules`, when the caller has them already)."""
    rules = service_rules(session) if rules is None else rules
    groups: Sequence[Group] = resident.groups or [Group.ELDERLY]
    minutes = max((rules[g].minutes if g in rules else DEFAULT_SERVICE_MINUTES) for g in groups)
    skills = frozenset(rules[g].required_skill for g in groups if g in rules and rules[g].required_skill)
    return ServiceNeeds(minutes=minutes, skills=skills)  # type: ignore[arg-type]


def window_stop(stop_id: str, location: int, needs: ServiceNeeds, horizon: Horizon, day: date, start: time, end: time, *, required: bool) -> routing.Stop:
    """A visit whose service must start inside [start, end] on ``day``."""
    window = routing.TimeWindow(horizon.minute(day, start), horizon.minute(day, end))
    return routing.Stop(id=stop_id, location=location, service=needs.minutes, windows=(window,), skills=needs.skills, required=required, priority=10 if required else 1)


def pinned_problem(shift: routing.Shift, stops: Sequence[routing.Stop], durations: Sequence[Sequence[int]]) -> tuple[routing.Problem, list[routing.Stop]]:
    """One team-day as a planner problem: every stop required, pinned to ``shift``, on a dense sub-matrix.

    ``stops`` carry locations on ``durations`` (e.g. a :class:`visits.booking.slots.World`'s matrix);
    the problem renumbers them (0 = the shift's start, then the stops in order). Returns the
    problem and its stops (same ids and order as ``stops``).
    """
    places = [shift.start_location, shift.end_location] + [s.location for s in stops]
    index: dict[int, int] = {}
    for p in places:
        index.setdefault(p, len(index))
    originals = list(index)
    matrix = tuple(tuple(int(durations[a][b]) for b in originals) for a in originals)
    pin = routing.Pin(shift.id)
    new_stops = [replace(s, location=index[s.location], required=True, pin=pin) for s in stops]
    new_shift = replace(shift, start_location=index[shift.start_location], end_location=index[shift.end_location])
    return routing.Problem(stops=tuple(new_stops), shifts=(new_shift,), durations=matrix), new_stops
