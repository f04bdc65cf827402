"""The capacity bound (routing.bound): hand-checked cases where the time-of-day constraints make it
exact, and random instances where it never falls below what a solved plan serves."""

from __future__ import annotations

import random

import pytest

from routing import Break, Problem, Shift, SolveParams, Stop, TimeWindow, solve
from routing.bench import mojokerto_problem
from routing.bound import _minutes_inside, capacity_bound

STAR = tuple(tuple(0 if i == j else 10 for j in range(6)) for i in range(6))  # every place 10 min from every other


def test_morning_rush_is_bounded_by_the_time_of_day():
    # One shift 08:00-12:00 (240 min). Four stops at different places, each 50 min of service
    # starting 08:00-08:10; each fits alone (depart 08:00, serve 08:10-09:00, back 09:10). Their
    # services lie inside [08:00, 09:00] and so do the drives into them (from 08:00 on): 60 min
    # each in the shift's 60 minutes there - one stop. The day-only relaxation sees 4 x 60 = 240
    # minutes in 240 and allows all four; one is the true optimum (a second cannot start by 08:10).
    shift = Shift("s", "t", 0, 0, 0, 480, 720)
    stops = tuple(Stop(f"p{i}", i, 50, (TimeWindow(480, 490),)) for i in range(1, 5))
    problem = Problem(stops, (shift,), STAR)
    assert capacity_bound(problem, intervals=False).upper == pytest.approx(4.0)
    bound = capacity_bound(problem)
    assert bound.servable == 4 and bound.upper == pytest.approx(1.0)
    assert sum(len(r.visits) for r in solve(problem, SolveParams(time_limit=1)).routes) == 1


def test_afternoon_stops_count_their_drive_out():
    # Shift 08:00-12:00. Three stops want to start 11:00-11:40 for 20 min: their services lie in
    # [11:00, 12:00], and so do the drives out of them (10 min, to the next stop or back to the
    # office, by 12:00): 30 min each in 60 - two stops. Services alone would allow three, the day
    # relaxation too (3 x 30 of 240). Two is the optimum (11:00-11:20, 11:30-11:50, back 12:00).
    shift = Shift("s", "t", 0, 0, 0, 480, 720)
    stops = tuple(Stop(f"p{i}", i, 20, (TimeWindow(660, 700),)) for i in range(1, 4))
    problem = Problem(stops, (shift,), STAR)
    assert capacity_bound(problem, intervals=False).upper == pytest.approx(3.0)
    assert capacity_bound(problem).upper == pytest.approx(2.0)
    assert sum(len(r.visits) for r in solve(problem, SolveParams(time_limit=1)).routes) == 2


def test_minutes_inside_takes_the_least_break_overlap():
    # 08:00-12:00 with a 30 min break starting 08:20-08:30. Inside [08:00, 09:00]: the break lies
    # wholly inside whatever its start, 60 - 30 = 30. Inside [08:00, 08:30]: starting at 08:30
    # it misses the interval, so all 30 minutes may be work.
    shift = Shift("s", "t", 0, 0, 0, 480, 720, breaks=(Break(TimeWindow(500, 510), 30),))
    assert _minutes_inside(shift, 480, 540) == 30
    assert _minutes_inside(shift, 480, 510) == 30
    assert _minutes_inside(shift, 600, 900) == 120  # the break cannot reach 10:00; the shift ends at 12:00


def _narrow_problem(seed: int) -> Problem:
    """Few teams, short windows crowded into the mornings and Friday-like short shifts: where the
    time-of-day constraints bind."""
    rng = random.Random(seed)
    n = 14
    durations = tuple(tuple(0 if i == j else rng.randint(3, 15) for j in range(n + 1)) for i in range(n + 1))
    durations = tuple(tuple(min(durations[i][j], durations[j][i]) for j in range(n + 1)) for i in range(n + 1))
    shifts = []
    for day in range(2):
        base = day * 1440
        end = base + (660 if day == 1 else 720)
        breaks = () if day == 1 else (Break(TimeWindow(base + 600, base + 630), 20),)
        shifts += [Shift(f"t{t}-d{day}", f"t{t}", day, 0, 0, base + 480, end, breaks=breaks, skills=frozenset({"x"}) if t == 0 else frozenset()) for t in range(2)]
    stops = []
    for i in range(1, n + 1):
        day = rng.randrange(2)
        start = day * 1440 + rng.choice((480, 495, 510, 540, 600))
        stops.append(Stop(f"s{i}", i, rng.randint(15, 50), (TimeWindow(start, start + rng.choice((10, 30, 60))),), skills=frozenset({"x"}) if rng.random() < 0.2 else frozenset()))
    return Problem(tuple(stops), tuple(shifts), durations)


# Narrow instances where the time-of-day constraints bind (seeds 6, 8, 10, 12: below the day
# relaxation), and small Mojokerto weeks.
@pytest.mark.parametrize("seed", [6, 8, 10, 12, 1, 3])
def test_bound_never_below_a_solved_plan(seed: int):
    problem = _narrow_problem(seed) if seed % 2 == 0 else mojokerto_problem(40, teams=2, days=2, seed=seed)
    plan = solve(problem, SolveParams(time_limit=1.5, seed=seed))
    served = sum(len(r.visits) for r in plan.routes)
    loose, bound = capacity_bound(problem, intervals=False), capacity_bound(problem)
    assert served <= bound.upper + 1e-6
    assert bound.upper <= loose.upper + 1e-6 and loose.upper <= bound.servable
    if seed % 2 == 0:
        assert bound.upper < loose.upper - 0.1
