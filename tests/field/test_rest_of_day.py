"""The rest of the day re-planned from where the team stands, after an outcome or a "running
late" report: every booked window kept (the independent invariant checker), or, when one can no
longer be kept, the family told and re-offered and the operator shown."""

from __future__ import annotations

from datetime import time

import pytest
from sqlmodel import col, select

import routing
from app.db import session_scope
from app.deps import travel_times
from tests.app.helpers import login_as, set_clock
from tests.booking.invariants import assert_routes_keep_promises
from tests.field.support import DAY, at, book_day, officer_of, outcome_body, request_row
from visits.models import Booking, BookingStatus, Notification, Plan, PlanStatus, PlanStop, RequestStatus, TeamDay, TeamStand
from visits.planning.replan import load_team_day, wait_idle
from visits.planning.rest_of_day import Standing, rest_of_day


def _current_plan(team_day_id: int) -> tuple[TeamDay, Plan | None, list[PlanStop]]:
    with session_scope() as session:
        td = session.get(TeamDay, team_day_id)
        plan = session.exec(select(Plan).where(Plan.team_day_id == team_day_id, Plan.status == PlanStatus.CURRENT, Plan.version == td.version)).first()  # type: ignore[union-attr]
        stops = list(session.exec(select(PlanStop).where(PlanStop.plan_id == plan.id).order_by(col(PlanStop.position))).all()) if plan else []
        return td, plan, stops  # type: ignore[return-value]


def _keeps_promises(now) -> None:  # noqa: ANN001
    with session_scope() as session:
        assert_routes_keep_promises(session, now, travel_times())


@pytest.fixture
def day(client):  # noqa: ANN001, ANN201
    booked = book_day([(9, 10), (10, 11), (11, 12), (13, 14)])
    set_clock(client, at(8, 0))
    return booked


def test_after_an_outcome_the_rest_of_the_day_is_replanned_from_here_and_now(client, day) -> None:
    staff = officer_of(client, day.team_id)
    set_clock(client, at(10, 40))  # the first visit ran long
    r = client.post(f"/api/v1/field/visits/{day.bookings[0]}/outcome", json=outcome_body("recorded", arrived=at(9, 50), minutes=45, lat=-7.47, lon=112.43), headers=staff.headers)
    assert r.status_code == 200, r.text
    assert wait_idle(60)
    td, plan, stops = _current_plan(day.team_day_id)
    assert plan is not None, "no plan of the team-day's current version"
    assert [s.booking_id for s in stops] == day.bookings[1:]
    assert time(10, 35) < stops[0].start <= time(11, 0)  # its booked window still kept
    with session_scope() as session:  # what the re-planner solved: the open part of the day, from that home at 10:35
        loaded = load_team_day(session, day.team_day_id, travel_times(), at(10, 40))
    assert loaded is not None and loaded.shift is not None and loaded.problem is not None
    assert loaded.shift.start == 10 * 60 + 35 and loaded.shift.breaks and loaded.shift.max_visits == 9
    office_to_first = loaded.problem.durations[loaded.shift.end_location][loaded.stops[0].location]
    here_to_first = loaded.problem.durations[loaded.shift.start_location][loaded.stops[0].location]
    assert loaded.shift.start_location != loaded.shift.end_location and here_to_first != office_to_first
    _keeps_promises(at(10, 40))
    with session_scope() as session:
        stand = session.exec(select(TeamStand).where(TeamStand.team_day_id == day.team_day_id)).one()
    assert (stand.free_from, stand.lat, [d["booking_id"] for d in stand.done]) == (time(10, 35), -7.47, [day.bookings[0]])
    route = client.get("/api/v1/field/day", params={"date": DAY.isoformat()}, headers=staff.headers).json()
    assert route["version"] == td.version and route["replan_pending"] is False
    assert [s["planned_arrival"] for s in route["stops"][1:]] == [s.arrival.strftime("%H:%M") for s in stops]


def test_a_backlog_synced_later_starts_the_rest_of_the_day_where_the_last_visit_ended(client, day) -> None:
    """Outcomes queued offline arrive at noon: the team stood at each home when it finished, not
    at noon, so no morning visit whose outcome is still queued is given up."""
    staff = officer_of(client, day.team_id)
    set_clock(client, at(12, 0))
    second = outcome_body("recorded", arrived=at(10, 5), minutes=20)
    first = outcome_body("recorded", arrived=at(9, 5), minutes=20)
    for booking_id, body in ((day.bookings[1], second), (day.bookings[0], first)):  # out of order, too
        assert client.post(f"/api/v1/field/visits/{booking_id}/outcome", json=body, headers=staff.headers).status_code == 200
    with session_scope() as session:
        stand = session.exec(select(TeamStand).where(TeamStand.team_day_id == day.team_day_id)).one()
        status = [session.get(Booking, b).status for b in day.bookings]  # type: ignore[union-attr]
    assert stand.free_from == time(10, 25) and len(stand.done) == 2
    assert status == [BookingStatus.DONE, BookingStatus.DONE, BookingStatus.CONFIRMED, BookingStatus.CONFIRMED]  # 11:00 still kept
    assert wait_idle(60)
    _keeps_promises(at(12, 0))


def test_running_late_keeps_every_window_that_can_still_be_kept(client, day) -> None:
    staff = officer_of(client, day.team_id)
    set_clock(client, at(8, 50))
    r = client.post("/api/v1/field/late", json={"minutes": 45}, headers=staff.headers)  # free at 09:35
    assert r.status_code == 200 and r.json() == {"queued": True}
    route = client.get("/api/v1/field/day", params={"date": DAY.isoformat()}, headers=staff.headers).json()
    assert all(s["planned_arrival"] >= "09:35" for s in route["stops"])  # at once, before the re-plan lands
    assert wait_idle(60)
    _, plan, stops = _current_plan(day.team_day_id)
    assert plan is not None and sorted(s.booking_id for s in stops) == sorted(day.bookings)
    assert stops[0].start >= time(9, 35)
    with session_scope() as session:
        loaded = load_team_day(session, day.team_day_id, travel_times(), at(8, 50))
    assert loaded is not None and loaded.shift is not None and loaded.shift.start == 9 * 60 + 35
    assert loaded.shift.start_location == loaded.shift.end_location  # no position given: still at the office
    _keeps_promises(at(8, 50))
    with session_scope() as session:
        assert session.exec(select(Notification).where(Notification.template == "field_cannot_keep")).all() == []


def test_a_window_that_can_no_longer_be_kept_is_released_the_family_reoffered_and_the_operator_told(client, day) -> None:
    staff = officer_of(client, day.team_id)
    set_clock(client, at(9, 0))
    r = client.post("/api/v1/field/late", json={"minutes": 140, "lat": -7.4722, "lon": 112.4336}, headers=staff.headers)  # free at 11:20
    assert r.status_code == 200
    assert wait_idle(60)
    with session_scope() as session:
        status = {b.id: b.status for b in session.exec(select(Booking).where(Booking.team_day_id == day.team_day_id)).all()}
        told = session.exec(select(Notification).where(Notification.template == "field_cannot_keep")).all()
    assert [status[b] for b in day.bookings] == [BookingStatus.CANCELLED, BookingStatus.CANCELLED, BookingStatus.CONFIRMED, BookingStatus.CONFIRMED]
    assert sorted(n.request_id for n in told) == sorted(day.requests[:2])  # type: ignore[type-var]
    assert all("09:00" in n.body or "10:00" in n.body for n in told)
    for request_id in day.requests[:2]:
        assert request_row(request_id).status == RequestStatus.OFFERED
    _, plan, stops = _current_plan(day.team_day_id)
    assert plan is not None and [s.booking_id for s in stops] == day.bookings[2:]
    assert stops[0].arrival >= time(11, 20)
    _keeps_promises(at(9, 0))
    desk = login_as(client, "operator")
    page = client.get("/operator/chase", headers=desk.headers).text
    assert all(request_row(rid).reference in page for rid in day.requests[:2])
    route = client.get("/api/v1/field/day", params={"date": DAY.isoformat()}, headers=staff.headers).json()
    assert [s["state"] for s in route["stops"]] == ["planned", "planned", "cancelled", "cancelled"]
    assert route["stops"][2]["resident_name"] is None  # no longer this team's visit: no personal data


def test_an_officer_without_a_booked_day_can_still_report_late(client, day) -> None:
    staff = officer_of(client, day.other_team_id)
    set_clock(client, at(9, 0))
    assert client.post("/api/v1/field/late", json={"minutes": 15}, headers=staff.headers).status_code == 200
    assert client.post("/api/v1/field/late", json={"minutes": -5}, headers=staff.headers).status_code == 422


def test_the_open_part_of_a_shift_keeps_only_the_breaks_still_to_take_and_counts_the_done_visits() -> None:
    shift = routing.Shift("1:d", "1", 0, 0, 0, 480, 900, breaks=(routing.Break(routing.TimeWindow(690, 750), 30),), max_visits=10)
    before = rest_of_day(shift, Standing(600, (0.0, 0.0), 2), 5)
    assert (before.start, before.start_location, before.breaks, before.max_visits) == (600, 5, shift.breaks, 8)
    after = rest_of_day(shift, Standing(760, None, 3), None)
    assert (after.start, after.start_location, after.breaks, after.max_visits) == (760, 0, (), 7)
    early = rest_of_day(shift, Standing(300, None, 0), None)
    assert early.start == 480  # never before the shift starts
    late = rest_of_day(shift, Standing(2000, None, 0), None)
    assert late.start == 900  # never after it ends
