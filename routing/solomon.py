"""Solomon VRPTW instances: parsing, conversion to a :class:`Problem`, independent checking.

Conventions (the usual "real distance" one): Euclidean distances in double precision, travel time
equals distance, time windows on the service start, service time, vehicle capacity, a fleet of at
most the file's vehicle count, the depot's window bounds departure and return.

Conversion to the planner's integer model: distances are scaled by :data:`SCALE` (1000).
Travel times are rounded *up* (so a route feasible in integers is feasible in double precision)
and arc costs to the nearest integer; windows and service times are multiplied by the scale.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from routing.model import Location, Plan, Problem, Shift, Stop, TimeWindow

SCALE = 1000
_EPS = 1e-6


@dataclass(frozen=True)
class Customer:
    number: int  # as in the file; 0 is the depot
    x: float
    y: float
    demand: int
    ready: int
    due: int
    service: int


@dataclass(frozen=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    nodes: tuple[Customer, ...]  # nodes[0] is the depot; nodes[i].number == i

    def distance(self, a: int, b: int) -> float:
        p, q = self.nodes[a], self.nodes[b]
        return math.hypot(p.x - q.x, p.y - q.y)


def parse_instance(path: Path) -> Instance:
    """Read a Solomon ``NAME.txt`` file."""
    lines = [ln.split() for ln in path.read_text().splitlines()]
    name = lines[0][0]
    numeric = [row for row in lines if row and all(_is_number(tok) for tok in row)]
    vehicles, capacity = (int(v) for v in numeric[0])
    nodes = tuple(Customer(int(r[0]), float(r[1]), float(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in numeric[1:])
    if any(c.number != i for i, c in enumerate(nodes)):
        raise ValueError(f"{path}: customers are not numbered 0..n in order")
    return Instance(name, vehicles, capacity, nodes)


def parse_solution(path: Path) -> list[list[int]]:
    """Routes of a CVRPLIB ``NAME.sol`` file ("Route #k: c1 c2 ..." lines)."""
    routes = []
    for line in path.read_text().splitlines():
        m = re.match(r"\s*Route\s*#\d+\s*:(.*)", line)
        if m:
            routes.append([int(tok) for tok in m.group(1).split()])
    return routes


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def route_length(inst: Instance, route: Sequence[int]) -> float:
    """Double-precision length depot -> route -> depot."""
    path = [0, *route, 0]
    return sum(inst.distance(a, b) for a, b in zip(path, path[1:]))


def total_length(inst: Instance, routes: Sequence[Sequence[int]]) -> float:
    return sum(route_length(inst, r) for r in routes if r)


def check(inst: Instance, routes: Sequence[Sequence[int]]) -> list[str]:
    """Violations of ``routes`` in double precision (an empty list means feasible)."""
    errors = []
    used = [r for r in routes if r]
    if len(used) > inst.vehicles:
        errors.append(f"{len(used)} routes for {inst.vehicles} vehicles")
    seen = [c for r in used for c in r]
    customers = set(range(1, len(inst.nodes)))
    for c in sorted({c for c in seen if seen.count(c) > 1}):
        errors.append(f"customer {c} visited more than once")
    for c in sorted(customers - set(seen)):
        errors.append(f"customer {c} not visited")
    for c in sorted(set(seen) - customers):
        errors.append(f"unknown customer {c}")
    for k, r in enumerate(used, 1):
        errors += [f"route {k}: {e}" for e in _check_route(inst, [c for c in r if c in customers])]
    return errors


def _check_route(inst: Instance, route: Sequence[int]) -> list[str]:
    errors = []
    load = sum(inst.nodes[c].demand for c in route)
    if load > inst.capacity:
        errors.append(f"load {load} exceeds capacity {inst.capacity}")
    depot = inst.nodes[0]
    t, prev = float(depot.ready), 0
    for c in route:
        node = inst.nodes[c]
        t = max(t + inst.distance(prev, c), node.ready)
        if t > node.due + _EPS:
            errors.append(f"customer {c} served at {t:.3f} after its due time {node.due}")
        t += node.service
        prev = c
    t += inst.distance(prev, 0)
    if t > depot.due + _EPS:
        errors.append(f"back at the depot at {t:.3f} after {depot.due}")
    return errors


def to_problem(inst: Instance) -> Problem:
    """The planner problem for ``inst``: stop ids are the customer numbers, one shift per vehicle."""
    n = len(inst.nodes)
    durations = tuple(tuple(math.ceil(inst.distance(a, b) * SCALE - _EPS) for b in range(n)) for a in range(n))
    costs = tuple(tuple(round(inst.distance(a, b) * SCALE) for b in range(n)) for a in range(n))
    stops = tuple(
        Stop(
            id=str(c.number),
            location=c.number,
            service=c.service * SCALE,
            windows=(TimeWindow(c.ready * SCALE, c.due * SCALE),),
            required=True,
            demand=c.demand,
        )
        for c in inst.nodes[1:]
    )
    depot = inst.nodes[0]
    shifts = tuple(Shift(id=f"v{k}", team=f"v{k}", day=0, start_location=0, end_location=0, start=depot.ready * SCALE, end=depot.due * SCALE, capacity=inst.capacity) for k in range(inst.vehicles))
    locations = tuple(Location(c.number, lat=c.y, lon=c.x) for c in inst.nodes)
    return Problem(stops, shifts, durations, arc_costs=costs, locations=locations)


def plan_routes(plan: Plan) -> list[list[int]]:
    """Customer-number routes of a plan made from :func:`to_problem`."""
    return [[int(v.stop_id) for v in r.visits] for r in plan.routes if r.visits]
