"""Finding 7: on PostgreSQL, 30 simultaneous offer requests never hold more than the capacity.

One team with room for one visit a day; 30 families ask for offers at the same moment, each in
its own write transaction (as the API does). Live holds per team-day never exceed its one visit.
SQLite serialises every write transaction already (``BEGIN IMMEDIATE``), so this is PostgreSQL's
test; CI runs the suite on both.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlmodel import select

from app.db import session_scope
from tests.booking.slot_support import NOW, make_request, setup_area
from visits.booking import slots
from visits.models import HoldStatus, KitState, RecordingKit, SlotHold, Team
from visits.planning.travel import TravelService

N = 30
TRAVEL = TravelService()


@pytest.mark.postgresql  # SQLite serialises write transactions (BEGIN IMMEDIATE) already
def test_thirty_simultaneous_offers_hold_at_most_the_capacity(db) -> None:
    with session_scope(db, write=True) as s:
        setup_area(s)
        kits = s.exec(select(RecordingKit).order_by(RecordingKit.id)).all()
        for kit in kits[1:]:
            kit.state = KitState.OUT_OF_SERVICE
        s.get(Team, kits[0].team_id).max_visits_per_day = 1  # type: ignore[union-attr]
        wednesday = [{"weekday": 2, "start": "09:00", "end": "10:00"}]
        ids = [make_request(s, wednesday, offset=(i * 0.0004, -i * 0.0003)).id for i in range(N)]
    barrier = threading.Barrier(N)
    errors: list[BaseException] = []

    def ask(request_id: int) -> None:
        try:
            barrier.wait(timeout=30)
            with session_scope(db, write=True) as s:
                slots.make_offers(s, request_id, NOW, TRAVEL, slots.SlotPolicy(), k=1)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [], errors[:3]
    with session_scope(db) as s:
        held = s.exec(select(SlotHold).where(SlotHold.status == HoldStatus.HELD)).all()
    per_day = Counter(h.team_day_id for h in held)
    assert held and max(per_day.values()) == 1, per_day  # one visit a day: one live hold a day
