"""Plans stay current: re-planning a team-day keeps every booked window, is version-guarded and versioned."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace

import pytest
from sqlmodel import select

import routing
from app.db import session_scope
from routing.schedule import check_route, schedule_route
from tests.booking.invariants import assert_routes_keep_promises
from tests.booking.slot_support import NOW, make_request, setup_area
from visits.booking import slots
from visits.models import Booking, BookingStatus, Plan, PlanStatus, PlanStop, TeamDay
from visits.planning import replan
from visits.planning.travel import TravelService

TRAVEL = TravelService()
TIME_LIMIT = 0.5


def book(engine, slots_wanted: list[tuple[str, str]], weekday: int = 2) -> list[int]:
    """Book one visit per (start, end) availability on ``weekday``; returns the team-day ids touched."""
    touched: list[int] = []
    with session_scope(engine, write=True) as session:
        setup_area(session)
        for n, (start, end) in enumerate(slots_wanted):
            req = make_request(session, [{"weekday": weekday, "start": start, "end": end}], offset=(0.002 * n, -0.002 * n))
            offers = slots.make_offers(session, req.id, NOW, TRAVEL)
            assert offers.offers, "no offer for the test booking"
            booking = slots.confirm(session, req.id, offers.offers[0].offer_id, NOW, TRAVEL)
            touched.append(booking.team_day_id)
    return list(dict.fromkeys(touched))


def busiest_team_day(engine) -> int:
    with session_scope(engine) as session:
        rows = session.exec(select(Booking.team_day_id).where(Booking.status == BookingStatus.CONFIRMED)).all()
    return max(set(rows), key=rows.count)


def plans_of(engine, team_day_id: int) -> list[Plan]:
    with session_scope(engine) as session:
        return list(session.exec(select(Plan).where(Plan.team_day_id == team_day_id).order_by(Plan.id)).all())


def assert_plan_keeps_windows(engine, team_day_id: int) -> None:
    """The current plan's stops are the confirmed bookings, each starting inside its booked window, and the timed route checks."""
    with session_scope(engine) as session:
        td = session.get(TeamDay, team_day_id)
        plan = session.exec(select(Plan).where(Plan.team_day_id == team_day_id, Plan.status == PlanStatus.CURRENT)).one()
        assert plan.version == td.version
        stops = session.exec(select(PlanStop).where(PlanStop.plan_id == plan.id).order_by(PlanStop.position)).all()
        booked = {b.id: b for b in session.exec(select(Booking).where(Booking.team_day_id == team_day_id, Booking.status == BookingStatus.CONFIRMED)).all()}
        assert sorted(s.booking_id for s in stops) == sorted(booked)
        assert [s.position for s in stops] == list(range(len(stops)))
        for s in stops:
            b = booked[s.booking_id]
            assert b.window_start <= s.start <= b.window_end
            assert s.arrival <= s.start < s.end
        loaded = replan.load_team_day(session, team_day_id, TRAVEL, NOW)
        assert loaded is not None and loaded.shift is not None
        by_id = {st.id: st for st in loaded.stops}
        ordered = [by_id[f"b{s.booking_id}"] for s in stops]
        route = schedule_route(loaded.shift, ordered, loaded.problem.durations)  # the stored order is feasible
        assert route is not None
        assert check_route(loaded.shift, ordered, route, loaded.problem.durations) == []
        assert_routes_keep_promises(session, NOW, TRAVEL)


def test_replan_writes_a_current_plan_keeping_every_booked_window(db) -> None:
    book(db, [("08:00", "10:00"), ("10:00", "12:00"), ("12:00", "14:00"), ("09:00", "13:00")])
    tid = busiest_team_day(db)
    result = replan.replan_team_day(db, tid, TRAVEL, NOW, time_limit=TIME_LIMIT)
    assert result.outcome is replan.Outcome.WRITTEN, result
    plans = plans_of(db, tid)
    assert [p.status for p in plans] == [PlanStatus.CURRENT]
    assert plans[0].id == result.plan_id and plans[0].solver_status
    with session_scope(db) as session:
        assert len(session.exec(select(PlanStop).where(PlanStop.plan_id == result.plan_id)).all()) >= 2
    assert_plan_keeps_windows(db, tid)


def test_the_solvers_route_is_checked_before_writing(db) -> None:
    book(db, [("08:00", "10:00"), ("10:00", "12:00")])
    tid = busiest_team_day(db)
    with session_scope(db) as session:
        loaded = replan.load_team_day(session, tid, TRAVEL, NOW)
    solved = replan.solve_team_day(loaded, TIME_LIMIT)
    by_id = {s.id: s for s in loaded.stops}
    assert check_route(loaded.shift, [by_id[v.stop_id] for v in solved.route.visits], solved.route, loaded.problem.durations) == []


def test_plans_are_versioned_and_superseded_rows_are_kept(db) -> None:
    book(db, [("08:00", "10:00"), ("10:00", "12:00"), ("12:00", "14:00")])
    tid = busiest_team_day(db)
    first = replan.replan_team_day(db, tid, TRAVEL, NOW, time_limit=TIME_LIMIT)
    assert first.written
    assert replan.replan_team_day(db, tid, TRAVEL, NOW, time_limit=TIME_LIMIT).outcome is replan.Outcome.UP_TO_DATE  # one plan per version
    with session_scope(db, write=True) as session:  # a family cancels: the team-day's version moves on
        booking = session.exec(select(Booking).where(Booking.team_day_id == tid, Booking.status == BookingStatus.CONFIRMED)).first()
        assert slots.cancel(session, booking.request_id, NOW) == [tid]
    second = replan.replan_team_day(db, tid, TRAVEL, NOW, time_limit=TIME_LIMIT)
    assert second.written and second.version > first.version
    plans = plans_of(db, tid)
    assert [(p.id, p.version, p.status) for p in plans] == [(first.plan_id, first.version, PlanStatus.SUPERSEDED), (second.plan_id, second.version, PlanStatus.CURRENT)]
    with session_scope(db) as session:  # the superseded plan keeps its stops (history)
        old = session.exec(select(PlanStop).where(PlanStop.plan_id == first.plan_id)).all()
        new = session.exec(select(PlanStop).where(PlanStop.plan_id == second.plan_id)).all()
        assert len(old) == len(new) + 1
    assert_plan_keeps_windows(db, tid)


def test_a_stale_result_is_discarded(db) -> None:
    book(db, [("08:00", "10:00"), ("10:00", "12:00")])
    tid = busiest_team_day(db)
    assert replan.replan_team_day(db, tid, TRAVEL, NOW, time_limit=TIME_LIMIT).written
    before = plans_of(db, tid)
    with session_scope(db) as session:
        loaded = replan.load_team_day(session, tid, TRAVEL, NOW)
    solved = replan.solve_team_day(loaded, TIME_LIMIT)
    with session_scope(db, write=True) as session:  # a booking change lands while the solver works
        session.get(TeamDay, tid).version += 1
    with session_scope(db, write=True) as session:
        assert replan.write_plan(session, loaded, solved) is None
    assert plans_of(db, tid) == before


def test_a_polish_replaces_the_hurried_route_of_the_same_version_only_when_better(db) -> None:
    """A re-plan solved in a hurry (a burst) is polished later: the same plan row (the version's
    only plan) gets the better route; an equal or worse route, or another version, writes nothing."""
    book(db, [("08:00", "10:00"), ("10:00", "12:00"), ("12:00", "14:00"), ("09:00", "13:00")])
    tid = busiest_team_day(db)
    first = replan.replan_team_day(db, tid, TRAVEL, NOW, time_limit=TIME_LIMIT)
    assert first.written
    with session_scope(db) as session:
        loaded = replan.load_team_day(session, tid, TRAVEL, NOW)
    assert loaded.planned
    solved = replan.solve_team_day(loaded, TIME_LIMIT)
    with session_scope(db, write=True) as session:  # not a polish: the version is planned already
        assert replan.write_plan(session, loaded, solved) is None
    with session_scope(db, write=True) as session:  # a polish that does not improve writes nothing
        assert replan.write_plan(session, loaded, replace(solved, objective=first_objective(db, tid)), polish=True) is None
    reversed_route = replace(solved, objective=first_objective(db, tid) - 1)  # better by one: replaces the stops
    with session_scope(db, write=True) as session:
        assert replan.write_plan(session, loaded, reversed_route, polish=True) == first.plan_id
    plans = plans_of(db, tid)
    assert [(p.id, p.version, p.status, p.objective) for p in plans] == [(first.plan_id, first.version, PlanStatus.CURRENT, reversed_route.objective)]
    assert_plan_keeps_windows(db, tid)
    assert replan.replan_team_day(db, tid, TRAVEL, NOW, time_limit=TIME_LIMIT, polish=True).outcome is replan.Outcome.UP_TO_DATE  # nothing better found
    with session_scope(db, write=True) as session:  # the version moves on: a polish of the old one writes nothing
        session.get(TeamDay, tid).version += 1
    with session_scope(db, write=True) as session:
        assert replan.write_plan(session, loaded, replace(solved, objective=0), polish=True) is None


def first_objective(engine, team_day_id: int) -> int:
    with session_scope(engine) as session:
        return session.exec(select(Plan.objective).where(Plan.team_day_id == team_day_id, Plan.status == PlanStatus.CURRENT)).one()


def test_a_stale_result_is_discarded_end_to_end(db, monkeypatch) -> None:
    book(db, [("08:00", "10:00")])
    tid = busiest_team_day(db)
    real = routing.solve

    def solve_while_someone_books(*args, **kwargs):
        with session_scope(db, write=True) as session:
            session.get(TeamDay, tid).version += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(routing, "solve", solve_while_someone_books)
    result = replan.replan_team_day(db, tid, TRAVEL, NOW, time_limit=TIME_LIMIT)
    assert result.outcome is replan.Outcome.STALE
    assert plans_of(db, tid) == []


def _with_a_drop(real):
    def solve(problem, params, initial_routes=None):
        plan = real(problem, params, initial_routes=initial_routes)
        route = plan.routes[0]
        victim = route.visits[0].stop_id
        kept = replace(route, visits=route.visits[1:])
        return replace(plan, routes=(kept,), dropped=(routing.DroppedStop(victim, routing.DropReason.CAPACITY),))

    return solve


@pytest.mark.parametrize("failure", ["drop", "raise", "none", "bad_times"])
def test_a_solver_failure_leaves_the_previous_plan(db, monkeypatch, failure) -> None:
    book(db, [("08:00", "10:00"), ("10:00", "12:00"), ("12:00", "14:00")])
    tid = busiest_team_day(db)
    assert replan.replan_team_day(db, tid, TRAVEL, NOW, time_limit=TIME_LIMIT).written
    before = plans_of(db, tid)
    with session_scope(db, write=True) as session:
        session.get(TeamDay, tid).version += 1  # a change: the next re-plan would write a new plan
    real = routing.solve

    def boom(*args, **kwargs):
        raise RuntimeError("solver crashed")

    def bad_times(problem, params, initial_routes=None):
        plan = real(problem, params, initial_routes=initial_routes)
        route = plan.routes[0]
        late = tuple(replace(v, start=v.start + 2000, end=v.end + 2000) for v in route.visits)
        return replace(plan, routes=(replace(route, visits=late, end=route.end + 3000),))

    fake = {"drop": _with_a_drop(real), "raise": boom, "none": lambda *a, **k: None}.get(failure)
    if failure == "bad_times":
        # solver times that break windows, with an order that cannot be re-timed either
        monkeypatch.setattr(replan, "schedule_route", lambda *a, **k: None)
        fake = bad_times
    monkeypatch.setattr(routing, "solve", fake)
    result = replan.replan_team_day(db, tid, TRAVEL, NOW, time_limit=TIME_LIMIT)
    assert result.outcome is replan.Outcome.KEPT
    assert result.reason == {"drop": "dropped", "raise": "solver_error", "none": "no_plan", "bad_times": "invalid_route"}[failure]
    if failure == "drop":
        assert len(result.dropped) == 1
    assert plans_of(db, tid) == before  # the previous plan stays current, nothing written


def test_an_emptied_team_day_gets_an_empty_plan(db) -> None:
    book(db, [("08:00", "10:00")])
    tid = busiest_team_day(db)
    with session_scope(db, write=True) as session:
        booking = session.exec(select(Booking).where(Booking.team_day_id == tid)).first()
        assert slots.cancel(session, booking.request_id, NOW) == [tid]
    result = replan.replan_team_day(db, tid, TRAVEL, NOW, time_limit=TIME_LIMIT)
    assert result.written
    with session_scope(db) as session:
        assert session.exec(select(PlanStop).where(PlanStop.plan_id == result.plan_id)).all() == []


def test_unknown_team_day_is_skipped(db) -> None:
    with session_scope(db, write=True) as session:
        setup_area(session)
    assert replan.replan_team_day(db, 999_999, TRAVEL, NOW).outcome is replan.Outcome.SKIPPED


def test_the_queue_coalesces_and_runs_in_the_background(db, monkeypatch) -> None:
    touched = book(db, [("08:00", "10:00"), ("10:00", "12:00")])
    calls: list[int] = []
    real = replan.replan_team_day

    def counting(engine, team_day_id, *args, **kwargs):
        calls.append(team_day_id)
        return real(engine, team_day_id, *args, **kwargs)

    monkeypatch.setattr(replan, "replan_team_day", counting)
    queue = replan.ReplanQueue(lambda: db, TRAVEL, time_limit=TIME_LIMIT, clock=lambda: NOW, workers=1)
    try:
        gate = threading.Event()
        queue._executor.submit(gate.wait, 10)  # hold the single worker so the jobs stay pending
        first = queue.schedule(touched)
        second = queue.schedule(touched + touched)
        assert first == touched and second == []  # already pending: not queued again
        gate.set()
        assert queue.wait_idle(30)
    finally:
        queue.shutdown()
    assert sorted(calls) == sorted(touched)
    assert all(r.written for r in queue.results)
    for tid in touched:
        assert_plan_keeps_windows(db, tid)


def test_the_in_process_queue_reports_each_outcome_to_the_metrics(db) -> None:
    """The app's lifespan passes ``app.metrics.observe_replan``: every in-process re-plan counts in
    ``jemput_replans_total`` as the job workers' do."""
    from prometheus_client import REGISTRY

    from app.metrics import observe_replan

    def written() -> float:
        return REGISTRY.get_sample_value("jemput_replans_total", {"outcome": "written"}) or 0.0

    touched = book(db, [("08:00", "10:00"), ("10:00", "12:00")])
    seen: list[tuple[str, float]] = []
    before = written()
    queue = replan.ReplanQueue(
        lambda: db, TRAVEL, time_limit=TIME_LIMIT, clock=lambda: NOW, workers=1, solver=replan.solve_team_day, observer=lambda o, sec: (seen.append((o, sec)), observe_replan(o, sec))
    )
    try:
        queue.schedule(touched)
        assert queue.wait_idle(30)
    finally:
        queue.shutdown()
    assert [o for o, _ in seen] == ["written"] * len(touched) and all(sec > 0 for _, sec in seen)
    assert written() == before + len(touched)


def test_a_failing_job_is_logged_without_personal_data_and_keeps_the_plan(db, monkeypatch, caplog) -> None:
    touched = book(db, [("08:00", "10:00")])

    def broken(*args, **kwargs):
        raise RuntimeError("Warga 1 at Jl. Contoh")

    monkeypatch.setattr(replan, "load_team_day", broken)
    queue = replan.ReplanQueue(db, TRAVEL, time_limit=TIME_LIMIT, clock=lambda: NOW, workers=1)
    try:
        with caplog.at_level("ERROR", logger="jemput.replan"):
            queue.schedule(touched)
            assert queue.wait_idle(30)
    finally:
        queue.shutdown()
    assert "RuntimeError" in caplog.text and "Warga" not in caplog.text and "Contoh" not in caplog.text
    assert plans_of(db, touched[0]) == []


def test_schedule_replan_uses_the_configured_default_queue(db) -> None:
    touched = book(db, [("08:00", "10:00")])
    previous = replan.default_queue()
    try:
        replan.configure(db, TRAVEL, time_limit=TIME_LIMIT)
        assert replan.schedule_replan(touched) == touched
        assert replan.wait_idle(30)
    finally:
        replan._default = previous
    assert_plan_keeps_windows(db, touched[0])


@pytest.mark.slow
def test_the_process_solver_gives_the_in_process_answer_from_another_process(db) -> None:
    book(db, [("08:00", "10:00"), ("10:00", "12:00"), ("09:00", "13:00")])
    tid = busiest_team_day(db)
    with session_scope(db) as session:
        loaded = replan.load_team_day(session, tid, TRAVEL, NOW)
    assert loaded is not None and loaded.stops
    solver = replan.ProcessSolver()
    try:
        here = replan.solve_team_day(loaded, TIME_LIMIT, seed=1)
        there = solver(loaded, TIME_LIMIT, 1)
        child_pids = {p.pid for p in solver._pool._processes.values()}  # type: ignore[union-attr]
    finally:
        solver.shutdown()
    assert child_pids and os.getpid() not in child_pids  # the solve ran elsewhere
    assert [v.stop_id for v in there.route.visits] == [v.stop_id for v in here.route.visits]
    assert check_route(loaded.shift, [dict((s.id, s) for s in loaded.stops)[v.stop_id] for v in there.route.visits], there.route, loaded.problem.durations) == []


@pytest.mark.slow
def test_a_refusal_crosses_the_process_boundary_with_its_details(db) -> None:
    book(db, [("08:00", "10:00")])
    tid = busiest_team_day(db)
    with session_scope(db) as session:
        loaded = replan.load_team_day(session, tid, TRAVEL, NOW)
    assert loaded is not None and loaded.stops
    # a booked window that no route can keep (ends before the shift starts): the solver must drop it
    impossible = replace(loaded.stops[0], windows=(routing.TimeWindow(loaded.shift.start - 120, loaded.shift.start - 60),))
    problem = replace(loaded.problem, stops=(impossible,))
    broken = replace(loaded, problem=problem, stops=[impossible], initial_order=[])
    solver = replan.ProcessSolver()
    try:
        with pytest.raises(replan.Refused) as refused:
            solver(broken, TIME_LIMIT, 0)
    finally:
        solver.shutdown()
    assert refused.value.reason == "dropped" and refused.value.dropped == (impossible.id,)


@pytest.mark.slow
def test_a_crashed_solver_process_is_replaced_and_the_plan_kept(db) -> None:
    touched = book(db, [("08:00", "10:00")])
    solver = replan.ProcessSolver()
    try:
        with session_scope(db) as session:
            loaded = replan.load_team_day(session, touched[0], TRAVEL, NOW)
        solver(loaded, TIME_LIMIT, 0)  # the pool is up
        for process in list(solver._pool._processes.values()):  # type: ignore[union-attr]
            process.kill()  # as if OR-Tools had crashed the worker
            process.join(10)
        result = replan.replan_team_day(db, touched[0], TRAVEL, NOW, TIME_LIMIT, solver=solver)
        assert result.outcome is replan.Outcome.KEPT and result.reason == "solver_error"
        assert plans_of(db, touched[0]) == []  # nothing written: the previous (no) plan stays
        again = replan.replan_team_day(db, touched[0], TRAVEL, NOW, TIME_LIMIT, solver=solver)
        assert again.outcome is replan.Outcome.WRITTEN  # a fresh process took over
    finally:
        solver.shutdown()
    assert_plan_keeps_windows(db, touched[0])


@pytest.mark.slow
def test_a_solver_process_warmed_up_from_a_thread_that_ended_still_solves(db) -> None:
    # the app warms the solver up from a short-lived thread; Linux's parent-death signal follows
    # the thread that started a process, so a process started there died with the thread
    touched = book(db, [("08:00", "10:00")])
    solver = replan.ProcessSolver()
    try:
        warm = threading.Thread(target=solver.start, name="warm-up")
        warm.start()
        warm.join(120)
        assert not warm.is_alive()
        time.sleep(0.5)  # the signal, if any, arrives when the thread ends
        result = replan.replan_team_day(db, touched[0], TRAVEL, NOW, TIME_LIMIT, solver=solver)
    finally:
        solver.shutdown()
    assert result.outcome is replan.Outcome.WRITTEN, result
    assert_plan_keeps_windows(db, touched[0])


def slow_solver(loaded, time_limit: float, seed: int):  # noqa: ANN001, ANN201 - runs in the solver process
    import time
    from pathlib import Path

    Path(os.environ["JEMPUT_TEST_SOLVER_PID"]).write_text(str(os.getpid()))
    time.sleep(60)
    return replan.solve_team_day(loaded, time_limit, seed)


def _running(pid: int) -> bool:
    """Alive and not a zombie (a terminated child waits to be reaped)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in status)
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_a_solve_that_overruns_is_abandoned_and_the_plan_kept(db, tmp_path, monkeypatch) -> None:
    touched = book(db, [("08:00", "10:00")])
    pid_file = tmp_path / "solver.pid"
    monkeypatch.setenv("JEMPUT_TEST_SOLVER_PID", str(pid_file))  # inherited by the spawned process
    solver = replan.ProcessSolver(grace=5.0, target=slow_solver)  # spawning and importing take about 1 s
    try:
        result = replan.replan_team_day(db, touched[0], TRAVEL, NOW, time_limit=0.1, solver=solver)
    finally:
        solver.shutdown(wait=False)
    assert result.outcome is replan.Outcome.KEPT and result.reason == "solver_timeout"
    assert plans_of(db, touched[0]) == []
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(pid)  # the overrunning solve does not keep a core busy
