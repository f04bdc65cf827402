"""Timing of one ordered route: the single source of truth for "is this route feasible".

``schedule_route`` gives the earliest-time schedule of a team-day that visits the given stops in
the given order, or ``None`` when no schedule exists. ``check_route`` independently verifies a
``Route`` whose times are given (e.g. a booked plan read back from storage).

Rules (shared with :mod:`routing.insertion`):

* The team leaves ``shift.start_location`` at ``shift.start`` and must be back at
  ``shift.end_location`` by ``shift.end``; breaks taken at the office after the return must also end
  by ``shift.end``.
* A visit's service starts at the earliest moment, at or after the team is ready, that lies in
  one of the stop's windows (windows bound the service *start*); the team waits on site otherwise.
* A break is taken where the team is, never while driving: at the previous location before
  setting off, or at the next location after arriving (before the service there), or at the
  office before the first trip / after the return. It must start inside its window and lasts
  its duration. Breaks are taken in the order of their window start.
* Break placement is exact, not greedy: the schedule keeps, at every point of the route, the
  earliest time for each number of breaks already taken, and tries every place for every break.
  Because all steps are monotone (leaving earlier never makes one arrive later), the earliest
  time per "breaks taken" state dominates, so a route is reported infeasible only if no
  placement of the breaks at all would work. The chosen placement is the one reaching the end
  earliest.

``Visit.waiting`` is ``start - arrival``; it includes a break taken on site before the service.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from routing.model import Break, PlannedBreak, Route, Shift, Stop, TimeWindow, Visit

INF = math.inf

Durations = Sequence[Sequence[int]]
Times = list[float]  # one time per number of breaks already taken; INF: unreachable


def ordered_breaks(shift: Shift) -> tuple[Break, ...]:
    """The shift's breaks in the order they are taken (by window start, then end)."""
    return tuple(sorted(shift.breaks, key=lambda b: (b.window.start, b.window.end)))


def ordered_windows(stop: Stop) -> tuple[TimeWindow, ...]:
    return tuple(sorted(stop.windows, key=lambda w: (w.start, w.end)))


def earliest_start(windows: Sequence[TimeWindow], ready: float) -> float:
    """Earliest service start at or after ``ready`` inside one of the (sorted) windows, or INF."""
    for window in windows:
        if ready <= window.end:
            return max(ready, window.start)
    return INF


def latest_start(windows: Sequence[TimeWindow], limit: float) -> float:
    """Latest service start at or before ``limit`` inside one of the windows, or -INF."""
    best = -INF
    for window in windows:
        if window.start <= limit:
            best = max(best, min(window.end, limit))
    return best


def take_breaks(times: Times, breaks: Sequence[Break]) -> tuple[Times, list[float | None]]:
    """Earliest time per breaks-taken count when more breaks may be taken here, in order.

    ``times[j]`` is the earliest time at this place with ``j`` breaks taken. Returns the new
    times and, for each ``j``, the start of break ``j - 1`` when state ``j`` is best reached by
    taking that break here (``None`` otherwise).
    """
    out = list(times)
    taken: list[float | None] = [None] * len(out)
    for j, brk in enumerate(breaks):
        begin = max(out[j], brk.window.start)
        if begin <= brk.window.end and begin + brk.duration < out[j + 1]:
            out[j + 1] = begin + brk.duration
            taken[j + 1] = begin
    return out, taken


def latest_before_breaks(latest: Times, breaks: Sequence[Break]) -> Times:
    """Backward twin of :func:`take_breaks`: latest time per count, allowing breaks here.

    ``latest[j]`` is the latest time at this place, with ``j`` breaks taken, from which the rest
    of the route is feasible (-INF: never).
    """
    out = list(latest)
    for j in range(len(breaks) - 1, -1, -1):
        brk = breaks[j]
        after = out[j + 1]
        if brk.window.start + brk.duration <= after:
            out[j] = max(out[j], min(brk.window.end, after - brk.duration))
    return out


def fits_shift(shift: Shift, stops: Sequence[Stop]) -> bool:
    """Skills, max_visits and capacity: the checks that do not depend on times."""
    if shift.max_visits is not None and len(stops) > shift.max_visits:
        return False
    if shift.capacity is not None and sum(s.demand for s in stops) > shift.capacity:
        return False
    return all(s.skills <= shift.skills for s in stops)


def route_locations(shift: Shift, stops: Sequence[Stop]) -> list[int]:
    return [shift.start_location, *(s.location for s in stops), shift.end_location]


@dataclass(frozen=True)
class _Leg:
    """Forward states of one leg: from the previous place to the next one (stop or office)."""

    left: list[float | None]  # breaks taken at the previous place, before setting off
    arrived: Times
    ready: Times  # after breaks taken on arrival
    taken_on_arrival: list[float | None]


def schedule_route(shift: Shift, stops_in_order: Sequence[Stop], durations: Durations) -> Route | None:
    """Earliest-time schedule of ``stops_in_order`` on ``shift``, or ``None`` if infeasible."""
    stops = list(stops_in_order)
    if not fits_shift(shift, stops):
        return None
    breaks = ordered_breaks(shift)
    locations = route_locations(shift, stops)
    legs: list[_Leg] = []
    done: Times = [shift.start] + [INF] * len(breaks)
    for i in range(1, len(locations)):
        departed, left = take_breaks(done, breaks)
        travel = durations[locations[i - 1]][locations[i]]
        arrived = [t + travel for t in departed]
        ready, taken = take_breaks(arrived, breaks)
        legs.append(_Leg(left, arrived, ready, taken))
        if i <= len(stops):
            done = _service_ends(stops[i - 1], ready)
    if legs[-1].ready[len(breaks)] > shift.end:
        return None
    return _reconstruct(shift, stops, breaks, legs, locations, durations)


def _service_ends(stop: Stop, ready: Times) -> Times:
    windows = ordered_windows(stop)
    return [earliest_start(windows, t) + stop.service for t in ready]


def _unwind(taken: list[float | None], j: int, breaks: Sequence[Break], out: list[PlannedBreak]) -> int:
    """Follow the breaks taken at one place back from state ``j``; returns the state before them."""
    while j > 0:
        begin = taken[j]
        if begin is None:
            break
        out.append(PlannedBreak(int(begin), int(begin) + breaks[j - 1].duration))
        j -= 1
    return j


def _reconstruct(
    shift: Shift,
    stops: list[Stop],
    breaks: tuple[Break, ...],
    legs: list[_Leg],
    locations: list[int],
    durations: Durations,
) -> Route:
    planned: list[PlannedBreak] = []
    visits: list[Visit] = []
    j = len(breaks)
    end = 0
    for i in range(len(legs), 0, -1):  # leg i ends at locations[i]
        leg = legs[i - 1]
        if i <= len(stops):
            stop = stops[i - 1]
            start = int(earliest_start(ordered_windows(stop), leg.ready[j]))
            j = _unwind(leg.taken_on_arrival, j, breaks, planned)
            arrival = int(leg.arrived[j])
            visits.append(Visit(stop.id, arrival, start, start + stop.service, start - arrival))
        else:
            j = _unwind(leg.taken_on_arrival, j, breaks, planned)
            end = int(leg.arrived[j])
        j = _unwind(leg.left, j, breaks, planned)
    travel = sum(durations[a][b] for a, b in pairwise(locations))
    return Route(
        shift_id=shift.id,
        visits=tuple(reversed(visits)),
        breaks=tuple(sorted(planned, key=lambda b: b.start)),
        start=shift.start,
        end=end,
        travel=travel,
        duration=end - shift.start,
    )


def check_route(shift: Shift, stops_in_order: Sequence[Stop], route: Route, durations: Durations) -> list[str]:
    """Every rule ``route`` breaks, as human-readable sentences; empty when it is valid.

    Independent of :func:`schedule_route`: it only checks the given times, so it can audit booked
    plans. Checked: visits match the stops and start inside one of their windows, last their
    service, start after arrival; each drive between consecutive places fits in one stretch of
    the gap not taken by a break; the route lies within the shift; every shift break is planned
    once, starts inside its window, lasts its duration, ends by the shift end and overlaps no
    visit or other break; skills, max_visits and capacity.
    """
    stops = list(stops_in_order)
    problems = _check_static(shift, stops, route)
    if len(route.visits) != len(stops):
        return problems
    problems += _check_visits(shift, stops, route)
    problems += _check_gaps(shift, stops, route, durations)
    problems += _check_breaks(shift, route)
    return problems


def _check_static(shift: Shift, stops: list[Stop], route: Route) -> list[str]:
    problems: list[str] = []
    if route.shift_id != shift.id:
        problems.append(f"route is for shift {route.shift_id!r}, not {shift.id!r}")
    if [v.stop_id for v in route.visits] != [s.id for s in stops]:
        problems.append(
            f"visits {[v.stop_id for v in route.visits]} do not match stops {[s.id for s in stops]}"
        )
    if shift.max_visits is not None and len(stops) > shift.max_visits:
        problems.append(f"{len(stops)} visits exceed max_visits {shift.max_visits}")
    if shift.capacity is not None and sum(s.demand for s in stops) > shift.capacity:
        problems.append(f"total demand exceeds capacity {shift.capacity}")
    for stop in stops:
        if not stop.skills <= shift.skills:
            problems.append(f"stop {stop.id}: team lacks skills {sorted(stop.skills - shift.skills)}")
    if route.start < shift.start:
        problems.append(f"route starts at {route.start}, before the shift starts at {shift.start}")
    if route.end > shift.end:
        problems.append(f"route ends at {route.end}, after the shift ends at {shift.end}")
    return problems


def _check_visits(shift: Shift, stops: list[Stop], route: Route) -> list[str]:
    problems: list[str] = []
    for stop, visit in zip(stops, route.visits, strict=True):
        if not any(w.start <= visit.start <= w.end for w in stop.windows):
            problems.append(f"stop {stop.id}: service starts at {visit.start}, outside its windows")
        if visit.end - visit.start < stop.service:
            problems.append(f"stop {stop.id}: service {visit.end - visit.start} min < {stop.service} min")
        if visit.start < visit.arrival:
            problems.append(f"stop {stop.id}: service starts at {visit.start} before arrival {visit.arrival}")
    return problems


def _check_gaps(shift: Shift, stops: list[Stop], route: Route, durations: Durations) -> list[str]:
    """Between consecutive places the drive must fit in one stretch not taken by a break."""
    locations = route_locations(shift, stops)
    leaves = [route.start, *(v.end for v in route.visits)]
    reaches = [*(v.start for v in route.visits), route.end]
    arrivals = [*(v.arrival for v in route.visits), route.end]
    names = ["office", *(s.id for s in stops), "office"]
    problems: list[str] = []
    for i, (leave, reach, arrival) in enumerate(zip(leaves, reaches, arrivals, strict=True)):
        travel = durations[locations[i]][locations[i + 1]]
        if _longest_free_stretch(leave, reach, route.breaks) < travel:
            problems.append(
                f"{names[i]} -> {names[i + 1]}: no {travel} min stretch free of breaks "
                f"between {leave} and {reach}"
            )
        if arrival < leave + travel:
            problems.append(f"{names[i]} -> {names[i + 1]}: arrival {arrival} earlier than possible")
    return problems


def _longest_free_stretch(begin: int, end: int, breaks: Sequence[PlannedBreak]) -> int:
    """Longest part of [begin, end] not covered by a break inside it."""
    longest, cursor = 0, begin
    for brk in sorted(breaks, key=lambda b: b.start):
        if begin <= brk.start and brk.end <= end:
            longest = max(longest, brk.start - cursor)
            cursor = max(cursor, brk.end)
    return max(longest, end - cursor)


def _check_breaks(shift: Shift, route: Route) -> list[str]:
    breaks = ordered_breaks(shift)
    planned = sorted(route.breaks, key=lambda b: b.start)
    if len(planned) != len(breaks):
        return [f"{len(planned)} breaks planned, shift has {len(breaks)}"]
    problems: list[str] = []
    for brk, plan in zip(breaks, planned, strict=True):
        if not brk.window.start <= plan.start <= brk.window.end:
            problems.append(f"break at {plan.start} starts outside its window {brk.window.start}-{brk.window.end}")
        if plan.end - plan.start < brk.duration:
            problems.append(f"break at {plan.start} lasts {plan.end - plan.start} min < {brk.duration} min")
        if plan.start < route.start or plan.end > shift.end:
            problems.append(f"break at {plan.start}-{plan.end} outside the shift")
        for visit in route.visits:
            if plan.start < visit.end and visit.start < plan.end:
                problems.append(f"break at {plan.start}-{plan.end} overlaps visit {visit.stop_id}")
    for first, second in pairwise(planned):
        if second.start < first.end:
            problems.append(f"breaks at {first.start} and {second.start} overlap")
    return problems
