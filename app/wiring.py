"""Long-lived resources, started and stopped in one place: the web app's lifespan and the CLI's
jobs both use :func:`replanning`. Nothing here starts at import."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from app.db import get_engine
from app.deps import app_clock, travel_times
from app.jobs import POSTGRES, InProcessJobs, JobQueue, PostgresJobs, close_postgres_app, postgres_app, queue_kind, set_current
from app.settings import get_settings
from visits.clock import set_collective_leave
from visits.planning import replan
from visits.transactions import set_job_sink, transaction
from visits.types import utcnow

log = logging.getLogger("jemput.replan")


def sweep_stale(queue: replan.ReplanQueue, clock: Callable[[], datetime]) -> list[int]:
    """Queue a re-plan of every team-day from today on whose version has no plan."""
    today = clock().astimezone(ZoneInfo(get_settings().timezone)).date()
    with transaction(get_engine()) as session:
        ids = replan.stale_team_days(session, today)
    return queue.schedule(ids) if ids else []


def _sweeper(queue: replan.ReplanQueue, clock: Callable[[], datetime], stop: threading.Event) -> None:
    """At start-up, then every ``replan_sweep_seconds``: a lost re-plan never leaves a team-day stuck."""
    while True:
        try:
            sweep_stale(queue, clock)
        except Exception as exc:  # noqa: BLE001 - the next sweep tries again
            log.warning("stale team-day sweep failed (%s)", type(exc).__name__)
        if stop.wait(max(1.0, get_settings().replan_sweep_seconds)):
            return


@contextmanager
def replanning(clock: Callable[[], datetime] = utcnow, *, warm: bool = False, sweep: bool = False) -> Iterator[replan.ReplanQueue]:
    """The re-plan queue (worker threads and a solver process), fed by committed changes
    (``visits.transactions.mark_changed``); stopped, solver processes included, on exit. With
    ``warm`` the solver process starts now (in the background) rather than on the first re-plan;
    with ``sweep``, stale team-days are queued at once and then periodically (:func:`sweep_stale`)."""
    set_collective_leave(get_settings().collective_leave)
    from app.metrics import observe_replan

    queue = replan.configure(get_engine, travel_times, time_limit=lambda: get_settings().replan_time_limit_seconds, clock=clock, observer=observe_replan)
    if warm:
        threading.Thread(target=queue.warm, name="solver-warm-start", daemon=True).start()
    previous = set_job_sink(InProcessJobs(queue))  # the default queue (tests may swap it)
    previous_jobs = set_current(InProcessJobs(queue))
    stop = threading.Event()
    sweeper = threading.Thread(target=_sweeper, args=(queue, clock, stop), name="replan-sweep", daemon=True) if sweep else None
    try:
        if sweeper is not None:
            sweeper.start()
        yield queue
    finally:
        stop.set()
        if sweeper is not None:
            sweeper.join(timeout=30)
        set_job_sink(previous)
        set_current(previous_jobs)
        replan.shutdown_default(queue)


_frozen = False


def freeze_startup_objects() -> None:
    """Once per process, move everything alive after start-up (modules, the ORM's mappings,
    templates, settings: some 180,000 objects) out of the garbage collector's reach. A full
    collection otherwise walks them all, and a request that builds a few thousand rows (a report)
    triggers one now and then: 60-120 ms of CPU added to that request (6-20 ms once frozen).
    Objects made later are collected as usual; frozen ones are still freed when no longer
    referenced, only a reference cycle among them would stay."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()


@contextmanager
def postgres_jobs() -> Iterator[PostgresJobs]:
    """Committed changes become jobs in PostgreSQL (procrastinate), for ``jemput worker`` to run:
    this process defers them and never solves."""
    set_collective_leave(get_settings().collective_leave)
    queue = PostgresJobs(postgres_app())
    previous, previous_jobs = set_job_sink(queue), set_current(queue)
    try:
        yield queue
    finally:
        set_job_sink(previous)
        set_current(previous_jobs)
        close_postgres_app()


@contextmanager
def jobs(clock: Callable[[], datetime] = utcnow, *, warm: bool = False, sweep: bool = False) -> Iterator[JobQueue]:
    """The configured job queue (``app.jobs.queue_kind``) for the life of a process."""
    if queue_kind() == POSTGRES:
        with postgres_jobs() as queue:
            yield queue
    else:
        with replanning(clock, warm=warm, sweep=sweep) as replans:
            yield InProcessJobs(replans)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    get_settings().resolved_secret_key()  # refuses to start without a shared key on PostgreSQL
    with jobs(lambda: app_clock(app), warm=get_settings().solver_warm_start, sweep=True) as queue:
        app.state.jobs = queue
        if isinstance(queue, InProcessJobs):
            app.state.replan_queue = queue.queue
        freeze_startup_objects()
        yield
