"""50 families press "confirm" at the same moment, through HTTP, for capacity that fits one.

The same set-up as ``tests/booking/test_concurrency.py`` (one real offer, 49 copies of its
hold on other requests), but each family gets a tracking token and the confirmations are real
concurrent ``POST /api/v1/track/{token}/confirm`` requests to the application served by uvicorn
(its thread pool runs them side by side). Exactly one answer is 200 ``booked``; the 49 others are
409 with a message and fresh offers (never the taken window); the independent checker passes.
Runs on SQLite and, in CI's second pass, on PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import time

import httpx
import pytest
from sqlmodel import select

from app.db import session_scope
from app.liveserver import LiveServer
from app.settings import get_settings
from tests.booking.invariants import assert_routes_keep_promises
from tests.booking.slot_support import NOW
from tests.booking.test_concurrency import TRAVEL, N, _prepare
from visits.intake.tracking import hash_token, new_token
from visits.models import Booking, BookingStatus, SlotHold, VisitRequest

pytestmark = pytest.mark.slow


@pytest.fixture
def api_at_test_time(monkeypatch):
    """Every family here posts from 127.0.0.1: lift the per-client tracking limit for this test
    (the app runs at the set-up's clock, see the test)."""
    monkeypatch.setenv("JEMPUT_TRACK_RATE_LIMIT", "100000")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("scenario", ["max_visits", "window"])
def test_fifty_concurrent_confirmations_over_http_book_exactly_one(db, api_at_test_time, scenario: str) -> None:
    pairs = _prepare(db, scenario)
    tokens: dict[int, str] = {}
    with session_scope(db, write=True) as s:
        for request_id, _ in pairs:
            tokens[request_id] = new_token()
            s.get(VisitRequest, request_id).tracking_token_hash = hash_token(tokens[request_id])  # type: ignore[union-attr]

    from app.main import create_app

    barrier = threading.Barrier(N)
    answers: dict[int, httpx.Response] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()
    from app.deps import get_now

    application = create_app()
    application.dependency_overrides[get_now] = lambda: NOW  # the set-up's holds were made then
    with LiveServer(application) as base:

        def press(request_id: int, offer_id: str) -> None:
            try:
                with httpx.Client(base_url=base, timeout=60) as http:
                    barrier.wait(timeout=30)
                    r = http.post(f"/api/v1/track/{tokens[request_id]}/confirm", json={"offer_id": offer_id})
                with lock:
                    answers[request_id] = r
            except BaseException as exc:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(exc)

        threads = [threading.Thread(target=press, args=pair) for pair in pairs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
        from visits.planning.replan import wait_idle

        assert wait_idle(120)
    assert errors == [], errors[:3]
    codes = sorted(r.status_code for r in answers.values())
    assert codes == [200] + [409] * (N - 1), {c: codes.count(c) for c in set(codes)}
    winner = next(rid for rid, r in answers.items() if r.status_code == 200)
    assert answers[winner].json()["status"] == "booked"
    assert answers[winner].json()["booking"]["start"] == "09:00"
    fresh_total = 0
    for rid, r in answers.items():
        if rid == winner:
            continue
        body = r.json()
        assert body["detail"] and isinstance(body["offers"], list)
        assert all(o["start"] != "09:00" or o["date"] != "2026-11-25" for o in body["offers"])  # never the taken window
        fresh_total += len(body["offers"])
    assert fresh_total > 0  # the losers were answered with other times while capacity for holds lasted

    with session_scope(db) as s:
        confirmed = s.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).all()
        assert [b.request_id for b in confirmed] == [winner]
        held = {h.offer_id for h in s.exec(select(SlotHold).where(SlotHold.status == "held")).all()}
        offered = {o["offer_id"] for rid, r in answers.items() if rid != winner for o in r.json()["offers"]}
        assert offered <= held  # the 409's fresh offers were committed, not rolled back
        assert time(9) == confirmed[0].window_start
        assert_routes_keep_promises(s, NOW, TRAVEL)
