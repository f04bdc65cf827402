"""Timing of one ordered route: the single source of truth for "is this route feasible".

``schedule_route`` gives the earliest-time schedule of a team-day that visits the given stops in
the given order, or ``None`` when no schedule exists. ``check_route`` independently verifies a
``Route`` whose times are given (e.g. a solver's plan, or a booked plan read back from storage).

Rules (shared with :mod:`routing.insertion` and the OR-Tools model of :mod:`routing.solver`):

* The team leaves ``shift.start_location`` at ``shift.start`` (or later) and must be back at
  ``shift.end_location`` by ``shift.end``; every break must also end by ``shift.end``.
* A visit's service starts at the earliest moment, at or after the team is ready, that lies in
  one of the stop's windows (windows bound the service *start*); the team waits on site otherwise.
* Breaks follow OR-Tools' ``SetBreakIntervalsOfVehicle`` with the service times as visit
  transits: a break may lie anywhere between the end of one service and the start of the next
  (or at the office before the first trip / after the return) - before setting off, **on the
  way** (the drive stops for the break and resumes; e.g. lunch at a warung between two homes),
  or on arrival while waiting - as long as the driving time still fits in the part of that gap
  not taken by breaks. A break never overlaps a service and never spans the departure from or
  the return to the office. It starts inside its window and lasts its duration. Several breaks
  may be taken in any order.
* Break placement is exact, not greedy: the schedule keeps, at every place of the route, the
  earliest time for each *set* of breaks already taken. Between two places it tries every set
  and order of further breaks (each as early as possible, which is optimal for a fixed order: a
  break taken at ``b`` on a gap left at ``t`` with ``d`` minutes of driving makes the team ready
  at ``max(b + duration, t + d + duration)``). All steps are monotone (leaving earlier never
  makes one ready later), so the earliest time per set dominates and a route is reported
  infeasible only if no placement of the breaks at all would work. The work per gap grows as
  ``3 ** breaks`` (one or two breaks a shift in practice).

``Visit.arrival`` is when the drive ends (breaks taken on the way included); ``Visit.waiting`` is
``start - arrival`` and includes a break taken on site before the service.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from routing.model import Break, PlannedBreak, Route, Shift, Stop, TimeWindow, Visit

INF = math.inf

Durations = Sequence[Sequence[int]]
Times = list[float]  # one time per set of breaks already taken (bit j: break j); INF: unreachable


def ordered_breaks(shift: Shift) -> tuple[Break, ...]:
    """The shift's breaks in a canonical order (by window start, then end): bit ``j`` of a set."""
    return tuple(sorted(shift.breaks, key=lambda b: (b.window.start, b.window.end, b.duration)))


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


class BreakPlan:
    """The gap arithmetic of one shift's breaks (see the module doc).

    A *set* of breaks is a bit mask over :func:`ordered_breaks`; ``full`` is the set of all.
    """

    def __init__(self, breaks: tuple[Break, ...]) -> None:
        self.breaks = breaks
        self.size = 1 << len(breaks)
        self.full = self.size - 1
        self.total = [sum(b.duration for j, b in enumerate(breaks) if m >> j & 1) for m in range(self.size)]
        self._bits = [[j for j in range(len(breaks)) if m >> j & 1] for m in range(self.size)]
        self._free = [[j for j in range(len(breaks)) if not m >> j & 1] for m in range(self.size)]
        # supersets of each set (itself excluded) and non-empty subsets, in increasing order
        self._supersets = [[x for x in range(m + 1, self.size) if x & m == m] for m in range(self.size)]
        self._subsets = [[x for x in range(1, m + 1) if x & m == x] for m in range(self.size)]

    def start(self, time: float) -> Times:
        """Times at the start of a route: nothing taken yet."""
        return [time] + [INF] * self.full

    def _taken_in_gap(self, t: float, s: int) -> dict[int, float]:
        """Leaving at ``t`` with set ``s`` taken: per larger set, the earliest end of its last break."""
        ends = {s: t}
        for m in self._supersets[s]:
            best = INF
            for j in self._bits[m & ~s]:
                before = ends.get(m ^ (1 << j), INF)
                if before == INF:
                    continue
                brk = self.breaks[j]
                begin = before if before > brk.window.start else brk.window.start
                if begin <= brk.window.end and begin + brk.duration < best:
                    best = begin + brk.duration
            if best < INF:
                ends[m] = best
        return ends

    def cross(self, leave: Times, travel: int) -> tuple[Times, list[int]]:
        """Earliest ready time at the next place per set, from the leave times at this place.

        Also returns, per set, the set held when leaving (for reconstruction; -1: unreachable).
        """
        ready = [INF] * self.size
        source = [-1] * self.size
        for s, t in enumerate(leave):
            if t == INF:
                continue
            if t + travel < ready[s]:
                ready[s], source[s] = t + travel, s
            if s == self.full:
                continue
            base = self.total[s]
            for m, last_end in self._taken_in_gap(t, s).items():
                if m == s:
                    continue
                e = max(last_end, t + travel + self.total[m] - base)
                if e < ready[m]:
                    ready[m], source[m] = e, s
        return ready, source

    def cross_back(self, ready_by: Times, travel: int) -> Times:
        """Latest leave time at this place per set such that the next place is reached ready by
        ``ready_by`` (per set taken on arrival); -INF when never."""
        out = [-INF] * self.size
        for m, limit in enumerate(ready_by):
            if limit == -INF:
                continue
            if limit - travel > out[m]:
                out[m] = limit - travel
            # first[x]: latest start of the first break when the breaks x are taken in this gap
            first = {0: limit}
            for x in self._subsets[m]:
                best = -INF
                for j in self._bits[x]:
                    after = first.get(x ^ (1 << j), -INF)
                    if after == -INF:
                        continue
                    brk = self.breaks[j]
                    begin = min(brk.window.end, after - brk.duration)
                    if begin >= brk.window.start and begin > best:
                        best = begin
                if best == -INF:
                    continue
                first[x] = best
                leave = min(best, limit - travel - self.total[x])
                if leave > out[m ^ x]:
                    out[m ^ x] = leave
        return out

    def placed(self, t: float, s: int, m: int) -> list[tuple[int, int]]:
        """(break index, start) of the breaks ``m - s`` taken as early as possible leaving at ``t``."""
        if m == s:
            return []
        ends = self._taken_in_gap(t, s)
        out: list[tuple[int, int]] = []
        while m != s:  # walk back: which break ended last in the best order
            for j in self._bits[m & ~s]:
                before = ends.get(m ^ (1 << j), INF)
                brk = self.breaks[j]
                begin = max(before, brk.window.start)
                if before < INF and begin <= brk.window.end and begin + brk.duration == ends[m]:
                    out.append((j, int(begin)))
                    m ^= 1 << j
                    break
            else:  # pragma: no cover - ends[] was built by the same rule
                raise AssertionError("break reconstruction failed")
        out.reverse()
        return out


@lru_cache(maxsize=256)
def break_plan(breaks: tuple[Break, ...]) -> BreakPlan:
    return BreakPlan(breaks)


def shift_breaks(shift: Shift) -> BreakPlan:
    return break_plan(ordered_breaks(shift))


def arrival_after(leave: float, travel: int, placed: Sequence[tuple[int, int]], breaks: Sequence[Break]) -> float:
    """When a drive of ``travel`` minutes started at ``leave`` ends, with the given breaks on the way."""
    arrival = leave + travel
    for j, begin in sorted(placed, key=lambda p: p[1]):
        if begin < arrival:
            arrival += breaks[j].duration
    return arrival


def fits_shift(shift: Shift, stops: Sequence[Stop]) -> bool:
    """Skills, max_visits and capacity: the checks that do not depend on times."""
    if shift.max_visits is not None and len(stops) > shift.max_visits:
        return False
    if shift.capacity is not None and sum(s.demand for s in stops) > shift.capacity:
        return False
    return all(s.skills <= shift.skills for s in stops)


def route_locations(shift: Shift, stops: Sequence[Stop]) -> list[int]:
    return [shift.start_location, *(s.location for s in stops), shift.end_location]


def _service_ends(stop: Stop, ready: Times) -> Times:
    windows = ordered_windows(stop)
    return [earliest_start(windows, t) + stop.service for t in ready]


def route_feasible(shift: Shift, stops_in_order: Sequence[Stop], durations: Durations) -> bool:
    """``schedule_route(...) is not None``, without building the schedule."""
    stops = list(stops_in_order)
    if not fits_shift(shift, stops):
        return False
    plan = shift_breaks(shift)
    locations = route_locations(shift, stops)
    leave = plan.start(shift.start)
    ready = leave
    for i in range(1, len(locations)):
        ready, _ = plan.cross(leave, durations[locations[i - 1]][locations[i]])
        if i <= len(stops):
            leave = _service_ends(stops[i - 1], ready)
            if min(leave) == INF:
                return False
    return ready[plan.full] <= shift.end


@dataclass(frozen=True)
class _Leg:
    """Forward states of one leg: from the previous place to the next one (stop or office)."""

    leave: Times  # per set: earliest time the previous place can be left
    ready: Times  # per set: earliest time ready at the next place
    source: list[int]  # per set at the next place: the set held when leaving


def schedule_route(shift: Shift, stops_in_order: Sequence[Stop], durations: Durations) -> Route | None:
    """Earliest-time schedule of ``stops_in_order`` on ``shift``, or ``None`` if infeasible."""
    stops = list(stops_in_order)
    if not fits_shift(shift, stops):
        return None
    plan = shift_breaks(shift)
    locations = route_locations(shift, stops)
    legs: list[_Leg] = []
    leave = plan.start(shift.start)
    for i in range(1, len(locations)):
        ready, source = plan.cross(leave, durations[locations[i - 1]][locations[i]])
        legs.append(_Leg(leave, ready, source))
        if i <= len(stops):
            leave = _service_ends(stops[i - 1], ready)
    if legs[-1].ready[plan.full] > shift.end:
        return None
    return _reconstruct(shift, stops, plan, legs, locations, durations)


def _reconstruct(shift: Shift, stops: list[Stop], plan: BreakPlan, legs: list[_Leg], locations: list[int], durations: Durations) -> Route:
    planned: list[PlannedBreak] = []
    visits: list[Visit] = []
    m = plan.full
    end = 0
    for i in range(len(legs), 0, -1):  # leg i ends at locations[i]
        leg = legs[i - 1]
        s = leg.source[m]
        t = leg.leave[s]
        placed = plan.placed(t, s, m)
        planned += [PlannedBreak(begin, begin + plan.breaks[j].duration) for j, begin in placed]
        arrival = int(arrival_after(t, durations[locations[i - 1]][locations[i]], placed, plan.breaks))
        if i <= len(stops):
            stop = stops[i - 1]
            start = int(earliest_start(ordered_windows(stop), leg.ready[m]))
            visits.append(Visit(stop.id, arrival, start, start + stop.service, start - arrival))
        else:
            end = arrival
        m = s
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


# --------------------------------------------------------------------------- independent check


def check_route(shift: Shift, stops_in_order: Sequence[Stop], route: Route, durations: Durations) -> list[str]:
    """Every rule ``route`` breaks, as human-readable sentences; empty when it is valid.

    Independent of :func:`schedule_route`: it only checks the given times, so it can audit a
    solver's plan or a booked plan read back from storage. Checked: visits match the stops and
    start inside one of their windows, last their service, start at or after arrival; between
    consecutive places (leaving at the end of a service or at ``route.start``) the drive fits
    in the time up to the arrival not taken by breaks; the route lies within the shift; every
    shift break is planned once (in any order), starts inside its window, lasts its duration,
    lies within the shift, overlaps no visit or other break and does not span the departure
    from or the return to the office; skills, max_visits and capacity.
    """
    stops = list(stops_in_order)
    problems = _check_static(shift, stops, route)
    if len(route.visits) != len(stops):
        return problems
    problems += _check_visits(stops, route)
    problems += _check_gaps(shift, stops, route, durations)
    problems += _check_breaks(shift, route)
    return problems


def _check_static(shift: Shift, stops: list[Stop], route: Route) -> list[str]:
    problems: list[str] = []
    if route.shift_id != shift.id:
        problems.append(f"route is for shift {route.shift_id!r}, not {shift.id!r}")
    if [v.stop_id for v in route.visits] != [s.id for s in stops]:
        problems.append(f"visits {[v.stop_id for v in route.visits]} do not match stops {[s.id for s in stops]}")
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


def _check_visits(stops: list[Stop], route: Route) -> list[str]:
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
    """Between consecutive places the drive must fit in the time before arrival not taken by breaks."""
    locations = route_locations(shift, stops)
    leaves = [route.start, *(v.end for v in route.visits)]
    arrivals = [*(v.arrival for v in route.visits), route.end]
    names = ["office", *(s.id for s in stops), "office"]
    problems: list[str] = []
    for i, (leave, arrival) in enumerate(zip(leaves, arrivals, strict=True)):
        travel = durations[locations[i]][locations[i + 1]]
        free = _free_time(leave, arrival, route.breaks)
        if free < travel:
            problems.append(f"{names[i]} -> {names[i + 1]}: {travel} min drive, only {free} min free of breaks between {leave} and arrival {arrival}")
    return problems


def _free_time(begin: int, end: int, breaks: Sequence[PlannedBreak]) -> int:
    """Minutes of [begin, end] not covered by breaks (the breaks do not overlap each other)."""
    covered = sum(max(0, min(b.end, end) - max(b.start, begin)) for b in breaks)
    return max(0, end - begin - covered)


def _check_breaks(shift: Shift, route: Route) -> list[str]:
    breaks = ordered_breaks(shift)
    planned = sorted(route.breaks, key=lambda b: b.start)
    if len(planned) != len(breaks):
        return [f"{len(planned)} breaks planned, shift has {len(breaks)}"]
    problems = _match_breaks(breaks, planned)
    for plan in planned:
        if plan.start < shift.start or plan.end > shift.end:
            problems.append(f"break at {plan.start}-{plan.end} outside the shift")
        for visit in route.visits:
            if plan.start < visit.end and visit.start < plan.end:
                problems.append(f"break at {plan.start}-{plan.end} overlaps visit {visit.stop_id}")
        for moment, what in ((route.start, "departure from"), (route.end, "return to")):
            if plan.start < moment < plan.end:
                problems.append(f"break at {plan.start}-{plan.end} spans the {what} the office at {moment}")
    for first, second in pairwise(planned):
        if second.start < first.end:
            problems.append(f"breaks at {first.start} and {second.start} overlap")
    return problems


def _match_breaks(breaks: tuple[Break, ...], planned: list[PlannedBreak]) -> list[str]:
    """Problems of the best one-to-one matching of planned breaks to the shift's breaks."""

    def problems_of(order: Sequence[int]) -> list[str]:
        out = []
        for j, plan in zip(order, planned, strict=True):
            brk = breaks[j]
            if not brk.window.start <= plan.start <= brk.window.end:
                out.append(f"break at {plan.start} starts outside its window {brk.window.start}-{brk.window.end}")
            if plan.end - plan.start < brk.duration:
                out.append(f"break at {plan.start} lasts {plan.end - plan.start} min < {brk.duration} min")
        return out

    first = problems_of(range(len(breaks)))
    if not first or len(breaks) > 6:
        return first
    from itertools import permutations

    for order in permutations(range(len(breaks))):
        if not problems_of(order):
            return []
    return first


EXACT_ORDER_MAX_STOPS = 15  # a team-day holds at most about this many visits


def find_feasible_order(shift: Shift, stops: Sequence[Stop], durations: Durations, *, max_stops: int = EXACT_ORDER_MAX_STOPS, max_labels: int = 300_000) -> list[Stop] | None:
    """An order of ``stops`` that :func:`schedule_route` accepts, found by exact search, or None
    when there is none (or more than ``max_stops`` stops, or the search passes ``max_labels``).

    Dynamic programming over (set of stops visited, last stop): each label keeps the earliest time
    the last stop can be left *per set of breaks taken* (the vector :func:`schedule_route` keeps),
    and only labels no other label of the same state beats in every component survive. All steps
    are monotone, so a dominated label can never complete where its dominator fails: when a
    feasible order exists this finds one. The answer is re-checked with :func:`schedule_route`.
    """
    stops = list(stops)
    n = len(stops)
    if n == 0:
        return []
    if n > max_stops or not fits_shift(shift, stops):
        return None
    plan = shift_breaks(shift)
    windows = [ordered_windows(s) for s in stops]
    last_start = [max(w.end for w in ws) if ws else -INF for ws in windows]
    full_mask = (1 << n) - 1

    def leave_from(ready: Times, i: int) -> Times:
        return [earliest_start(windows[i], t) + stops[i].service for t in ready]

    def dominated(vector: Times, others: Sequence[tuple[Times, object]]) -> bool:
        return any(all(o <= v for o, v in zip(other, vector)) for other, _ in others)

    # labels[(mask, last)] = [(leave vector, parent label or None), ...]
    Label = tuple[Times, tuple[int, int, int] | None]  # (vector, parent) with parent = (mask, last, index) or None
    layer: dict[tuple[int, int], list[Label]] = {}
    start = plan.start(shift.start)
    for i, stop in enumerate(stops):
        ready, _ = plan.cross(start, durations[shift.start_location][stop.location])
        leave = leave_from(ready, i)
        if min(leave) < INF:
            layer[(1 << i, i)] = [(leave, None)]
    history: list[dict[tuple[int, int], list[Label]]] = [layer]
    labels = len(layer)
    for _size in range(1, n):
        nxt: dict[tuple[int, int], list[Label]] = {}
        for (mask, last), entries in layer.items():
            for k, (vector, _parent) in enumerate(entries):
                earliest = min(vector)
                if any(not mask >> j & 1 and last_start[j] < earliest for j in range(n)):
                    continue  # some stop can no longer be reached in time
                for j in range(n):
                    if mask >> j & 1:
                        continue
                    ready, _ = plan.cross(vector, durations[stops[last].location][stops[j].location])
                    leave = leave_from(ready, j)
                    if min(leave) == INF:
                        continue
                    key = (mask | 1 << j, j)
                    bucket = nxt.setdefault(key, [])
                    if dominated(leave, bucket):
                        continue
                    bucket[:] = [e for e in bucket if not all(v <= o for v, o in zip(leave, e[0]))]
                    bucket.append((leave, (mask, last, k)))
                    labels += 1
                    if labels > max_labels:
                        return None
        if not nxt:
            return None
        history.append(nxt)
        layer = nxt
    for (mask, last), entries in layer.items():
        if mask != full_mask:
            continue
        for k, (vector, _parent) in enumerate(entries):
            ready, _ = plan.cross(vector, durations[stops[last].location][shift.end_location])
            if ready[plan.full] <= shift.end:
                order = _unwind(history, (mask, last, k))
                chosen = [stops[i] for i in order]
                if schedule_route(shift, chosen, durations) is not None:
                    return chosen
    return None


def _unwind(history: list, label: tuple[int, int, int]) -> list[int]:
    order: list[int] = []
    size = len(history) - 1
    current: tuple[int, int, int] | None = label
    while current is not None:
        mask, last, k = current
        order.append(last)
        current = history[size][(mask, last)][k][1]
        size -= 1
    return order[::-1]
