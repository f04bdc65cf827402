"""Offers, holds and bookings against the committed routes."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlmodel import select

from app.db import session_scope
from visits import slots
from visits.errors import Conflict
from visits.models import Booking, BookingStatus, HoldStatus, KitState, OfficeClosure, RecordingKit, RequestStatus, SlotHold, Team, TeamDay
from visits.travel import TravelService

from .slot_support import NOW, make_request, setup_area

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
    _, result = offers_for(area, [{"weekday": 4, "start": "08:00", "end": "14:00"}])
    assert result.offers and all(o.day.weekday() == 4 and o.end <= time(11) for o in result.offers)


def test_holidays_and_closures_are_skipped(area) -> None:
    # 25 December 2026 (Friday) is Christmas; close the office on Tuesday 24 November.
    area.add(OfficeClosure(day=TUESDAY, reason="rapat"))
    area.flush()
    _, result = offers_for(area, [{"weekday": 1, "start": "08:00", "end": "12:00"}, {"date": "2026-12-25", "start": "08:00", "end": "11:00"}])
    days = {o.day for o in result.offers}
    assert TUESDAY not in days and date(2026, 12, 25) not in days
    assert days and all(d.weekday() == 1 for d in days)


def test_an_odgj_visit_needs_a_team_with_the_skill(area) -> None:
    _, result = offers_for(area, [{"weekday": 2, "start": "08:00", "end": "14:00"}], group="mental")
    odgj_team = area.exec(select(Team).where(Team.name == "Tim 3")).one()
    holds = area.exec(select(SlotHold, TeamDay).join(TeamDay, SlotHold.team_day_id == TeamDay.id)).all()
    assert result.offers and {td.team_id for _, td in holds} == {odgj_team.id}


def test_a_kit_out_of_service_takes_its_team_off(area) -> None:
    for kit in area.exec(select(RecordingKit)).all():
        kit.state = KitState.OUT_OF_SERVICE
    area.flush()
    _, result = offers_for(area, [{"weekday": 2, "start": "08:00", "end": "14:00"}])
    assert result.offers == [] and result.reason == "NO_CAPACITY"


def test_nearest_windows_are_proposed_when_the_availability_fits_nothing(area) -> None:
    _, result = offers_for(area, [{"weekday": 6, "start": "08:00", "end": "12:00"}])  # Sundays only
    assert result.reason == "OUTSIDE_AVAILABILITY" and len(result.offers) == 3


def test_breaks_are_kept_free(area) -> None:
    # Fill one Wednesday lunchtime: with 3 teams, 11:30-12:30 break windows, the 11:00-12:00 slot still fits
    # but a team never works through its 30-minute break: check every booked day stays schedulable.
    for _ in range(12):
        req, result = offers_for(area, [{"date": "2026-11-25", "start": "11:00", "end": "13:00"}])
        if not result.offers:
            break
        slots.confirm(area, req.id, result.offers[0].offer_id, NOW, TRAVEL, POLICY)
    from tests.visits.invariants import assert_routes_keep_promises

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
