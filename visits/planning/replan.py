"""Plans stay current: re-optimise one team-day after its bookings change.

``replan_team_day`` runs three separate steps so that no transaction is open while the solver works:

1. :func:`load_team_day` — a short read session: the team-day's confirmed bookings become
   *required* stops pinned to its shift, each with its booked window as its only window, in the
   current plan's order (the warm start); the TeamDay.version read is remembered. Once the team
   is out (an outcome or a "running late" report, ``visits.field``), only the rest of the day is
   planned, from where the team stands (``visits.planning.rest_of_day``), with a shorter solver
   time (``REST_OF_DAY_TIME_LIMIT``).
2. :func:`solve_team_day` — no database: ``routing.solve`` (normally in a worker thread), then
   :func:`accept` checks the result: no booked stop may be dropped and the route must pass
   ``routing.schedule.check_route`` (re-timed with ``schedule_route`` when only the solver's
   times are off). Anything else keeps the previous plan: a confirmed window is never broken.
3. :func:`write_plan` — a short write transaction, guarded by TeamDay.version (row locked): if the
   version moved since step 1 the result is discarded (a newer re-plan follows); otherwise the
   current plans become ``superseded`` (kept) and a new ``current`` plan with its stops is written.

:class:`ReplanQueue` runs these in a small thread pool, one pending job per team-day (coalesced);
step 2 goes to a separate process (:class:`ProcessSolver`), so a solve never holds the web
process's interpreter lock while requests wait. The application configures the module's default
queue with :func:`configure`; ``schedule_replan`` and ``wait_idle`` use it. Failures are logged
without personal data (ids and error types only) and leave the previous plan in place.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

import routing
from routing.schedule import check_route, schedule_route
from visits.booking.slots import build_world
from visits.models import Plan, PlanStatus, PlanStop, TeamDay
from visits.planning.rest_of_day import REST_OF_DAY_TIME_LIMIT, applies, rest_of_day, standing
from visits.planning.translate import Horizon, pinned_problem, shift_id
from visits.planning.travel import TravelService
from visits.transactions import transaction
from visits.types import utcnow

log = logging.getLogger("jemput.replan")

_MAX_INT32 = 2**31 - 1


class Outcome(StrEnum):
    WRITTEN = "written"  # a new current plan was written
    STALE = "stale"  # the team-day changed while solving: result discarded, a newer re-plan follows
    KEPT = "kept"  # the solver's answer was refused (see reason): the previous plan stays
    SKIPPED = "skipped"  # nothing to plan (unknown team-day, team not working that day)
    UP_TO_DATE = "up_to_date"  # a plan of the current version exists already (one plan per version)


@dataclass(frozen=True)
class ReplanResult:
    team_day_id: int
    outcome: Outcome
    reason: str | None = None  # "dropped", "no_plan", "invalid_route", "solver_error", "not_found", "no_shift"
    version: int | None = None  # TeamDay.version the plan was computed from
    plan_id: int | None = None
    dropped: tuple[str, ...] = ()  # stop ids (``b<booking id>``) the solver left out
    problems: tuple[str, ...] = ()  # check_route findings

    @property
    def written(self) -> bool:
        return self.outcome is Outcome.WRITTEN


@dataclass
class LoadedTeamDay:
    """Everything the solver needs, detached from the database."""

    team_day_id: int
    version: int
    day: date
    horizon: Horizon
    shift: routing.Shift | None  # None: the team does not work that day
    problem: routing.Problem | None
    stops: list[routing.Stop] = field(default_factory=list)  # the problem's stops, current-plan order
    initial_order: list[str] = field(default_factory=list)  # warm start (empty when not feasible)
    planned: bool = False  # a plan of this version exists already
    rest_of_day: bool = False  # planned from where the team stands (``visits.planning.rest_of_day``)

    @property
    def booking_ids(self) -> dict[str, int]:
        return {s.id: int(s.id[1:]) for s in self.stops}


@dataclass(frozen=True)
class SolvedRoute:
    """An accepted route: the stops in order with their times (absolute minutes)."""

    route: routing.Route
    solver_status: str
    objective: int
    retimed: bool = False


# ---------------------------------------------------------------- 1. load


def load_team_day(session: Session, team_day_id: int, travel: TravelService, now: datetime) -> LoadedTeamDay | None:
    td = session.get(TeamDay, team_day_id)
    if td is None:
        return None
    planned = _has_plan(session, td.id, td.version)  # type: ignore[arg-type]
    horizon = Horizon(base=td.day)
    stand = standing(session, td.id, horizon, td.day)  # type: ignore[arg-type]
    here = [stand.point] if stand is not None and stand.point is not None else []
    world = build_world(session, [td.day], travel, now, include_holds=False, extra_points=here, team_id=td.team_id)  # this team-day only
    sid = shift_id(td.team_id, td.day)
    shift = world.shifts.get(sid)
    if shift is None:
        return LoadedTeamDay(td.id, td.version, td.day, world.horizon, None, None, planned=planned)  # type: ignore[arg-type]
    from_here = stand is not None and applies(stand, world.routes.route(sid).stops)
    if from_here:  # the team is out: plan the rest of the day from here, now
        shift = rest_of_day(shift, stand, world.extra_locations[0] if here else None)  # type: ignore[arg-type]
    ordered = list(world.routes.route(sid).stops)  # current plan order, repaired when infeasible
    matrix = world.matrix
    problem, stops = pinned_problem(shift, ordered, matrix)
    warm = [s.id for s in stops] if stops and schedule_route(problem.shifts[0], stops, problem.durations) is not None else []
    return LoadedTeamDay(td.id, td.version, td.day, world.horizon, problem.shifts[0], problem, stops, warm, planned, from_here)  # type: ignore[arg-type]


def stale_team_days(session: Session, since: date) -> list[int]:
    """Team-days from ``since`` on whose current version has no plan: their re-plan was lost (a
    crash between a booking's commit and its re-plan) or refused. Re-planned at start-up and
    periodically (``app.wiring``), so a team-day is never left untimed."""
    planned = select(Plan.id).where(Plan.team_day_id == TeamDay.id, Plan.version == TeamDay.version).exists()
    query = select(TeamDay.id).where(TeamDay.day >= since, TeamDay.version > 0, ~planned).order_by(TeamDay.day, TeamDay.id)  # type: ignore[arg-type]
    return [int(i) for i in session.exec(query).all()]  # type: ignore[arg-type]


def _has_plan(session: Session, team_day_id: int, version: int) -> bool:
    return session.exec(select(Plan.id).where(Plan.team_day_id == team_day_id, Plan.version == version)).first() is not None


# ---------------------------------------------------------------- 2. solve and accept


class Refused(Exception):
    def __init__(self, reason: str, dropped: tuple[str, ...] = (), problems: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.dropped = dropped
        self.problems = problems

    def __reduce__(self):  # noqa: ANN204 - keeps every field across the solver process boundary
        return (Refused, (self.reason, self.dropped, self.problems))


def solve_team_day(loaded: LoadedTeamDay, time_limit: float = 2.0, seed: int = 0) -> SolvedRoute:
    """Solve and accept, or raise :class:`Refused` (the previous plan must then stay)."""
    assert loaded.shift is not None and loaded.problem is not None
    shift = loaded.shift
    if not loaded.stops:
        empty = schedule_route(shift, [], loaded.problem.durations)
        if empty is None:  # not even an empty day fits the shift (its breaks, or the rest of a day that has ended)
            raise Refused("no_plan", problems=("empty_day_does_not_fit_the_shift",))
        return SolvedRoute(empty, "optimal", 0)
    params = routing.SolveParams(time_limit=time_limit, seed=seed)
    initial = {shift.id: loaded.initial_order} if loaded.initial_order else None
    try:
        plan = routing.solve(loaded.problem, params, initial_routes=initial)
    except Exception as exc:  # noqa: BLE001 - any solver failure keeps the previous plan
        raise Refused("solver_error", problems=(type(exc).__name__,)) from exc
    return accept(loaded, plan)


def accept(loaded: LoadedTeamDay, plan: routing.Plan | None) -> SolvedRoute:
    """The solver's route when it keeps every booking (checked independently), else :class:`Refused`."""
    assert loaded.shift is not None and loaded.problem is not None
    if plan is None:
        raise Refused("no_plan")
    wanted = {s.id for s in loaded.stops}
    if plan.dropped:
        raise Refused("dropped", dropped=tuple(sorted(d.stop_id for d in plan.dropped)))
    route = plan.route(loaded.shift.id)
    visited = [v.stop_id for v in route.visits] if route else []
    if set(visited) != wanted or len(visited) != len(wanted):
        missing = tuple(sorted(wanted - set(visited)))
        raise Refused("dropped" if missing else "invalid_route", dropped=missing)
    assert route is not None
    by_id = {s.id: s for s in loaded.stops}
    ordered = [by_id[v] for v in visited]
    durations = loaded.problem.durations
    problems = check_route(loaded.shift, ordered, route, durations)
    retimed = False
    if problems:  # the order may be fine even if the solver's times are not: re-time it
        again = schedule_route(loaded.shift, ordered, durations)
        if again is None or check_route(loaded.shift, ordered, again, durations):
            raise Refused("invalid_route", problems=tuple(problems))
        route, retimed = again, True
    status = plan.status.value if hasattr(plan.status, "value") else str(plan.status)
    return SolvedRoute(route, status, max(min(int(plan.objective), _MAX_INT32), -_MAX_INT32), retimed)


# ---------------------------------------------------------------- 3. write back


def write_plan(session: Session, loaded: LoadedTeamDay, solved: SolvedRoute, polish: bool = False) -> int | None:
    """Write the new current plan; None (nothing written) when TeamDay.version moved since loading.

    ``polish``: a plan of this version exists already (computed in a hurry); its stops are
    replaced when the new route's objective is strictly better, else nothing is written."""
    td = session.exec(select(TeamDay).where(TeamDay.id == loaded.team_day_id).with_for_update()).first()
    if td is None or td.version != loaded.version:
        return None  # changed meanwhile
    route = solved.route
    existing = session.exec(select(Plan).where(Plan.team_day_id == td.id, Plan.version == td.version)).first()
    if existing is not None:
        if not polish or existing.status != PlanStatus.CURRENT or solved.objective >= existing.objective:
            return None  # another run already planned this version (or planned it as well)
        session.exec(delete(PlanStop).where(col(PlanStop.plan_id) == existing.id))
        existing.solver_status, existing.objective, existing.travel_minutes = solved.solver_status[:20], solved.objective, route.travel
        plan = existing
    else:
        session.exec(
            update(Plan)
            .where(Plan.team_day_id == loaded.team_day_id, Plan.status == PlanStatus.CURRENT)  # type: ignore[arg-type]
            .values(status=PlanStatus.SUPERSEDED)
        )
        plan = Plan(team_day_id=td.id, version=loaded.version, status=PlanStatus.CURRENT, solver_status=solved.solver_status[:20], objective=solved.objective, travel_minutes=route.travel)  # type: ignore[arg-type]
        session.add(plan)
    session.flush()
    bookings = loaded.booking_ids
    h = loaded.horizon
    for position, visit in enumerate(route.visits):
        session.add(PlanStop(plan_id=plan.id, position=position, booking_id=bookings[visit.stop_id], arrival=h.time_of(visit.arrival), start=h.time_of(visit.start), end=h.time_of(visit.end)))  # type: ignore[arg-type]
    session.flush()
    return plan.id


# ---------------------------------------------------------------- the whole re-plan


Solver = Callable[[LoadedTeamDay, float, int], SolvedRoute]  # solve_team_day's signature

_WRITE_ATTEMPTS = 4  # a write that meets a busy database is retried (0.5, 1, 2 s apart)


def end_with_parent(parent_pid: int) -> None:
    """In a solver process: end when the process that started it ends, even by SIGKILL (a thread
    that watches the parent's pid, 0.2 s apart).

    Not the kernel's parent-death signal (``PR_SET_PDEATHSIG``): it fires when the parent *thread*
    that spawned the process ends. When the solver was spawned from the short-lived warm-start
    thread it was killed at every start-up, so the first re-plans after a restart were lost
    (issue 15, finding 4); the processes are now also started from the solver's own long-lived
    thread (:class:`ProcessSolver`), and this watch holds whichever thread started them."""
    if os.getppid() != parent_pid:  # the parent died before this process got here
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _start_processes(pool: ProcessPoolExecutor, count: int) -> None:
    """Make ``pool`` start its ``count`` processes now, from the calling thread."""
    for _ in range(count):
        pool.submit(os.getpid)


class ProcessSolver:
    """:func:`solve_team_day` in a separate process (started on first use, "spawn": no forked
    threads or connections). A crashed process is replaced on the next call; a solve that
    overruns its time limit by far is abandoned. Either way the caller gets :class:`Refused`.

    The processes are started from this solver's own thread, which lives until :meth:`shutdown`:
    Linux sends the parent-death signal (:func:`end_with_parent`) when the *thread* that started
    a process ends, so a process started from a short-lived thread (the app's warm-up thread)
    would be killed as soon as that thread returned, and the first re-plans would fail."""

    def __init__(self, processes: int = 1, *, grace: float = 60.0, target: Solver | None = None) -> None:
        self._processes = processes
        self._grace = grace  # seconds past 4x the time limit before a solve is abandoned
        self._target = target or solve_team_day  # what runs in the process (a module-level function)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._starter: ThreadPoolExecutor | None = None  # the thread that starts the processes

    def _get_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                pool = ProcessPoolExecutor(self._processes, mp_context=multiprocessing.get_context("spawn"), initializer=end_with_parent, initargs=(os.getpid(),))
                if self._starter is None:
                    self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="solver-starter")
                self._starter.submit(_start_processes, pool, self._processes).result()
                self._pool = pool
            return self._pool

    def start(self) -> None:
        """Start the solver process now (it imports the solver once) instead of on first use."""
        self._get_pool().submit(os.getpid).result(timeout=120)

    def __call__(self, loaded: LoadedTeamDay, time_limit: float, seed: int) -> SolvedRoute:
        pool = self._get_pool()
        try:
            return pool.submit(self._target, loaded, time_limit, seed).result(timeout=4 * time_limit + self._grace)
        except BrokenProcessPool:
            self._discard(pool)
            raise Refused("solver_error", problems=("BrokenProcessPool",)) from None
        except TimeoutError:
            self._discard(pool, terminate=True)  # it would hold a core for nothing
            raise Refused("solver_timeout") from None

    def _discard(self, pool: ProcessPoolExecutor, *, terminate: bool = False) -> None:
        """Stop using ``pool``: the next call starts a fresh process."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        if terminate:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self, wait: bool = True, *, terminate: bool = False) -> None:
        """Stop the solver process; with ``terminate``, at once (a solve under way is refused)."""
        with self._lock:
            pool = self._pool
        if pool is not None and terminate:
            self._discard(pool, terminate=True)
            return
        with self._lock:
            pool, self._pool = self._pool, None
            starter, self._starter = self._starter, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
        if starter is not None:
            starter.shutdown(wait=False)


def replan_team_day(
    engine: Engine, team_day_id: int, travel: TravelService, now: datetime, time_limit: float = 2.0, seed: int = 0, solver: Solver = solve_team_day, *, polish: bool = False
) -> ReplanResult:
    """Load (short read), solve (no transaction open; ``solver`` may run it in another process),
    write back (short write, version-guarded; retried when the database is busy).

    ``polish``: the team-day's version has a plan already (one solved with a short time limit
    during a burst); solve again, warm-started from it, and keep the better of the two."""
    with transaction(engine) as session:
        loaded = load_team_day(session, team_day_id, travel, now)
    if loaded is None:
        return ReplanResult(team_day_id, Outcome.SKIPPED, "not_found")
    if loaded.planned and not polish:
        return ReplanResult(team_day_id, Outcome.UP_TO_DATE, None, loaded.version)
    if loaded.shift is None:
        return ReplanResult(team_day_id, Outcome.SKIPPED, "no_shift", loaded.version)
    if loaded.rest_of_day:  # a few stops left and a feasible start: the team waits for it
        time_limit = min(time_limit, REST_OF_DAY_TIME_LIMIT)
    try:
        solved = solver(loaded, time_limit, seed)
    except Refused as refused:
        log.warning("replan team-day %s v%s kept the previous plan: %s (%d dropped) %s", team_day_id, loaded.version, refused.reason, len(refused.dropped), ",".join(refused.problems))
        return ReplanResult(team_day_id, Outcome.KEPT, refused.reason, loaded.version, dropped=refused.dropped, problems=refused.problems)
    for attempt in range(_WRITE_ATTEMPTS):
        try:
            with transaction(engine, write=True) as session:
                plan_id = write_plan(session, loaded, solved, polish)
            break
        except OperationalError:  # busy (SQLite's lock timeout, a PostgreSQL lock timeout...)
            if attempt == _WRITE_ATTEMPTS - 1:
                raise
            time.sleep(0.5 * 2**attempt)
    if plan_id is None and polish:
        return ReplanResult(team_day_id, Outcome.UP_TO_DATE, "not_better", loaded.version)
    if plan_id is None:
        log.info("replan team-day %s v%s discarded: the team-day changed meanwhile", team_day_id, loaded.version)
        return ReplanResult(team_day_id, Outcome.STALE, "stale", loaded.version)
    return ReplanResult(team_day_id, Outcome.WRITTEN, None, loaded.version, plan_id)


# ---------------------------------------------------------------- the background queue

Provider = Callable[[], Any]


def _resolve(value: Any) -> Any:
    return value() if callable(value) and not isinstance(value, (Engine, TravelService)) else value


class ReplanQueue:
    """Re-plans in a few worker threads, at most one pending job per team-day.

    ``engine`` and ``travel`` may be given as objects or as zero-argument callables (resolved
    when a job runs, so settings changes and test databases are picked up). A job marks its
    team-day as no longer pending when it starts, so a change made while it solves queues a
    fresh run (whose write wins; the older one is discarded by the version guard).
    """

    def __init__(
        self,
        engine: Engine | Provider,
        travel: TravelService | Provider,
        *,
        time_limit: float | Provider = 2.0,
        seed: int = 0,
        clock: Callable[[], datetime] = utcnow,
        workers: int = 2,
        solver: Solver | None = None,
        observer: Callable[[str, float], None] | None = None,
    ) -> None:
        self._observer = observer  # told each job's outcome ("written", "kept", "error"...) and seconds (the app's metrics)
        self._engine = engine
        self._travel = travel
        self._time_limit = time_limit
        self._seed = seed
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="replan")
        self._solver: Solver = solver or ProcessSolver()
        self._lock = threading.Condition()
        self._pending: set[int] = set()
        self._futures: set[Future] = set()
        self._running = 0
        self.results: list[ReplanResult] = []  # the latest results (bounded), for tests and diagnostics
        self.outcomes: Counter[str] = Counter()  # every job's outcome ("kept:dropped", "written", "error"...)

    def schedule(self, team_day_ids: Iterable[int]) -> list[int]:
        """Queue a re-plan of each team-day not already pending; returns the ids queued."""
        queued: list[int] = []
        with self._lock:
            for tid in dict.fromkeys(int(t) for t in team_day_ids):
                if tid in self._pending:
                    continue
                self._pending.add(tid)
                self._running += 1
                queued.append(tid)
        for tid in queued:
            try:
                future = self._executor.submit(self._run, tid)
                with self._lock:
                    self._futures.add(future)
                future.add_done_callback(self._forget)
            except RuntimeError:  # shut down
                with self._lock:
                    self._pending.discard(tid)
                    self._running -= 1
                    self._lock.notify_all()
        return queued

    __call__ = schedule  # usable directly as a BackgroundTasks task

    @property
    def running(self) -> int:
        """Jobs queued or running."""
        with self._lock:
            return self._running

    def _run(self, team_day_id: int) -> None:
        with self._lock:
            self._pending.discard(team_day_id)
        started = time.perf_counter()
        outcome = "error"
        try:
            result = replan_team_day(_resolve(self._engine), team_day_id, _resolve(self._travel), self._clock(), float(_resolve(self._time_limit)), self._seed, self._solver)
            outcome = result.outcome.value
            with self._lock:
                self.results = [*self.results[-99:], result]
                self.outcomes[result.outcome.value + (f":{result.reason}" if result.reason else "")] += 1
        except Exception as exc:  # noqa: BLE001 - never let a worker die; the previous plan stays
            log.error("replan team-day %s failed (%s); the previous plan stays", team_day_id, type(exc).__name__)
            with self._lock:
                self.outcomes[f"error:{type(exc).__name__}"] += 1
        finally:
            if self._observer is not None:
                try:
                    self._observer(outcome, time.perf_counter() - started)
                except Exception as exc:  # noqa: BLE001 - metrics never stop a re-plan
                    log.warning("re-plan observer failed (%s)", type(exc).__name__)
            with self._lock:
                self._running -= 1
                self._lock.notify_all()

    def warm(self) -> None:
        """Start the solver process ahead of the first re-plan (errors are logged, not raised)."""
        if isinstance(self._solver, ProcessSolver):
            try:
                self._solver.start()
            except Exception as exc:  # noqa: BLE001 - the first re-plan starts it again
                log.warning("solver process did not start (%s)", type(exc).__name__)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is pending or running; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._running == 0, timeout)

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._futures.discard(future)

    def shutdown(self, wait: bool = True) -> None:
        """Stop: jobs not started yet are dropped and solves under way abandoned (their team-days
        stay stale, and the next start-up's sweep re-plans them, see ``app.wiring``); a job
        writing its plan finishes when ``wait``."""
        with self._lock:
            waiting = list(self._futures)
        for future in waiting:
            if future.cancel():
                with self._lock:
                    self._running -= 1
                    self._lock.notify_all()
        if isinstance(self._solver, ProcessSolver):  # a solve under way is abandoned, not awaited
            self._solver.shutdown(wait=False, terminate=True)
        self._executor.shutdown(wait=wait)
        if isinstance(self._solver, ProcessSolver):
            self._solver.shutdown(wait=wait)


_default: ReplanQueue | None = None
_default_lock = threading.Lock()


def configure(
    engine: Engine | Provider,
    travel: TravelService | Provider,
    *,
    time_limit: float | Provider = 2.0,
    seed: int = 0,
    workers: int = 2,
    clock: Callable[[], datetime] = utcnow,
    observer: Callable[[str, float], None] | None = None,
) -> ReplanQueue:
    """Set up the default queue used by :func:`schedule_replan` (the app's lifespan does this)."""
    global _default
    with _default_lock:
        old, _default = _default, ReplanQueue(engine, travel, time_limit=time_limit, seed=seed, workers=workers, clock=clock, observer=observer)
    if old is not None:
        old.shutdown(wait=False)
    return _default


def default_queue() -> ReplanQueue | None:
    return _default


def shutdown_default(queue: ReplanQueue, wait: bool = True) -> None:
    """Stop ``queue`` (its threads and solver processes); it stops being the default."""
    global _default
    with _default_lock:
        if _default is queue:
            _default = None
    queue.shutdown(wait=wait)


def schedule_replan(team_day_ids: Iterable[int]) -> list[int]:
    """Queue re-plans on the default queue (a FastAPI BackgroundTasks task or a direct call)."""
    queue = _default
    ids = list(team_day_ids)
    if queue is None:
        if ids:
            log.warning("replan queue not configured: %d team-day(s) keep their previous plan", len(ids))
        return []
    return queue.schedule(ids)


def wait_idle(timeout: float | None = None) -> bool:
    queue = _default
    return True if queue is None else queue.wait_idle(timeout)
