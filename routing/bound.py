"""An upper bound on how many stops any plan can serve: a per-day capacity relaxation by skill and
by time of day.

A plan's "share of servable visits" is only honest next to what could be served at all. Two
figures, both independent of any plan:

* ``servable``: stops that fit at least one shift on their own (skills, pin, windows, breaks,
  reachable from the office and back) - the visits not excluded by the reasons ``no_skill``,
  ``no_shift_overlap`` or ``unreachable``;
* ``upper``: the optimum of a linear relaxation. Each servable stop ``s`` is served at most once,
  on a day ``d`` where it fits alone (``x[s, d]`` in [0, 1], fractions allowed). No plan can serve
  more than this optimum, because every plan (its 0/1 ``x``) satisfies each constraint:

  1. *day x skill*: serving ``s`` takes at least ``service + in(s)``, ``in(s)`` the shortest drive
     into its location from any other place (another stop or a shift start; 0 when another stop
     shares the place): every visit is reached by a drive of its own (the arc into it), and a
     team's service, driving and breaks never overlap. Per day, the stops needing a skill set
     ``R`` (``R`` empty: all stops) are served by shifts holding ``R``, so their minutes fit in
     those shifts' working minutes (shift length minus breaks), and their count in the shifts'
     ``max_visits``.
  2. *time of day* (per day, skill set ``R`` and interval ``[a, b]`` of a grid of the day): let
     ``[lo, hi]`` be the hull of the minutes stop ``s``'s service can occupy that day (from its
     earliest window start, not before the day's first shift start, to its latest window end
     plus its service, not after the day's last shift end). When ``[lo, hi]`` lies inside
     ``[a, b]``, the service lies inside ``[a, b]`` whichever window is used. A shift ``h``
     offers inside ``[a, b]`` at most ``|[a, b] n [h.start, h.end]|`` minus, for each of its
     breaks, the least overlap the break can have with ``[a, b]`` over its allowed start times
     (the overlap is a trapezoid in the start time, so the least is at an end of the range).
     Hence the services of those stops fit in the sum of those minutes over the shifts holding
     ``R``. When ``a`` is at or before every shift start of the day, the drive into ``s`` also
     lies inside (it starts after the team's shift starts and ends by the service start), so
     ``in(s)`` is added; when ``b`` is at or after every shift end of the day, the drive out of
     ``s`` (to the next stop or the end of the shift, at least ``out(s)``) lies inside and is
     added instead. Each arc is counted once per constraint (into its head, or out of its tail).

  The time-of-day constraints tighten the bound where many stops want the same hours (mornings,
  short Fridays); when the windows are spread over the day they rarely bind, and the bound is
  then about ``servable`` - the gap to a plan is travel and window interplay the relaxation does
  not see.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, replace
from operator import itemgetter

from ortools.linear_solver import pywraplp

from routing.model import Problem, Shift, Stop
from routing.reasons import open_shift, shift_start
from routing.schedule import route_feasible

GRID = 30  # minutes: interval ends of the time-of-day constraints lie on this grid (and the day's ends)


@dataclass(frozen=True)
class Bound:
    servable: int  # stops that fit some shift alone
    upper: float  # optimum of the relaxation: no plan serves more stops


def _working_minutes(shift: Shift) -> int:
    return max(shift.end - shift.start - sum(b.duration for b in shift.breaks), 0)


def _minutes_inside(shift: Shift, a: int, b: int) -> int:
    """Working minutes ``shift`` can have inside ``[a, b]``: the overlap less each break's least overlap."""
    total = max(min(b, shift.end) - max(a, shift.start), 0)
    for br in shift.breaks:
        lo, hi = max(br.window.start, shift.start), min(br.window.end, shift.end - br.duration)
        if lo > hi:
            continue
        total -= min(max(min(t + br.duration, b) - max(t, a), 0) for t in (lo, hi))
    return max(total, 0)


def _overlaps(stop: Stop, shift: Shift) -> bool:
    return any(w.start <= shift.end and w.end >= shift.start for w in stop.windows)


def _column_minima(problem: Problem, sources: set[int]) -> list[int]:
    """For every location, the shortest drive into it from another source location."""
    big = 1 << 60
    mins = [big] * len(problem.durations)
    for j in sources:
        own = mins[j]  # the drive j -> j does not count
        mins = list(map(min, mins, problem.durations[j]))
        mins[j] = own
    return mins


def _row_minima(problem: Problem, targets: set[int], places: set[int]) -> dict[int, int]:
    """For every location in ``places``, the shortest drive out of it to another target location."""
    big = 1 << 60
    order = sorted(targets)
    pick = itemgetter(*order)
    out = {}
    for i in places:
        values = pick(problem.durations[i]) if len(order) > 1 else (problem.durations[i][order[0]],)
        k = bisect_left(order, i)
        if k < len(order) and order[k] == i:
            values = (*values[:k], *values[k + 1 :])
        out[i] = min(values, default=big)
    return out


def capacity_bound(problem: Problem, intervals: bool = True) -> Bound:
    """See the module doc. Done stops are not counted. ``intervals=False``: constraints 1 only."""
    stops = [s for s in problem.stops if not s.done]
    d = problem.durations
    done_only = replace(problem, stops=tuple(s for s in problem.stops if s.done))
    opened = {sh.id: open_shift(sh, shift_start(done_only, sh)) for sh in problem.shifts}
    days = sorted({sh.day for sh in problem.shifts})
    by_day = {day: [sh for sh in problem.shifts if sh.day == day] for day in days}
    # Shifts that differ only by id and team fit the same stops alone: check one of each kind.
    kinds: dict[int, dict[Shift, list[Shift]]] = {day: {} for day in days}
    for sh in problem.shifts:
        kinds[sh.day].setdefault(replace(opened[sh.id], id="", team=""), []).append(sh)
    fits: dict[str, list[int]] = {}
    for stop in stops:
        fits[stop.id] = []
        for day in days:
            if stop.pin is not None:
                candidates = [opened[sh.id] for sh in by_day[day] if sh.id == stop.pin.shift_id]
            else:
                candidates = list(kinds[day])
            if any(stop.skills <= sh.skills and _overlaps(stop, sh) and route_feasible(sh, [stop], d) for sh in candidates):
                fits[stop.id].append(day)
    servable = [s for s in stops if fits[s.id]]
    if not servable:
        return Bound(0, 0.0)
    here = Counter(s.location for s in stops)
    sources = {s.location for s in stops} | {sh.start_location for sh in problem.shifts}
    mins_in = _column_minima(problem, sources)
    big = 1 << 60

    def drive(m: int, s: Stop) -> int:  # 0 when another stop shares the place or there is no other place
        return 0 if here[s.location] > 1 or m >= big else m

    cost_in = {s.id: s.service + drive(mins_in[s.location], s) for s in servable}
    lp = pywraplp.Solver.CreateSolver("GLOP")
    x = {(s.id, day): lp.NumVar(0, 1, "") for s in servable for day in fits[s.id]}
    for stop in servable:
        lp.Add(sum(x[stop.id, day] for day in fits[stop.id]) <= 1)
    skill_sets: set[frozenset[str]] = {frozenset()} | {s.skills for s in servable if s.skills}
    for day in days:
        for needed in skill_sets:
            shifts = [sh for sh in by_day[day] if needed <= sh.skills]
            terms = [(s, x[s.id, day]) for s in servable if needed <= s.skills and (s.id, day) in x]
            if not terms:
                continue
            lp.Add(sum(cost_in[s.id] * v for s, v in terms) <= sum(_working_minutes(sh) for sh in shifts))
            if shifts and all(sh.max_visits is not None for sh in shifts):
                lp.Add(sum(v for _, v in terms) <= sum(sh.max_visits for sh in shifts))  # type: ignore[misc]
    if intervals:
        targets = {s.location for s in stops} | {sh.end_location for sh in problem.shifts}
        mins_out = _row_minima(problem, targets, {s.location for s in servable})
        cost_out = {s.id: s.service + drive(mins_out[s.location], s) for s in servable}
        _add_time_of_day(lp, x, servable, by_day, opened, skill_sets, cost_in, cost_out)
    lp.Maximize(sum(x.values()))
    if lp.Solve() != pywraplp.Solver.OPTIMAL:  # pragma: no cover - a bounded LP with a feasible 0
        return Bound(len(servable), float(len(servable)))
    return Bound(len(servable), lp.Objective().Value())


def _add_time_of_day(
    lp: pywraplp.Solver,
    x: dict[tuple[str, int], pywraplp.Variable],
    servable: list[Stop],
    by_day: dict[int, list[Shift]],
    opened: dict[str, Shift],
    skill_sets: set[frozenset[str]],
    cost_in: dict[str, int],
    cost_out: dict[str, int],
) -> None:
    """Constraints 2 of the module doc."""
    for day, shifts_of_day in by_day.items():
        open_day = [opened[sh.id] for sh in shifts_of_day]
        first, last = min(sh.start for sh in open_day), max(sh.end for sh in open_day)
        hull: dict[str, tuple[int, int]] = {}
        for s in servable:
            if (s.id, day) not in x:
                continue
            ws = [w for w in s.windows if w.end >= first and w.start <= last]
            if ws:
                hull[s.id] = (max(min(w.start for w in ws), first), min(max(w.end for w in ws) + s.service, last))
        grid = sorted({first, last} | set(range(first - first % GRID + GRID, last, GRID)))
        for needed in skill_sets:
            shifts = [sh for sh in open_day if needed <= sh.skills]
            mine = [(s, hull[s.id]) for s in servable if s.id in hull and needed <= s.skills]
            if not mine:
                continue
            for i, a in enumerate(grid):
                for b in grid[i + 1 :]:
                    if a == first and b == last:
                        continue  # constraint 1 of the day already
                    inside = [s for s, (lo, hi) in mine if a <= lo and hi <= b]
                    if not inside:
                        continue
                    cost = cost_in if a <= first else cost_out if b >= last else None
                    cap = sum(_minutes_inside(sh, a, b) for sh in shifts)
                    row = lp.Constraint(-lp.infinity(), cap)  # the natural API is slow on thousands of rows
                    for s in inside:
                        row.SetCoefficient(x[s.id, day], cost[s.id] if cost is not None else s.service)
