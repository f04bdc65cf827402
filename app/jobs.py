"""The job queue: re-plans, sending the outbox and the scheduled chores, behind one interface.

:class:`JobQueue` is what the after-commit hook hands committed changes to
(``visits.transactions``: ``replan`` for changed team-days, ``messages_waiting`` when the outbox
got a message). Two implementations, chosen by ``JEMPUT_JOB_QUEUE`` (:func:`queue_kind`):

- :class:`InProcessJobs` (SQLite, the demo, the quick start): this process's re-plan queue
  (``visits.planning.replan.ReplanQueue``: worker threads and a solver process). Messages,
  reminders, auto-booking and purging stay the cron commands of the README.
- :class:`PostgresJobs`: jobs in PostgreSQL with procrastinate, run by ``jemput worker``
  processes; a web process only defers jobs and never solves. A re-plan of a team-day has a
  queueing lock (at most one waiting per team-day: a change made while one waits is covered by
  it, since it loads the team-day when it starts) and a lock (at most one running per team-day).
  Sending the outbox likewise (one waiting, one running). Periodic tasks: the day-before
  reminders, auto-booking, purging KK files, the stale team-day sweep, the outbox (for retries),
  and the retry of jobs whose worker died (no heartbeat for ``stalled_worker_seconds``).

Times of the periodic tasks are cron lines in UTC (:data:`SCHEDULE`).
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Iterable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Protocol

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db import get_engine, session_scope
from app.settings import get_settings
from visits.planning import replan
from visits.types import utcnow

log = logging.getLogger("jemput.jobs")

IN_PROCESS, POSTGRES = "process", "postgres"

# Cron lines (UTC) of the periodic tasks; the reminders at 09:00 UTC are the afternoon before
# in Indonesia (16:00 WIB, 17:00 WITA, 18:00 WIT).
SCHEDULE = {
    "send_reminders": "0 9 * * *",
    "auto_book": "15 * * * *",
    "purge_uploads": "30 19 * * *",
    "sweep_stale": "*/5 * * * *",
    "send_outbox": "* * * * *",
    "retry_stalled": "* * * * * */15",  # every 15 s (a sixth field: seconds)
    "prune_jobs": "45 20 * * *",
}


def queue_kind(database_url: str | None = None, setting: str | None = None) -> str:
    """``postgres`` or ``process``: the setting when it names one, else PostgreSQL's queue on PostgreSQL."""
    s = get_settings()
    chosen = (setting if setting is not None else s.job_queue).strip().lower()
    if chosen in (IN_PROCESS, POSTGRES):
        return chosen
    url = database_url if database_url is not None else s.resolved_database_url()
    return POSTGRES if make_url(url).get_backend_name() == "postgresql" else IN_PROCESS


@dataclass(frozen=True)
class QueueStatus:
    kind: str
    depth: int  # jobs waiting (todo)
    running: int  # jobs running
    workers: int  # live workers (PostgreSQL: heartbeat within the stalled timeout; in-process: 1)
    heartbeat_age_seconds: float | None  # the freshest worker heartbeat (None: no worker)
    failed: int = 0  # jobs that ended failed (PostgreSQL) / re-plans that raised (in-process)


class JobQueue(Protocol):
    """What committed changes are handed to (``visits.transactions.set_job_sink``)."""

    kind: str

    def replan(self, team_day_ids: Iterable[int]) -> list[int]:
        """Queue a re-plan of each team-day (once per team-day); returns the ids queued."""
        ...

    def messages_waiting(self) -> None:
        """The outbox has new messages: send them soon."""
        ...

    def status(self) -> QueueStatus: ...


class InProcessJobs:
    """This process's re-plan queue; the outbox and the chores stay cron commands."""

    kind = IN_PROCESS

    def __init__(self, queue: replan.ReplanQueue) -> None:
        self.queue = queue

    def replan(self, team_day_ids: Iterable[int]) -> list[int]:
        return replan.schedule_replan(team_day_ids)  # the module's default queue (a benchmark may swap the function)

    def messages_waiting(self) -> None:
        return None  # ``jemput send-notifications`` (cron) sends them

    def status(self) -> QueueStatus:
        running = self.queue.running
        errors = sum(n for outcome, n in self.queue.outcomes.items() if outcome.startswith("error"))
        return QueueStatus(IN_PROCESS, running, 0, 1, 0.0, errors)


# ---------------------------------------------------------------- PostgreSQL (procrastinate)

# The process's one procrastinate app: its tasks are declared below; it is given the configured
# database's connector by :func:`bound` (``app.wiring``, ``jemput worker``).
jobs_app = procrastinate.App(connector=procrastinate.PsycopgConnector(), import_paths=["app.jobs"])
tasks = jobs_app
REPLAN_TASK = "jemput.replan_team_day"
OUTBOX_TASK = "jemput.send_outbox"
CAMPAIGN_TASK = "jemput.plan_campaign"


def conninfo(database_url: str) -> str:
    """libpq's connection string for an SQLAlchemy PostgreSQL URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def bound(database_url: str | None = None) -> AbstractContextManager[procrastinate.App]:
    """:data:`jobs_app` on the configured database (not opened) within the block."""
    url = database_url or get_settings().resolved_database_url()
    return jobs_app.replace_connector(procrastinate.PsycopgConnector(conninfo=conninfo(url), min_size=1, max_size=4))


def defer(app: procrastinate.App, task: str, what: str, *, queueing_lock: str, lock: str, priority: int | None = None, **kwargs: Any) -> bool:
    """Defer ``task`` under its locks: True when queued; False when one waits already under the
    queueing lock, or when deferring failed (logged with ``what`` and the error type only)."""
    try:
        app.configure_task(task, queueing_lock=queueing_lock, lock=lock, priority=priority).defer(**kwargs)
        return True
    except AlreadyEnqueued:
        return False
    except Exception as exc:  # noqa: BLE001 - callers name what covers a job not queued
        log.warning("%s not queued (%s)", what, type(exc).__name__)
        return False


class PostgresJobs:
    """Jobs deferred to PostgreSQL (procrastinate), run by ``jemput worker``."""

    kind = POSTGRES

    def __init__(self, app: procrastinate.App) -> None:
        self.app = app

    def replan(self, team_day_ids: Iterable[int]) -> list[int]:
        queued: list[int] = []
        for tid in dict.fromkeys(int(t) for t in team_day_ids):
            lock = f"replan:{tid}"
            # one waiting already loads the team-day when it starts (this change included); one not
            # queued at all is found by the sweep (the team-day has no plan of its version)
            if defer(self.app, REPLAN_TASK, f"re-plan of team-day {tid}", queueing_lock=lock, lock=lock, team_day_id=tid):
                queued.append(tid)
        return queued

    def polish(self, team_day_id: int) -> bool:
        """Queue the full-time re-plan of a team-day planned in a hurry (one waiting per team-day,
        behind the waiting re-plans: a lower priority; never beside another re-plan of it: its lock)."""
        # not queued: the hurried plan stands, nothing is lost
        return defer(
            self.app, REPLAN_TASK, f"polish of team-day {team_day_id}", queueing_lock=f"polish:{team_day_id}", lock=f"replan:{team_day_id}", priority=-10, team_day_id=team_day_id, polish=True
        )

    def messages_waiting(self) -> None:
        defer(self.app, OUTBOX_TASK, "outbox job", queueing_lock="outbox", lock="outbox", timestamp=int(clock.time()))  # else the periodic run sends them within a minute

    def status(self) -> QueueStatus:
        return postgres_status()


def postgres_status() -> QueueStatus:
    stalled = get_settings().stalled_worker_seconds
    with get_engine().connect() as conn:
        counts = dict(conn.execute(text("SELECT status::text, count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing', 'failed') GROUP BY status")).all())
        workers, age = conn.execute(
            text("SELECT count(*) FILTER (WHERE last_heartbeat > now() - make_interval(secs => :s)), extract(epoch FROM now() - max(last_heartbeat)) FROM procrastinate_workers"), {"s": stalled}
        ).one()
    return QueueStatus(POSTGRES, int(counts.get("todo", 0)), int(counts.get("doing", 0)), int(workers), None if age is None else float(age), int(counts.get("failed", 0)))


def queue_health() -> dict[str, Any]:
    """The job queue for ``/healthz``: kind, jobs waiting and running, live workers, heartbeat age."""
    try:
        status = current_jobs().status()
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        return {"status": "unavailable" if not isinstance(exc, RuntimeError) else "not_started"}
    return {
        "status": "ok" if status.kind == IN_PROCESS or status.workers > 0 else "no_worker",
        "kind": status.kind,
        "waiting": status.depth,
        "running": status.running,
        "workers": status.workers,
        "heartbeat_age_seconds": None if status.heartbeat_age_seconds is None else round(status.heartbeat_age_seconds, 1),
    }


# The tasks. Each opens its own short transactions (the services only flush); failures are
# logged with ids and error types only.


@tasks.task(name=REPLAN_TASK, retry=False)
def replan_team_day(team_day_id: int, polish: bool = False) -> str:
    """Re-plan one team-day in this worker process (load, solve, version-guarded write).

    While other re-plans wait (a burst of bookings), the solve gets the short busy time limit so
    every changed team-day has a plan of its version soon, and a polish of the team-day (the full
    time limit, lower priority, one waiting per team-day) is queued behind the burst."""
    from app.deps import travel_times
    from app.metrics import observe_replan

    settings = get_settings()
    busy = not polish and _replans_waiting() > 0
    limit = settings.replan_busy_time_limit_seconds if busy else settings.replan_time_limit_seconds
    started = clock.perf_counter()
    try:
        result = replan.replan_team_day(get_engine(), team_day_id, travel_times(), utcnow(), limit, 0, replan.solve_team_day, polish=polish)
    except Exception as exc:  # the previous plan stays; the sweep tries again
        log.error("replan team-day %s failed (%s); the previous plan stays", team_day_id, type(exc).__name__)
        observe_replan("error", clock.perf_counter() - started)
        raise  # the job ends failed: counted (jemput_replan_failed_jobs)
    observe_replan(result.outcome.value, clock.perf_counter() - started)
    jobs = current_jobs() if busy and result.outcome is replan.Outcome.WRITTEN else None
    if isinstance(jobs, PostgresJobs):
        jobs.polish(team_day_id)
    return result.outcome.value


def _replans_waiting() -> int:
    """Re-plan jobs waiting to start (polish jobs excluded: they wait on purpose)."""
    try:
        with get_engine().connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND task_name = :task AND queueing_lock LIKE 'replan:%'"), {"task": REPLAN_TASK}).scalar_one())
    except Exception as exc:  # noqa: BLE001 - unknown depth: solve with the full time
        log.warning("re-plan queue depth unknown (%s)", type(exc).__name__)
        return 0


@dataclass(frozen=True)
class CampaignJob:
    """One campaign plan (the operator's campaign page): run in a background thread of the web
    process on SQLite (``visits.outreach.runner``), as a job of a ``jemput worker`` on PostgreSQL."""

    now: datetime
    kelurahan_id: int | None = None
    partner_kind: str | None = None
    limit: int = 5000
    time_limit: float | None = None  # None: sized by the model (visits.outreach.campaign.sized_time_limit)

    def __call__(self) -> object:
        from app.deps import slot_policy, travel_times
        from visits.outreach import campaign

        return campaign.plan_campaign(
            session_scope, self.now, travel_times(), slot_policy(), time_limit=self.time_limit, kelurahan_id=self.kelurahan_id, partner_kind=self.partner_kind, limit=self.limit
        )


class PostgresCampaigns:
    """The campaign page's runner on PostgreSQL: one campaign job waiting or running at a time (a
    queueing lock and a lock), its state read from the job table (so every web process agrees).
    One is made per request: the state is read once for it (``busy`` and ``last_error`` on a page)
    and afresh before starting."""

    _WAITING_OR_RUNNING = ("todo", "doing")

    def _read(self) -> str | None:
        with get_engine().connect() as conn:
            return conn.execute(text("SELECT status::text FROM procrastinate_jobs WHERE task_name = :t ORDER BY id DESC LIMIT 1"), {"t": CAMPAIGN_TASK}).scalar()

    @cached_property
    def _latest(self) -> str | None:
        return self._read()

    @property
    def busy(self) -> bool:
        return self._latest in self._WAITING_OR_RUNNING

    @property
    def last_error(self) -> str | None:
        return "failed" if self._latest == "failed" else None

    def start(self, job: CampaignJob) -> bool:
        if self._read() in self._WAITING_OR_RUNNING:
            return False
        return defer(
            postgres_app(),
            CAMPAIGN_TASK,
            "campaign plan",
            queueing_lock="campaign",
            lock="campaign",
            now=job.now.isoformat(),
            kelurahan_id=job.kelurahan_id,
            partner_kind=job.partner_kind,
            limit=job.limit,
            time_limit=job.time_limit,
        )


@tasks.task(name=CAMPAIGN_TASK, retry=False)
def plan_campaign(now: str, kelurahan_id: int | None, partner_kind: str | None, limit: int, time_limit: float | None) -> int:
    """A campaign plan in this worker process (read, solve with no transaction open, write)."""
    stored, _result = CampaignJob(datetime.fromisoformat(now), kelurahan_id, partner_kind, limit, time_limit)()  # type: ignore[misc]
    log.info("campaign %s planned: %s of %s placed", stored.id, stored.placed, stored.candidates)
    return int(stored.placed)


@tasks.periodic(cron=SCHEDULE["send_outbox"])
@tasks.task(name="jemput.send_outbox", queueing_lock="outbox", lock="outbox")
def send_outbox(timestamp: int) -> int:
    """Send due messages, one committed transaction per message."""
    from visits.notifications import provider_from_settings, send_pending

    settings = get_settings()
    provider = provider_from_settings(settings)
    sent = 0
    for _ in range(500):  # bounded: the next run goes on
        with session_scope(write=True) as session:
            report = send_pending(session, provider, limit=1, max_attempts=settings.notify_max_attempts, backoff_seconds=settings.notify_backoff_seconds)
        if report.sent + report.retried + report.failed == 0:
            break
        sent += report.sent
    return sent


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


@tasks.periodic(cron=SCHEDULE["send_reminders"])
@tasks.task(name="jemput.send_reminders", queueing_lock="send_reminders", lock="send_reminders")
def send_reminders(timestamp: int) -> int:
    """The day-before reminders for the visits of the day after ``timestamp`` (each once)."""
    from app.deps import office_info, slot_policy
    from app.metrics import mark_reminders_run
    from visits.booking.chores import send_reminders as queue_reminders

    with session_scope(write=True) as session:
        count = queue_reminders(session, _at(timestamp), slot_policy().timezone, office_info())
    mark_reminders_run()
    return count


@tasks.periodic(cron=SCHEDULE["auto_book"])
@tasks.task(name="jemput.auto_book", queueing_lock="auto_book", lock="auto_book")
def auto_book(timestamp: int) -> int:
    """Book the best slot for families who accept any time (their re-plans are deferred on commit)."""
    from app.deps import office_info, slot_policy, travel_times
    from visits.booking.chores import auto_book_pending

    with session_scope(write=True) as session:
        changed = auto_book_pending(session, _at(timestamp), travel_times(), slot_policy(), office_info())
    return len(changed)


@tasks.periodic(cron=SCHEDULE["purge_uploads"])
@tasks.task(name="jemput.purge_uploads", queueing_lock="purge_uploads", lock="purge_uploads")
def purge_uploads(timestamp: int) -> int:
    """Delete KK files past their retention period."""
    from visits.intake.uploads import purge_expired

    with session_scope(write=True) as session:
        return purge_expired(session, get_settings().upload_dir)


@tasks.periodic(cron=SCHEDULE["sweep_stale"])
@tasks.task(name="jemput.sweep_stale", queueing_lock="sweep_stale", lock="sweep_stale")
def sweep_stale(timestamp: int) -> int:
    """Re-plan every team-day from today on whose version has no plan (a lost or refused re-plan)."""
    from zoneinfo import ZoneInfo

    today = _at(timestamp).astimezone(ZoneInfo(get_settings().timezone)).date()
    with session_scope() as session:
        ids = replan.stale_team_days(session, today)
    return len(current_jobs().replan(ids)) if ids else 0


@tasks.periodic(cron=SCHEDULE["retry_stalled"])
@tasks.task(name="jemput.retry_stalled", queueing_lock="retry_stalled", lock="retry_stalled", pass_context=True)
async def retry_stalled(context: procrastinate.JobContext, timestamp: int) -> int:
    """Jobs whose worker died (no heartbeat) run again; when a newer job of the same lock waits
    already, the dead one is marked failed instead (the newer one covers it)."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=get_settings().stalled_worker_seconds)
    retried = 0
    for job in stalled:
        try:
            await manager.retry_job(job)
            retried += 1
        except Exception as exc:  # noqa: BLE001 - a newer job waits with the same queueing lock
            log.info("stalled job %s not retried (%s): marked failed", job.id, type(exc).__name__)
            assert job.id is not None
            await manager.finish_job_by_id_async(job.id, procrastinate.jobs.Status.FAILED, delete_job=False)
    return retried


@tasks.periodic(cron=SCHEDULE["prune_jobs"])
@tasks.task(name="jemput.prune_jobs", queueing_lock="prune_jobs", lock="prune_jobs", pass_context=True)
async def prune_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    """Finished jobs are kept a week (for diagnostics), then deleted."""
    await context.app.job_manager.delete_old_jobs(nb_hours=7 * 24, include_failed=True, include_cancelled=True, include_aborted=True)


# ---------------------------------------------------------------- the process's queue

_current: JobQueue | None = None
_opened: ExitStack | None = None


def postgres_app() -> procrastinate.App:
    """:data:`jobs_app` bound and opened synchronously, for a web or CLI process's defers."""
    global _opened
    if _opened is None:
        stack = ExitStack()
        app = stack.enter_context(bound())
        app.open()
        stack.callback(app.close)
        _opened = stack
    return jobs_app


def close_postgres_app() -> None:
    global _opened
    if _opened is not None:
        stack, _opened = _opened, None
        stack.close()


def set_current(queue: JobQueue | None) -> JobQueue | None:
    global _current
    previous, _current = _current, queue
    return previous


def current_jobs() -> JobQueue:
    """The queue of this process (PostgreSQL's when configured and none was set up)."""
    if _current is not None:
        return _current
    if queue_kind() == POSTGRES:
        return PostgresJobs(postgres_app())
    raise RuntimeError("no job queue configured in this process")


def run_worker(*, concurrency: int = 1, name: str | None = None, wait: bool = True, nice: int = 0, **options: Any) -> None:
    """Run one procrastinate worker in this process until SIGTERM/SIGINT (``jemput worker``).

    Jobs are sync functions run in the worker's threads; with ``concurrency`` > 1 several
    team-days are re-planned at once (never the same one: its lock). Follow-up jobs (the
    re-plans of an auto-booking, the sweep's) are deferred through the worker's own connection pool.
    ``nice`` lowers this process's CPU priority first (``jemput worker``: ``JEMPUT_WORKER_NICE``),
    so solves on a host shared with web processes take the CPU the requests leave."""
    import logging.config
    import os

    from app.logredact import log_config
    from visits.clock import set_collective_leave
    from visits.transactions import set_job_sink

    settings = get_settings()
    if nice > 0:
        os.nice(nice)
    if options.pop("configure_logging", False):
        logging.config.dictConfig(log_config(json_lines=settings.log_format == "json"))
    set_collective_leave(settings.collective_leave)
    with bound() as app:
        queue = PostgresJobs(app)
        previous, previous_jobs = set_job_sink(queue), set_current(queue)
        try:
            app.run_worker(
                concurrency=concurrency,
                name=name,
                wait=wait,
                update_heartbeat_interval=max(1.0, settings.stalled_worker_seconds / 3),
                stalled_worker_timeout=settings.stalled_worker_seconds,
                **options,
            )
        finally:
            set_job_sink(previous)
            set_current(previous_jobs)
