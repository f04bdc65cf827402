"""50 families confirm at once for capacity that fits one: exactly one books.

Set-up (committed, so every thread sees it): one request gets a real offer from
``slots.make_offers``; the 49 other requests get a copy of that hold (same team-day, same
window, their own ``offer_id``) inserted directly as ``SlotHold`` rows. ``make_offers`` would
never hand out the same capacity twice while a hold is live, which is exactly why the rows are
written by hand: the test is about ``confirm``'s lock, not about offers.

Then 50 threads, released together by a barrier, each run one write transaction
(``session_scope(engine, write=True)``: SQLite ``BEGIN IMMEDIATE``; PostgreSQL ``SELECT … FOR
UPDATE`` on the request and the team-day row) calling ``slots.confirm``. Like the API (which
answers 409 with the fresh offers and commits them), a ``SlotTaken`` is caught inside the
transaction so its fresh holds are committed too.

Two ways to have room for exactly one visit:

- ``max_visits``: every kit but one out of service, that team may do one visit a day;
- ``window``: ODGJ visits (60 minutes, only the team with the ``odgj`` skill) whose service
  must start within 09:00–10:00 at 50 different homes: a second one would start after 10:00.
"""

from __future__ import annotations

import secrets
import threading
from datetime import date, time

import pytest
from sqlmodel import select

from app.db import session_scope
from tests.booking.invariants import assert_routes_keep_promises
from tests.booking.slot_support import NOW, make_request, setup_area
from visits.booking import slots
from visits.models import Booking, BookingStatus, HoldStatus, KitState, RecordingKit, RequestStatus, SlotHold, Team, TeamDay, VisitRequest
from visits.planning.travel import TravelService

TRAVEL = TravelService()
POLICY = slots.SlotPolicy()
WEDNESDAY = date(2026, 11, 25)
N = 50


def _prepare(engine, scenario: str) -> list[tuple[int, str]]:
    """Commit the area, N requests and N live holds on one team-day window; (request_id, offer_id)."""
    with session_scope(engine, write=True) as s:
        setup_area(s)
        group = "elderly"
        if scenario == "max_visits":
            kits = s.exec(select(RecordingKit).order_by(RecordingKit.id)).all()
            for kit in kits[1:]:
                kit.state = KitState.OUT_OF_SERVICE
            s.get(Team, kits[0].team_id).max_visits_per_day = 1  # type: ignore[union-attr]
        else:
            group = "mental"
        s.flush()
        only = [{"date": WEDNESDAY.isoformat(), "start": "09:00", "end": "10:00"}]
        # distinct homes: kelurahan centroid (by serial) plus a per-request offset
        requests = [make_request(s, only, group=group, offset=(i * 0.0004, -i * 0.0003)) for i in range(N)]
        first = slots.make_offers(s, requests[0].id, NOW, TRAVEL, POLICY, k=1)
        assert first.reason is None and [(o.day, o.start, o.end) for o in first.offers] == [(WEDNESDAY, time(9), time(10))]
        template = s.exec(select(SlotHold).where(SlotHold.offer_id == first.offers[0].offer_id)).one()
        pairs = [(requests[0].id, template.offer_id)]
        for req in requests[1:]:
            hold = SlotHold(
                offer_id=secrets.token_urlsafe(12),
                request_id=req.id,
                team_day_id=template.team_day_id,
                window_start=template.window_start,
                window_end=template.window_end,
                expires_at=template.expires_at,
            )
            s.add(hold)
            req.status = RequestStatus.OFFERED
            pairs.append((req.id, hold.offer_id))
        s.flush()
        # sanity: the team-day really has room for one, not two
        td = s.get(TeamDay, template.team_day_id)
        assert td is not None and td.day == WEDNESDAY
    return pairs  # type: ignore[return-value]


@pytest.mark.parametrize("scenario", ["max_visits", "window"])
def test_fifty_concurrent_confirmations_book_exactly_one(db, scenario: str) -> None:
    engine = db
    pairs = _prepare(engine, scenario)
    barrier = threading.Barrier(N)
    outcomes: dict[int, str] = {}
    fresh: dict[int, int] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(request_id: int, offer_id: str) -> None:
        try:
            barrier.wait(timeout=30)
            with session_scope(engine, write=True) as s:
                try:
                    slots.confirm(s, request_id, offer_id, NOW, TRAVEL, POLICY)
                    result = "booked"
                except slots.SlotTaken as exc:  # the API answers 409 and commits the fresh holds
                    result = "taken"
                    with lock:
                        fresh[request_id] = len(exc.offers.offers)
            with lock:
                outcomes[request_id] = result
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=pair, name=f"confirm-{pair[0]}") for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a confirmation hung"
    assert errors == [], f"{len(errors)} confirmations failed: {errors[:3]!r}"
    booked = [r for r, o in outcomes.items() if o == "booked"]
    taken = [r for r, o in outcomes.items() if o == "taken"]
    assert len(booked) == 1 and len(taken) == N - 1

    with session_scope(engine) as s:
        confirmed = s.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).all()
        assert [b.request_id for b in confirmed] == booked
        assert s.get(VisitRequest, booked[0]).status == RequestStatus.BOOKED  # type: ignore[union-attr]
        # the losers' held offer is released; whatever they hold now is fresh and elsewhere
        template_ids = {offer for _, offer in pairs}
        for hold in s.exec(select(SlotHold).where(SlotHold.offer_id.in_(template_ids))).all():  # type: ignore[attr-defined]
            expected = HoldStatus.CONFIRMED if hold.request_id == booked[0] else HoldStatus.RELEASED
            assert hold.status == expected, (hold.request_id, hold.status)
        for request_id in taken:
            assert s.exec(select(Booking).where(Booking.request_id == request_id)).all() == []
        # the losers got fresh offers back (while capacity for holds lasts), never the taken window
        assert sum(fresh.values()) > 0
        booked_td = s.exec(select(Booking.team_day_id).where(Booking.request_id == booked[0])).one()
        live = s.exec(select(SlotHold).where(SlotHold.status == HoldStatus.HELD, SlotHold.team_day_id == booked_td)).all()
        assert all(h.window_start != time(9) for h in live)
        assert_routes_keep_promises(s, NOW, TRAVEL)
