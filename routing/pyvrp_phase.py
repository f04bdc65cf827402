"""First search phase with PyVRP (hybrid genetic search) for problems it can express exactly.

PyVRP is used only when the problem has no skills, breaks, max visits, pins or done stops and
every stop has a single window: then a shift is a PyVRP vehicle (shifts with the same start/end
location, hours and capacity share one vehicle type), a stop a client (optional ones with a prize
equal to the OR-Tools drop penalty), and the integer matrices are the same as OR-Tools', so a
feasible PyVRP solution is a valid warm start for the full model. Returns None when PyVRP finds
nothing feasible; the caller then searches with OR-Tools alone. PyVRP is a required dependency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

from routing.model import Problem, Shift

_MIN_RUNTIME = 0.05  # seconds; below this the phase is skipped


def supports(problem: Problem) -> bool:
    """Whether PyVRP can express ``problem`` exactly (see module doc)."""
    if not problem.stops or not problem.shifts:
        return False
    if any(sh.breaks or sh.max_visits is not None for sh in problem.shifts):
        return False
    return all(len(s.windows) == 1 and not s.skills and s.pin is None and not s.done for s in problem.stops)


def _vehicle_key(sh: Shift) -> tuple:
    return (sh.start_location, sh.end_location, sh.start, sh.end, sh.capacity)


def solve(problem: Problem, time_limit: float, seed: int, iterations: int | None) -> dict[str, list[str]] | None:
    """Routes (shift id -> stop ids) of PyVRP's best feasible solution, or None."""
    if time_limit < _MIN_RUNTIME:
        return None
    from routing.solver import drop_penalties  # the same penalties as the OR-Tools model

    model = pyvrp.Model()
    used = sorted({s.location for s in problem.stops} | {sh.start_location for sh in problem.shifts} | {sh.end_location for sh in problem.shifts})
    locs = {i: model.add_location(*_xy(problem, i)) for i in used}
    depots = {}
    for sh in problem.shifts:
        for i in (sh.start_location, sh.end_location):
            if i not in depots:
                depots[i] = model.add_depot(locs[i])
    groups: dict[tuple, list[Shift]] = {}
    for sh in problem.shifts:
        groups.setdefault(_vehicle_key(sh), []).append(sh)
    total_demand = sum(s.demand for s in problem.stops)
    for (start_loc, end_loc, start, end, capacity), shifts in groups.items():
        model.add_vehicle_type(
            num_available=len(shifts),
            capacity=total_demand if capacity is None else capacity,
            start_depot=depots[start_loc],
            end_depot=depots[end_loc],
            tw_early=start,
            tw_late=end,
        )
    penalties = drop_penalties(problem, problem.stops)
    for stop, prize in zip(problem.stops, penalties):
        w = stop.windows[0]
        model.add_client(
            locs[stop.location],
            delivery=stop.demand,
            service_duration=stop.service,
            tw_early=w.start,
            tw_late=w.end,
            prize=0 if stop.required else prize,
            required=stop.required,
        )
    _add_edges(model, problem, locs)
    criterion: StoppingCriterion = MaxRuntime(time_limit)
    if iterations is not None:
        criterion = MultipleCriteria([MaxIterations(iterations), criterion])
    result = model.solve(criterion, seed=seed, collect_stats=False, display=False)
    if not result.best.is_feasible():
        return None
    return _routes(problem, list(groups.values()), result.best)


def _xy(problem: Problem, index: int) -> tuple[float, float]:
    """Coordinates for PyVRP's geometric operators (0, 0 when the location has none)."""
    loc = problem.locations[index] if index < len(problem.locations) else None
    if loc is None or loc.index != index or loc.lat is None or loc.lon is None:
        return (0.0, 0.0)
    return (loc.lon, loc.lat)


def _add_edges(model: pyvrp.Model, problem: Problem, locs: Mapping[int, pyvrp.Location]) -> None:
    costs = problem.arc_costs or problem.durations
    dur = problem.durations
    for i, a in locs.items():
        for j, b in locs.items():
            model.add_edge(a, b, distance=costs[i][j], duration=dur[i][j])


def _routes(problem: Problem, groups: Sequence[list[Shift]], best: pyvrp.Solution) -> dict[str, list[str]]:
    free = [list(g) for g in groups]
    out: dict[str, list[str]] = {}
    for route in best.routes():
        shift = free[route.vehicle_type()].pop(0)
        out[shift.id] = [problem.stops[a.idx].id for a in route if a.is_client()]
    return out
