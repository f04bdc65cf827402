"""The family's tracking page: ask for times, counter-propose, choose, cancel — without JavaScript."""

from __future__ import annotations

import re

from sqlmodel import select

from app.db import session_scope
from tests.booking.slot_support import make_request, setup_area
from visits.intake.tracking import hash_token, new_token
from visits.models import Booking, BookingStatus, VisitRequest


def _token() -> str:
    value = new_token()
    with session_scope() as s:
        setup_area(s)
        req = make_request(s, [{"weekday": d, "start": "08:00", "end": "14:00"} for d in range(5)])
        req.tracking_token_hash = hash_token(value)
    return value


def test_family_asks_chooses_and_cancels_on_the_page(client) -> None:
    token = _token()
    page = client.get(f"/track/{token}")
    assert page.status_code == 200 and "Minta jadwal kunjungan" in page.text
    r = client.post(f"/track/{token}/offers")
    assert r.status_code == 200 and "Pilih jadwal ini" in r.text  # redirected back with the offers
    offer_ids = re.findall(r'name="offer_id" value="([^"]+)"', r.text)
    assert len(offer_ids) == 3
    r = client.post(f"/track/{token}/confirm", data={"offer_id": offer_ids[0]})
    assert r.status_code == 200 and "kunjungan sudah dijadwalkan" in r.text
    with session_scope() as s:
        assert len(s.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).all()) == 1
    booked = client.get(f"/track/{token}")
    assert "Kunjungan Anda sudah dijadwalkan" in booked.text and "Minta jadwal kunjungan" not in booked.text  # the booking is the main thing
    r = client.post(f"/track/{token}/cancel")  # without the confirmation: the "are you sure?" page, nothing cancelled
    assert r.status_code == 200 and "Yakin ingin membatalkan" in r.text and 'name="confirm" value="yes"' in r.text
    with session_scope() as s:
        assert s.exec(select(VisitRequest)).one().status == "booked"
    assert 'href="/track/' + token + '/cancel"' in booked.text
    r = client.post(f"/track/{token}/cancel", data={"confirm": "yes"})
    assert r.status_code == 200 and "sudah dibatalkan" in r.text
    with session_scope() as s:
        assert s.exec(select(VisitRequest)).one().status == "cancelled"


def test_counter_proposal_from_the_page(client) -> None:
    token = _token()
    r = client.post(f"/track/{token}/offers", data={"avail_3": "1", "avail_3_start": "13:00", "avail_3_end": "15:00"})
    assert r.status_code == 200
    with session_scope() as s:
        assert s.exec(select(VisitRequest)).one().availability == [{"weekday": 3, "start": "13:00", "end": "15:00"}]
    r = client.post(f"/track/{token}/offers", data={"avail_2": "1", "avail_2_start": "15:00", "avail_2_end": "13:00"})
    assert r.status_code == 422 and "Waktu pendamping di rumah" in r.text  # the field by its label, not its raw name
