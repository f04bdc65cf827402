"""A fast greedy first solution for large problems (OR-Tools' insertion heuristics are too slow
there with multi-window stops): stops in order of importance, each at its cheapest feasible
position. Feasibility is checked with :func:`routing.reasons.route_fits`; the result is only a
warm start, OR-Tools re-checks it against the full model.
"""

from __future__ import annotations

from routing.model import Problem, Shift, Stop
from routing.reasons import ShiftStart, route_fits, shift_start

POSITIONS_PER_SHIFT = 3  # cheapest insertion positions considered in each shift ...
MAX_CHECKS = 80  # ... and feasibility checks per stop over all shifts, cheapest first


def _can_serve(stop: Stop, shift: Shift, start: ShiftStart) -> bool:
    if not stop.skills <= shift.skills or (stop.pin is not None and stop.pin.shift_id != shift.id):
        return False
    return any(w.start <= shift.end and w.end >= start.time for w in stop.windows)


def _order_key(stop: Stop) -> tuple:
    """Required first, then higher priority, then the least flexible: needing more skills (fewer
    teams can serve it; otherwise plain visits fill the skilled teams' days first and the skilled
    visits are left out), then the shortest total window."""
    return (not stop.required, -stop.priority, -len(stop.skills), sum(w.end - w.start for w in stop.windows), stop.id)


def greedy_routes(problem: Problem) -> dict[str, list[str]]:
    """Shift id -> stop ids, built by cheapest feasible insertion (done stops excluded)."""
    costs = problem.arc_costs or problem.durations
    starts = {sh.id: shift_start(problem, sh) for sh in problem.shifts}
    routes: dict[str, list[Stop]] = {sh.id: [] for sh in problem.shifts}
    for stop in sorted((s for s in problem.stops if not s.done), key=_order_key):
        options = []
        for k, sh in enumerate(problem.shifts):
            st = starts[sh.id]
            if not _can_serve(stop, sh, st):
                continue
            route = routes[sh.id]
            locs = [st.location, *(s.location for s in route), sh.end_location]
            deltas = sorted((costs[a][stop.location] + costs[stop.location][b] - costs[a][b], k, i) for i, (a, b) in enumerate(zip(locs, locs[1:])))
            options += deltas[:POSITIONS_PER_SHIFT]
        options.sort()
        for _, k, i in options[:MAX_CHECKS]:
            sh = problem.shifts[k]
            seq = routes[sh.id][:i] + [stop] + routes[sh.id][i:]
            if route_fits(problem, sh, seq, starts[sh.id]):
                routes[sh.id] = seq
                break
    return {sid: [s.id for s in seq] for sid, seq in routes.items() if seq}
