"""Whole-horizon repair (dropped stops back in, with ejection chains), the capacity bound and the
Mojokerto benchmark's plan check, on hand-made cases.

World: locations on a line, 10 minutes between neighbours; the office is location 0.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from routing import DroppedStop, DropReason, Plan, Problem, Shift, SolveParams, Stop, TimeWindow, solve
from routing.bench import main as bench_main
from routing.bench import mojokerto_problem, plan_problems
from routing.bound import capacity_bound
from routing.improve import repair
from routing.schedule import route_feasible

LINE = tuple(tuple(10 * abs(i - j) for j in range(7)) for i in range(7))
DAY = 1440


def day_shift(day: int, **kw: object) -> Shift:
    base = day * DAY
    return Shift(f"d{day}", "team", day, 0, 0, base + 480, base + 720, **kw)  # type: ignore[arg-type]


def on_days(sid: str, location: int, *days: int, **kw: object) -> Stop:
    windows = tuple(TimeWindow(d * DAY + 480, d * DAY + 660) for d in days)
    return Stop(sid, location, 30, windows, **kw)  # type: ignore[arg-type]


def assert_feasible(problem: Problem, routes: dict[str, list[str]]) -> None:
    by_id = {s.id: s for s in problem.stops}
    for sh in problem.shifts:
        assert route_feasible(sh, [by_id[x] for x in routes.get(sh.id, [])], problem.durations)


def test_dropped_stop_takes_the_place_of_one_that_moves_to_another_day():
    # One visit a day. A could go on day 0 or 1 and holds day 0; B only fits day 0.
    # B takes A's place and A moves to day 1.
    problem = Problem(
        (on_days("A", 1, 0, 1), on_days("B", 2, 0)),
        (day_shift(0, max_visits=1), day_shift(1, max_visits=1)),
        LINE,
    )
    routes, meta = repair(problem, {"d0": ["A"]}, math.inf)
    assert routes == {"d0": ["B"], "d1": ["A"]}
    assert (meta["inserted"], meta["ejected"]) == (0, 1)
    assert_feasible(problem, routes)


def test_ejection_chain_over_three_days():
    # One visit a day: A (day 0 or 1) on day 0, C (day 1 or 2) on day 1; B fits day 0 only.
    # B -> day 0, A -> day 1, C -> day 2: a chain of two moves.
    problem = Problem(
        (on_days("A", 1, 0, 1), on_days("C", 3, 1, 2), on_days("B", 2, 0)),
        tuple(day_shift(d, max_visits=1) for d in range(3)),
        LINE,
    )
    routes, meta = repair(problem, {"d0": ["A"], "d1": ["C"]}, math.inf)
    assert routes == {"d0": ["B"], "d1": ["A"], "d2": ["C"]}
    assert meta["depth"] >= 2
    assert_feasible(problem, routes)
    assert repair(problem, {"d0": ["A"], "d1": ["C"]}, math.inf, max_depth=1)[0] == {"d0": ["A"], "d1": ["C"]}


def test_booked_stop_displaces_an_optional_one_with_nowhere_else_to_go():
    problem = Problem(
        (on_days("A", 1, 0), on_days("B", 2, 0, required=True)),
        (day_shift(0, max_visits=1),),
        LINE,
    )
    routes, meta = repair(problem, {"d0": ["A"]}, math.inf)
    assert routes == {"d0": ["B"]} and meta["displaced"] == 1
    # Equal rank: no displacement.
    equal = dataclasses.replace(problem, stops=(problem.stops[0], dataclasses.replace(problem.stops[1], required=False)))
    assert repair(equal, {"d0": ["A"]}, math.inf)[0] == {"d0": ["A"]}


def test_direct_insertion_into_a_gap_on_another_day():
    # Day 0 is full (max 1 visit); B also has a day-1 window and goes there.
    problem = Problem(
        (on_days("A", 1, 0), on_days("B", 2, 0, 1)),
        (day_shift(0, max_visits=1), day_shift(1)),
        LINE,
    )
    routes, meta = repair(problem, {"d0": ["A"]}, math.inf)
    assert routes == {"d0": ["A"], "d1": ["B"]} and meta["inserted"] == 1


def test_capacity_bound_by_day_and_skill():
    # Every place is 10 min from every other. Day 0: s1 works 480-600 (120 min), s2 (skill
    # "odgj") 480-540 (60 min); each stop fits alone (10 + 30 + 10 = 50 min). Every stop takes
    # 30 min of service and at least a 10 min drive in (no two stops share a place): 40 min.
    # ODGJ stops fit in s2's 60 minutes 1.5 times; all stops in 180 minutes 4.5 times. With 2
    # ODGJ and 3 plain stops the relaxation serves at most 1.5 + 3 = 4.5 stops. A sixth stop
    # wanting 13:00 is not servable at all.
    odgj = frozenset({"odgj"})
    shifts = (
        Shift("s1", "t1", 0, 0, 0, 480, 600),
        Shift("s2", "t2", 0, 0, 0, 480, 540, skills=odgj),
    )
    stops = (
        Stop("o1", 1, 30, (TimeWindow(480, 600),), skills=odgj),
        Stop("o2", 2, 30, (TimeWindow(480, 600),), skills=odgj),
        Stop("p1", 3, 30, (TimeWindow(480, 600),)),
        Stop("p2", 4, 30, (TimeWindow(480, 600),)),
        Stop("p3", 5, 30, (TimeWindow(480, 600),)),
        Stop("late", 6, 30, (TimeWindow(780, 800),)),
    )
    star = tuple(tuple(0 if i == j else 10 for j in range(7)) for i in range(7))
    bound = capacity_bound(Problem(stops, shifts, star))
    assert bound.servable == 5
    assert bound.upper == pytest.approx(4.5)


def test_capacity_bound_holds_on_a_solved_mojokerto_sample():
    problem = mojokerto_problem(120, teams=3, days=2, seed=4)
    plan = solve(problem, SolveParams(time_limit=4, seed=2))
    bound = capacity_bound(problem)
    assigned = sum(len(r.visits) for r in plan.routes)
    assert assigned <= bound.upper + 1e-6 and bound.upper <= bound.servable <= len(problem.stops)


def test_plan_problems_catches_a_broken_route():
    problem = mojokerto_problem(30, teams=2, days=1, seed=5)
    plan = solve(problem, SolveParams(time_limit=2, seed=1))
    assert plan_problems(problem, plan) == []
    route = next(r for r in plan.routes if r.visits)
    first = route.visits[0]
    moved = dataclasses.replace(first, start=first.start - 600, end=first.end - 600)  # before the window
    broken = dataclasses.replace(route, visits=(moved, *route.visits[1:]))
    bad = Plan(tuple(broken if r is route else r for r in plan.routes), plan.dropped, 0, plan.status, 0.0)
    assert any("outside its windows" in p for p in plan_problems(problem, bad))
    twice = Plan(plan.routes, (*plan.dropped, DroppedStop(first.stop_id, DropReason.CAPACITY)), 0, plan.status, 0.0)
    assert f"stop {first.stop_id} is served or dropped 2 times" in plan_problems(problem, twice)


def test_mojokerto_command_checks_the_plan(capsys: pytest.CaptureFixture[str]):
    code = bench_main(["--mojokerto", "60", "--teams", "2", "--days", "2", "--time-limit", "2", "--odgj-share", "0.3"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("machine: cpus=") and "ortools" in out and "pyvrp" in out
    assert "check: 0 invalid routes" in out and "upper bound" in out and "30 % of visits" in out
