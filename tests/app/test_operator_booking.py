"""Operator screens and actions for slot negotiation, through the real app."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from app.db import session_scope
from visits.models import Booking, BookingStatus, SlotHold, TeamDay, VisitRequest

from tests.app.helpers import login_as
from tests.visits.slot_support import make_request, setup_area

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
