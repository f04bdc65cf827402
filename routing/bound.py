"""An upper bound on how many stops any plan can serve: a per-day, per-skill capacity relaxation.

A plan's "share of servable visits" is only honest next to what could be served at all. Two
figures, both independent of any plan:

* ``servable``: stops that fit at least one shift on their own (skills, pin, windows, breaks,
  reachable from the office and back) - the visits not excluded by the reasons ``no_skill``,
  ``no_shift_overlap`` or ``unreachable``;
* ``upper``: the optimum of a linear relaxation. Each servable stop ``s`` is served at most once,
  on a day ``d`` where it fits alone (``x[s, d]`` in [0, 1], fractions allowed). Serving it takes
  at least ``service + the shortest drive into its location`` from any other place (another
  stop or a shift start): every visit is reached by a drive of its own. Per day, the stops
  needing a skill set ``R`` take no more than the working minutes (shift length minus breaks)
  of the shifts holding ``R`` (``R`` empty: all shifts), and no more visits than their
  ``max_visits`` allow. No plan can serve more than this optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.linear_solver import pywraplp

from routing.model import Problem, Shift, Stop
from routing.reasons import route_fits, shift_start


@dataclass(frozen=True)
class Bound:
    servable: int  # stops that fit some shift alone
    upper: float  # optimum of the relaxation: no plan serves more stops


def _working_minutes(shift: Shift) -> int:
    return max(shift.end - shift.start - sum(b.duration for b in shift.breaks), 0)


def _fits_alone(problem: Problem, stop: Stop, shift: Shift) -> bool:
    if not stop.skills <= shift.skills or (stop.pin is not None and stop.pin.shift_id != shift.id):
        return False
    if not any(w.start <= shift.end and w.end >= shift.start for w in stop.windows):
        return False
    return route_fits(problem, shift, [stop], shift_start(problem, shift))


def capacity_bound(problem: Problem) -> Bound:
    """See the module doc. Done stops are not counted."""
    stops = [s for s in problem.stops if not s.done]
    d = problem.durations
    days = sorted({sh.day for sh in problem.shifts})
    by_day = {day: [sh for sh in problem.shifts if sh.day == day] for day in days}
    fits: dict[str, list[int]] = {}
    for stop in stops:
        fits[stop.id] = [day for day in days if any(_fits_alone(problem, stop, sh) for sh in by_day[day])]
    servable = [s for s in stops if fits[s.id]]
    if not servable:
        return Bound(0, 0.0)
    sources = {s.location for s in stops} | {sh.start_location for sh in problem.shifts}
    cost = {}
    for stop in servable:
        others = [d[j][stop.location] for j in sources if j != stop.location]
        same_place = sum(1 for s in stops if s.location == stop.location) > 1
        cost[stop.id] = stop.service + (0 if same_place or not others else min(others))

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
            lp.Add(sum(cost[s.id] * v for s, v in terms) <= sum(_working_minutes(sh) for sh in shifts))
            if shifts and all(sh.max_visits is not None for sh in shifts):
                lp.Add(sum(v for _, v in terms) <= sum(sh.max_visits for sh in shifts))  # type: ignore[misc]
    lp.Maximize(sum(x.values()))
    if lp.Solve() != pywraplp.Solver.OPTIMAL:  # pragma: no cover - a bounded LP with a feasible 0
        return Bound(len(servable), float(len(servable)))
    return Bound(len(servable), lp.Objective().Value())
