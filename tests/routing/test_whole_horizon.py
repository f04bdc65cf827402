"""The paths for very large campaigns (routing.solver._search_by_sector, _search_whole): taken
when an average day's model is too large for OR-Tools in its share of the time; their plans are
valid."""

from __future__ import annotations

import dataclasses

import pytest

from routing import SolveParams, solve, solver
from routing.bench import mojokerto_problem, plan_problems


def test_day_nodes_counts_each_days_candidates_and_shift_ends():
    problem = mojokerto_problem(60, teams=2, days=3, seed=1)
    per_day = sum(len({w.day for w in s.windows}) for s in problem.stops)
    assert solver._day_nodes(problem) == pytest.approx((per_day + 2 * 6) / 3)


def test_sectors_split_the_stops_evenly_by_angle():
    problem = mojokerto_problem(90, teams=2, days=1, seed=2)
    sector = solver._sectors(problem, 3)
    assert sector is not None and sorted(sector) == sorted(s.id for s in problem.stops)
    assert [list(sector.values()).count(g) for g in range(3)] == [30, 30, 30]
    assert solver._sectors(dataclasses.replace(problem, locations=()), 3) is None


@pytest.mark.slow
def test_sector_and_whole_horizon_paths_give_valid_plans(monkeypatch: pytest.MonkeyPatch):
    problem = mojokerto_problem(420, teams=6, days=3, seed=7)  # 18 team-days: about 200 visits fit
    monkeypatch.setattr(solver, "_LARGE_DAY_NODES", 0)  # as if each day's model were too large
    plan = solve(problem, SolveParams(time_limit=5))
    assert plan.meta["phase"] == "by_sector" and plan.meta["sectors"] >= 2
    assert plan_problems(problem, plan) == []
    assert sum(len(r.visits) for r in plan.routes) > 0.4 * len(problem.stops)
    bare = dataclasses.replace(problem, locations=())  # no coordinates: no sectors
    plan = solve(bare, SolveParams(time_limit=3))
    assert plan.meta["phase"] == "whole_horizon"
    assert plan_problems(bare, plan) == []
    assert sum(len(r.visits) for r in plan.routes) > 0.4 * len(problem.stops)
    monkeypatch.setattr(solver, "_LARGE_DAY_NODES", 10**9)
    assert solve(problem, SolveParams(time_limit=3)).meta["phase"] == "by_day"


@pytest.mark.slow
def test_iterations_keep_the_day_by_day_path(monkeypatch: pytest.MonkeyPatch):
    # The very large paths fill their time: not reproducible, so a plan bounded by iterations
    # stays on the (deterministic) day-by-day path.
    problem = mojokerto_problem(420, teams=6, days=3, seed=7)
    monkeypatch.setattr(solver, "_LARGE_DAY_NODES", 0)
    plan = solve(problem, SolveParams(time_limit=20, iterations=5))
    assert plan.meta["phase"] == "by_day"
