"""Slot offers, holds and bookings: a "recommend fit" over the committed routes.

Offers score cheap feasible insertions (``routing.insertion``) into the committed routes of
the coming working days: confirmed bookings plus live holds of other families. A hold keeps
its capacity until it expires; expired holds simply stop counting (no job needed).

Confirming re-checks the one team-day against its *confirmed bookings* only, under a lock on
that team-day (SQLite: the write transaction's lock taken up front; PostgreSQL: ``SELECT …
FOR UPDATE`` on the ``team_day`` row), so when several confirmations compete for capacity
that fits one, exactly one books and the others get a :class:`SlotTaken` with fresh offers.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text, update
from sqlmodel import Session, col, select

import routing
from routing.insertion import CommittedRoutes, Insertion
from routing.schedule import find_feasible_order, schedule_route
from visits.booking import groups
from visits.errors import Conflict, NotFound
from visits.intake.models import NOT_CANCELLABLE, OFFERABLE, public_status
from visits.models import (
    Booking,
    BookingStatus,
    Channel,
    HoldStatus,
    Office,
    Plan,
    PlanStatus,
    PlanStop,
    RequestStatus,
    Resident,
    ServiceRule,
    SlotHold,
    TeamDay,
    VisitRequest,
)
from visits.planning.calendar import TeamShift, team_shifts, working_days
from visits.planning.translate import Horizon, ServiceNeeds, service_needs, service_rules, shift_id, to_routing_shift, window_stop
from visits.planning.travel import TravelService
from visits.transactions import mark_changed


@dataclass(frozen=True)
class SlotPolicy:
    window_minutes: int = 60
    offer_count: int = 3
    max_offer_count: int = 5
    horizon_days: int = 10  # working days
    hold_minutes_phone: int = 15
    hold_minutes_web: int = 24 * 60
    change_cutoff: time = time(18, 0)  # on the day before the visit
    timezone: str = "Asia/Jakarta"

    def hold_for(self, channel: str) -> timedelta:
        return timedelta(minutes=self.hold_minutes_phone if channel == Channel.PHONE else self.hold_minutes_web)


@dataclass(frozen=True)
class Offer:
    offer_id: str
    day: date
    start: time
    end: time
    expires_at: datetime


@dataclass(frozen=True)
class OfferResult:
    offers: list[Offer]
    reason: str | None = None  # None, "OUTSIDE_AVAILABILITY" (nearest other times offered), "NO_CAPACITY"


class SlotTaken(Conflict):
    """The offer can no longer be kept; ``offers`` holds fresh ones."""

    code = "slot_taken"

    def __init__(self, offers: OfferResult, message_key: str = "slots.taken") -> None:
        super().__init__(message_key)
        self.offers = offers


# ---------------------------------------------------------------- the world the planner sees


@dataclass
class World:
    """Committed routes of some team-days, ready for insertion queries.

    ``matrix`` is the travel-time matrix the routes' locations index; ``extra_locations`` are
    the locations of the ``extra_points`` given to :func:`build_world` (e.g. the new home).
    """

    horizon: Horizon
    shifts: dict[str, routing.Shift]
    team_shifts: dict[str, TeamShift]
    routes: CommittedRoutes
    matrix: Sequence[Sequence[int]]
    extra_locations: list[int] = field(default_factory=list)
    stops_by_shift: dict[str, list[routing.Stop]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Committed:
    stop_id: str
    team_day_id: int
    day: date
    team_id: int
    start: time
    end: time
    minutes: int
    skills: frozenset[str]
    point: tuple[float, float]


def office_point(session: Session) -> tuple[float, float]:
    office = session.exec(select(Office)).first()
    if office is None:
        raise NotFound("error.no_office")
    return (office.lat, office.lon)


def _committed(
    session: Session, days: Sequence[date], now: datetime, *, include_holds: bool, exclude_request: int | None, team_day_id: int | None = None, team_id: int | None = None
) -> list[_Committed]:
    """Confirmed bookings (and optionally live holds of other requests) on these days.

    Reads plain columns, not ORM entities: with a thousand bookings in the horizon, building
    Booking/TeamDay/Resident objects was most of an offer's time."""
    out: list[_Committed] = []
    resident_cols = (Resident.lat, Resident.lon, Resident.group_elderly, Resident.group_disabled, Resident.group_mental, Resident.group_bedridden)
    q = (
        select(Booking.id, Booking.window_start, Booking.window_end, Booking.service_minutes, TeamDay.id, TeamDay.day, TeamDay.team_id, *resident_cols)  # type: ignore[call-overload]
        .join(TeamDay, Booking.team_day_id == TeamDay.id)
        .join(VisitRequest, Booking.request_id == VisitRequest.id)
        .join(Resident, VisitRequest.resident_id == Resident.id)
        .where(Booking.status == BookingStatus.CONFIRMED, col(TeamDay.day).in_(list(days)))
    )
    if team_day_id is not None:
        q = q.where(TeamDay.id == team_day_id)
    if team_id is not None:
        q = q.where(TeamDay.team_id == team_id)
    if exclude_request is not None:
        q = q.where(Booking.request_id != exclude_request)
    # service needs depend only on the resident's groups: computed once per group set, from rules read once
    needs_cache: dict[tuple[bool, ...], ServiceNeeds] = {}
    rules: dict[str, ServiceRule] | None = None  # read once, at the first group set

    def needs_of(flags: tuple[bool, ...]) -> ServiceNeeds:
        nonlocal rules
        if flags not in needs_cache:
            rules = service_rules(session) if rules is None else rules
            elderly, disabled, mental, bedridden = flags
            probe = Resident(group_elderly=elderly, group_disabled=disabled, group_mental=mental, group_bedridden=bedridden)  # type: ignore[call-arg]  # only .groups is read
            needs_cache[flags] = service_needs(session, probe, rules)
        return needs_cache[flags]

    for booking_id, start, end, minutes, td_id, day, team_id, lat, lon, *flags in session.exec(q).all():
        needs = needs_of(tuple(flags))
        out.append(_Committed(f"b{booking_id}", td_id, day, team_id, start, end, minutes, needs.skills, (lat, lon)))
    if include_holds:
        hq = (
            select(SlotHold.id, SlotHold.window_start, SlotHold.window_end, TeamDay.id, TeamDay.day, TeamDay.team_id, *resident_cols)  # type: ignore[call-overload]
            .join(TeamDay, SlotHold.team_day_id == TeamDay.id)
            .join(VisitRequest, SlotHold.request_id == VisitRequest.id)
            .join(Resident, VisitRequest.resident_id == Resident.id)
            .where(SlotHold.status == HoldStatus.HELD, SlotHold.expires_at > now, col(TeamDay.day).in_(list(days)))
        )
        if exclude_request is not None:
            hq = hq.where(SlotHold.request_id != exclude_request)
        if team_id is not None:
            hq = hq.where(TeamDay.team_id == team_id)
        for hold_id, start, end, td_id, day, team_id, lat, lon, *flags in session.exec(hq).all():
            needs = needs_of(tuple(flags))
            out.append(_Committed(f"h{hold_id}", td_id, day, team_id, start, end, needs.minutes, needs.skills, (lat, lon)))
    return out


def _plan_order(session: Session, team_day_ids: set[int]) -> dict[str, int]:
    """Position of each booking in its team-day's current plan."""
    if not team_day_ids:
        return {}
    rows = session.exec(
        select(PlanStop.booking_id, PlanStop.position)
        .join(Plan, PlanStop.plan_id == Plan.id)  # type: ignore[arg-type]
        .where(Plan.status == PlanStatus.CURRENT, Plan.team_day_id.in_(team_day_ids))  # type: ignore[attr-defined]
    ).all()
    return {f"b{booking_id}": position for booking_id, position in rows}


def build_world(
    session: Session,
    days: Sequence[date],
    travel: TravelService,
    now: datetime,
    *,
    include_holds: bool = True,
    exclude_request: int | None = None,
    extra_points: Sequence[tuple[float, float]] = (),
    team_id: int | None = None,
) -> World:
    """The committed routes of ``days`` (only ``team_id``'s when given, e.g. to re-plan one
    team-day). ``extra_points`` (e.g. the new home) get matrix locations
    ``world.extra_locations`` up front, so nothing has to be rebuilt to ask about them.

    A team-day whose shift and committed stops (in their starting order) are the same as in an
    earlier call reuses that call's route index (``travel.locate(...).routes``): an offer only
    re-indexes the team-days that changed since the last one."""
    days = sorted(days)
    horizon = Horizon(base=days[0]) if days else Horizon(base=date.today())
    shifts_list = [ts for ts in team_shifts(session, list(days)) if team_id is None or ts.team_id == team_id]
    committed = _committed(session, days, now, include_holds=include_holds, exclude_request=exclude_request, team_id=team_id)
    order = _plan_order(session, {c.team_day_id for c in committed})
    committed.sort(key=lambda c: (order.get(c.stop_id, 10_000), c.start, c.stop_id))
    located = travel.locate([office_point(session), *(c.point for c in committed), *extra_points])
    office, homes = located.indices[0], located.indices[1 : 1 + len(committed)]
    matrix = located.matrix
    r_shifts = {shift_id(ts.team_id, ts.day): to_routing_shift(ts, horizon, office) for ts in shifts_list}
    by_shift: dict[str, list[routing.Stop]] = {sid: [] for sid in r_shifts}
    for c, location in zip(committed, homes, strict=True):
        sid = shift_id(c.team_id, c.day)
        if sid not in by_shift:
            continue  # the team no longer works that day (kit, closure): shown to staff elsewhere
        needs = ServiceNeeds(c.minutes, c.skills)
        by_shift[sid].append(window_stop(c.stop_id, location, needs, horizon, c.day, c.start, c.end, required=True))
    routes = CommittedRoutes(matrix, [])
    for sid, stops in by_shift.items():
        shift = r_shifts[sid]
        key = (shift, tuple(stops), tuple(s.id in order for s in stops))
        kept = located.routes.get(key)
        if kept is not None:
            routes.put(kept)
            continue
        # RouteIndex checks feasibility exactly like schedule_route; repair the order only when it fails
        index = routes.set_route(shift, stops)
        if not index.feasible and stops:
            index = routes.set_route(shift, _planned_then_inserted(shift, stops, order, matrix) or _feasible_order(shift, stops, matrix))
        located.routes[key] = index
    return World(horizon, r_shifts, {shift_id(t.team_id, t.day): t for t in shifts_list}, routes, matrix, located.indices[1 + len(committed) :], by_shift)


def _planned_then_inserted(shift: routing.Shift, stops: list[routing.Stop], order: dict[str, int], matrix) -> list[routing.Stop] | None:  # noqa: ANN001
    """The usual repair between a booking and its re-plan: keep the current plan's order and
    insert only the stops it does not know yet (new bookings, holds), cheapest first. None when
    that does not give a feasible route (then the whole order is rebuilt)."""
    planned = [s for s in stops if s.id in order]
    rest = [s for s in stops if s.id not in order]
    if not planned or not rest:
        return None
    routes = CommittedRoutes(matrix, [(shift, planned)])
    if not routes.route(shift.id).feasible:
        return None
    for stop in sorted(rest, key=lambda s: (s.windows[0].start, s.id)):
        found = routes.recommend(stop, list(stop.windows), k=1)
        if not found:
            return None
        routes.commit(found[0], stop)
    return list(routes.route(shift.id).stops)


def _feasible_order(shift: routing.Shift, stops: list[routing.Stop], matrix) -> list[routing.Stop]:  # noqa: ANN001
    """Keep the plan/window order when it is feasible; otherwise rebuild it by cheapest insertion,
    and when that fails too, by exact search (``routing.schedule.find_feasible_order``, up to 15
    stops): a day whose visits can all be kept is never called infeasible (it would refuse every
    further booking until its re-plan)."""
    if not stops or schedule_route(shift, stops, matrix) is not None:
        return stops
    rebuilt = CommittedRoutes(matrix, [(shift, [])])
    for stop in sorted(stops, key=lambda s: (s.windows[0].start, s.id)):
        found = rebuilt.recommend(stop, list(stop.windows), k=1)
        if not found:
            exact = find_feasible_order(shift, stops, matrix)
            return exact if exact is not None else stops  # no order keeps them all: leave as is (insertions are refused)
        rebuilt.commit(found[0], stop)
    return list(rebuilt.route(shift.id).stops)


# ---------------------------------------------------------------- candidate windows


def candidate_windows(availability: list[dict], days: Sequence[date], horizon: Horizon, window_minutes: int) -> list[routing.TimeWindow]:
    """Slots of ``window_minutes`` on the hour inside the family's availability."""
    out: set[routing.TimeWindow] = set()
    for day in days:
        for entry in availability:
            if "date" in entry and entry["date"] != day.isoformat():
                continue
            if "weekday" in entry and int(entry["weekday"]) != day.weekday():
                continue
            start = horizon.minute(day, time.fromisoformat(entry["start"]))
            end = horizon.minute(day, time.fromisoformat(entry["end"]))
            s = -(-start // 60) * 60  # first full hour
            while s + window_minutes <= end:
                out.add(routing.TimeWindow(s, s + window_minutes))
                s += 60
    return sorted(out, key=lambda w: (w.start, w.end))


def shift_windows(world: World, window_minutes: int) -> list[routing.TimeWindow]:
    """Every on-the-hour slot inside any shift: the fallback when the availability fits nothing."""
    out: set[routing.TimeWindow] = set()
    for shift in world.shifts.values():
        s = -(-shift.start // 60) * 60
        while s + window_minutes <= shift.end:
            out.add(routing.TimeWindow(s, s + window_minutes))
            s += 60
    return sorted(out, key=lambda w: (w.start, w.end))


def distance_to_availability(window: routing.TimeWindow, availability: list[dict], horizon: Horizon) -> int:
    """How far ``window`` lies from the family's stated times, in minutes: the gap in time of day
    to the nearest stated range, plus a whole day (1440) for every day between them (weekday
    ranges repeat weekly). 0 means inside or touching a stated range."""
    day = horizon.day_of(window.start)
    start, end = window.start % routing.MINUTES_PER_DAY, window.end % routing.MINUTES_PER_DAY or routing.MINUTES_PER_DAY
    best = None
    for entry in availability:
        lo, hi = (time.fromisoformat(entry[k]) for k in ("start", "end"))
        gap = max(0, lo.hour * 60 + lo.minute - end, start - (hi.hour * 60 + hi.minute))
        if "date" in entry:
            days_apart = abs((day - date.fromisoformat(entry["date"])).days)
        else:
            apart = abs(day.weekday() - int(entry["weekday"]))
            days_apart = min(apart, 7 - apart)
        distance = days_apart * routing.MINUTES_PER_DAY + gap
        best = distance if best is None else min(best, distance)
    return best or 0


# ---------------------------------------------------------------- offers


def local_now(now: datetime, tz: str) -> datetime:
    return now.astimezone(ZoneInfo(tz))


def first_changeable_day(now: datetime, policy: SlotPolicy) -> date:
    """The first day a family could still change or cancel themselves: tomorrow before the
    cutoff (18:00), the day after tomorrow from then on."""
    local = local_now(now, policy.timezone)
    return local.date() + timedelta(days=1 if local.time() < policy.change_cutoff else 2)


def horizon_days(session: Session, now: datetime, policy: SlotPolicy, *, staff: bool = False) -> list[date]:
    """The next working days, starting tomorrow (no same-day visits). A family is offered only
    days they could still change themselves (:func:`first_changeable_day`); the office, on the
    phone with them, may still book tomorrow after the cutoff."""
    first = local_now(now, policy.timezone).date() + timedelta(days=1) if staff else first_changeable_day(now, policy)
    return working_days(session, first, policy.horizon_days)


def _load_request(session: Session, request_id: int, *, lock: bool = False) -> VisitRequest:
    q = select(VisitRequest).where(VisitRequest.id == request_id)
    if lock:
        q = q.with_for_update()
    row = session.exec(q).first()
    if row is None:
        raise NotFound()
    return row


def find_offers(
    session: Session, request: VisitRequest, now: datetime, travel: TravelService, policy: SlotPolicy, k: int | None = None, *, staff: bool = False
) -> tuple[World, list[Insertion], str | None, ServiceNeeds]:
    """The best insertions for this request (no writes) and why there are none inside the
    family's availability (None when there are):

    - ``OUTSIDE_AVAILABILITY``: the k windows nearest to the stated times are offered instead
      (nearest first, see :func:`distance_to_availability`; then earliest, then least travel);
    - ``NO_TEAMS``: no team works in the horizon (kits out of service, closures);
    - ``NO_SKILL``: the visit needs a skill (e.g. an ODGJ companion) no working team has;
    - ``NO_CAPACITY``: every fitting team-day is full.
    """
    k = min(k or policy.offer_count, policy.max_offer_count)
    resident = session.get(Resident, request.resident_id)
    assert resident is not None
    assert resident.lat is not None and resident.lon is not None  # an offerable request is located in the area
    needs = groups.group_needs(session, request, resident)  # a group visit: every resident's service time
    days = horizon_days(session, now, policy, staff=staff)
    world = build_world(session, days, travel, now, exclude_request=request.id, extra_points=[(resident.lat, resident.lon)])
    location = world.extra_locations[0]
    stop = routing.Stop(id=f"r{request.id}", location=location, service=needs.minutes, windows=(routing.TimeWindow(0, 1),), skills=needs.skills)
    wanted = candidate_windows(list(request.availability), days, world.horizon, policy.window_minutes)
    found = world.routes.recommend(stop, wanted, k=k) if wanted else []
    if found:
        return world, found, None, needs
    fallback = shift_windows(world, policy.window_minutes)
    every = world.routes.recommend(stop, fallback, k=len(fallback)) if fallback else []
    if every:
        availability = list(request.availability)
        every.sort(key=lambda ins: (distance_to_availability(ins.window, availability, world.horizon), ins.window.start, ins.added_travel, ins.shift_id))
        return world, every[:k], "OUTSIDE_AVAILABILITY", needs
    if not world.shifts:
        return world, [], "NO_TEAMS", needs
    if not any(needs.skills <= shift.skills for shift in world.shifts.values()):
        return world, [], "NO_SKILL", needs
    return world, [], "NO_CAPACITY", needs


def team_day_for(session: Session, team_id: int, day: date) -> TeamDay:
    """The team-day row, created on first use (safe under concurrent creation)."""
    row = session.exec(select(TeamDay).where(TeamDay.team_id == team_id, TeamDay.day == day)).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = TeamDay(team_id=team_id, day=day)
            session.add(row)
            session.flush()
        return row
    except Exception:  # a concurrent creator won: read theirs
        row = session.exec(select(TeamDay).where(TeamDay.team_id == team_id, TeamDay.day == day)).first()
        if row is None:
            raise
        return row


def release_holds(session: Session, request_id: int) -> None:
    session.exec(update(SlotHold).where(col(SlotHold.request_id) == request_id, col(SlotHold.status) == HoldStatus.HELD).values(status=HoldStatus.RELEASED))


OFFER_LOCK_KEY = 0x6A656D7075740001  # "jemput" + 1: PostgreSQL advisory lock of offer-making


def lock_offers(session: Session) -> None:
    """Make offers one transaction at a time: the team-days' live holds are read, and new holds
    written, under one lock held until the transaction ends, so two families are never held the
    same capacity. PostgreSQL: a transaction-scoped advisory lock (the team-day rows a new offer
    lands on may not exist yet, so a row lock cannot cover them). SQLite: write sessions hold the
    database's write lock already (``BEGIN IMMEDIATE``)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": OFFER_LOCK_KEY - 2**64 if OFFER_LOCK_KEY >= 2**63 else OFFER_LOCK_KEY})


def make_offers(
    session: Session, request_id: int, now: datetime, travel: TravelService, policy: SlotPolicy = SlotPolicy(), *, availability: list[dict] | None = None, k: int | None = None, staff: bool = False
) -> OfferResult:
    """Offer up to k slots and hold them; replaces the request's earlier holds (and availability).

    For a booked request these are reschedule offers: the family may ask until the cutoff on the
    day before the visit; ``staff`` (the office, e.g. on the phone) may ask at any time."""
    request = _load_request(session, request_id)
    assert request.id is not None
    if public_status(request) not in OFFERABLE:  # a duplicate held for review is offered as the new request it looks like
        raise Conflict("slots.not_offerable")
    if groups.lead_of(session, request.id) is not None:
        raise Conflict("booking.group.member_offers")  # a group member is visited with its lead
    if request.status == RequestStatus.BOOKED and not staff:
        ensure_before_cutoff(session, request.id, now, policy)
    if availability is not None:
        request.availability = availability
    lock_offers(session)
    release_holds(session, request.id)
    session.flush()
    world, found, reason, _ = find_offers(session, request, now, travel, policy, k, staff=staff)
    expires = now + policy.hold_for(request.channel)
    offers: list[Offer] = []
    for ins in found:
        team_id = world.team_shifts[ins.shift_id].team_id
        day = world.horizon.day_of(ins.window.start)
        td = team_day_for(session, team_id, day)
        assert td.id is not None
        hold = SlotHold(
            offer_id=secrets.token_urlsafe(12),
            request_id=request.id,
            team_day_id=td.id,
            window_start=world.horizon.time_of(ins.window.start),
            window_end=world.horizon.time_of(ins.window.end),
            expires_at=expires,
        )
        session.add(hold)
        offers.append(Offer(hold.offer_id, day, hold.window_start, hold.window_end, expires))
    if offers and request.status != RequestStatus.BOOKED:
        request.status = RequestStatus.OFFERED
    if request.first_answer_at is None:
        request.first_answer_at = now
    request.updated_at = now
    session.flush()
    return OfferResult(offers, reason)


# ---------------------------------------------------------------- confirm, cancel


def _lock_team_day(session: Session, team_day_id: int) -> TeamDay:
    # FOR NO KEY UPDATE, not FOR UPDATE: an offer being made (under the offer lock) may insert a
    # hold referencing this row, whose foreign-key check takes FOR KEY SHARE; FOR UPDATE would
    # make it wait for us while we wait for the offer lock (a confirmation that must re-offer):
    # a deadlock PostgreSQL broke under 40 concurrent families (tests/planning/test_many_processes.py).
    td = session.exec(select(TeamDay).where(TeamDay.id == team_day_id).with_for_update(key_share=True)).first()
    if td is None:
        raise NotFound()
    return td


def fits_team_day(
    session: Session, team_day: TeamDay, stop_point: tuple[float, float], needs: ServiceNeeds, start: time, end: time, now: datetime, travel: TravelService, exclude_request: int
) -> bool:
    """Can this team-day take one more visit in [start, end], given its confirmed bookings?"""
    world = build_world(session, [team_day.day], travel, now, include_holds=False, exclude_request=exclude_request, extra_points=[stop_point])
    sid = shift_id(team_day.team_id, team_day.day)
    if sid not in world.shifts:
        return False
    location = world.extra_locations[0]
    window = routing.TimeWindow(world.horizon.minute(team_day.day, start), world.horizon.minute(team_day.day, end))
    stop = routing.Stop(id="new", location=location, service=needs.minutes, windows=(window,), skills=needs.skills)
    index = world.routes.route(sid)
    if not index.accepts(stop):
        return False
    gaps = index.gaps(location, needs.minutes, window.start, window.end)
    return bool(gaps) and index.best_insertion(gaps, window) is not None


def confirm(session: Session, request_id: int, offer_id: str, now: datetime, travel: TravelService, policy: SlotPolicy = SlotPolicy(), *, staff: bool = False) -> Booking:
    """Book the held offer, atomically. Raises SlotTaken (with fresh offers) when it no longer fits.

    Moving an existing booking respects the family's cutoff unless ``staff`` confirms."""
    request = _load_request(session, request_id, lock=True)
    assert request.id is not None
    hold = session.exec(select(SlotHold).where(SlotHold.offer_id == offer_id, SlotHold.request_id == request.id)).first()
    if hold is None:
        raise NotFound("slots.unknown_offer")
    if hold.status != HoldStatus.HELD or hold.expires_at <= now:
        raise SlotTaken(make_offers(session, request.id, now, travel, policy, staff=staff), "slots.expired")
    team_day = _lock_team_day(session, hold.team_day_id)
    assert team_day.id is not None
    resident = session.get(Resident, request.resident_id)
    assert resident is not None
    assert resident.lat is not None and resident.lon is not None  # a request holding an offer is located in the area
    needs = groups.group_needs(session, request, resident)
    if not fits_team_day(session, team_day, (resident.lat, resident.lon), needs, hold.window_start, hold.window_end, now, travel, request.id):
        hold.status = HoldStatus.RELEASED
        session.flush()
        raise SlotTaken(make_offers(session, request.id, now, travel, policy, staff=staff))
    previous = session.exec(select(Booking).where(Booking.request_id == request.id, Booking.status == BookingStatus.CONFIRMED)).all()
    if previous and not staff:
        ensure_before_cutoff(session, request.id, now, policy)
    for old in previous:
        old.status = BookingStatus.RESCHEDULED
        old.cancelled_at = now
        bump(session, old.team_day_id)
    booking = Booking(request_id=request.id, team_day_id=team_day.id, hold_id=hold.id, window_start=hold.window_start, window_end=hold.window_end, service_minutes=needs.minutes)
    session.add(booking)
    hold.status = HoldStatus.CONFIRMED
    release_holds(session, request.id)
    team_day.version += 1
    mark_changed(session, team_day.id)
    request.status = RequestStatus.BOOKED
    request.updated_at = now
    groups.members_booked(session, request.id, now)  # a group visit: its members are booked with it
    session.flush()
    return booking


def bump(session: Session, team_day_id: int) -> None:
    """The team-day's bookings changed: a new version, re-planned after the commit."""
    session.exec(update(TeamDay).where(col(TeamDay.id) == team_day_id).values(version=TeamDay.version + 1))
    mark_changed(session, team_day_id)


def booking_of(session: Session, request_id: int) -> tuple[Booking, TeamDay] | None:
    row = session.exec(
        select(Booking, TeamDay).join(TeamDay, Booking.team_day_id == TeamDay.id).where(Booking.request_id == request_id, Booking.status == BookingStatus.CONFIRMED)  # type: ignore[arg-type]
    ).first()
    return (row[0], row[1]) if row else None


def ensure_before_cutoff(session: Session, request_id: int, now: datetime, policy: SlotPolicy) -> None:
    """Families may change a booked visit until the cutoff on the day before it."""
    current = booking_of(session, request_id)
    if current is None:
        return
    _, td = current
    cutoff = datetime.combine(td.day - timedelta(days=1), policy.change_cutoff, tzinfo=ZoneInfo(policy.timezone))
    if now >= cutoff:
        raise Conflict("slots.after_cutoff")


def cancel(session: Session, request_id: int, now: datetime, policy: SlotPolicy = SlotPolicy(), *, staff: bool = False) -> list[int]:
    """Cancel the request (and its booking); returns the team-day ids whose routes changed."""
    request = _load_request(session, request_id, lock=True)
    assert request.id is not None
    if request.status in NOT_CANCELLABLE:
        raise Conflict("slots.not_cancellable")
    if not staff:
        ensure_before_cutoff(session, request.id, now, policy)
    changed: list[int] = []
    current = booking_of(session, request.id)
    if current is not None:
        booking, td = current
        assert td.id is not None
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
        bump(session, td.id)
        changed.append(td.id)
    release_holds(session, request.id)
    request.status = RequestStatus.CANCELLED
    request.updated_at = now
    session.flush()
    groups.release_members(session, request.id, now)  # a lead's members are eligible on their own again
    shorter = groups.member_cancelled(session, request.id, now)  # a member's group visit gets shorter
    if shorter is not None:
        changed.append(shorter)
    return changed
