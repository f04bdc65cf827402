"""The independent invariant checker: every team-day keeps every booked window and its shift.

It shares nothing with the code under test but the database rows and the documented travel
estimate (``routing.travel.GeodesicTravelTimes``, itself tested against geopy; points are taken
to 1e-5 degrees, as ``visits.planning.travel`` documents):

* which days a team works: weekdays, minus Indonesian public holidays (the ``holidays``
  package) and, when collective leave is on, its government-category days the office did not
  override, minus office-wide and team closures, only for an active team with a kit in service
  that day (not retired, under repair or inside its out-of-service dates) and, when the team
  sets a minimum crew, enough members who have not left;
* the shift of that day: the team's own ShiftPattern for the weekday, else the office default;
* what a visit needs: the resident's groups through ServiceRule (minutes and skill); a group visit
  (``group_member`` rows on the booked request) needs the sum of its residents' minutes;
* the timing: the simulator below (breaks may be taken at a home, on the way, or at the office;
  each must start inside its window; the driving time is always spent in full).

The order it times is a witness, not a proof: the team-day's stored plan when it is of the
team-day's current version (its stored times are checked too), otherwise the order the slot
engine would drive (``visits.booking.slots.build_world``). If that order breaks a promise the engine is
wrong, even if some other order would have kept it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import combinations_with_replacement

import holidays
from sqlmodel import select

from routing.travel import GeodesicTravelTimes
from visits.booking.slots import build_world
from visits.clock import collective_leave_enabled  # the JEMPUT_COLLECTIVE_LEAVE switch, not the rule
from visits.models import (
    Booking,
    BookingStatus,
    CalendarOverride,
    GroupMember,
    KitState,
    Office,
    OfficeClosure,
    Plan,
    PlanStatus,
    PlanStop,
    RecordingKit,
    Resident,
    ServiceRule,
    ShiftPattern,
    Team,
    TeamDay,
    TeamMember,
    TeamSkill,
    VisitRequest,
)

Point = tuple[float, float]


@dataclass(frozen=True)
class _Shift:
    start: int  # minutes after midnight
    end: int
    breaks: tuple[tuple[int, int, int], ...]  # (earliest start, latest start, minutes)
    skills: frozenset[str]
    max_visits: int | None


@dataclass(frozen=True)
class _Visit:
    key: str
    point: Point
    lo: int  # the booked window: service starts in [lo, hi]
    hi: int
    service: int


def _minute(t: time) -> int:
    return t.hour * 60 + t.minute


def _point(lat: float, lon: float) -> Point:
    return (round(lat, 5), round(lon, 5))


def _shift_of(session, team: Team, day: date) -> _Shift | None:  # noqa: ANN001
    if not team.active or day.weekday() >= 5 or day in holidays.country_holidays("ID", years=day.year):
        return None
    if collective_leave_enabled() and day in holidays.country_holidays("ID", years=day.year, categories=("government",)):
        if session.exec(select(CalendarOverride).where(CalendarOverride.day == day)).first() is None:
            return None  # collective leave (cuti bersama) the office did not override
    closed = session.exec(select(OfficeClosure).where(OfficeClosure.day == day)).all()
    if any(c.team_id in (None, team.id) for c in closed):
        return None
    kit = session.exec(select(RecordingKit).where(RecordingKit.team_id == team.id, RecordingKit.retired_at.is_(None))).first()  # type: ignore[union-attr]
    if kit is None or kit.state == KitState.UNDER_REPAIR:
        return None
    if kit.state == KitState.OUT_OF_SERVICE and (kit.out_from is None or kit.out_from <= day) and (kit.out_until is None or day <= kit.out_until):
        return None  # out of service on this day
    if team.min_members is not None:
        present = [m for m in session.exec(select(TeamMember).where(TeamMember.team_id == team.id)).all() if m.left_on is None or m.left_on > day]
        if len(present) < team.min_members:
            return None
    pattern = session.exec(select(ShiftPattern).where(ShiftPattern.team_id == team.id, ShiftPattern.weekday == day.weekday())).first()
    pattern = pattern or session.exec(select(ShiftPattern).where(ShiftPattern.team_id.is_(None), ShiftPattern.weekday == day.weekday())).first()  # type: ignore[union-attr]
    if pattern is None:
        return None
    breaks = ()
    if pattern.break_minutes and pattern.break_earliest and pattern.break_latest:
        breaks = ((_minute(pattern.break_earliest), _minute(pattern.break_latest), pattern.break_minutes),)
    skills = frozenset(s.skill for s in session.exec(select(TeamSkill).where(TeamSkill.team_id == team.id)).all())
    return _Shift(_minute(pattern.start_time), _minute(pattern.end_time), breaks, skills, team.max_visits_per_day)


def _needs(rules: dict[str, ServiceRule], resident: Resident) -> tuple[int, frozenset[str]]:
    groups = [g for g, on in (("elderly", resident.group_elderly), ("disabled", resident.group_disabled), ("mental", resident.group_mental), ("bedridden", resident.group_bedridden)) if on] or [
        "elderly"
    ]
    minutes = max(rules[g].minutes if g in rules else 30 for g in groups)
    return minutes, frozenset(rules[g].required_skill for g in groups if g in rules and rules[g].required_skill)


def _group_members(session, lead_request_id: int) -> list[Resident]:  # noqa: ANN001
    """The other residents of a group visit (``group_member`` rows on the lead's request)."""
    return list(
        session.exec(
            select(Resident)
            .join(VisitRequest, VisitRequest.resident_id == Resident.id)
            .join(GroupMember, GroupMember.member_request_id == VisitRequest.id)
            .where(GroupMember.lead_request_id == lead_request_id)
        ).all()
    )


def _ready(free: int, travel: int, breaks: list[tuple[int, int, int]]) -> int | None:
    """Earliest moment the team can start work at the next place when it is free at ``free``,
    must drive ``travel`` minutes and take ``breaks`` (in order) before starting; None if a
    break cannot start inside its window."""
    end = free
    total = 0
    for earliest, latest, minutes in breaks:
        begin = max(end, earliest)
        if begin > latest:
            return None
        end, total = begin + minutes, total + minutes
    return max(free + travel + total, end)


def _drive(shift: _Shift, office: Point, visits: list[_Visit], minutes) -> list[int] | None:  # noqa: ANN001
    """Service starts of the earliest schedule of ``visits`` in this order, trying every
    placement of the breaks between places; None when no placement keeps every window."""
    places = [office, *(v.point for v in visits), office]
    for placement in combinations_with_replacement(range(len(visits) + 1), len(shift.breaks)):
        free, starts = shift.start, []
        for gap in range(len(visits) + 1):
            here = [b for b, g in zip(shift.breaks, placement, strict=True) if g == gap]
            ready = _ready(free, minutes(places[gap], places[gap + 1]), here)
            if ready is None:
                break
            if gap == len(visits):
                if ready <= shift.end:
                    return starts
                break
            visit = visits[gap]
            start = max(ready, visit.lo)
            if start > visit.hi:
                break
            starts.append(start)
            free = start + visit.service
    return None


def _stored_times_work(shift: _Shift, office: Point, visits: list[_Visit], stops: list[PlanStop], minutes) -> bool:  # noqa: ANN001
    """The stored timetable can be driven: every start in its window, service as long as needed,
    and some placement of the breaks leaves time to drive between the stored times."""
    starts = [_minute(s.start) for s in stops]
    for visit, stop, start in zip(visits, stops, starts, strict=True):
        if not (visit.lo <= start <= visit.hi) or _minute(stop.end) - start != visit.service or _minute(stop.arrival) > start:
            return False
    places = [office, *(v.point for v in visits), office]
    frees = [shift.start, *(s + v.service for s, v in zip(starts, visits, strict=True))]
    deadlines = [*starts, shift.end]
    for placement in combinations_with_replacement(range(len(visits) + 1), len(shift.breaks)):
        ok = True
        for gap in range(len(visits) + 1):
            here = [b for b, g in zip(shift.breaks, placement, strict=True) if g == gap]
            ready = _ready(frees[gap], minutes(places[gap], places[gap + 1]), here)
            if ready is None or ready > deadlines[gap]:
                ok = False
                break
        if ok:
            return True
    return False


def assert_routes_keep_promises(session, now: datetime, travel) -> None:  # noqa: ANN001
    provider = getattr(travel, "provider", None)
    estimate = provider if isinstance(provider, GeodesicTravelTimes) else GeodesicTravelTimes()
    rows = session.exec(
        select(Booking, TeamDay, Resident)
        .join(TeamDay, Booking.team_day_id == TeamDay.id)
        .join(VisitRequest, Booking.request_id == VisitRequest.id)
        .join(Resident, VisitRequest.resident_id == Resident.id)
        .where(Booking.status == BookingStatus.CONFIRMED)
    ).all()
    if not rows:
        return
    per_request: dict[int, int] = defaultdict(int)
    for booking, _, _ in rows:
        per_request[booking.request_id] += 1
    assert max(per_request.values()) == 1, "a request holds two confirmed bookings"

    office_row = session.exec(select(Office)).one()
    office = _point(office_row.lat, office_row.lon)
    rules = {r.served_group: r for r in session.exec(select(ServiceRule)).all()}
    by_team_day: dict[int, list[tuple[Booking, Resident]]] = defaultdict(list)
    team_days: dict[int, TeamDay] = {}
    for booking, td, resident in rows:
        by_team_day[td.id].append((booking, resident))
        team_days[td.id] = td
    days = sorted({td.day for td in team_days.values()})
    world = None  # the engine's view, built only when a team-day has no current stored plan

    for td_id, booked in by_team_day.items():
        td = team_days[td_id]
        where = f"team {td.team_id} on {td.day}"
        team = session.get(Team, td.team_id)
        shift = _shift_of(session, team, td.day)
        assert shift is not None, f"{where}: {len(booked)} booked visit(s) on a day the team does not work"
        assert shift.max_visits is None or len(booked) <= shift.max_visits, f"{where}: {len(booked)} visits, at most {shift.max_visits}"
        visits: dict[str, _Visit] = {}
        for booking, resident in booked:
            minutes, skills = _needs(rules, resident)
            for member in _group_members(session, booking.request_id):  # a group visit: every resident's service time
                more, extra = _needs(rules, member)
                minutes, skills = minutes + more, skills | extra
            assert booking.service_minutes == minutes, f"{where}: booking {booking.id} planned {booking.service_minutes} min, its groups need {minutes}"
            assert skills <= shift.skills, f"{where}: booking {booking.id} needs {sorted(skills)}, the team has {sorted(shift.skills)}"
            visits[f"b{booking.id}"] = _Visit(f"b{booking.id}", _point(resident.lat, resident.lon), _minute(booking.window_start), _minute(booking.window_end), minutes)

        plan = session.exec(select(Plan).where(Plan.team_day_id == td_id, Plan.status == PlanStatus.CURRENT, Plan.version == td.version)).first()
        if plan is not None:
            stops = session.exec(select(PlanStop).where(PlanStop.plan_id == plan.id).order_by(PlanStop.position)).all()
            order = [f"b{s.booking_id}" for s in stops]
            assert sorted(order) == sorted(visits), f"{where}: the current plan does not hold exactly the confirmed bookings"
            assert _stored_times_work(shift, office, [visits[k] for k in order], list(stops), estimate.minutes), f"{where}: the stored plan's times cannot be driven"
        else:
            if world is None:
                world = build_world(session, days, travel, now, include_holds=False)
            sid = f"{td.team_id}:{td.day.isoformat()}"
            order = [s.id for s in world.routes.route(sid).stops] if sid in world.shifts else []
            assert sorted(order) == sorted(visits), f"{where}: the engine's route does not hold exactly the confirmed bookings"
        starts = _drive(shift, office, [visits[k] for k in order], estimate.minutes)
        assert starts is not None, f"{where}: the route {order} cannot keep every booked window, break and the shift"
