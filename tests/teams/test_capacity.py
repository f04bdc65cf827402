"""The "capacity shrank" service: closures, kit outages and members leaving never break a booking silently."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlmodel import select

from tests.booking.invariants import assert_routes_keep_promises
from tests.booking.slot_support import NOW, setup_area
from visits.booking.chores import chase_list
from visits.models import Booking, BookingStatus, KitState, Notification, OfficeClosure, RecordingKit, RequestStatus, ShiftPattern, TeamDay, TeamMember, VisitRequest
from visits.teams import capacity
from visits.teams.kits import report_kit_failure

from .support import OFFICE, POLICY, TRAVEL, WEDNESDAY, book_on, confirmed, team


@pytest.fixture
def area(session):
    setup_area(session)
    return session


def _close(team_id, day=WEDNESDAY):  # noqa: ANN001, ANN202
    def change(s) -> None:  # noqa: ANN001
        s.add(OfficeClosure(day=day, team_id=team_id, reason="rapat"))

    return change


def test_a_team_closure_over_five_bookings_moves_them_to_other_teams(area) -> None:
    booked = book_on(area, "Tim 1")
    tim1 = team(area, "Tim 1")
    shown = capacity.preview(area, _close(tim1.id), NOW, TRAVEL)
    assert sorted(a.booking_id for a in shown) == sorted(b.id for b in booked)
    assert {a.reason for a in shown} == {capacity.TEAM_OFF}
    assert area.exec(select(OfficeClosure)).all() == []  # the preview kept nothing
    assert len(confirmed(area)) == 5

    done = capacity.apply_and_rehome(area, _close(tim1.id), NOW, TRAVEL, POLICY, OFFICE)
    assert sorted(d.booking_id for d in done) == sorted(b.id for b in booked)
    assert {d.outcome for d in done} == {capacity.MOVED}
    now_booked = confirmed(area)
    assert len(now_booked) == 5
    for b in now_booked:
        td = area.get(TeamDay, b.team_day_id)
        assert td.day == WEDNESDAY and td.team_id != tim1.id
    # the same promised windows
    assert sorted((b.window_start, b.window_end) for b in now_booked) == sorted((b.window_start, b.window_end) for b in booked)
    assert capacity.affected_bookings(area, NOW, TRAVEL) == []
    assert_routes_keep_promises(area, NOW, TRAVEL)


def test_an_office_closure_reoffers_every_booking_and_the_chase_list_shows_them(area) -> None:
    booked = book_on(area, "Tim 1")
    shown = capacity.preview(area, _close(None), NOW, TRAVEL)
    assert len(shown) == 5
    done = capacity.apply_and_rehome(area, _close(None), NOW, TRAVEL, POLICY, OFFICE)
    assert {d.outcome for d in done} == {capacity.REOFFERED} and all(d.offers > 0 for d in done)
    assert confirmed(area) == []
    requests = [area.get(VisitRequest, b.request_id) for b in booked]
    assert {r.status for r in requests} == {RequestStatus.OFFERED}
    assert {r.request_id for r in chase_list(area, NOW)} == {r.id for r in requests}
    assert {area.get(Booking, b.id).status for b in booked} == {BookingStatus.CANCELLED}
    for r in requests:  # the family is told, then offered new times
        sent = area.exec(select(Notification).where(Notification.request_id == r.id).order_by(Notification.id)).all()
        assert [n.template for n in sent][-2:] == ["booking_withdrawn", "booking_offers"]
        assert "25-11-2026" in sent[-2].body and r.reference in sent[-2].body
    assert_routes_keep_promises(area, NOW, TRAVEL)


def test_a_shorter_shift_keeps_what_fits_and_rehomes_the_rest(area) -> None:
    book_on(area, "Tim 1")
    tim1 = team(area, "Tim 1")

    def shorter(s) -> None:  # noqa: ANN001
        s.add(ShiftPattern(team_id=tim1.id, weekday=WEDNESDAY.weekday(), start_time=time(8), end_time=time(12), break_minutes=0))

    shown = capacity.preview(area, shorter, NOW, TRAVEL)
    assert {(a.start, a.reason) for a in shown} == {(time(13), capacity.NO_ROOM), (time(14), capacity.NO_ROOM)}
    done = capacity.apply_and_rehome(area, shorter, NOW, TRAVEL, POLICY, OFFICE)
    assert len(done) == 2 and {d.outcome for d in done} == {capacity.MOVED}
    assert len(confirmed(area)) == 5
    assert_routes_keep_promises(area, NOW, TRAVEL)


def test_a_kit_failure_rehomes_the_teams_bookings_from_then_on(area) -> None:
    booked = book_on(area, "Tim 2")
    tim2 = team(area, "Tim 2")
    since = datetime.combine(WEDNESDAY, time(9, 30), tzinfo=NOW.tzinfo)  # the 08:00-09:00 visit is past
    done = report_kit_failure(area, team_id=tim2.id, since=since, now=since, travel=TRAVEL, policy=POLICY, office=OFFICE)
    assert sorted(d.booking_id for d in done) == sorted(b.id for b in booked[1:])
    assert all(d.outcome in (capacity.MOVED, capacity.REOFFERED) for d in done)
    kit = area.exec(select(RecordingKit).where(RecordingKit.team_id == tim2.id)).one()
    assert (kit.state, kit.out_from, kit.out_until) == (KitState.OUT_OF_SERVICE, WEDNESDAY, None)
    left = [b for b in confirmed(area) if area.get(TeamDay, b.team_day_id).team_id == tim2.id]
    assert [b.id for b in left] == [booked[0].id]  # only the visit before the failure stays


def test_a_dated_kit_outage_rehomes_bookings_inside_its_dates_only(area) -> None:
    book_on(area, "Tim 1")
    thursday = WEDNESDAY + timedelta(days=1)
    later = book_on(area, "Tim 1", thursday, ("09:00",))
    kit = area.exec(select(RecordingKit).where(RecordingKit.team_id == team(area, "Tim 1").id)).one()

    def outage(s) -> None:  # noqa: ANN001
        kit.state, kit.out_from, kit.out_until = KitState.OUT_OF_SERVICE, WEDNESDAY, WEDNESDAY

    shown = capacity.preview(area, outage, NOW, TRAVEL)
    assert len(shown) == 5 and {a.day for a in shown} == {WEDNESDAY}
    done = capacity.apply_and_rehome(area, outage, NOW, TRAVEL, POLICY, OFFICE)
    assert len(done) == 5
    assert area.get(Booking, later[0].id).status == BookingStatus.CONFIRMED
    assert_routes_keep_promises(area, NOW, TRAVEL)


def test_a_member_leaving_below_the_minimum_crew_rehomes_the_bookings(area) -> None:
    booked = book_on(area, "Tim 1")
    tim1 = team(area, "Tim 1")
    tim1.min_members = 2
    area.add(TeamMember(team_id=tim1.id, name="Petugas A"))
    leaving = TeamMember(team_id=tim1.id, name="Petugas B")
    area.add(leaving)
    area.flush()
    assert capacity.affected_bookings(area, NOW, TRAVEL) == []

    def leave(s) -> None:  # noqa: ANN001
        leaving.left_on = WEDNESDAY

    shown = capacity.preview(area, leave, NOW, TRAVEL)
    assert sorted(a.booking_id for a in shown) == sorted(b.id for b in booked)
    done = capacity.apply_and_rehome(area, leave, NOW, TRAVEL, POLICY, OFFICE)
    assert {d.outcome for d in done} == {capacity.MOVED}
    assert all(area.get(TeamDay, b.team_day_id).team_id != tim1.id for b in confirmed(area))
    assert_routes_keep_promises(area, NOW, TRAVEL)


def test_rehoming_bumps_every_team_day_it_touches(area) -> None:
    from visits.transactions import changed_team_days

    booked = book_on(area, "Tim 1")
    area.info.clear()
    old = booked[0].team_day_id
    versions = {old: area.get(TeamDay, old).version}
    capacity.apply_and_rehome(area, _close(team(area, "Tim 1").id), NOW, TRAVEL, POLICY, OFFICE)
    new_days = {b.team_day_id for b in confirmed(area)}
    assert old in changed_team_days(area) and new_days <= set(changed_team_days(area))
    area.expire_all()
    assert area.get(TeamDay, old).version > versions[old]


def test_a_change_that_adds_capacity_replans_the_team_days_it_touches(area) -> None:
    from visits.teams import admin as team_admin
    from visits.transactions import changed_team_days

    booked = book_on(area, "Tim 1", WEDNESDAY, ("09:00",))
    other = book_on(area, "Tim 2", WEDNESDAY, ("10:00",))
    area.info.clear()
    tim1 = team(area, "Tim 1")
    change = team_admin.shift_change(area, {"team_id": str(tim1.id), "weekday": "2", "start_time": "07:00", "end_time": "16:00", "break_minutes": "0"})
    outcome = team_admin.run(area, change, user_id=None, route="", confirmed=False, now=NOW, travel=TRAVEL, policy=POLICY, office=OFFICE)
    assert outcome.pending is None and outcome.rehomed == []
    assert changed_team_days(area) == [booked[0].team_day_id]  # Tim 1's Wednesday, not Tim 2's
    assert other[0].team_day_id not in changed_team_days(area)
