"""The day's routes as staff see them (``GET /api/v1/plans``): always current, references only.

For each team working that day the route comes from its current stored plan when that plan was
computed from the team-day's current version (``Plan.version == TeamDay.version``); otherwise
(no plan yet, or bookings changed and the re-plan has not landed) the order and times are
computed on the fly with the cheap scheduler: the stored plan's order when it still fits, else
booked-window order repaired by cheapest insertion (``visits.booking.slots.build_world``), timed with
``routing.schedule.schedule_route``. Nothing is written.

``DayPlan.version`` is the largest TeamDay.version / Plan.version of the day's team-days (0 when
none): it grows with every booking change of that day, so a client can tell that its copy is old.

Only request references and times are returned: no names, addresses, NIK or categories.
A team with confirmed bookings that no longer works that day (kit out of service, closure) is
listed with its stops in window order and no times (``arrival``/``start``/``end`` are None).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time

from sqlmodel import Session, col, select

from routing.schedule import schedule_route
from visits.booking.slots import build_world
from visits.models import Booking, BookingStatus, Plan, PlanStatus, PlanStop, Team, TeamDay, VisitRequest
from visits.planning.travel import TravelService
from visits.types import utcnow


@dataclass(frozen=True)
class StopView:
    reference: str
    window_start: str
    window_end: str
    arrival: str | None
    start: str | None
    end: str | None


@dataclass
class RouteView:
    team_id: int
    team_name: str
    stops: list[StopView] = field(default_factory=list)
    source: str = "plan"  # "plan": the stored current plan; "computed": scheduled on the fly; "unplanned": team not working
    version: int = 0  # the team-day's version


@dataclass
class DayPlan:
    date: date
    version: int
    routes: list[RouteView]

    def as_dict(self) -> dict:
        return {"date": self.date.isoformat(), "version": self.version, "routes": [asdict(r) for r in self.routes]}


def _hm(t: time | None) -> str | None:
    return t.strftime("%H:%M") if t is not None else None


def day_plan(session: Session, day: date, team_id: int | None = None, *, travel: TravelService | None = None, now: datetime | None = None) -> DayPlan:
    """The routes of ``day`` (only ``team_id``'s when given)."""
    travel = travel or TravelService()
    world = build_world(session, [day], travel, now or utcnow(), include_holds=False)
    matrix = world.matrix
    team_days = {td.team_id: td for td in session.exec(select(TeamDay).where(TeamDay.day == day)).all()}
    if team_id is not None:
        team_days = {k: v for k, v in team_days.items() if k == team_id}
    td_ids = [td.id for td in team_days.values()]
    bookings: dict[int, tuple[Booking, str]] = {}
    plans: dict[int, Plan] = {}
    plan: Plan | None
    if td_ids:
        for booking, reference in session.exec(
            select(Booking, VisitRequest.reference)
            .join(VisitRequest, Booking.request_id == VisitRequest.id)  # type: ignore[arg-type]
            .where(col(Booking.team_day_id).in_(td_ids), Booking.status == BookingStatus.CONFIRMED)
        ).all():
            bookings[booking.id] = (booking, reference)  # type: ignore[index]
        for plan in session.exec(select(Plan).where(col(Plan.team_day_id).in_(td_ids), Plan.status == PlanStatus.CURRENT).order_by(col(Plan.version), col(Plan.id))).all():
            plans[plan.team_day_id] = plan  # the newest current one wins
    version = max([td.version for td in team_days.values()] + [p.version for p in plans.values()] + [0])

    working = {ts.team_id: (sid, ts) for sid, ts in world.team_shifts.items()}
    if team_id is not None:
        working = {k: v for k, v in working.items() if k == team_id}
    names = {t.id: t.name for t in session.exec(select(Team).where(col(Team.id).in_(set(working) | set(team_days)))).all()} if (working or team_days) else {}

    routes: list[RouteView] = []
    for tid in sorted(set(working) | set(team_days), key=lambda t: (names.get(t, ""), t)):
        td = team_days.get(tid)
        mine = {bid: b for bid, b in bookings.items() if td is not None and b[0].team_day_id == td.id}
        view = RouteView(tid, names.get(tid, ""), version=td.version if td else 0)
        plan = plans.get(td.id) if td is not None else None  # type: ignore[arg-type]
        if tid not in working:
            if not mine:
                continue
            view.source = "unplanned"
            for booking, reference in sorted(mine.values(), key=lambda b: (b[0].window_start, b[0].id)):
                view.stops.append(StopView(reference, _hm(booking.window_start), _hm(booking.window_end), None, None, None))  # type: ignore[arg-type]
        elif plan is not None and td is not None and plan.version >= td.version and _plan_covers(session, plan, mine):
            view.source = "plan"
            for ps in session.exec(select(PlanStop).where(PlanStop.plan_id == plan.id).order_by(col(PlanStop.position))).all():
                booking, reference = mine[ps.booking_id]
                view.stops.append(StopView(reference, _hm(booking.window_start), _hm(booking.window_end), _hm(ps.arrival), _hm(ps.start), _hm(ps.end)))  # type: ignore[arg-type]
        else:
            view.source = "computed"
            sid, _ = working[tid]
            ordered = list(world.routes.route(sid).stops)
            route = schedule_route(world.shifts[sid], ordered, matrix) if ordered else None
            times = {v.stop_id: v for v in route.visits} if route else {}
            for stop in ordered:
                booking, reference = mine[int(stop.id[1:])]
                v = times.get(stop.id)
                view.stops.append(
                    StopView(
                        reference,
                        _hm(booking.window_start),  # type: ignore[arg-type]
                        _hm(booking.window_end),  # type: ignore[arg-type]
                        _hm(world.horizon.time_of(v.arrival)) if v else None,
                        _hm(world.horizon.time_of(v.start)) if v else None,
                        _hm(world.horizon.time_of(v.end)) if v else None,
                    )
                )
        routes.append(view)
    return DayPlan(day, version, routes)


def _plan_covers(session: Session, plan: Plan, bookings: dict[int, tuple[Booking, str]]) -> bool:
    """The stored plan holds exactly the confirmed bookings (defence against a missed version bump)."""
    ids = session.exec(select(PlanStop.booking_id).where(PlanStop.plan_id == plan.id)).all()
    return sorted(ids) == sorted(bookings)
