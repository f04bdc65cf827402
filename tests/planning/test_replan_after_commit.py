"""Re-plans are asked for one way: a service marks the team-days it changed on its session;
after the commit they go to the re-plan sink once, after a rollback nowhere."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.db import session_scope
from tests.booking.slot_support import NOW, make_request, setup_area
from visits.booking import slots
from visits.models import TeamDay
from visits.planning.travel import TravelService
from visits.transactions import set_replan_sink

TRAVEL = TravelService()


@pytest.fixture
def sink():
    handed: list[list[int]] = []
    previous = set_replan_sink(handed.append)
    yield handed
    set_replan_sink(previous)


def _offer(db) -> tuple[int, str]:  # noqa: ANN001
    with session_scope(db, write=True) as s:
        setup_area(s)
        request = make_request(s, [{"weekday": d, "start": "08:00", "end": "14:00"} for d in range(5)])
        offer = slots.make_offers(s, request.id, NOW, TRAVEL).offers[0]
        return request.id, offer.offer_id


def test_a_committed_booking_queues_its_team_day_exactly_once(db, sink) -> None:
    request_id, offer_id = _offer(db)
    assert sink == []  # offers hold capacity but change no route
    with session_scope(db, write=True) as s:
        booking = slots.confirm(s, request_id, offer_id, NOW, TRAVEL)
        team_day_id = booking.team_day_id
    assert sink == [[team_day_id]]


def test_a_rolled_back_booking_queues_nothing(db, sink) -> None:
    request_id, offer_id = _offer(db)
    with pytest.raises(RuntimeError), session_scope(db, write=True) as s:
        slots.confirm(s, request_id, offer_id, NOW, TRAVEL)
        raise RuntimeError("the request failed after the booking was made")
    assert sink == []
    with session_scope(db) as s:  # the next transaction on a fresh session hands over nothing either
        s.exec(select(TeamDay)).all()
    assert sink == []


def test_a_reschedule_queues_the_old_and_the_new_team_day(db, sink) -> None:
    request_id, offer_id = _offer(db)
    with session_scope(db, write=True) as s:
        first = slots.confirm(s, request_id, offer_id, NOW, TRAVEL).team_day_id
    with session_scope(db, write=True) as s:
        first_day = s.get(TeamDay, first).day
        elsewhere = [{"weekday": (first_day.weekday() + 1) % 5, "start": "08:00", "end": "14:00"}]  # another working day
        other = slots.make_offers(s, request_id, NOW, TRAVEL, availability=elsewhere, staff=True).offers[0]
        assert other.day != first_day
        second = slots.confirm(s, request_id, other.offer_id, NOW, TRAVEL, staff=True).team_day_id
    assert sink[0] == [first] and sorted(sink[1]) == sorted({first, second})
