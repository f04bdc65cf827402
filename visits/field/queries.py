"""Screen queries of the field: the officer's route of one day (``GET /api/v1/field/day``).

Stops come in this order: the visits already made (by arrival), then the visits still to make in
planned order, then the visits cancelled or moved away from this team-day. The planned order and
arrivals are the current stored plan's when it holds exactly the team-day's confirmed bookings;
otherwise (no plan yet, or the re-plan after a change has not landed) the rest of the day is
scheduled on the fly from where the team stands (``visits.planning.replan.load_team_day``: the
stored plan's order when it still fits, else booked-window order repaired by cheapest insertion,
which is ``visits.planning.plans.day_plan``'s order before the team sets out). The estimated end
and the breaks are those of that schedule.

The route carries personal data (name, address, phone, groups): the caller audits one read per
resident shown (:attr:`DayRoute.residents`). Cancelled or moved visits show no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from routing.schedule import schedule_route
from visits.booking import groups
from visits.errors import NotFound
from visits.field.models import Visit, VisitOutcome
from visits.models import Booking, BookingStatus, Group, Kelurahan, Office, Plan, PlanStatus, PlanStop, Resident, Team, TeamDay, VisitRequest
from visits.planning.calendar import team_shifts
from visits.planning.replan import load_team_day
from visits.planning.travel import TravelService

SHOWN = (BookingStatus.CONFIRMED, BookingStatus.DONE, BookingStatus.CANCELLED, BookingStatus.RESCHEDULED)


@dataclass
class Schedule:
    """The rest of a team-day timed from where the team stands."""

    order: list[int]  # booking ids
    arrivals: dict[int, time]
    end: time | None
    breaks: list[tuple[time, time]]


def rest_of_day_schedule(session: Session, td: TeamDay, now: datetime, travel: TravelService, order: list[int] | None = None) -> Schedule | None:
    """The confirmed bookings of ``td`` timed from where the team stands, in ``order`` when it
    is given and feasible, else in the re-planner's starting order; None when the team does not
    work that day."""
    loaded = load_team_day(session, td.id, travel, now)  # type: ignore[arg-type]
    if loaded is None or loaded.shift is None or loaded.problem is None:
        return None
    by_id = {int(s.id[1:]): s for s in loaded.stops}
    default = list(by_id)
    candidates = []
    if order is not None and sorted(order) == sorted(default):
        candidates.append(order)
    candidates.append(default)
    h = loaded.horizon
    for ids in candidates:
        route = schedule_route(loaded.shift, [by_id[i] for i in ids], loaded.problem.durations)
        if route is not None:
            return Schedule(ids, {int(v.stop_id[1:]): h.time_of(v.arrival) for v in route.visits}, h.time_of(route.end), [(h.time_of(b.start), h.time_of(b.end)) for b in route.breaks])
    return Schedule(default, {}, None, [])


def _hm(t: time | None) -> str | None:
    return t.strftime("%H:%M") if t is not None else None


def _links(phone: str | None, lat: float | None, lon: float | None) -> dict[str, str | None]:
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    links: dict[str, str | None] = {"tel": f"tel:{phone}" if phone else None, "whatsapp": f"https://wa.me/{digits}" if digits else None, "geo": None, "maps": None}
    if lat is not None and lon is not None:
        links["geo"] = f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}"
        links["maps"] = f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=18/{lat:.6f}/{lon:.6f}"
    return links


class StopState(StrEnum):
    PLANNED = "planned"  # still to visit
    DONE = "done"  # recorded
    FAILED = "failed"  # visited without recording
    CANCELLED = "cancelled"  # no longer this team's visit (cancelled or moved)


def stop_actions(state: str) -> dict[str, bool]:
    """What a stop in ``state`` allows on the tablet, by name (for pages)."""
    return {"record": state == StopState.PLANNED, "gone": state == StopState.CANCELLED}


def state_of(booking: Booking, visit: Visit | None) -> str:
    if booking.status == BookingStatus.CONFIRMED:
        return StopState.PLANNED
    if booking.status == BookingStatus.DONE:
        return StopState.DONE if visit is not None and visit.outcome == VisitOutcome.RECORDED else StopState.FAILED
    return StopState.CANCELLED


@dataclass
class DayRoute:
    body: dict
    residents: list[tuple[int, int]] = field(default_factory=list)  # (request id, resident id) shown with personal data

    def as_dict(self) -> dict:
        return self.body


def day_route(session: Session, team_id: int, day: date, now: datetime, travel: TravelService) -> DayRoute:
    """The officer's route of ``day`` for ``team_id`` (see the module doc)."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("field.no_team")
    office = session.exec(select(Office)).first()
    td = session.exec(select(TeamDay).where(TeamDay.team_id == team_id, TeamDay.day == day)).first()
    rows: list[tuple[Booking, VisitRequest, Resident, Kelurahan | None]] = []
    if td is not None:
        rows = list(
            session.exec(
                select(Booking, VisitRequest, Resident, Kelurahan)
                .join(VisitRequest, Booking.request_id == VisitRequest.id)  # type: ignore[arg-type]
                .join(Resident, VisitRequest.resident_id == Resident.id)  # type: ignore[arg-type]
                .join(Kelurahan, Resident.kelurahan_id == Kelurahan.id, isouter=True)  # type: ignore[arg-type]
                .where(Booking.team_day_id == td.id, col(Booking.status).in_(SHOWN))
            ).all()
        )
    ids = [b.id for b, *_ in rows]
    visits = {v.booking_id: v for v in session.exec(select(Visit).where(col(Visit.booking_id).in_(ids))).all()} if ids else {}
    confirmed = sorted(b.id for b, *_ in rows if b.status == BookingStatus.CONFIRMED)  # type: ignore[type-var]

    plan = None
    plan_stops: list[PlanStop] = []
    if td is not None:
        plan = session.exec(select(Plan).where(Plan.team_day_id == td.id, Plan.status == PlanStatus.CURRENT).order_by(col(Plan.version).desc(), col(Plan.id).desc())).first()
        if plan is not None:
            loaded = list(session.exec(select(PlanStop).where(PlanStop.plan_id == plan.id).order_by(col(PlanStop.position))).all())
            plan_stops = loaded if sorted(s.booking_id for s in loaded) == confirmed else []
    order = [s.booking_id for s in plan_stops]
    arrivals = {s.booking_id: s.arrival for s in plan_stops}
    schedule = rest_of_day_schedule(session, td, now, travel, order if plan_stops else None) if td is not None else None
    if plan_stops and plan is not None and td is not None and plan.version < td.version and schedule is not None and schedule.arrivals and schedule.order == order:
        arrivals = schedule.arrivals  # the team-day changed (e.g. running late) since the plan: its order, timed from where the team stands
    if not plan_stops:
        if schedule is not None and schedule.arrivals:
            order, arrivals = schedule.order, schedule.arrivals
        else:
            by_window = sorted((b for b, *_ in rows if b.status == BookingStatus.CONFIRMED), key=lambda b: (b.window_start, b.id))
            order = [b.id for b in by_window]  # type: ignore[misc]
    estimated_end = schedule.end if schedule is not None else None
    breaks = schedule.breaks if schedule is not None else _shift_breaks(session, team_id, day)

    by_id: dict[int, tuple[Booking, VisitRequest, Resident, Kelurahan | None]] = {b.id: (b, r, res, k) for b, r, res, k in rows}  # type: ignore[misc]

    def arrived(bid: int) -> str:
        visit = visits.get(bid)
        return visit.arrived_at.isoformat() if visit is not None and visit.arrived_at else "~"

    made = sorted((bid for bid, (b, *_) in by_id.items() if b.status == BookingStatus.DONE), key=lambda bid: (arrived(bid), bid))
    gone = sorted((bid for bid, (b, *_) in by_id.items() if b.status in (BookingStatus.CANCELLED, BookingStatus.RESCHEDULED)), key=lambda bid: (by_id[bid][0].window_start, bid))
    stops: list[dict] = []
    residents: list[tuple[int, int]] = []
    for bid in [*made, *[o for o in order if o in by_id], *gone]:
        booking, request, resident, kelurahan = by_id[bid]
        visit = visits.get(bid)
        state = state_of(booking, visit)
        stop = _stop(len(stops), booking, request, resident, kelurahan, visit, state, arrivals.get(bid))
        if state != "cancelled":
            residents.append((request.id, resident.id))  # type: ignore[arg-type]
            # a group visit: the other residents at this address, each with their own outcome (``request_id``)
            stop["group"] = []
            stop["lead_pending"] = True
            for member in groups.members(session, request.id):  # type: ignore[arg-type]
                stop["lead_pending"] = session.exec(select(Visit.id).where(Visit.booking_id == booking.id, Visit.request_id == request.id)).first() is None
                other = session.get(Resident, member.resident_id)
                assert other is not None
                stop["group"].append({"request_id": member.id, "reference": member.reference, "resident_name": other.full_name, "groups": [g.value for g in other.groups]})
                residents.append((member.id, other.id))  # type: ignore[arg-type]
        stops.append(stop)

    version = max(td.version if td else 0, plan.version if plan else 0)
    body = {
        "date": day.isoformat(),
        "team": {"id": team.id, "name": team.name},
        "version": version,
        "estimated_end": _hm(estimated_end),
        "breaks": [{"start": _hm(a), "end": _hm(b)} for a, b in breaks],
        "office": {"name": office.name, "lat": office.lat, "lon": office.lon} if office else None,
        "pending": sum(1 for s in stops if s["state"] == "planned"),  # visits still to make
        "replan_pending": bool(td is not None and (plan is None or plan.version < td.version) and confirmed),
        "stops": stops,
    }
    return DayRoute(body, residents)


def _shift_breaks(session: Session, team_id: int, day: date) -> list[tuple[time, time]]:
    for ts in team_shifts(session, [day]):
        if ts.team_id == team_id and ts.break_minutes and ts.break_earliest:
            start = datetime.combine(day, ts.break_earliest)
            return [(start.time(), (start + timedelta(minutes=ts.break_minutes)).time())]
    return []


def _stop(position: int, booking: Booking, request: VisitRequest, resident: Resident, kelurahan: Kelurahan | None, visit: Visit | None, state: str, arrival: time | None) -> dict:
    base = {
        "visit_id": booking.id,
        "position": position,
        "window_start": _hm(booking.window_start),
        "window_end": _hm(booking.window_end),
        "planned_arrival": _hm(arrival) if state == "planned" else None,
        "reference": request.reference,
        "state": state,
        "outcome": visit.outcome if visit is not None else None,
    }
    if state == "cancelled":  # no longer this team's visit: no personal data
        return base | {
            "resident_name": None,
            "groups": [],
            "approach_notes": None,
            "needs_companion": False,
            "address": None,
            "lat": None,
            "lon": None,
            "companion": None,
            "links": _links(None, None, None),
        }
    groups = [g.value for g in resident.groups]
    return base | {
        "resident_name": resident.full_name,
        "groups": groups,
        "approach_notes": resident.approach_notes,
        "needs_companion": Group.MENTAL.value in groups,
        "address": {"street": resident.street, "rt": resident.rt, "rw": resident.rw, "kelurahan": kelurahan.name if kelurahan else None},
        "lat": resident.lat,
        "lon": resident.lon,
        "companion": {"name": request.companion_name, "relation": request.companion_relation, "phone": request.companion_phone},
        "links": _links(request.companion_phone, resident.lat, resident.lon),
        "arrived_at": visit.arrived_at.isoformat() if visit is not None and visit.arrived_at else None,
        "finished_at": visit.finished_at.isoformat() if visit is not None and visit.finished_at else None,
    }


@dataclass(frozen=True)
class VisitProof:
    """What the officer stored at the door: shown on the operator's case page."""

    outcome: str
    next_step: str
    arrived_at: datetime | None
    finished_at: datetime | None
    lat: float | None
    lon: float | None
    officer: str | None
    note: str | None


def visit_proofs(session: Session, request_id: int) -> list[VisitProof]:
    """Every visit made for this request, oldest first."""
    from visits.models import User

    rows = session.exec(
        select(Visit, User).join(User, Visit.officer_id == User.id, isouter=True).where(Visit.request_id == request_id).order_by(col(Visit.received_at), col(Visit.id))  # type: ignore[arg-type]
    ).all()
    return [VisitProof(v.outcome, v.next_step, v.arrived_at, v.finished_at, v.gps_lat, v.gps_lon, (u.full_name or u.username) if u else None, v.notes) for v, u in rows]
