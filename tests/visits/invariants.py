"""The independent invariant checker: every team-day keeps every booked window and its shift.

It reads the confirmed bookings straight from the database, orders each team-day as the
current plan says (or by window), schedules it with ``routing.schedule.schedule_route`` and
then verifies the timed route with ``routing.schedule.check_route``; it also compares each
visit's start with the booking row itself, and checks no team-day holds more than it can.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel import select

from routing.schedule import check_route, schedule_route
from visits.models import Booking, BookingStatus, TeamDay
from visits.slots import build_world


def assert_routes_keep_promises(session, now: datetime, travel) -> None:  # noqa: ANN001
    rows = session.exec(select(Booking, TeamDay).join(TeamDay, Booking.team_day_id == TeamDay.id).where(Booking.status == BookingStatus.CONFIRMED)).all()
    if not rows:
        return
    by_request: dict[int, int] = defaultdict(int)
    for booking, _ in rows:
        by_request[booking.request_id] += 1
    assert max(by_request.values()) == 1, "a request holds two confirmed bookings"
    days = sorted({td.day for _, td in rows})
    world = build_world(session, days, travel, now, include_holds=False)
    matrix = world.matrix
    booked = {f"b{b.id}": (b, td) for b, td in rows}
    seen: set[str] = set()
    for sid, stops in world.stops_by_shift.items():
        ordered = list(world.routes.route(sid).stops)
        if not ordered:
            continue
        shift = world.shifts[sid]
        route = schedule_route(shift, ordered, matrix)
        assert route is not None, f"team-day {sid}: the booked visits cannot all be kept"
        problems = check_route(shift, ordered, route, matrix)
        assert problems == [], f"team-day {sid}: {problems}"
        for visit in route.visits:
            booking, td = booked[visit.stop_id]
            lo = world.horizon.minute(td.day, booking.window_start)
            hi = world.horizon.minute(td.day, booking.window_end)
            assert lo <= visit.start <= hi, f"{visit.stop_id} starts outside its booked window"
            seen.add(visit.stop_id)
    missing = set(booked) - seen
    assert not missing, f"bookings on no working team-day: {sorted(missing)}"
