"""Auto-booking, day-before reminders and the operator's chase list."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlmodel import select

from tests.booking.slot_support import NOW, make_request, setup_area
from visits.booking import slots
from visits.booking.chores import Office, auto_book_pending, chase_list, send_reminders
from visits.models import Booking, BookingStatus, Notification, RequestStatus, VisitRequest
from visits.planning.travel import TravelService

TRAVEL, POLICY, OFFICE = TravelService(), slots.SlotPolicy(), Office("Dispendukcapil", "http://jemput.test")


@pytest.fixture
def area(session):
    setup_area(session)
    return session


def test_auto_booking_books_the_best_slot_inside_the_availability_and_notifies(area) -> None:
    keen = make_request(area, [{"weekday": 3, "start": "10:00", "end": "12:00"}])
    keen.accept_any_time = True
    picky = make_request(area, [{"weekday": 3, "start": "10:00", "end": "12:00"}])  # did not opt in
    area.flush()
    changed = auto_book_pending(area, NOW, TRAVEL, POLICY, OFFICE)
    booking = area.exec(select(Booking).where(Booking.request_id == keen.id)).one()
    assert changed == [booking.team_day_id]
    assert booking.status == BookingStatus.CONFIRMED and time(10) <= booking.window_start and booking.window_end <= time(12)
    assert area.get(VisitRequest, keen.id).status == RequestStatus.BOOKED
    assert area.get(VisitRequest, picky.id).status == RequestStatus.ELIGIBLE
    note = area.exec(select(Notification).where(Notification.request_id == keen.id)).one()
    assert note.template == "booking_booked" and "Kamis" in note.body
    assert _linked_request(area, note.body) == keen.id  # a working tracking link, not a bare reference


def _linked_request(session, body: str) -> int | None:
    """The request the message's tracking link opens (None when there is no working link)."""
    import re

    from visits.intake.tracking import find_by_token

    found = re.search(r"http://jemput\.test/track/([A-Za-z0-9_-]+)", body)
    row = find_by_token(session, found.group(1)) if found else None
    return row.id if row else None


def test_auto_booking_never_books_outside_the_availability_but_offers_the_nearest(area) -> None:
    req = make_request(area, [{"weekday": 6, "start": "10:00", "end": "12:00"}])  # Sundays: no shift
    req.accept_any_time = True
    area.flush()
    assert auto_book_pending(area, NOW, TRAVEL, POLICY, OFFICE) == []
    assert area.exec(select(Booking)).all() == [] and area.get(VisitRequest, req.id).status == RequestStatus.OFFERED
    assert [n.template for n in area.exec(select(Notification)).all()] == ["booking_offers"]


def test_reminders_go_once_the_day_before(area) -> None:
    req = make_request(area, [{"date": "2026-11-25", "start": "09:00", "end": "11:00"}])
    offer = slots.make_offers(area, req.id, NOW, TRAVEL, POLICY).offers[0]
    slots.confirm(area, req.id, offer.offer_id, NOW, TRAVEL, POLICY)
    assert offer.day == date(2026, 11, 25)
    assert send_reminders(area, NOW, POLICY.timezone, OFFICE) == 0  # Monday: the visit is on Wednesday
    tuesday = NOW + timedelta(days=1)
    assert send_reminders(area, tuesday, POLICY.timezone, OFFICE) == 1
    assert send_reminders(area, tuesday, POLICY.timezone, OFFICE) == 0
    reminder = area.exec(select(Notification).where(Notification.template == "booking_reminder")).one()
    assert "09:00" in reminder.body and req.reference in reminder.body
    assert _linked_request(area, reminder.body) == req.id  # how to change or cancel: a working tracking link


def test_chase_list_lists_unconfirmed_offers_by_response_clock(area) -> None:
    late = make_request(area, [{"weekday": 1, "start": "08:00", "end": "12:00"}])
    early = make_request(area, [{"weekday": 2, "start": "08:00", "end": "12:00"}])
    early.due_at = late.due_at - timedelta(hours=5)
    booked = make_request(area, [{"weekday": 3, "start": "08:00", "end": "12:00"}])
    for r in (late, early, booked):
        slots.make_offers(area, r.id, NOW, TRAVEL, POLICY)
    slots.confirm(area, booked.id, area.exec(select(slots.SlotHold).where(slots.SlotHold.request_id == booked.id)).first().offer_id, NOW, TRAVEL, POLICY)
    rows = chase_list(area, NOW)
    assert [r.request_id for r in rows] == [early.id, late.id]
    assert all(r.offers_expire_at == NOW + timedelta(hours=24) for r in rows)
    lapsed = chase_list(area, NOW + timedelta(hours=25))  # nobody confirmed: the offers lapsed, call them
    assert [(r.request_id, r.offers_expire_at) for r in lapsed] == [(early.id, None), (late.id, None)]


def test_every_message_carries_the_change_link_in_the_familys_language(area) -> None:
    from visits.notifications import enqueue

    english = make_request(area, [{"weekday": 2, "start": "09:00", "end": "12:00"}])
    enqueue(area, recipient=english.companion_phone, language="en", template="ack", body="...", request_id=english.id)  # answered in English at intake
    offer = slots.make_offers(area, english.id, NOW, TRAVEL, POLICY).offers[0]
    slots.confirm(area, english.id, offer.offer_id, NOW, TRAVEL, POLICY)
    from visits.booking.notices import family_link, notify

    for template in ("offers", "booked", "rescheduled", "reminder", "cancelled"):
        notify(area, english, template, office=OFFICE.name, link=family_link(OFFICE.base_url, english, None), slots=[(offer.day, offer.start, offer.end)])
    send_reminders(area, NOW + timedelta(days=1), POLICY.timezone, OFFICE)
    sent = area.exec(select(Notification).where(Notification.request_id == english.id, Notification.template != "ack")).all()
    assert {n.template for n in sent} == {f"booking_{t}" for t in ("offers", "booked", "rescheduled", "reminder", "cancelled")}
    for n in sent:
        assert n.language == "en"
        # notify() with no token: the reference link; the reminder chore mints a tracking link
        assert f"http://jemput.test/track?ref={english.reference}" in n.body or (n.template == "booking_reminder" and _linked_request(area, n.body) == english.id)
        assert "Wednesday" in n.body or n.template == "booking_cancelled"
        assert "Rabu" not in n.body and "kunjungan" not in n.body.lower()
