"""Offers, holds and bookings against the committed routes."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlmodel import select

import routing
from tests.booking.slot_support import NOW, make_request, setup_area
from visits.booking import slots
from visits.errors import Conflict
from visits.models import Booking, BookingStatus, HoldStatus, KitState, OfficeClosure, RecordingKit, RequestStatus, SlotHold, Team, TeamDay
from visits.planning.translate import Horizon
from visits.planning.travel import TravelService

TRAVEL = TravelService()
POLICY = slots.SlotPolicy()
TUESDAY, WEDNESDAY, FRIDAY = date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27)


@pytest.fixture
def area(session):
    setup_area(session)
    return session


def offers_for(session, availability, **kw):
    req = make_request(session, availability, **kw)
    return req, slots.make_offers(session, req.id, NOW, TRAVEL, POLICY)


def test_offers_lie_inside_the_familys_availability(area) -> None:
    req, result = offers_for(area, [{"weekday": 2, "start": "09:00", "end": "12:00"}])
    assert result.reason is None and len(result.offers) == 3
    for offer in result.offers:
        assert offer.day.weekday() == 2 and time(9) <= offer.start and offer.end <= time(12)
        assert (offer.end.hour * 60 + offer.end.minute) - (offer.start.hour * 60 + offer.start.minute) == 60
    assert [o.day for o in result.offers] == sorted(o.day for o in result.offers)  # earliest first
    assert result.offers[0].day == WEDNESDAY
    assert area.get(type(req), req.id).status == RequestStatus.OFFERED


def test_offers_are_held_and_expire_by_channel(area) -> None:
    _, web = offers_for(area, [{"weekday": 1, "start": "08:00", "end": "10:00"}])
    _, phone = offers_for(area, [{"weekday": 1, "start": "08:00", "end": "10:00"}], channel="phone")
    assert all(o.expires_at == NOW + timedelta(hours=24) for o in web.offers)
    assert all(o.expires_at == NOW + timedelta(minutes=15) for o in phone.offers)
    assert len(area.exec(select(SlotHold).where(SlotHold.status == HoldStatus.HELD)).all()) == len(web.offers) + len(phone.offers)


def test_friday_hours_are_shorter(area) -> None:
    # Fridays end at 11:00: a family free on Fridays from 11:00 only is offered the nearest hour
    # before it (10:00-11:00, touching their range), never an hour after 11:00
    _, result = offers_for(area, [{"weekday": 4, "start": "11:00", "end": "14:00"}])
    assert result.reason == "OUTSIDE_AVAILABILITY" and result.offers
    assert all(o.end <= time(11) for o in result.offers if o.day.weekday() == 4)
    assert (result.offers[0].day, result.offers[0].start, result.offers[0].end) == (FRIDAY, time(10), time(11))


def test_offers_stay_inside_the_shift(area) -> None:
    # 14:00-18:00 on Wednesdays: only the 14:00-15:00 hour lies in a 08:00-15:00 shift
    _, result = offers_for(area, [{"weekday": 2, "start": "14:00", "end": "18:00"}])
    assert result.reason is None and result.offers
    assert {(o.start, o.end) for o in result.offers} == {(time(14), time(15))}


def test_public_holidays_are_skipped(area, monkeypatch) -> None:
    # Monday 21 December 2026: the horizon runs to 6 January 2027. Both Fridays in it are public
    # holidays (Christmas, New Year's Day), and so is Tuesday 5 January (Isra' Mi'raj).
    # (Collective leave off: its 24 December would stretch the horizon to Friday 8 January;
    # tests/teams/test_collective_leave.py covers those days.)
    monkeypatch.setattr("visits.clock._collective_leave", False)
    monday = NOW.replace(day=21, month=12)
    req = make_request(area, [{"weekday": 4, "start": "08:00", "end": "11:00"}, {"date": "2027-01-05", "start": "08:00", "end": "12:00"}])
    result = slots.make_offers(area, req.id, monday, TRAVEL, POLICY)
    days = {o.day for o in result.offers}
    assert result.reason == "OUTSIDE_AVAILABILITY" and result.offers
    assert not days & {date(2026, 12, 25), date(2027, 1, 1), date(2027, 1, 5)}


def test_an_office_closure_is_skipped(area) -> None:
    area.add(OfficeClosure(day=TUESDAY, reason="rapat"))
    area.flush()
    _, result = offers_for(area, [{"weekday": 1, "start": "08:00", "end": "12:00"}])
    days = {o.day for o in result.offers}
    assert days and TUESDAY not in days and all(d.weekday() == 1 for d in days)


def _held_teams(session, request_id: int) -> set[tuple[int, date]]:
    rows = session.exec(select(TeamDay).join(SlotHold, SlotHold.team_day_id == TeamDay.id).where(SlotHold.request_id == request_id)).all()
    return {(td.team_id, td.day) for td in rows}


def test_a_closure_for_one_team_takes_only_that_team_off(area) -> None:
    first_team = area.exec(select(Team).where(Team.name == "Tim 1")).one()
    area.add(OfficeClosure(day=WEDNESDAY, team_id=first_team.id, reason="pelatihan"))
    area.flush()
    req, result = offers_for(area, [{"date": WEDNESDAY.isoformat(), "start": "08:00", "end": "12:00"}])
    held = _held_teams(area, req.id)
    assert result.reason is None and len(result.offers) == 3 and {d for _, d in held} == {WEDNESDAY}
    assert first_team.id not in {t for t, _ in held}  # everything else equal, Tim 1 would win the tie


def test_an_odgj_visit_needs_a_team_with_the_skill(area) -> None:
    req, result = offers_for(area, [{"weekday": 2, "start": "08:00", "end": "14:00"}], group="mental")
    odgj_team = area.exec(select(Team).where(Team.name == "Tim 3")).one()
    assert result.offers and {t for t, _ in _held_teams(area, req.id)} == {odgj_team.id}


def test_without_a_working_team_with_the_skill_the_answer_says_so(area) -> None:
    odgj_team = area.exec(select(Team).where(Team.name == "Tim 3")).one()
    area.exec(select(RecordingKit).where(RecordingKit.team_id == odgj_team.id)).one().state = KitState.OUT_OF_SERVICE
    area.flush()
    _, result = offers_for(area, [{"weekday": 2, "start": "08:00", "end": "14:00"}], group="mental")
    assert result.offers == [] and result.reason == "NO_SKILL"


def test_a_kit_out_of_service_takes_its_team_off(area) -> None:
    first_kit = area.exec(select(RecordingKit).order_by(RecordingKit.id)).first()
    first_kit.state = KitState.OUT_OF_SERVICE
    area.flush()
    req, result = offers_for(area, [{"weekday": 2, "start": "08:00", "end": "14:00"}])
    assert result.offers and first_kit.team_id not in {t for t, _ in _held_teams(area, req.id)}  # it would win every tie
    for kit in area.exec(select(RecordingKit)).all():
        kit.state = KitState.OUT_OF_SERVICE
    area.flush()
    _, none = offers_for(area, [{"weekday": 2, "start": "08:00", "end": "14:00"}])
    assert none.offers == [] and none.reason == "NO_TEAMS"


def test_on_one_day_the_team_with_the_least_added_travel_gets_the_visit(area) -> None:
    kits = area.exec(select(RecordingKit).order_by(RecordingKit.id)).all()
    kits[0].state = KitState.OUT_OF_SERVICE  # Tim 1 away while a neighbour books Wednesday 09:00 (Tim 2 gets it)
    area.flush()
    only_nine = [{"date": WEDNESDAY.isoformat(), "start": "09:00", "end": "10:00"}]
    first, offered = offers_for(area, only_nine)
    slots.confirm(area, first.id, offered.offers[0].offer_id, NOW, TRAVEL, POLICY)
    neighbour_team = area.exec(select(TeamDay).join(Booking, Booking.team_day_id == TeamDay.id)).one().team_id
    kits[0].state = KitState.OK
    area.flush()
    # next door at 10:00: Tim 2 drives a few metres from its 09:00 visit; Tim 1 would come from the office
    # (and would win a tie on its name): the cheaper insertion must win
    second, result = offers_for(area, [{"date": WEDNESDAY.isoformat(), "start": "10:00", "end": "11:00"}], offset=(0.0001, 0.0))
    assert second.resident_id != first.resident_id and result.reason is None
    assert _held_teams(area, second.id) == {(neighbour_team, WEDNESDAY)}


@pytest.mark.parametrize(("group", "minutes"), [("elderly", 20), ("disabled", 30), ("bedridden", 30), ("mental", 60)])
def test_the_booked_service_time_depends_on_the_group(area, group: str, minutes: int) -> None:
    req, result = offers_for(area, [{"weekday": 2, "start": "08:00", "end": "14:00"}], group=group)
    booking = slots.confirm(area, req.id, result.offers[0].offer_id, NOW, TRAVEL, POLICY)
    assert booking.service_minutes == minutes  # the demo service rules (ServiceRule rows)


def test_nearest_windows_are_proposed_when_the_availability_fits_nothing(area) -> None:
    # Sundays 08:00-12:00 only: the nearest working times are Monday mornings (a day away, same
    # hours), before Friday mornings (two days away) or any afternoon; the earliest Monday first
    _, result = offers_for(area, [{"weekday": 6, "start": "08:00", "end": "12:00"}])
    monday = date(2026, 11, 30)
    assert result.reason == "OUTSIDE_AVAILABILITY"
    assert [(o.day, o.start) for o in result.offers] == [(monday, time(8)), (monday, time(9)), (monday, time(10))]


def test_distance_to_availability() -> None:
    horizon = Horizon(base=TUESDAY)
    window = lambda day, hour: routing.TimeWindow(horizon.minute(day, time(hour)), horizon.minute(day, time(hour + 1)))  # noqa: E731
    tuesdays_nine_to_eleven = [{"weekday": 1, "start": "09:00", "end": "11:00"}]
    assert slots.distance_to_availability(window(TUESDAY, 9), tuesdays_nine_to_eleven, horizon) == 0
    assert slots.distance_to_availability(window(TUESDAY, 11), tuesdays_nine_to_eleven, horizon) == 0  # touching
    assert slots.distance_to_availability(window(TUESDAY, 13), tuesdays_nine_to_eleven, horizon) == 120
    assert slots.distance_to_availability(window(WEDNESDAY, 9), tuesdays_nine_to_eleven, horizon) == 1440
    assert slots.distance_to_availability(window(date(2026, 11, 30), 9), tuesdays_nine_to_eleven, horizon) == 1440  # Monday: a day before
    assert slots.distance_to_availability(window(FRIDAY, 8), [{"date": "2026-11-24", "start": "10:00", "end": "12:00"}], horizon) == 3 * 1440 + 60


def test_the_office_may_move_a_booking_after_the_familys_cutoff(area) -> None:
    req, result = offers_for(area, [{"date": TUESDAY.isoformat(), "start": "09:00", "end": "12:00"}])
    first = slots.confirm(area, req.id, result.offers[0].offer_id, NOW, TRAVEL, POLICY)
    late = NOW.replace(hour=19)  # after 18:00 on the day before the visit
    wednesday = [{"date": WEDNESDAY.isoformat(), "start": "09:00", "end": "12:00"}]
    with pytest.raises(Conflict):
        slots.make_offers(area, req.id, late, TRAVEL, POLICY, availability=wednesday)
    moved = slots.make_offers(area, req.id, late, TRAVEL, POLICY, availability=wednesday, staff=True)
    with pytest.raises(Conflict):  # the family still cannot confirm the move themselves
        slots.confirm(area, req.id, moved.offers[0].offer_id, late, TRAVEL, POLICY)
    second = slots.confirm(area, req.id, moved.offers[0].offer_id, late, TRAVEL, POLICY, staff=True)
    assert area.get(Booking, first.id).status == BookingStatus.RESCHEDULED
    assert area.get(TeamDay, second.team_day_id).day == WEDNESDAY


def test_breaks_are_kept_free(area) -> None:
    # Fill one Wednesday lunchtime: with 3 teams, 11:30-12:30 break windows, the 11:00-12:00 slot still fits
    # but a team never works through its 30-minute break: check every booked day stays schedulable.
    for _ in range(12):
        req, result = offers_for(area, [{"date": "2026-11-25", "start": "11:00", "end": "13:00"}])
        if not result.offers:
            break
        slots.confirm(area, req.id, result.offers[0].offer_id, NOW, TRAVEL, POLICY)
    from tests.booking.invariants import assert_routes_keep_promises

    assert_routes_keep_promises(area, NOW, TRAVEL)


def test_confirm_books_and_releases_the_other_offers(area) -> None:
    req, result = offers_for(area, [{"weekday": 2, "start": "09:00", "end": "12:00"}])
    booking = slots.confirm(area, req.id, result.offers[1].offer_id, NOW, TRAVEL, POLICY)
    assert (booking.window_start, booking.window_end) == (result.offers[1].start, result.offers[1].end)
    assert area.get(type(req), req.id).status == RequestStatus.BOOKED
    statuses = sorted(h.status for h in area.exec(select(SlotHold).where(SlotHold.request_id == req.id)).all())
    assert statuses == ["confirmed", "released", "released"]


def test_an_expired_offer_cannot_be_confirmed(area) -> None:
    req, result = offers_for(area, [{"weekday": 2, "start": "09:00", "end": "12:00"}])
    later = NOW + timedelta(hours=25)
    with pytest.raises(slots.SlotTaken) as err:
        slots.confirm(area, req.id, result.offers[0].offer_id, later, TRAVEL, POLICY)
    assert err.value.offers.offers  # fresh offers come back
    assert area.exec(select(Booking)).all() == []


def test_holds_keep_capacity_until_they_expire_without_a_job(area) -> None:
    kits = area.exec(select(RecordingKit).order_by(RecordingKit.id)).all()
    for kit in kits[1:]:
        kit.state = KitState.OUT_OF_SERVICE  # one team left …
    team = area.get(Team, kits[0].team_id)
    team.max_visits_per_day = 1  # … that can do one visit a day
    area.flush()
    only = [{"date": "2026-11-25", "start": "09:00", "end": "10:00"}]
    _, first = offers_for(area, only, channel="phone")
    assert [(o.day, o.start) for o in first.offers] == [(WEDNESDAY, time(9))]
    second = make_request(area, only)
    while_held = slots.make_offers(area, second.id, NOW + timedelta(minutes=14), TRAVEL, POLICY)
    assert WEDNESDAY not in {o.day for o in while_held.offers} and while_held.reason == "OUTSIDE_AVAILABILITY"
    after_expiry = slots.make_offers(area, second.id, NOW + timedelta(minutes=16), TRAVEL, POLICY)
    assert [(o.day, o.start) for o in after_expiry.offers] == [(WEDNESDAY, time(9))] and after_expiry.reason is None


def test_counter_proposal_replaces_availability_and_offers(area) -> None:
    req, first = offers_for(area, [{"weekday": 1, "start": "08:00", "end": "10:00"}])
    again = slots.make_offers(area, req.id, NOW, TRAVEL, POLICY, availability=[{"weekday": 3, "start": "13:00", "end": "15:00"}])
    assert again.offers and all(o.day.weekday() == 3 and o.start >= time(13) for o in again.offers)
    old = {o.offer_id for o in first.offers}
    held = {h.offer_id for h in area.exec(select(SlotHold).where(SlotHold.request_id == req.id, SlotHold.status == HoldStatus.HELD)).all()}
    assert held.isdisjoint(old)


def test_reschedule_moves_the_booking(area) -> None:
    req, result = offers_for(area, [{"weekday": 2, "start": "09:00", "end": "12:00"}])
    first = slots.confirm(area, req.id, result.offers[0].offer_id, NOW, TRAVEL, POLICY)
    moved = slots.make_offers(area, req.id, NOW, TRAVEL, POLICY, availability=[{"weekday": 3, "start": "09:00", "end": "12:00"}])
    second = slots.confirm(area, req.id, moved.offers[0].offer_id, NOW, TRAVEL, POLICY)
    assert area.get(Booking, first.id).status == BookingStatus.RESCHEDULED
    assert area.get(Booking, second.id).status == BookingStatus.CONFIRMED


def test_cancel_frees_the_capacity_and_respects_the_cutoff(area) -> None:
    req, result = offers_for(area, [{"date": "2026-11-24", "start": "09:00", "end": "12:00"}])
    slots.confirm(area, req.id, result.offers[0].offer_id, NOW, TRAVEL, POLICY)
    after_cutoff = NOW.replace(hour=18, minute=30)  # 18:30 on the day before the visit
    with pytest.raises(Conflict):
        slots.cancel(area, req.id, after_cutoff, POLICY)
    changed = slots.cancel(area, req.id, NOW, POLICY)
    assert changed and area.get(type(req), req.id).status == RequestStatus.CANCELLED
    assert area.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).all() == []


def test_an_ineligible_request_gets_no_offers(area) -> None:
    req = make_request(area, [{"weekday": 2, "start": "09:00", "end": "12:00"}], status=RequestStatus.INELIGIBLE)
    with pytest.raises(Conflict):
        slots.make_offers(area, req.id, NOW, TRAVEL, POLICY)


def test_after_the_cutoff_a_family_is_not_offered_tomorrow_but_the_office_may_book_it(area) -> None:
    """Past 18:00 the day before, a family could no longer change tomorrow's visit themselves, so
    they are not offered it; the office (on the phone with them) still may book it."""
    evening = NOW.replace(hour=18, minute=30)  # Monday 18:30 WIB
    every_day = [{"weekday": d, "start": "08:00", "end": "14:00"} for d in range(5)]
    family = make_request(area, every_day)
    offers = slots.make_offers(area, family.id, evening, TRAVEL, POLICY).offers
    assert offers and all(o.day > TUESDAY for o in offers)
    before = make_request(area, every_day)
    assert any(o.day == TUESDAY for o in slots.make_offers(area, before.id, evening.replace(hour=17, minute=59), TRAVEL, POLICY).offers)
    office = make_request(area, every_day, channel="phone")
    assert any(o.day == TUESDAY for o in slots.make_offers(area, office.id, evening, TRAVEL, POLICY, staff=True).offers)
