"""The one "capacity shrank" service: administration (closures, shift changes, kit outages, a
member leaving) and the field's kit failure use it alike.

1. Apply the change on the session (flush only).
2. :func:`affected_bookings` lists the confirmed bookings the calendar, as the session now sees
   it, can no longer keep: their team does not work that day any more, or its shorter day cannot
   hold every booked window (then the bookings that do not fit a greedy rebuild, latest first).
   :func:`preview` does 1 and 2 inside a savepoint and rolls the change back, so the admin sees
   the list before saving.
3. :func:`rehome` moves each affected booking to another team working the same day where its
   booked window still fits (``slots.fits_team_day``), else cancels it and sends the family new
   offers (``visits.booking.service.offer``; the request is back to "offered", on the
   operator's chase list). Every team-day touched is bumped and re-planned after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

import routing
from routing.insertion import CommittedRoutes
from visits.booking import service as booking_service
from visits.booking import slots
from visits.booking.notices import Office, family_link, notify
from visits.models import Booking, BookingStatus, RequestStatus, Resident, Team, TeamDay, VisitRequest
from visits.planning.calendar import team_shifts
from visits.planning.translate import service_needs, shift_id
from visits.planning.travel import TravelService

TEAM_OFF = "team_off"  # the team no longer works that day (closure, kit, crew, no shift)
NO_ROOM = "no_room"  # the team works, but its day cannot hold this booking any more

MOVED = "moved"  # same day and window, another team
REOFFERED = "reoffered"  # cancelled; the family got new offers
UNPLACED = "unplaced"  # cancelled; no offer fits in the horizon (the request waits for the operator)


@dataclass(frozen=True)
class AffectedBooking:
    booking_id: int
    request_id: int
    reference: str
    team_id: int
    team_name: str
    day: date
    start: time
    end: time
    reason: str  # TEAM_OFF or NO_ROOM


@dataclass(frozen=True)
class Rehomed:
    booking_id: int
    request_id: int
    reference: str
    outcome: str  # MOVED, REOFFERED or UNPLACED
    day: date
    start: time
    end: time
    from_team_id: int
    to_team_id: int | None = None  # MOVED: the new team
    new_booking_id: int | None = None
    offers: int = 0  # REOFFERED: how many slots were offered


def _local(now: datetime, tz: str) -> datetime:
    return now.astimezone(ZoneInfo(tz))


def affected_bookings(
    session: Session,
    now: datetime,
    travel: TravelService,
    *,
    tz: str = "Asia/Jakarta",
    team_ids: Iterable[int] | None = None,
    days: Iterable[date] | None = None,
    since: datetime | None = None,
) -> list[AffectedBooking]:
    """Confirmed bookings not yet past (window ending after ``since``, default ``now``) that the
    calendar as the session now sees it cannot keep; optionally only of these teams or days."""
    since_local = _local(since or now, tz)
    q = (
        select(Booking, TeamDay, VisitRequest, Team)
        .join(TeamDay, Booking.team_day_id == TeamDay.id)  # type: ignore[arg-type]
        .join(VisitRequest, Booking.request_id == VisitRequest.id)  # type: ignore[arg-type]
        .join(Team, TeamDay.team_id == Team.id)  # type: ignore[arg-type]
        .where(Booking.status == BookingStatus.CONFIRMED, TeamDay.day >= since_local.date())
    )
    if team_ids is not None:
        q = q.where(TeamDay.team_id.in_(list(team_ids)))  # type: ignore[attr-defined]
    if days is not None:
        q = q.where(TeamDay.day.in_(list(days)))  # type: ignore[attr-defined]
    rows = [r for r in session.exec(q).all() if r[1].day > since_local.date() or r[0].window_end > since_local.time().replace(tzinfo=None)]
    if not rows:
        return []
    by_team_day: dict[int, list[tuple[Booking, TeamDay, VisitRequest, Team]]] = {}
    for row in rows:
        by_team_day.setdefault(row[1].id, []).append(row)  # type: ignore[arg-type]
    world = slots.build_world(session, sorted({r[1].day for r in rows}), travel, now, include_holds=False)
    out: list[AffectedBooking] = []
    for booked in by_team_day.values():
        td = booked[0][1]
        sid = shift_id(td.team_id, td.day)
        if sid not in world.shifts:
            out += [_affected(b, t, r, team, TEAM_OFF) for b, t, r, team in booked]
            continue
        index = world.routes.route(sid)
        if index.feasible:
            continue
        dropped = _not_fitting(world.shifts[sid], list(world.stops_by_shift.get(sid, [])), world.matrix)
        out += [_affected(b, t, r, team, NO_ROOM) for b, t, r, team in booked if f"b{b.id}" in dropped]
    out.sort(key=lambda a: (a.day, a.start, a.team_name, a.booking_id))
    return out


def _affected(b: Booking, td: TeamDay, r: VisitRequest, team: Team, reason: str) -> AffectedBooking:
    return AffectedBooking(b.id, r.id, r.reference, td.team_id, team.name, td.day, b.window_start, b.window_end, reason)  # type: ignore[arg-type]


def _not_fitting(shift: routing.Shift, stops: list[routing.Stop], matrix) -> set[str]:  # noqa: ANN001
    """The stops a greedy rebuild (earliest window first, cheapest insertion) cannot keep."""
    rebuilt = CommittedRoutes(matrix, [(shift, [])])
    dropped: set[str] = set()
    for stop in sorted(stops, key=lambda s: (s.windows[0].start, s.windows[0].end, s.id)):
        found = rebuilt.recommend(stop, list(stop.windows), k=1)
        if found:
            rebuilt.commit(found[0], stop)
        else:
            dropped.add(stop.id)
    return dropped


def preview(session: Session, change: Callable[[Session], object], now: datetime, travel: TravelService, **kw) -> list[AffectedBooking]:  # noqa: ANN003
    """The bookings ``change`` (applied to the session) would make infeasible; nothing is kept."""
    savepoint = session.begin_nested()
    try:
        change(session)
        session.flush()
        return affected_bookings(session, now, travel, **kw)
    finally:
        savepoint.rollback()


def rehome(session: Session, bookings: Iterable[AffectedBooking], now: datetime, travel: TravelService, policy: slots.SlotPolicy, office: Office) -> list[Rehomed]:
    """Move each affected booking to another team the same day, else cancel it and re-offer."""
    done: list[Rehomed] = []
    for a in sorted(bookings, key=lambda x: (x.day, x.start, x.booking_id)):
        booking = session.get(Booking, a.booking_id)
        if booking is None or booking.status != BookingStatus.CONFIRMED:
            continue
        request = session.get(VisitRequest, booking.request_id)
        resident = session.get(Resident, request.resident_id) if request else None
        assert request is not None and resident is not None
        needs = service_needs(session, resident)
        old_td = session.get(TeamDay, booking.team_day_id)
        assert old_td is not None
        moved = _move(session, booking, request, resident, needs, old_td, now, travel)
        if moved is not None:
            done.append(Rehomed(a.booking_id, request.id, request.reference, MOVED, old_td.day, booking.window_start, booking.window_end, old_td.team_id, moved[0], moved[1]))  # type: ignore[arg-type]
            continue
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
        slots.bump(session, old_td.id)  # type: ignore[arg-type]
        request.status = RequestStatus.ELIGIBLE  # offerable again: the offers make it "offered"
        request.updated_at = now
        session.flush()
        notify(session, request, "withdrawn", office=office.name, link=family_link(office.base_url, request, None), slots=[(old_td.day, booking.window_start, booking.window_end)])
        result = booking_service.offer(session, request, now, travel, policy, office, staff=True)
        outcome = REOFFERED if result.offers else UNPLACED
        done.append(Rehomed(a.booking_id, request.id, request.reference, outcome, old_td.day, booking.window_start, booking.window_end, old_td.team_id, offers=len(result.offers)))  # type: ignore[arg-type]
    session.flush()
    return done


def _move(session: Session, booking: Booking, request: VisitRequest, resident: Resident, needs, old_td: TeamDay, now: datetime, travel: TravelService) -> tuple[int, int] | None:  # noqa: ANN001
    """Book the same window with another team working that day; (team id, new booking id) or None."""
    point = (resident.lat, resident.lon)
    for ts in team_shifts(session, [old_td.day]):
        if ts.team_id == old_td.team_id:
            continue
        td = slots.team_day_for(session, ts.team_id, old_td.day)
        if not slots.fits_team_day(session, td, point, needs, booking.window_start, booking.window_end, now, travel, request.id):  # type: ignore[arg-type]
            continue
        booking.status = BookingStatus.RESCHEDULED
        booking.cancelled_at = now
        new = Booking(request_id=request.id, team_day_id=td.id, window_start=booking.window_start, window_end=booking.window_end, service_minutes=needs.minutes)  # type: ignore[arg-type]
        session.add(new)
        session.flush()
        slots.bump(session, old_td.id)  # type: ignore[arg-type]
        slots.bump(session, td.id)  # type: ignore[arg-type]
        return ts.team_id, new.id  # type: ignore[return-value]
    return None


def apply_and_rehome(session: Session, change: Callable[[Session], object], now: datetime, travel: TravelService, policy: slots.SlotPolicy, office: Office, **kw) -> list[Rehomed]:  # noqa: ANN003
    """Apply ``change``, then rehome every booking it makes infeasible."""
    change(session)
    session.flush()
    return rehome(session, affected_bookings(session, now, travel, tz=policy.timezone, **kw), now, travel, policy, office)
