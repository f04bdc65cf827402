"""Operator screens and actions for slot negotiation, through the real app."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from app.db import session_scope
from tests.app.helpers import login_as, set_clock
from tests.booking.slot_support import make_request, setup_area
from visits.models import Booking, BookingStatus, Notification, SlotHold, TeamDay, VisitRequest

ANY_WEEKDAY = [{"weekday": d, "start": "08:00", "end": "14:00"} for d in range(5)]


def _request_id() -> int:
    with session_scope() as s:
        setup_area(s)
        return make_request(s, ANY_WEEKDAY, channel="phone").id


def test_operator_offers_confirms_and_sees_the_booking(client) -> None:
    request_id = _request_id()
    staff = login_as(client, "operator")
    r = client.post(f"/operator/requests/{request_id}/offers", data={"csrf_token": staff.csrf_token}, follow_redirects=False)
    assert r.status_code == 303
    with session_scope() as s:
        reference = s.get(VisitRequest, request_id).reference
        holds = s.exec(select(SlotHold).where(SlotHold.request_id == request_id)).all()
    assert len(holds) == 3
    chase = client.get("/operator/chase")
    assert chase.status_code == 200 and reference in chase.text

    r = client.post(f"/operator/requests/{request_id}/confirm", data={"csrf_token": staff.csrf_token, "offer_id": holds[0].offer_id}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("note=booked")
    with session_scope() as s:
        booking = s.exec(select(Booking).where(Booking.request_id == request_id, Booking.status == BookingStatus.CONFIRMED)).one()
        day: date = s.get(TeamDay, booking.team_day_id).day
    page = client.get(f"/operator/bookings?date={day.isoformat()}")
    assert page.status_code == 200 and reference in page.text and "Tim " in page.text
    assert reference not in client.get("/operator/chase").text


def test_operator_cancel_needs_csrf(client) -> None:
    request_id = _request_id()
    login_as(client, "operator")
    assert client.post(f"/operator/requests/{request_id}/cancel", follow_redirects=False).status_code == 403


def _at(client, moment) -> None:  # noqa: ANN001
    """The app's clock (tests/booking/slot_support's dates are fixed)."""
    set_clock(client, moment)


def test_the_detail_page_offers_confirms_and_cancels_for_the_family(client) -> None:
    from visits.models import AuditLog

    request_id = _request_id()
    staff = login_as(client, "operator")
    page = client.get(f"/operator/requests/{request_id}").text
    assert f'action="/operator/requests/{request_id}/offers"' in page and "/confirm" not in page  # nothing offered yet

    # a counter-proposal taken on the phone: Thursdays 13:00-15:00 replaces the family's availability
    form = {"csrf_token": staff.csrf_token, "avail_3": "1", "avail_3_start": "13:00", "avail_3_end": "15:00"}
    r = client.post(f"/operator/requests/{request_id}/offers", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("note=offers")
    with session_scope() as s:
        assert s.get(VisitRequest, request_id).availability == [{"weekday": 3, "start": "13:00", "end": "15:00"}]
        holds = s.exec(select(SlotHold, TeamDay).join(TeamDay, SlotHold.team_day_id == TeamDay.id).where(SlotHold.request_id == request_id)).all()
    assert holds and all(td.day.weekday() == 3 and h.window_start.hour >= 13 for h, td in holds)
    page = client.get(f"/operator/requests/{request_id}?note=offers").text
    for hold, _ in holds:
        assert f'value="{hold.offer_id}"' in page  # one confirm button per offer

    r = client.post(f"/operator/requests/{request_id}/confirm", data={"csrf_token": staff.csrf_token, "offer_id": holds[0][0].offer_id}, follow_redirects=False)
    assert r.headers["location"].endswith("note=booked")
    r = client.post(f"/operator/requests/{request_id}/cancel", data={"csrf_token": staff.csrf_token}, follow_redirects=False)
    assert r.headers["location"].endswith("note=confirm_cancel")  # the "yes, cancel" box was not ticked: nothing cancelled
    with session_scope() as s:
        assert s.get(VisitRequest, request_id).status == "booked"
    r = client.post(f"/operator/requests/{request_id}/cancel", data={"csrf_token": staff.csrf_token, "confirm": "yes"}, follow_redirects=False)
    assert r.headers["location"].endswith("note=cancelled")
    with session_scope() as s:
        assert s.exec(select(Booking).where(Booking.request_id == request_id, Booking.status == BookingStatus.CONFIRMED)).all() == []
        actions = [a.action for a in s.exec(select(AuditLog).where(AuditLog.entity_id == request_id, AuditLog.user_id == staff.user_id).order_by(AuditLog.id)).all()]
        resident_id = s.get(VisitRequest, request_id).resident_id
        assert all(a.resident_id == resident_id for a in s.exec(select(AuditLog).where(AuditLog.entity_id == request_id)).all())
    assert [a for a in actions if a in ("offer", "book", "cancel")] == ["offer", "book", "cancel"]


def test_the_office_reschedules_after_the_familys_cutoff(client, monkeypatch) -> None:
    from datetime import timedelta

    from tests.booking.slot_support import NOW
    from visits.intake.tracking import hash_token, new_token

    token = new_token()
    with session_scope() as s:
        setup_area(s)
        row = make_request(s, [{"date": "2026-11-24", "start": "09:00", "end": "11:00"}, {"date": "2026-11-25", "start": "09:00", "end": "11:00"}])
        row.tracking_token_hash = hash_token(token)
        request_id = row.id
    _at(client, NOW)
    offer = client.post(f"/api/v1/track/{token}/offers").json()["offers"][0]
    assert offer["date"] == "2026-11-24"
    assert client.post(f"/api/v1/track/{token}/confirm", json={"offer_id": offer["offer_id"]}).status_code == 200

    _at(client, NOW + timedelta(hours=10))  # Monday 19:00: past 18:00 on the day before the visit
    assert client.post(f"/api/v1/track/{token}/offers").status_code == 409  # the family must call the office
    staff = login_as(client, "operator")
    form = {"csrf_token": staff.csrf_token, "avail_2": "1", "avail_2_start": "09:00", "avail_2_end": "11:00"}
    assert client.post(f"/operator/requests/{request_id}/offers", data=form, follow_redirects=False).headers["location"].endswith("note=offers")
    with session_scope() as s:
        hold = s.exec(select(SlotHold).where(SlotHold.request_id == request_id, SlotHold.status == "held")).first()
    r = client.post(f"/operator/requests/{request_id}/confirm", data={"csrf_token": staff.csrf_token, "offer_id": hold.offer_id}, follow_redirects=False)
    assert r.headers["location"].endswith("note=booked")
    with session_scope() as s:
        booking = s.exec(select(Booking).where(Booking.request_id == request_id, Booking.status == BookingStatus.CONFIRMED)).one()
        assert s.get(TeamDay, booking.team_day_id).day == date(2026, 11, 25)
        assert [n.template for n in s.exec(select(Notification).where(Notification.request_id == request_id).order_by(Notification.id)).all()][-1] == "booking_rescheduled"
