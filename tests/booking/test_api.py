"""The family's booking API through the real ASGI app."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.db import session_scope
from tests.booking.slot_support import make_request, setup_area
from visits.intake.tracking import hash_token, new_token
from visits.models import Booking, BookingStatus, Notification, SlotHold

ANY_WEEKDAY = [{"weekday": d, "start": "08:00", "end": "14:00"} for d in range(5)]


@pytest.fixture
def token(client) -> str:
    value = new_token()
    with session_scope() as s:
        setup_area(s)
        req = make_request(s, ANY_WEEKDAY)
        req.tracking_token_hash = hash_token(value)
    return value


def test_offer_confirm_cancel(client, token) -> None:
    r = client.post(f"/api/v1/track/{token}/offers")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reason"] is None and len(body["offers"]) == 3
    assert set(body["offers"][0]) == {"offer_id", "date", "start", "end", "expires_at"}
    assert "team" not in r.text.lower() and "Tim " not in r.text  # families never see team names

    offer = body["offers"][0]
    r = client.post(f"/api/v1/track/{token}/confirm", json={"offer_id": offer["offer_id"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "booked", "booking": {"date": offer["date"], "start": offer["start"], "end": offer["end"]}}
    assert client.get(f"/api/v1/track/{token}").json()["status"] == "booked"

    r = client.post(f"/api/v1/track/{token}/cancel")
    assert r.status_code == 200 and r.json() == {"status": "cancelled"}
    with session_scope() as s:
        assert s.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).all() == []
        templates = [n.template for n in s.exec(select(Notification).order_by(Notification.id)).all()]
        bodies = [n.body for n in s.exec(select(Notification)).all()]
    assert templates == ["booking_offers", "booking_booked", "booking_cancelled"]
    assert all(f"/track/{token}" in b for b in bodies)  # every message carries the change/cancel link


def test_counter_proposal_replaces_the_availability(client, token) -> None:
    r = client.post(f"/api/v1/track/{token}/offers", json={"availability": [{"weekday": 3, "start": "13:00", "end": "15:00"}]})
    assert r.status_code == 200, r.text
    from datetime import date

    assert all(date.fromisoformat(o["date"]).weekday() == 3 and o["start"] >= "13:00" for o in r.json()["offers"])


def test_an_expired_offer_gets_409_with_fresh_offers(client, token, now) -> None:
    offer = client.post(f"/api/v1/track/{token}/offers").json()["offers"][0]
    with session_scope() as s:
        hold = s.exec(select(SlotHold).where(SlotHold.offer_id == offer["offer_id"])).one()
        hold.expires_at = now - timedelta(seconds=1)
    r = client.post(f"/api/v1/track/{token}/confirm", json={"offer_id": offer["offer_id"]})
    assert r.status_code == 409
    fresh = r.json()["offers"]
    assert fresh and offer["offer_id"] not in {o["offer_id"] for o in fresh}
    with session_scope() as s:  # the fresh offers were kept (held), not rolled back with the 409
        held = {h.offer_id for h in s.exec(select(SlotHold).where(SlotHold.status == "held")).all()}
    assert {o["offer_id"] for o in fresh} <= held


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("confirm", {"offer_id": "not-an-offer-id"}, 404),
        ("confirm", {}, 422),
        ("confirm", {"offer_id": "x"}, 422),
        ("offers", {"availability": [{"weekday": 9, "start": "08:00", "end": "09:00"}]}, 422),
        ("offers", {"availability": [{"weekday": 1, "start": "10:00", "end": "09:00"}]}, 422),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(client, token, path, body, status) -> None:
    r = client.post(f"/api/v1/track/{token}/{path}", json=body)
    assert r.status_code == status, r.text
    with session_scope() as s:
        assert s.exec(select(SlotHold)).all() == [] and s.exec(select(Booking)).all() == []


def test_an_unknown_token_finds_nothing(client, token) -> None:
    for path, body in (("offers", None), ("confirm", {"offer_id": "abcdefghij"}), ("cancel", None)):
        assert client.post(f"/api/v1/track/{new_token()}/{path}", json=body).status_code == 404


def test_a_confirmation_is_answered_while_its_replan_still_solves(client, token, monkeypatch) -> None:
    """Re-planning never happens inside the request: the family has the answer while the solver
    is still (here: deliberately) busy with that team-day; the plan lands afterwards."""
    import threading

    from app.db import get_engine
    from visits.planning import replan
    from visits.planning.travel import TravelService

    started, release = threading.Event(), threading.Event()

    def held_solver(loaded, time_limit, seed):  # noqa: ANN001, ANN202
        started.set()
        release.wait(30)
        return replan.solve_team_day(loaded, time_limit, seed)

    queue = replan.ReplanQueue(get_engine, TravelService(), time_limit=0.2, solver=held_solver, workers=1)
    monkeypatch.setattr(replan, "_default", queue)
    try:
        offer = client.post(f"/api/v1/track/{token}/offers").json()["offers"][0]
        r = client.post(f"/api/v1/track/{token}/confirm", json={"offer_id": offer["offer_id"]})
        assert r.status_code == 200 and r.json()["status"] == "booked"
        assert started.wait(10) and not queue.wait_idle(0)  # answered; the re-plan is still solving
        release.set()
        assert queue.wait_idle(30)
    finally:
        release.set()
        queue.shutdown()
    assert [res.outcome.value for res in queue.results] == ["written"]
