"""Long-lived resources, started and stopped in one place: the web app's lifespan and the CLI's
jobs both use :func:`replanning`. Nothing here starts at import."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime

from fastapi import FastAPI

from app.db import get_engine
from app.deps import app_clock, travel_times
from app.settings import get_settings
from visits.clock import set_collective_leave
from visits.planning import replan
from visits.transactions import set_replan_sink
from visits.types import utcnow


@contextmanager
def replanning(clock: Callable[[], datetime] = utcnow) -> Iterator[replan.ReplanQueue]:
    """The re-plan queue (worker threads and a solver process), fed by committed changes
    (``visits.transactions.mark_changed``); stopped, solver processes included, on exit."""
    set_collective_leave(get_settings().collective_leave)
    queue = replan.configure(get_engine, travel_times, time_limit=lambda: get_settings().replan_time_limit_seconds, clock=clock)
    previous = set_replan_sink(replan.schedule_replan)  # the default queue (tests may swap it)
    try:
        yield queue
    finally:
        set_replan_sink(previous)
        replan.shutdown_default(queue)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    with replanning(lambda: app_clock(app)) as queue:
        app.state.replan_queue = queue
        yield
