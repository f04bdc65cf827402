"""Finding 4 (the fallback): the cheap scheduler that times a route on the fly never calls a
feasible set of stops infeasible. ``routing.schedule.find_feasible_order`` is exact for up to 15
stops (checked against every permutation on small cases), and ``visits.booking.slots`` uses it
when cheapest insertion fails."""

from __future__ import annotations

import itertools
import random

import pytest

from routing.model import Break, Shift, Stop, TimeWindow
from routing.schedule import find_feasible_order, schedule_route
from visits.booking.slots import _feasible_order


def _case(rng: random.Random, n: int, breaks: bool) -> tuple[Shift, list[Stop], list[list[int]]]:
    size = n + 1
    points = [(rng.uniform(0, 10), rng.uniform(0, 10)) for _ in range(size)]
    durations = [[int(abs(a[0] - b[0]) + abs(a[1] - b[1])) * 3 for b in points] for a in points]
    shift = Shift(id="s", team="t", day=0, start_location=0, end_location=0, start=480, end=900, breaks=(Break(TimeWindow(690, 780), 30),) if breaks else ())
    stops = []
    for i in range(1, size):
        start = rng.choice(range(480, 840, 60))
        windows = (TimeWindow(start, start + rng.choice((0, 30, 60, 120))),)
        stops.append(Stop(id=f"b{i}", location=i, service=rng.choice((20, 30, 45)), windows=windows, required=True))
    return shift, stops, durations


def _any_permutation(shift, stops, durations) -> bool:
    return any(schedule_route(shift, list(p), durations) is not None for p in itertools.permutations(stops))


@pytest.mark.parametrize("breaks", [False, True])
def test_exact_order_search_agrees_with_every_permutation(breaks: bool) -> None:
    rng = random.Random(15 + breaks)
    feasible_cases = 0
    for _ in range(120):
        shift, stops, durations = _case(rng, rng.randint(1, 6), breaks)
        found = find_feasible_order(shift, stops, durations)
        exists = _any_permutation(shift, stops, durations)
        assert (found is not None) == exists
        if found is not None:
            feasible_cases += 1
            assert sorted(s.id for s in found) == sorted(s.id for s in stops)
            assert schedule_route(shift, found, durations) is not None
    assert 10 < feasible_cases < 120  # both kinds of case were met


def test_fifteen_stops_are_ordered_quickly() -> None:
    import time as clock

    durations = [[abs(a - b) * 2 for b in range(16)] for a in range(16)]
    shift = Shift(id="s", team="t", day=0, start_location=0, end_location=0, start=480, end=960, breaks=(Break(TimeWindow(690, 780), 30),))
    # 15 short visits in wide, overlapping windows, listed in reverse
    stops = [Stop(id=f"b{i}", location=i, service=15, windows=(TimeWindow(480 + (i - 1) * 25, 480 + (i - 1) * 25 + 90),), required=True) for i in range(15, 0, -1)]
    began = clock.monotonic()
    found = find_feasible_order(shift, stops, durations)
    assert found is not None and schedule_route(shift, found, durations) is not None
    assert clock.monotonic() - began < 10


def test_the_fallback_repair_finds_an_order_cheapest_insertion_misses() -> None:
    rng = random.Random(4)
    missed = 0
    for _ in range(400):
        shift, stops, durations = _case(rng, rng.randint(3, 6), True)
        stops = stops[::-1]
        if schedule_route(shift, stops, durations) is not None or not _any_permutation(shift, stops, durations):
            continue
        repaired = _feasible_order(shift, stops, durations)
        assert schedule_route(shift, repaired, durations) is not None  # never left infeasible
        missed += 1
    assert missed > 5
