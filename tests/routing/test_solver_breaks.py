"""One break rule everywhere: what ``solve`` (OR-Tools) returns passes ``check_route``, and a fixed
visiting order is feasible for OR-Tools exactly when ``schedule_route`` finds a schedule."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing import Break, Pin, Plan, Problem, ProblemError, Shift, SolveParams, Stop, TimeWindow, solve, validate
from routing.schedule import check_route, schedule_route

# Five places; travel times break the triangle inequality on purpose (0 -> 3 -> 4).
MATRIX = (
    (0, 7, 12, 5, 30),
    (7, 0, 6, 9, 11),
    (12, 6, 0, 4, 8),
    (5, 9, 4, 0, 3),
    (30, 11, 8, 3, 0),
)
W = TimeWindow
QUICK = SolveParams(time_limit=3, iterations=60)

window_st = st.builds(lambda s, n: W(s, s + n), st.integers(470, 820), st.integers(0, 90))
stop_st = st.tuples(st.integers(1, 4), st.integers(5, 60), st.lists(window_st, min_size=1, max_size=2))
break_st = st.tuples(st.integers(540, 700), st.integers(0, 60), st.integers(10, 45))


def assert_routes_pass_check_route(problem: Problem, plan: Plan) -> None:
    by_id = {s.id: s for s in problem.stops}
    shifts = {sh.id: sh for sh in problem.shifts}
    served = [v.stop_id for r in plan.routes for v in r.visits]
    assert len(served) == len(set(served))
    assert set(served) | {d.stop_id for d in plan.dropped} == set(by_id)
    for route in plan.routes:
        stops = [by_id[v.stop_id] for v in route.visits]
        assert check_route(shifts[route.shift_id], stops, route, problem.durations) == [], route


def _problem(shifts: list[tuple[Any, ...]], stops: list[tuple[Any, ...]], pinned: bool = False) -> Problem | None:
    shift_list = tuple(Shift(f"t{k}", f"t{k}", 0, 0, 0, 480, end, breaks=tuple(Break(W(b, b + slack), d) for b, slack, d in breaks)) for k, (end, breaks) in enumerate(shifts))
    stop_list = tuple(Stop(f"x{i}", loc, svc, tuple(ws), required=pinned, pin=Pin("t0", i) if pinned else None) for i, (loc, svc, ws) in enumerate(stops))
    problem = Problem(stop_list, shift_list, MATRIX)
    try:
        validate(problem)
    except ProblemError:  # e.g. a break that cannot be taken within the shift
        return None
    return problem


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    shifts=st.lists(st.tuples(st.integers(600, 900), st.lists(break_st, min_size=1, max_size=2)), min_size=1, max_size=2),
    stops=st.lists(stop_st, min_size=1, max_size=6),
)
@pytest.mark.slow
def test_every_solver_route_passes_check_route(shifts: list[tuple[Any, ...]], stops: list[tuple[Any, ...]]) -> None:
    problem = _problem(shifts, stops)
    if problem is None:
        return
    assert_routes_pass_check_route(problem, solve(problem, QUICK))


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    end=st.integers(600, 900),
    breaks=st.lists(break_st, min_size=1, max_size=2),
    stops=st.lists(stop_st, min_size=1, max_size=4),
)
@pytest.mark.slow
def test_fixed_order_feasible_for_ortools_exactly_when_schedule_route_says_so(end: int, breaks: list[tuple[int, int, int]], stops: list[tuple[Any, ...]]) -> None:
    # Every stop required and pinned in order to the one shift: OR-Tools serves them all exactly
    # when that order has a schedule under the break rule of routing.schedule.
    problem = _problem([(end, breaks)], stops, pinned=True)
    if problem is None:
        return
    plan = solve(problem, QUICK)
    assert_routes_pass_check_route(problem, plan)
    ours = schedule_route(problem.shifts[0], list(problem.stops), MATRIX)
    assert (plan.dropped == ()) == (ours is not None)
