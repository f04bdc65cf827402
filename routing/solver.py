"""The planner core: ``solve(problem, params) -> Plan`` on OR-Tools routing.

Model (one routing model, every shift = one vehicle):

* one ``time`` dimension in absolute minutes over the whole horizon; a node's cumul is its service
  start; the transit i -> j is service(i) + travel(i, j); waiting is slack;
* a stop's windows: ``SetRange`` on the hull, ``RemoveInterval`` on the gaps between windows;
* a shift: start/end cumul ranges; its breaks are ``FixedDurationIntervalVar`` in their window,
  given to ``SetBreakIntervalsOfVehicle`` with the service times as node visit transits. That is
  the break rule of :mod:`routing.schedule`: a break lies between the end of one service and the
  start of the next (before leaving, on the way - the drive is preemptible - or on arrival), or
  before the departure / after the return; the drive must fit in the rest of that gap. OR-Tools'
  break constraint does not stop two breaks *off the route* (before the departure, after the
  return) from overlapping each other, so a disjunctive constraint over each vehicle's breaks is
  added; with it, a fixed order is feasible for OR-Tools exactly when ``schedule_route`` finds a
  schedule (checked on random cases with several breaks);
* skills and pins: the node's vehicle variable is restricted to the allowed vehicles
  (``SetAllowedVehiclesForIndex`` rejects every Python list in ortools 9.15's SWIG binding);
  pinned positions order the pinned stops of a shift among themselves (``AddNodePrecedence`` on
  a ``visits`` count dimension between every pair, so the order holds when one is dropped;
  free stops may go anywhere); the same dimension enforces max visits;
* a ``load`` dimension when stops have a demand (Solomon capacity);
* every stop is a disjunction: optional stops with a penalty growing with priority, required stops
  with a penalty larger than all optional penalties together, so the solver always has a plan;
* done stops (re-planning a day) are not nodes: the vehicle starts after them, where the team
  stands (see :mod:`routing.reasons`: recorded ``done_at`` times are history and the shift's
  start is "here, now"; without them the done stops are laid back to back from the shift start).

Search (``Strategy.AUTO``): when the problem has nothing PyVRP cannot express (see
:mod:`routing.pyvrp_phase`), PyVRP's hybrid genetic search runs first on 85 % of the time and
OR-Tools is warm-started from its routes (``ReadAssignmentFromRoutes``) to enforce the full model
and polish with guided local search. Otherwise, or with an explicit strategy, OR-Tools alone:
cheapest insertion then guided local search. Given ``initial_routes``, OR-Tools starts from them.
Large models (over 400 nodes) start from a greedy insertion (:mod:`routing.greedy`) instead:
OR-Tools' own insertion heuristics did not finish within a minute on 1,000 multi-window visits.
Large multi-day problems are solved day by day, then repaired over the whole horizon (see
:func:`_search_by_day` and :mod:`routing.improve`); when even a day's model is too large for
OR-Tools in its share of the time (thousands of visits), each day is split into sectors of the
city with their own groups of teams (:func:`_search_by_sector`; without coordinates, the
whole-horizon insertion and repair alone: :func:`_search_whole`). When OR-Tools finds no solution in time, the
warm start (PyVRP, greedy or the given routes) is kept, repaired and re-timed by the exact
schedule (status ``fallback``), so the work done is never thrown away.

Determinism: OR-Tools runs single-threaded, PyVRP is seeded by ``params.seed`` and the greedy and
repair steps are deterministic; with ``params.iterations`` set, the search phases stop on
iteration counts (PyVRP iterations, OR-Tools solution limit; on the day-by-day path each day's
time share becomes a safety cap only), so the same input and seed give the same plan as long as
``time_limit`` does not cut a phase short. With only a time limit the result can depend on
machine speed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing import pyvrp_phase
from routing.greedy import greedy_routes
from routing.improve import repair
from routing.model import (
    Break,
    DroppedStop,
    Plan,
    PlannedBreak,
    PlanStatus,
    Problem,
    ProblemError,
    Route,
    Shift,
    SolveParams,
    Stop,
    Strategy,
    TimeWindow,
    Visit,
)
from routing.reasons import ShiftStart, diagnose, done_schedule, done_stops, open_shift, shift_start
from routing.schedule import route_feasible, schedule_route

_FIRST_SOLUTION = {
    Strategy.AUTO: routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION,
    Strategy.PARALLEL_CHEAPEST_INSERTION: routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION,
    Strategy.LOCAL_CHEAPEST_INSERTION: routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION,
    Strategy.PATH_CHEAPEST_ARC: routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC,
}
_LARGE_MODEL_NODES = 400  # above this, AUTO starts from a greedy solution (see routing.greedy)
_PYVRP_SHARE = 0.85
_REPAIR_SHARE = 0.15  # of a day-by-day search's time, kept for the whole-horizon repair
# Above this many nodes in an average day's model, OR-Tools does not improve on its warm start
# within a day's share of the time (5,000 visits x 500 team-days): see _search_whole.
_LARGE_DAY_NODES = 800
_SECTOR_NODES = 250  # aimed nodes of a (day, sector) model in _search_by_sector
_SECTOR_REPAIR_SHARE = 0.3  # of _search_by_sector's time, kept for the whole-horizon repair


# --------------------------------------------------------------------------- validation


def validate(problem: Problem) -> None:
    """Raise :class:`ProblemError` naming the first malformed item of ``problem``."""
    size = len(problem.durations)
    _check_matrix("durations", problem.durations, size)
    if problem.arc_costs is not None:
        _check_matrix("arc_costs", problem.arc_costs, size)
    shift_ids: set[str] = set()
    for sh in problem.shifts:
        if sh.id in shift_ids:
            raise ProblemError(f"duplicate shift id {sh.id!r}")
        shift_ids.add(sh.id)
        _check_shift(sh, size)
    stop_ids: set[str] = set()
    for st in problem.stops:
        if st.id in stop_ids:
            raise ProblemError(f"duplicate stop id {st.id!r}")
        stop_ids.add(st.id)
        _check_stop(st, size, shift_ids)
    for sh in problem.shifts:
        _check_done(problem, sh)
        open_part = shift_start(problem, sh)
        if open_part.time > sh.end:
            raise ProblemError(f"shift {sh.id!r}: its done stops run past the shift end ({sh.end})")


def _check_done(problem: Problem, sh: Shift) -> None:
    done = done_stops(problem, sh)
    recorded = [s for s in done if s.done_at is not None]
    if recorded and len(recorded) != len(done):
        raise ProblemError(f"shift {sh.id!r}: give every done stop a done_at, or none")
    for s in recorded:
        if s.done_at > sh.start:  # type: ignore[operator]
            raise ProblemError(f"stop {s.id!r} is done at {s.done_at}, after shift {sh.id!r} (re)starts at {sh.start}: with done_at, the shift starts where the team stands now")


def _check_matrix(name: str, matrix: Sequence[Sequence[int]], size: int) -> None:
    for i, row in enumerate(matrix):
        if len(row) != size:
            raise ProblemError(f"{name} matrix is not square: row {i} has {len(row)} values, expected {size}")
        if any(v < 0 for v in row):
            raise ProblemError(f"{name} matrix row {i} has a negative value")


def _check_location(what: str, index: int, size: int) -> None:
    if not 0 <= index < size:
        raise ProblemError(f"{what}: location index {index} is outside the {size}x{size} matrix")


def _check_shift(sh: Shift, size: int) -> None:
    _check_location(f"shift {sh.id!r} start", sh.start_location, size)
    _check_location(f"shift {sh.id!r} end", sh.end_location, size)
    if sh.end < sh.start:
        raise ProblemError(f"shift {sh.id!r} ends ({sh.end}) before it starts ({sh.start})")
    if sh.max_visits is not None and sh.max_visits < 0:
        raise ProblemError(f"shift {sh.id!r} has a negative max_visits")
    if sh.capacity is not None and sh.capacity < 0:
        raise ProblemError(f"shift {sh.id!r} has a negative capacity")
    for b in sh.breaks:
        if b.duration < 0:
            raise ProblemError(f"shift {sh.id!r} has a break with a negative duration")
        if b.window.end < b.window.start:
            raise ProblemError(f"shift {sh.id!r} has a break window ending before it starts")
        if max(b.window.start, sh.start) > min(b.window.end, sh.end - b.duration):
            raise ProblemError(f"shift {sh.id!r} has a break that cannot be taken within the shift")


def _check_stop(st: Stop, size: int, shift_ids: set[str]) -> None:
    _check_location(f"stop {st.id!r}", st.location, size)
    if st.service < 0:
        raise ProblemError(f"stop {st.id!r} has a negative service time ({st.service})")
    if st.demand < 0:
        raise ProblemError(f"stop {st.id!r} has a negative demand")
    if not st.windows:
        raise ProblemError(f"stop {st.id!r} has no time window")
    for w in st.windows:
        if w.end < w.start:
            raise ProblemError(f"stop {st.id!r} has a window ending ({w.end}) before it starts ({w.start})")
    if st.pin is not None and st.pin.shift_id not in shift_ids:
        raise ProblemError(f"stop {st.id!r} is pinned to unknown shift {st.pin.shift_id!r}")
    if st.done and st.pin is None:
        raise ProblemError(f"stop {st.id!r} is done but not pinned to the shift that made it")
    if st.done_at is not None and not st.done:
        raise ProblemError(f"stop {st.id!r} has a done_at but is not done")


# --------------------------------------------------------------------------- penalties


def drop_penalties(problem: Problem, stops: Sequence[Stop]) -> list[int]:
    """Penalty for leaving out each stop.

    An optional stop costs ``base * priority`` where ``base`` exceeds any detour (twice the
    largest arc cost), so serving a stop always beats dropping it; a required stop costs more than
    all optional stops together, so it is only dropped when it cannot be served.
    """
    costs = problem.arc_costs or problem.durations
    base = 2 * max((max(row) for row in costs), default=0) + 1
    optional = sum(max(s.priority, 1) for s in stops if not s.required)
    required = base * (optional + len(stops) + 1)
    return [required if s.required else base * max(s.priority, 1) for s in stops]


# --------------------------------------------------------------------------- the OR-Tools model


class _Model:
    """The OR-Tools routing model of one problem (done stops excluded: see module doc)."""

    def __init__(self, problem: Problem, stops: Sequence[Stop]) -> None:
        self.problem = problem
        self.stops = list(stops)
        self.starts: list[ShiftStart] = [shift_start(problem, sh) for sh in problem.shifts]
        m, nv = len(self.stops), len(problem.shifts)
        self.node_loc = [s.location for s in self.stops]
        for sh, st in zip(problem.shifts, self.starts):
            self.node_loc += [st.location, sh.end_location]
        self.service = [s.service for s in self.stops] + [0] * (2 * nv)
        self.manager = pywrapcp.RoutingIndexManager(m + 2 * nv, nv, [m + 2 * v for v in range(nv)], [m + 2 * v + 1 for v in range(nv)])
        self.routing = pywrapcp.RoutingModel(self.manager)
        self.horizon = max(sh.end for sh in problem.shifts)
        self.break_vars: list[list[tuple[pywrapcp.IntervalVar, Break]]] = []
        self._arc_costs()
        self.time = self._time_dimension()
        self.visits = self._count_dimension()
        self._load_dimension()
        self._breaks()
        self._allowed_vehicles()
        self._disjunctions()

    def index(self, stop_pos: int) -> int:
        return self.manager.NodeToIndex(stop_pos)

    def _arc_costs(self) -> None:
        costs = self.problem.arc_costs or self.problem.durations
        loc = self.node_loc
        matrix = [[costs[a][b] for b in loc] for a in loc]
        self.routing.SetArcCostEvaluatorOfAllVehicles(self.routing.RegisterTransitMatrix(matrix))

    def _time_dimension(self) -> pywrapcp.RoutingDimension:
        dur, loc, svc = self.problem.durations, self.node_loc, self.service
        matrix = [[svc[i] + dur[a][b] for b in loc] for i, a in enumerate(loc)]
        transit = self.routing.RegisterTransitMatrix(matrix)
        self.routing.AddDimension(transit, self.horizon, self.horizon, False, "time")
        time = self.routing.GetDimensionOrDie("time")
        for i, stop in enumerate(self.stops):
            windows = _merged_windows(stop, self.problem.shifts)
            cumul = time.CumulVar(self.index(i))
            if not windows:
                self.routing.ActiveVar(self.index(i)).SetMax(0)
                continue
            cumul.SetRange(windows[0][0], windows[-1][1])
            for (_, a_end), (b_start, _) in zip(windows, windows[1:]):
                cumul.RemoveInterval(a_end + 1, b_start - 1)
        for v, (sh, st) in enumerate(zip(self.problem.shifts, self.starts)):
            time.CumulVar(self.routing.Start(v)).SetRange(st.time, sh.end)
            time.CumulVar(self.routing.End(v)).SetRange(st.time, sh.end)
        # Finalizers run in insertion order: finish each route as early as possible, then leave
        # the office as late as that allows (no waiting at the first stop).
        for v in range(len(self.problem.shifts)):
            self.routing.AddVariableMinimizedByFinalizer(time.CumulVar(self.routing.End(v)))
        for v in range(len(self.problem.shifts)):
            self.routing.AddVariableMaximizedByFinalizer(time.CumulVar(self.routing.Start(v)))
        return time

    def _count_dimension(self) -> pywrapcp.RoutingDimension | None:
        shifts = self.problem.shifts
        # (stop, pinned shift, pin position) of the stops pinned with a position
        ordered = [(s, s.pin.shift_id, s.pin.position) for s in self.stops if s.pin is not None and s.pin.position is not None]
        if not ordered and all(sh.max_visits is None for sh in shifts):
            return None
        ones = [1] * len(self.stops) + [0] * (2 * len(shifts))
        caps = [len(self.stops) if sh.max_visits is None else max(sh.max_visits - st.visits, 0) for sh, st in zip(shifts, self.starts)]
        transit = self.routing.RegisterUnaryTransitVector(ones)
        self.routing.AddDimensionWithVehicleCapacity(transit, 0, caps, True, "visits")
        visits = self.routing.GetDimensionOrDie("visits")
        pos = {s.id: i for i, s in enumerate(self.stops)}
        by_shift: dict[str, list[tuple[int, Stop]]] = {}  # shift id -> (pin position, stop)
        for s, shift_id, position in ordered:
            by_shift.setdefault(shift_id, []).append((position, s))
        for group in by_shift.values():  # every pair: the order holds even when a stop is dropped
            group.sort(key=lambda ps: ps[0])
            for i, (a_pos, a) in enumerate(group):
                for b_pos, b in group[i + 1 :]:
                    if b_pos > a_pos:
                        visits.AddNodePrecedence(self.index(pos[a.id]), self.index(pos[b.id]), 1)
        return visits

    def _load_dimension(self) -> None:
        if all(s.demand == 0 for s in self.stops):
            return
        shifts = self.problem.shifts
        demand = [s.demand for s in self.stops] + [0] * (2 * len(shifts))
        total = sum(demand)
        caps = [total if sh.capacity is None else max(sh.capacity - st.load, 0) for sh, st in zip(shifts, self.starts)]
        transit = self.routing.RegisterUnaryTransitVector(demand)
        self.routing.AddDimensionWithVehicleCapacity(transit, 0, caps, True, "load")

    def _breaks(self) -> None:
        solver = self.routing.solver()
        visit_transits = [self.service[self.manager.IndexToNode(i)] for i in range(self.routing.Size())]
        for v, (sh, st) in enumerate(zip(self.problem.shifts, self.starts)):
            intervals = []
            for k, b in enumerate(st.breaks):
                lo = max(b.window.start, st.time)
                hi = min(b.window.end, sh.end - b.duration)
                if lo > hi:  # pragma: no cover - shift_start keeps only breaks that still fit
                    continue
                intervals.append((solver.FixedDurationIntervalVar(lo, hi, b.duration, False, f"break {v} {k}"), b))
            self.break_vars.append(intervals)
            if intervals:
                ivs = [iv for iv, _ in intervals]
                self.time.SetBreakIntervalsOfVehicle(ivs, v, visit_transits)
                if len(ivs) > 1:  # the break constraint lets breaks off the route overlap each other
                    solver.Add(solver.DisjunctiveConstraint(ivs, f"breaks {v}"))

    def _allowed_vehicles(self) -> None:
        shifts = self.problem.shifts
        for i, stop in enumerate(self.stops):
            allowed = [v for v, sh in enumerate(shifts) if stop.skills <= sh.skills and (stop.pin is None or stop.pin.shift_id == sh.id)]
            if not allowed:
                self.routing.ActiveVar(self.index(i)).SetMax(0)
            elif len(allowed) < len(shifts):
                # SetAllowedVehiclesForIndex's Python binding rejects lists in ortools 9.15:
                # restrict the vehicle variable instead (-1 = not visited).
                self.routing.VehicleVar(self.index(i)).SetValues([-1, *allowed])

    def _disjunctions(self) -> None:
        for i, penalty in enumerate(drop_penalties(self.problem, self.stops)):
            self.routing.AddDisjunction([self.index(i)], penalty)

    def search_parameters(self, params: SolveParams, time_limit: float) -> object:
        p = pywrapcp.DefaultRoutingSearchParameters()
        p.first_solution_strategy = _FIRST_SOLUTION[params.strategy]
        p.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        p.time_limit.FromMilliseconds(max(int(time_limit * 1000), 1))
        if params.iterations is not None:
            p.solution_limit = max(params.iterations, 1)
        return p

    def routes_to_indices(self, routes: Mapping[str, Sequence[str]]) -> list[list[int]]:
        """Warm-start routes as OR-Tools indices, one list per vehicle (unknown ids are skipped)."""
        pos = {s.id: i for i, s in enumerate(self.stops)}
        return [[self.index(pos[sid]) for sid in routes.get(sh.id, ()) if sid in pos] for sh in self.problem.shifts]


def _merged_windows(stop: Stop, shifts: Sequence[Shift]) -> list[tuple[int, int]]:
    """The stop's windows clipped to the shifts' span, sorted and merged."""
    lo = min(sh.start for sh in shifts)
    hi = max(sh.end for sh in shifts)
    clipped = sorted((max(w.start, lo), min(w.end, hi)) for w in stop.windows if w.end >= lo and w.start <= hi)
    merged: list[tuple[int, int]] = []
    for a, b in clipped:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


# --------------------------------------------------------------------------- solve


def solve(problem: Problem, params: SolveParams = SolveParams(), initial_routes: Mapping[str, Sequence[str]] | None = None) -> Plan:
    """Plan ``problem``: always a plan, with the stops that could not be served dropped with a reason.

    ``initial_routes`` (shift id -> stop ids) warm-starts the search; routes the model rejects
    are ignored (``plan.meta["warm_start"]`` is False then).
    """
    t0 = time.perf_counter()
    validate(problem)
    outcome = _search(problem, params, initial_routes, t0 + params.time_limit)
    return _plan(problem, outcome, t0)


@dataclass
class _Outcome:
    routes: dict[str, Route]  # open part of each used shift
    objective: int | None  # None: computed from the routes and the drops
    status: PlanStatus
    meta: dict


def _search(problem: Problem, params: SolveParams, initial_routes: Mapping[str, Sequence[str]] | None, deadline: float) -> _Outcome:
    open_stops = [s for s in problem.stops if not s.done]
    if not problem.shifts or not open_stops:
        return _Outcome({}, None, PlanStatus.OPTIMAL, {"phase": "trivial"})
    auto = params.strategy is Strategy.AUTO and initial_routes is None
    large = len(open_stops) + 2 * len(problem.shifts) > _LARGE_MODEL_NODES
    if auto and large and len({sh.day for sh in problem.shifts}) > 1 and not pyvrp_phase.supports(problem):
        if params.iterations is None and _day_nodes(problem) > _LARGE_DAY_NODES:
            return _search_by_sector(problem, params, deadline)
        return _search_by_day(problem, params, deadline)
    model = _Model(problem, open_stops)
    meta: dict = {}
    warm: Mapping[str, Sequence[str]] | None = dict(initial_routes) if initial_routes else None
    if auto and pyvrp_phase.supports(problem):
        budget = _PYVRP_SHARE * max(deadline - time.perf_counter(), 0.0)
        warm = pyvrp_phase.solve(problem, budget, params.seed, params.iterations)
        meta["pyvrp"] = warm is not None
    elif auto and large:
        warm = greedy_routes(problem)
        meta["greedy"] = True
    multi_day = len({sh.day for sh in problem.shifts}) > 1
    reserve = _REPAIR_SHARE * max(deadline - time.perf_counter(), 0.0) if auto and multi_day else 0.0
    search = model.search_parameters(params, max(deadline - reserve - time.perf_counter(), 0.0))
    model.routing.CloseModelWithParameters(search)
    solution = None
    if warm:
        start = model.routing.ReadAssignmentFromRoutes(model.routes_to_indices(warm), True)
        meta["warm_start"] = start is not None
        if start is not None:
            solution = model.routing.SolveFromAssignmentWithParameters(start, search)
    if solution is None:
        solution = model.routing.SolveWithParameters(search)
    if solution is None or not _serves_any(model, solution):
        # Nothing (or an empty plan: the time ran out in the first solution) from OR-Tools: keep
        # the warm start's work (PyVRP, greedy or the given routes), or a greedy plan.
        if not warm:
            warm = greedy_routes(problem)
            meta["greedy"] = True
    if warm:  # never worse than the warm start
        kept = retimed_routes(problem, warm)
        if solution is None or _objective(problem, kept) < solution.ObjectiveValue():
            meta["fallback"] = True
            return _Outcome(kept, None, PlanStatus.TIMEOUT_FALLBACK, meta)
    if solution is None:  # pragma: no cover - no stop at all can be served and no warm start
        return _Outcome({}, None, PlanStatus.TIMEOUT_FALLBACK, meta)
    optimal = model.routing.status() == routing_enums_pb2.RoutingSearchStatus.ROUTING_OPTIMAL
    status = PlanStatus.OPTIMAL if optimal else PlanStatus.FEASIBLE
    outcome = _Outcome(_extract(model, solution), solution.ObjectiveValue(), status, meta)
    return _repaired(problem, outcome, deadline) if reserve else outcome


def _repaired(problem: Problem, outcome: _Outcome, deadline: float, key: str = "repair") -> _Outcome:
    """``outcome`` with dropped stops put back by :func:`routing.improve.repair` where possible."""
    ids = {sid: [v.stop_id for v in r.visits] for sid, r in outcome.routes.items()}
    repaired, info = repair(problem, ids, deadline)
    changed = {sid for sid in set(ids) | set(repaired) if ids.get(sid) != repaired.get(sid)}
    outcome.meta[key] = {**info, "routes_changed": len(changed)}
    if not changed:
        return outcome
    routes = {sid: r for sid, r in outcome.routes.items() if sid not in changed}
    routes.update(retimed_routes(problem, {sid: repaired[sid] for sid in changed if sid in repaired}))
    return _Outcome(routes, None, PlanStatus.FEASIBLE, outcome.meta)


def _serves_any(model: _Model, solution: pywrapcp.Assignment) -> bool:
    return any(not model.routing.IsEnd(solution.Value(model.routing.NextVar(model.routing.Start(v)))) for v in range(len(model.problem.shifts)))


def _objective(problem: Problem, routes: Mapping[str, Route]) -> int:
    """The OR-Tools objective of open-part routes: arc costs plus the penalties of unserved stops."""
    costs = problem.arc_costs or problem.durations
    by_id = {s.id: s for s in problem.stops}
    total = 0
    for sh in problem.shifts:
        route = routes.get(sh.id)
        if route is None:
            continue
        places = [shift_start(problem, sh).location, *(by_id[v.stop_id].location for v in route.visits), sh.end_location]
        total += sum(costs[a][b] for a, b in zip(places, places[1:]))
    served = {v.stop_id for r in routes.values() for v in r.visits}
    open_stops = [s for s in problem.stops if not s.done]
    penalties = drop_penalties(problem, open_stops)
    return total + sum(p for s, p in zip(open_stops, penalties) if s.id not in served)


def retimed_routes(problem: Problem, routes: Mapping[str, Sequence[str]]) -> dict[str, Route]:
    """Valid open-part routes from proposed ones (shift id -> stop ids), timed by the exact schedule.

    Each route keeps its order; a stop is left out when it is unknown, done, already used,
    pinned elsewhere or out of pinned order, or when it makes the route infeasible.
    """
    by_id = {s.id: s for s in problem.stops}
    used: set[str] = set()
    out: dict[str, Route] = {}
    for sh in problem.shifts:
        shift = open_shift(sh, shift_start(problem, sh))
        kept: list[Stop] = []
        last_pin = -1
        for sid in routes.get(sh.id, ()):
            stop = by_id.get(sid)
            if stop is None or stop.done or sid in used or (stop.pin is not None and stop.pin.shift_id != sh.id):
                continue
            position = stop.pin.position if stop.pin is not None else None
            if position is not None and position <= last_pin:
                continue
            if route_feasible(shift, [*kept, stop], problem.durations):
                kept.append(stop)
                used.add(sid)
                last_pin = position if position is not None else last_pin
        if kept:
            route = schedule_route(shift, kept, problem.durations)
            assert route is not None
            out[sh.id] = route
    return out


def _search_by_day(problem: Problem, params: SolveParams, deadline: float) -> _Outcome:
    """Large multi-day problems: one model per day, in order, then a whole-horizon repair.

    A day's model gets the stops not yet served that have a window on that day, on a share of
    the time proportional to its number of candidate stops. Stops whose last chance this day is
    rank above every stop that can still go on a later day (their priority is raised by the
    largest priority), so flexible visits do not crowd out the day-bound ones. Then
    :func:`routing.improve.repair` puts dropped stops back into any day (directly, or in place of
    a visit that moves to another of its days, in chains of up to four moves), and the time left
    goes to :func:`_polish` (each day re-optimised from its routes, then a second repair).

    With ``params.iterations`` set, each day's search stops on its iteration count (the days'
    time shares become safety caps only), the repair is bounded by work counts and there is no
    time-filling polish, so the plan does not depend on machine speed.
    """
    began = time.perf_counter()
    days_deadline = began + (1 - _REPAIR_SHARE) * max(deadline - began, 0.0)
    days = sorted({sh.day for sh in problem.shifts})
    day_shifts = {d: tuple(sh for sh in problem.shifts if sh.day == d) for d in days}
    spans = {d: _span(day_shifts[d]) for d in days}
    boost = max(max(s.priority, 1) for s in problem.stops)
    served: set[str] = set()
    routes: dict[str, Route] = {}
    log: list[dict] = []
    for k, day in enumerate(days):
        shifts = day_shifts[day]
        later = [spans[d] for d in days[k + 1 :]]
        stops = tuple(s2 for s in problem.stops if s.id not in served and (s2 := _on_day(s, shifts, spans[day], later, boost)) is not None)
        sub = Problem(stops, shifts, problem.durations, problem.arc_costs, problem.locations)
        ahead = sum(_on_day(s, day_shifts[d], spans[d], (), boost) is not None for d in days[k + 1 :] for s in problem.stops if s.id not in served)
        left = max(days_deadline - time.perf_counter(), 0.0)
        budget = left if params.iterations is not None else left * len(stops) / max(len(stops) + ahead, 1)
        outcome = _search(sub, params, None, time.perf_counter() + budget)
        routes.update(outcome.routes)
        visited = {v.stop_id for r in outcome.routes.values() for v in r.visits}
        log.append({"day": day, "candidates": len(stops), "served": len(visited - served), **outcome.meta})
        served |= visited
    meta = {"phase": "by_day", "days": log}
    outcome = _repaired(problem, _Outcome(routes, None, PlanStatus.FEASIBLE, meta), deadline)
    if params.iterations is None:
        outcome = _polish(problem, params, outcome, day_shifts, deadline)
    return outcome


def _day_nodes(problem: Problem) -> float:
    """Nodes of an average day's model: its shifts' start and end, and the stops with a window that day."""
    days = {sh.day for sh in problem.shifts}
    per_day = sum(len({w.day for w in s.windows} & days) for s in problem.stops if not s.done)
    return (per_day + 2 * len(problem.shifts)) / len(days)


def _search_whole(problem: Problem, deadline: float) -> _Outcome:
    """Very large multi-day problems (thousands of visits, hundreds of team-days): the whole time
    goes to :func:`routing.improve.repair` from empty routes - each stop (most important and least
    flexible first) at its cheapest exact position over the whole horizon, then ejection chains.

    Measured on 5,000 visits x 500 team-days (``python -m routing.bench --mojokerto 5000 --teams
    50 --days 10``): day models of ~1,100 nodes where OR-Tools never improved on its greedy warm
    start within a day's share of the time (every day fell back to it), and OR-Tools models of
    five team-days warm-started from these routes added one visit in 60 s; the whole-horizon
    construction alone serves more (4,696 visits in its first pass, then the ejection chains).
    """
    ids, info = repair(problem, {}, deadline, total_budget=1 << 40)
    routes = retimed_routes(problem, ids)
    return _Outcome(routes, None, PlanStatus.FEASIBLE, {"phase": "whole_horizon", "repair": info})


def _sectors(problem: Problem, k: int) -> dict[str, int] | None:
    """Stop id -> sector 0..k-1: ``k`` angular sectors around the first shift's start with equal
    numbers of stops; None without coordinates."""
    locs = {loc.index: loc for loc in problem.locations}
    centre = locs.get(problem.shifts[0].start_location)
    if centre is None or centre.lat is None or centre.lon is None:
        return None
    angles = []
    for s in problem.stops:
        loc = locs.get(s.location)
        if loc is None or loc.lat is None or loc.lon is None:
            return None
        angles.append((math.atan2(loc.lat - centre.lat, loc.lon - centre.lon), s.id))
    angles.sort()
    return {sid: i * k // len(angles) for i, (_, sid) in enumerate(angles)}


def _search_by_sector(problem: Problem, params: SolveParams, deadline: float) -> _Outcome:
    """Very large multi-day problems (thousands of visits, hundreds of team-days), where even one
    day's model is too large for OR-Tools in its share of the time.

    Each day is split further: the stops into ``k`` angular sectors around the office (equal
    numbers of stops), the teams into ``k`` groups with the same mix of skills; a (day, sector)
    model holds that sector's stops not yet served and its group's shifts of the day (about
    :data:`_SECTOR_NODES` nodes), warm-started from a greedy insertion and improved by OR-Tools
    (nothing worse than the greedy routes). Teams stay in their part of the city, which keeps the
    drives short. Stops on their last day rank higher, as in :func:`_search_by_day`. Then the
    whole-horizon repair (:func:`routing.improve.repair`, any team, any day) puts dropped stops
    back where it can. Without coordinates: :func:`_search_whole`.
    """
    k = max(2, math.ceil(_day_nodes(problem) / _SECTOR_NODES))
    sector = _sectors(problem, k)
    if sector is None:
        return _search_whole(problem, deadline)
    began = time.perf_counter()
    models_deadline = began + (1 - _SECTOR_REPAIR_SHARE) * max(deadline - began, 0.0)
    teams = sorted({sh.team for sh in problem.shifts}, key=lambda t: (sorted(next(sh.skills for sh in problem.shifts if sh.team == t)), t))
    group = {t: i % k for i, t in enumerate(teams)}  # round robin: each group gets the same mix of skills
    days = sorted({sh.day for sh in problem.shifts})
    spans = {d: _span([sh for sh in problem.shifts if sh.day == d]) for d in days}
    boost = max(max(s.priority, 1) for s in problem.stops)
    served: set[str] = set()
    routes: dict[str, Route] = {}
    models = [(d, g) for d in days for g in range(k)]
    log = []
    for n, (day, g) in enumerate(models):
        shifts = tuple(sh for sh in problem.shifts if sh.day == day and group[sh.team] == g)
        if not shifts:
            continue
        later = [spans[d] for d in days if d > day]
        span = _span(shifts)
        stops = tuple(s2 for s in problem.stops if sector[s.id] == g and s.id not in served and (s2 := _on_day(s, shifts, span, later, boost)) is not None)
        if not stops:
            continue
        sub = Problem(stops, shifts, problem.durations, problem.arc_costs, problem.locations)
        left = max(models_deadline - time.perf_counter(), 0.0)
        outcome = _search(sub, params, greedy_routes(sub), time.perf_counter() + left / (len(models) - n))
        routes.update(outcome.routes)
        visited = {v.stop_id for r in outcome.routes.values() for v in r.visits}
        log.append(len(visited))
        served |= visited
    meta = {"phase": "by_sector", "sectors": k, "models": len(log), "served_by_models": sum(log)}
    return _repaired(problem, _Outcome(routes, None, PlanStatus.FEASIBLE, meta), deadline)


def _polish(problem: Problem, params: SolveParams, outcome: _Outcome, day_shifts: Mapping[int, tuple[Shift, ...]], deadline: float) -> _Outcome:
    """Spend the time left after the repair: re-optimise each day's routes with OR-Tools, warm-started
    from them, with the still-dropped stops that fit that day as optional nodes; then repair again.
    Each day's model returns nothing worse than its warm start."""
    routes = dict(outcome.routes)
    days = sorted(day_shifts)
    polished = 0
    for k, day in enumerate(days):
        left = (deadline - time.perf_counter()) * (1 - _REPAIR_SHARE)
        if left < 0.2 * (len(days) - k):
            break
        shifts = day_shifts[day]
        current = {sh.id: [v.stop_id for v in routes[sh.id].visits] for sh in shifts if sh.id in routes}
        if not current:
            continue
        served = {v.stop_id for r in routes.values() for v in r.visits}
        mine = {x for ids in current.values() for x in ids}
        span = _span(shifts)
        stops = tuple(s2 for s in problem.stops if (s.id in mine or s.id not in served) and (s2 := _on_day(s, shifts, span, (), 0)) is not None)
        sub = Problem(stops, shifts, problem.durations, problem.arc_costs, problem.locations)
        result = _search(sub, params, current, time.perf_counter() + left / (len(days) - k))
        for sh in shifts:
            routes.pop(sh.id, None)
        routes.update(result.routes)
        polished += 1
    outcome.meta["polished_days"] = polished
    again = _repaired(problem, _Outcome(routes, None, PlanStatus.FEASIBLE, outcome.meta), deadline, key="repair_again")
    return again


def _span(shifts: Sequence[Shift]) -> tuple[int, int]:
    return min(sh.start for sh in shifts), max(sh.end for sh in shifts)


def _usable(w: TimeWindow, service: int, span: tuple[int, int]) -> bool:
    """Whether a service can start in ``w`` and end within ``span``."""
    return w.end >= span[0] and max(w.start, span[0]) + service <= span[1]


def _on_day(stop: Stop, shifts: Sequence[Shift], span: tuple[int, int], later: Sequence[tuple[int, int]], boost: int) -> Stop | None:
    """``stop`` as seen by one day's model, or None when it cannot be served that day."""
    if stop.pin is not None and all(sh.id != stop.pin.shift_id for sh in shifts):
        return None
    if stop.done:
        return stop
    windows = tuple(w for w in stop.windows if _usable(w, stop.service, span))
    if not windows:
        return None
    last_chance = not any(_usable(w, stop.service, sp) for w in stop.windows for sp in later)
    return replace(stop, windows=windows, priority=max(stop.priority, 1) + (boost if last_chance else 0))


def _extract(model: _Model, solution: pywrapcp.Assignment) -> dict[str, Route]:
    """The open part of each used shift's route, read from the OR-Tools solution."""
    breaks_by_name = {}
    container = solution.IntervalVarContainer()
    for k in range(container.Size()):
        el = container.Element(k)
        if el.PerformedValue():
            breaks_by_name[el.Var().Name()] = el.StartValue()
    out = {}
    d = model.problem.durations
    for v, sh in enumerate(model.problem.shifts):
        idx = model.routing.Start(v)
        if model.routing.IsEnd(solution.Value(model.routing.NextVar(idx))):
            continue
        breaks = sorted(
            (PlannedBreak(breaks_by_name[iv.Name()], breaks_by_name[iv.Name()] + b.duration) for iv, b in model.break_vars[v] if iv.Name() in breaks_by_name),
            key=lambda b: b.start,
        )
        start = solution.Value(model.time.CumulVar(idx))
        depart, loc, travel, visits = start, model.starts[v].location, 0, []
        idx = solution.Value(model.routing.NextVar(idx))
        while not model.routing.IsEnd(idx):
            stop = model.stops[model.manager.IndexToNode(idx)]
            begin = solution.Value(model.time.CumulVar(idx))
            leg = d[loc][stop.location]
            arrival = min(begin, _arrival(depart, leg, breaks))
            visits.append(Visit(stop.id, arrival, begin, begin + stop.service, begin - arrival))
            travel += leg
            depart, loc = begin + stop.service, stop.location
            idx = solution.Value(model.routing.NextVar(idx))
        travel += d[loc][sh.end_location]
        end = solution.Value(model.time.CumulVar(idx))
        out[sh.id] = Route(sh.id, tuple(visits), tuple(breaks), start, end, travel, end - start)
    return out


def _arrival(depart: int, travel: int, breaks: Sequence[PlannedBreak]) -> int:
    """End of a drive started at ``depart``: breaks that begin before it ends interrupt it."""
    arrival = depart + travel
    for b in breaks:  # sorted by start
        if depart <= b.start < arrival:
            arrival += b.end - b.start
    return arrival


def _with_done(problem: Problem, shift: Shift, route: Route | None) -> Route | None:
    """Prefix the open route with the shift's done stops (or make a route of them alone).

    Done stops with ``done_at`` are history: reported at their recorded times, and the route's
    start, end, travel and duration are those of the re-planned part (from where the team stands).
    Without it they are laid back to back from the shift start and counted in the route.
    """
    sched = done_schedule(problem, shift)
    if not sched:
        return route
    d = problem.durations
    done = tuple(Visit(s.id, arr, begin, begin + s.service, 0) for s, arr, begin in sched)
    if sched[0][0].done_at is not None:
        if route is None:
            back = d[shift.start_location][shift.end_location]
            return Route(shift.id, done, (), shift.start, shift.start + back, back, back)
        return replace(route, visits=done + route.visits)
    legs, loc = 0, shift.start_location
    for s, _, _ in sched:
        legs += d[loc][s.location]
        loc = s.location
    if route is None:
        end = done[-1].end + d[loc][shift.end_location]
        return Route(shift.id, done, (), shift.start, end, legs + d[loc][shift.end_location], end - shift.start)
    return Route(shift.id, done + route.visits, route.breaks, shift.start, route.end, legs + route.travel, route.end - shift.start)


def _plan(problem: Problem, outcome: _Outcome, t0: float) -> Plan:
    """Assemble the plan: routes with done stops, dropped stops with their diagnosed reasons."""
    routes = []
    for sh in problem.shifts:
        r = _with_done(problem, sh, outcome.routes.get(sh.id))
        if r is not None:
            routes.append(r)
    served = {v.stop_id for r in routes for v in r.visits}
    dropped_ids = [s.id for s in problem.stops if s.id not in served]
    open_ids = {sid: [v.stop_id for v in r.visits] for sid, r in outcome.routes.items()}
    reasons = diagnose(problem, open_ids, dropped_ids)
    objective = outcome.objective
    if objective is None:
        penalties = drop_penalties(problem, problem.stops)
        objective = sum(r.travel for r in routes) + sum(p for s, p in zip(problem.stops, penalties) if s.id in reasons)
    dropped = tuple(DroppedStop(sid, reasons[sid]) for sid in dropped_ids)
    return Plan(tuple(routes), dropped, objective, outcome.status, time.perf_counter() - t0, outcome.meta)
