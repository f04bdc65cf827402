"""Benchmark the planner: ``python -m routing.bench [INSTANCE ...] --time-limit S --out FILE.json``.

Solomon mode (default): solves the VRPTW instances (all of them when none is named) through the
same :func:`routing.solve` the product uses, checks every solution independently in double
precision and prints per instance vehicles, distance, gap to the ``.sol`` routes, time and
feasibility, then the mean and worst gap. Data: ``--data DIR``, else env ``JEMPUT_SOLOMON_DIR``,
else ``shared/benchmarks/solomon`` beside the repository.

Mojokerto mode (``--mojokerto N --teams T --days D --seed S``): generates N home visits in Kota
Mojokerto (see :func:`mojokerto_problem`), solves them, checks every route independently
(:func:`routing.schedule.check_route`; every visit served at most once, every stop served or
dropped) and prints the invalid routes (exit status 1 if any), assigned/servable, an upper bound
on what any plan can serve (:mod:`routing.bound`), the drop reasons and the runtime.

Both modes print the machine (CPUs, platform, Python, OR-Tools and PyVRP versions) first.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

import numpy as np

from routing import solomon
from routing.bound import capacity_bound
from routing.model import MINUTES_PER_DAY, Break, DropReason, Location, Plan, Problem, Shift, SolveParams, Stop, TimeWindow
from routing.schedule import check_route
from routing.solver import solve

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/benchmarks/solomon"
_UNSERVABLE = {DropReason.NO_SKILL, DropReason.NO_SHIFT_OVERLAP, DropReason.UNREACHABLE}


def machine() -> str:
    """One line describing the machine and the solver versions, for benchmark output."""

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            return "?"

    return f"machine: cpus={os.cpu_count()} | {platform.platform()} | python {platform.python_version()} | ortools {version('ortools')} | pyvrp {version('pyvrp')}"


def data_dir(arg: str | None) -> Path:
    return Path(arg or os.environ.get("JEMPUT_SOLOMON_DIR") or DEFAULT_DATA)


def run_instance(path: Path, time_limit: float, seed: int = 0) -> dict:
    """Solve one Solomon instance and check it; the result row of the JSON output."""
    inst = solomon.parse_instance(path)
    plan = solve(solomon.to_problem(inst), SolveParams(time_limit=time_limit, seed=seed))
    routes = solomon.plan_routes(plan)
    distance = solomon.total_length(inst, routes)
    errors = solomon.check(inst, routes)
    row = {
        "instance": inst.name,
        "routes": routes,
        "vehicles": len(routes),
        "distance": round(distance, 4),
        "runtime_s": round(plan.runtime_s, 3),
        "feasible": not errors,
        "errors": errors,
    }
    sol = path.with_suffix(".sol")
    if sol.exists():
        best = solomon.total_length(inst, solomon.parse_solution(sol))
        row["reference"] = round(best, 4)
        row["gap"] = (distance - best) / best
    return row


def solomon_main(args: argparse.Namespace) -> int:
    data = data_dir(args.data)
    names = args.instances or sorted(p.stem for p in data.glob("*.txt"))
    rows = []
    print(machine())
    print(f"{'instance':<8} {'veh':>4} {'distance':>10} {'reference':>10} {'gap %':>7} {'time s':>7} feasible")
    for name in names:
        row = run_instance(data / f"{name}.txt", args.time_limit, args.seed)
        rows.append(row)
        gap = f"{100 * row['gap']:7.2f}" if "gap" in row else "      -"
        print(
            f"{row['instance']:<8} {row['vehicles']:>4} {row['distance']:>10.2f} {row.get('reference', 0):>10.2f} "
            f"{gap} {row['runtime_s']:>7.2f} {'yes' if row['feasible'] else 'NO ' + '; '.join(row['errors'][:3])}",
            flush=True,
        )
    gaps = [r["gap"] for r in rows if "gap" in r]
    summary = {
        "instances": len(rows),
        "feasible": sum(r["feasible"] for r in rows),
        "mean_gap": statistics.fmean(gaps) if gaps else None,
        "worst_gap": max(gaps) if gaps else None,
        "time_limit_s": args.time_limit,
    }
    if gaps:
        worst = max(rows, key=lambda r: r.get("gap", -1))
        print(f"feasible {summary['feasible']}/{len(rows)}  mean gap {100 * summary['mean_gap']:.2f} %  worst gap {100 * summary['worst_gap']:.2f} % ({worst['instance']})")
    if args.out:
        Path(args.out).write_text(json.dumps({"summary": summary, "results": rows}, indent=1))
    return 0 if summary["feasible"] == len(rows) else 1


# --------------------------------------------------------------------------- Kota Mojokerto

CENTRE = (-7.4722, 112.4336)
RADIUS_KM = 4.0
SPEED_KMH = 25.0
DETOUR = 1.3


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def travel_minutes(a: tuple[float, float], b: tuple[float, float]) -> int:
    """Road minutes: haversine x 1.3 detour at 25 km/h, rounded up."""
    return math.ceil(haversine_km(a, b) * DETOUR / SPEED_KMH * 60)


def travel_matrix(points: list[tuple[float, float]]) -> tuple[tuple[int, ...], ...]:
    """:func:`travel_minutes` between every pair of points, vectorised (a 5,001-point matrix takes
    a second or two instead of 40 s of Python loops); the same formula in double precision."""
    lat = np.radians(np.array([p[0] for p in points], dtype=np.float64))
    lon = np.radians(np.array([p[1] for p in points], dtype=np.float64))
    cos_lat = np.cos(lat)
    rows = []
    for i in range(len(points)):
        h = np.sin((lat - lat[i]) / 2) ** 2 + cos_lat[i] * cos_lat * np.sin((lon - lon[i]) / 2) ** 2
        km = 2 * 6371.0 * np.arcsin(np.sqrt(h))
        rows.append(tuple(np.ceil(km * DETOUR / SPEED_KMH * 60).astype(np.int64).tolist()))
    return tuple(rows)


def _point(rng: random.Random) -> tuple[float, float]:
    r = RADIUS_KM * math.sqrt(rng.random())
    angle = rng.uniform(0, 2 * math.pi)
    return (CENTRE[0] + r * math.sin(angle) / 111.0, CENTRE[1] + r * math.cos(angle) / (111.0 * math.cos(math.radians(CENTRE[0]))))


def mojokerto_problem(
    visits: int,
    teams: int,
    days: int,
    seed: int,
    elderly: tuple[int, int] = (20, 30),
    odgj: tuple[int, int] = (45, 90),
    odgj_share: float = 0.10,
) -> Problem:
    """A realistic planning week in Kota Mojokerto.

    Day 0 is a Monday; shifts 08:00-15:00, Friday 08:00-11:00 (no break), a 30-minute break
    starting between 11:45 and 12:30. Each family gives 1-3 availability windows of 1-3 h on
    different days (hours 08-15); service ``elderly`` minutes (default 20-30) for most, ``odgj``
    minutes (default 45-90) for ODGJ visits (a share ``odgj_share``, default 10 %, needing the skill
    "odgj" held by every third team). Homes lie within 4 km of the city centre;
    the office (location 0) is at the centre.
    """
    rng = random.Random(seed)
    points = [CENTRE] + [_point(rng) for _ in range(visits)]
    durations = travel_matrix(points)
    stops = []
    for i in range(1, visits + 1):
        is_odgj = rng.random() < odgj_share
        windows = []
        for day in sorted(rng.sample(range(days), k=min(days, rng.randint(1, 3)))):
            length = 60 * rng.randint(1, 3)
            start = rng.randrange(8 * 60, 15 * 60 - length + 1, 15)
            windows.append(TimeWindow(day * MINUTES_PER_DAY + start, day * MINUTES_PER_DAY + start + length))
        stops.append(
            Stop(
                id=f"k{i}",
                location=i,
                service=rng.randint(*odgj) if is_odgj else rng.randint(*elderly),
                windows=tuple(windows),
                skills=frozenset({"odgj"}) if is_odgj else frozenset(),
                priority=rng.choice((1, 1, 1, 2, 3)),
            )
        )
    shifts = []
    for day in range(days):
        base = day * MINUTES_PER_DAY
        friday = day % 7 == 4
        end = base + (11 if friday else 15) * 60
        breaks = () if friday else (Break(TimeWindow(base + 11 * 60 + 45, base + 12 * 60 + 30), 30),)
        for t in range(teams):
            shifts.append(
                Shift(
                    id=f"t{t}-d{day}",
                    team=f"t{t}",
                    day=day,
                    start_location=0,
                    end_location=0,
                    start=base + 8 * 60,
                    end=end,
                    breaks=breaks,
                    skills=frozenset({"odgj"}) if t % 3 == 0 else frozenset(),
                )
            )
    locations = tuple(Location(i, lat=p[0], lon=p[1]) for i, p in enumerate(points))
    return Problem(tuple(stops), tuple(shifts), durations, locations=locations)


def plan_problems(problem: Problem, plan: Plan) -> list[str]:
    """Every rule the plan breaks, checked route by route with :func:`check_route` (plus each
    stop served or dropped exactly once); empty when the plan is valid."""
    by_id = {s.id: s for s in problem.stops}
    shifts = {sh.id: sh for sh in problem.shifts}
    problems = []
    served = [v.stop_id for r in plan.routes for v in r.visits]
    for sid, n in Counter(served + [d.stop_id for d in plan.dropped]).items():
        if n > 1:
            problems.append(f"stop {sid} is served or dropped {n} times")
    missing = set(by_id) - set(served) - {d.stop_id for d in plan.dropped}
    problems += [f"stop {sid} is neither served nor dropped" for sid in sorted(missing)]
    for route in plan.routes:
        stops = [by_id[v.stop_id] for v in route.visits if v.stop_id in by_id]
        found = check_route(shifts[route.shift_id], stops, route, problem.durations)
        problems += [f"{route.shift_id}: {p}" for p in found]
    return problems


def invalid_routes(problem: Problem, plan: Plan) -> int:
    by_id = {s.id: s for s in problem.stops}
    shifts = {sh.id: sh for sh in problem.shifts}
    return sum(1 for r in plan.routes if check_route(shifts[r.shift_id], [by_id[v.stop_id] for v in r.visits], r, problem.durations))


def mojokerto_main(args: argparse.Namespace) -> int:
    print(machine())
    t0 = began = time.perf_counter()
    problem = mojokerto_problem(args.mojokerto, args.teams, args.days, args.seed, tuple(args.elderly), tuple(args.odgj), args.odgj_share)
    setup_s = time.perf_counter() - began
    plan = solve(problem, SolveParams(time_limit=args.time_limit, seed=args.seed))
    began = time.perf_counter()
    problems = plan_problems(problem, plan)
    invalid = invalid_routes(problem, plan)
    check_s = time.perf_counter() - began
    began = time.perf_counter()
    bound = capacity_bound(problem)
    bound_s = time.perf_counter() - began
    assigned = sum(len(r.visits) for r in plan.routes)
    reasons = Counter(d.reason for d in plan.dropped)
    servable = len(problem.stops) - sum(n for r, n in reasons.items() if r in _UNSERVABLE)
    share = assigned / servable if servable else 1.0
    print(
        f"Kota Mojokerto: {len(problem.stops)} visits, {args.teams} teams, {args.days} days, seed {args.seed}, "
        f"service {args.elderly[0]}-{args.elderly[1]} min (ODGJ {args.odgj[0]}-{args.odgj[1]} min, "
        f"{100 * args.odgj_share:.0f} % of visits)"
    )
    work = sum(sh.end - sh.start - sum(b.duration for b in sh.breaks) for sh in problem.shifts)
    print(f"load: service time is {100 * sum(s.service for s in problem.stops) / work:.0f} % of the teams' working time")
    print(f"assigned {assigned} / servable {servable} = {100 * share:.2f} %  (of all visits: {assigned}/{len(problem.stops)})")
    print(
        f"upper bound (day x skill x time-of-day capacity relaxation): at most {math.floor(bound.upper + 1e-6)} visits can be served "
        f"(each fitting alone: {bound.servable}); assigned = {100 * assigned / max(bound.upper, 1e-9):.2f} % of the bound"
    )
    print("dropped: " + (", ".join(f"{r.value} {n}" for r, n in sorted(reasons.items())) or "none"))
    print(f"routes used {sum(1 for r in plan.routes if r.visits)} / {len(problem.shifts)} shifts, travel {sum(r.travel for r in plan.routes)} min, status {plan.status.value}")
    print(f"check: {invalid} invalid routes of {len(plan.routes)}, {len(problems)} problems" + (": " + "; ".join(problems[:5]) if problems else ""))
    wall_s = time.perf_counter() - t0
    print(f"runtime {plan.runtime_s:.2f} s (limit {args.time_limit} s); set-up {setup_s:.2f} s, check {check_s:.2f} s, bound {bound_s:.2f} s; total wall {wall_s:.2f} s")
    if args.out:
        Path(args.out).write_text(
            json.dumps(
                {
                    "visits": len(problem.stops),
                    "teams": args.teams,
                    "days": args.days,
                    "seed": args.seed,
                    "assigned": assigned,
                    "servable": servable,
                    "upper_bound": bound.upper,
                    "share": share,
                    "runtime_s": plan.runtime_s,
                    "wall_s": wall_s,
                    "invalid_routes": invalid,
                    "problems": problems,
                    "dropped": {r.value: n for r, n in reasons.items()},
                    "elderly": args.elderly,
                    "odgj": args.odgj,
                    "odgj_share": args.odgj_share,
                    "machine": machine(),
                    "meta": plan.meta,
                },
                indent=1,
                default=str,
            )
        )
    return 1 if problems else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m routing.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("instances", nargs="*", help="Solomon instance names (default: all in the data directory)")
    p.add_argument("--time-limit", type=float, default=10.0, help="seconds per solve (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="write the results as JSON to this file")
    p.add_argument("--data", help="Solomon directory (default: $JEMPUT_SOLOMON_DIR or shared/benchmarks/solomon)")
    p.add_argument("--mojokerto", type=int, metavar="N", help="generate and solve N Kota Mojokerto visits instead")
    p.add_argument("--teams", type=int, default=20)
    p.add_argument("--days", type=int, default=5)
    p.add_argument("--elderly", type=int, nargs=2, default=(20, 30), metavar=("MIN", "MAX"), help="service minutes of an ordinary home visit (default 20 30)")
    p.add_argument("--odgj", type=int, nargs=2, default=(45, 90), metavar=("MIN", "MAX"), help="service minutes of an ODGJ visit (default 45 90)")
    p.add_argument("--odgj-share", type=float, default=0.10, metavar="SHARE", help="share of visits that are ODGJ visits needing the skill (default 0.10)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return mojokerto_main(args) if args.mojokerto else solomon_main(args)


if __name__ == "__main__":
    sys.exit(main())
