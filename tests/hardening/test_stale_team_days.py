"""Finding 4: a team-day whose re-plan was lost (a crash between a booking's commit and its
re-plan) gets a fresh plan once the app starts, and the sweep finds exactly the stale ones."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlmodel import select

from app.db import session_scope
from tests.booking.slot_support import NOW, make_request, setup_area
from visits.booking import slots
from visits.models import Plan, TeamDay
from visits.planning import replan
from visits.planning.travel import TravelService
from visits.transactions import set_replan_sink

TRAVEL = TravelService()


def _book_without_replan(engine) -> int:
    """A confirmed booking committed while no re-plan queue listens (as if the process died)."""
    previous = set_replan_sink(None)
    try:
        with session_scope(engine, write=True) as s:
            setup_area(s)
            req = make_request(s, [{"weekday": 2, "start": "09:00", "end": "11:00"}])
            offer = slots.make_offers(s, req.id, NOW, TRAVEL).offers[0]
            return slots.confirm(s, req.id, offer.offer_id, NOW, TRAVEL).team_day_id
    finally:
        set_replan_sink(previous)


def test_the_sweep_lists_team_days_whose_version_has_no_plan(db) -> None:
    team_day_id = _book_without_replan(db)
    with session_scope(db) as s:
        assert replan.stale_team_days(s, NOW.date()) == [team_day_id]
        day = s.get(TeamDay, team_day_id).day  # type: ignore[union-attr]
        assert replan.stale_team_days(s, day + timedelta(days=1)) == []  # the past is left alone
    assert replan.replan_team_day(db, team_day_id, TRAVEL, NOW, time_limit=0.5).written
    with session_scope(db) as s:
        assert replan.stale_team_days(s, NOW.date()) == []


def test_a_team_day_left_without_a_plan_is_planned_after_the_app_starts(db, app) -> None:
    from fastapi.testclient import TestClient

    team_day_id = _book_without_replan(db)
    with session_scope(db) as s:
        version = s.get(TeamDay, team_day_id).version  # type: ignore[union-attr]
        assert s.exec(select(Plan).where(Plan.team_day_id == team_day_id, Plan.version == version)).first() is None
    with TestClient(app):
        deadline = time.monotonic() + 30
        plan = None
        while plan is None and time.monotonic() < deadline:
            time.sleep(0.2)
            with session_scope(db) as s:
                plan = s.exec(select(Plan).where(Plan.team_day_id == team_day_id, Plan.version == version)).first()
        assert replan.wait_idle(60)
    assert plan is not None and plan.status == "current"


@pytest.mark.slow
def test_a_solver_process_started_from_a_thread_that_ends_still_solves(db) -> None:
    """The warm start spawns the solver process from a short-lived thread; the process must
    outlive that thread (it used to get the parent-death signal when the thread ended, so the
    first re-plans after every start-up were lost)."""
    import threading

    team_day_id = _book_without_replan(db)
    with session_scope(db) as s:
        loaded = replan.load_team_day(s, team_day_id, TRAVEL, NOW)
    assert loaded is not None and loaded.shift is not None
    solver = replan.ProcessSolver()
    try:
        warm = threading.Thread(target=solver.start)
        warm.start()
        warm.join(120)
        time.sleep(1.0)  # the signal, had it been armed, has arrived by now
        solved = solver(loaded, 0.5, 0)
    finally:
        solver.shutdown(terminate=True)
    assert solved.route is not None and len(solved.route.visits) == len(loaded.stops)
