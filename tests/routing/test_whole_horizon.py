"""The whole-horizon path for very large campaigns (routing.solver._search_whole): taken when an
average day's model is too large for OR-Tools in its share of the time; its plan is valid."""

from __future__ import annotations

import pytest

from routing import SolveParams, solve, solver
from routing.bench import mojokerto_problem, plan_problems


def test_day_nodes_counts_each_days_candidates_and_shift_ends():
    problem = mojokerto_problem(60, teams=2, days=3, seed=1)
    per_day = sum(len({w.day for w in s.windows}) for s in problem.stops)
    assert solver._day_nodes(problem) == pytest.approx((per_day + 2 * 6) / 3)


@pytest.mark.slow
def test_whole_horizon_path_gives_a_valid_plan(monkeypatch: pytest.MonkeyPatch):
    problem = mojokerto_problem(420, teams=6, days=3, seed=7)
    monkeypatch.setattr(solver, "_LARGE_DAY_NODES", 0)  # as if each day's model were too large
    plan = solve(problem, SolveParams(time_limit=4))
    assert plan.meta["phase"] == "whole_horizon"
    assert plan_problems(problem, plan) == []
    served = sum(len(r.visits) for r in plan.routes)
    assert served > 0.4 * len(problem.stops)  # 18 team-days for 420 visits: about 200 fit
    monkeypatch.setattr(solver, "_LARGE_DAY_NODES", 10**9)
    by_day = solve(problem, SolveParams(time_limit=4))
    assert by_day.meta["phase"] == "by_day"


@pytest.mark.slow
def test_iterations_keep_the_day_by_day_path(monkeypatch: pytest.MonkeyPatch):
    # The whole-horizon path fills its time: not reproducible, so a plan bounded by iterations
    # stays on the (deterministic) day-by-day path.
    problem = mojokerto_problem(420, teams=6, days=3, seed=7)
    monkeypatch.setattr(solver, "_LARGE_DAY_NODES", 0)
    plan = solve(problem, SolveParams(time_limit=20, iterations=5))
    assert plan.meta["phase"] == "by_day"
