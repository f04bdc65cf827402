"""The transaction contract for every caller that opens its own sessions: the web app's request
dependencies (``app.db``), the background re-planner (``visits.planning.replan``) and the CLI jobs.

A session bound with ``write=True`` takes the database's write lock up front when its first
statement runs (SQLite: ``BEGIN IMMEDIATE``, see ``app.db``); :func:`transaction` commits on
success and rolls back on any error. Services only flush.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

WRITE_OPTION = "jemput_write"  # execution option read by app.db's SQLite "begin" listener


def open_session(engine: Engine, *, write: bool = False) -> Session:
    """A session on ``engine``; with ``write`` its transaction begins with the write lock."""
    return Session(engine.execution_options(**{WRITE_OPTION: True}) if write else engine, expire_on_commit=False)


def is_write(session: Session) -> bool:
    """Whether ``session`` was opened with ``write=True`` (its transaction holds the write lock)."""
    bind = session.get_bind()
    return bool(bind.get_execution_options().get(WRITE_OPTION, False))


_DEFERRED = "jemput_deferred_writes"


def write_after(session: Session, write: Callable[[Session], object]) -> None:
    """Run ``write`` in its own short write transaction once ``session``'s transaction has
    committed (dropped when it rolls back).

    For the small writes a read does (the audit trail of a page that shows personal data): on
    SQLite a read transaction cannot become a write once another writer has committed since its
    snapshot began (WAL answers "database is locked" at once, whatever the busy timeout), so
    such writes never run inside the read. Only :func:`transaction` runs them.
    """
    session.info.setdefault(_DEFERRED, []).append(write)


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """Commit on success, roll back on error: the only place transactions end. Writes deferred
    with :func:`write_after` then run, each in its own write transaction."""
    session = open_session(engine, write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.info.pop(_DEFERRED, None)
        session.rollback()
        raise
    finally:
        deferred = session.info.pop(_DEFERRED, [])
        session.close()
    for run in deferred:
        with transaction(engine, write=True) as writer:
            run(writer)


# ---------------------------------------------------------------- re-plan after commit
# A service marks the team-days whose bookings it changed on its session (and the outbox marks a
# new message). When that session's transaction commits they are handed to the job sink (the
# process's job queue, ``app.jobs.JobQueue``: in-process or PostgreSQL, set in the lifespan and
# the CLI); when it rolls back they are dropped. This is the one way to ask for a re-plan.

_CHANGED = "jemput_changed_team_days"
_MESSAGES = "jemput_messages_waiting"


class JobSink(Protocol):
    """What committed changes are handed to (``app.jobs.JobQueue`` implements it)."""

    def replan(self, team_day_ids: list[int]) -> object: ...

    def messages_waiting(self) -> object: ...


class _Replans:
    """A sink from a plain callable (re-plans only)."""

    def __init__(self, replan: Callable[[list[int]], object]) -> None:
        self.replan = replan

    def messages_waiting(self) -> None:
        return None


_sink: JobSink | None = None


def mark_changed(session: Session, *team_day_ids: int) -> None:
    """Ask for a re-plan of these team-days once ``session``'s transaction commits."""
    session.info.setdefault(_CHANGED, set()).update(int(t) for t in team_day_ids if t is not None)


def mark_messages(session: Session) -> None:
    """The outbox got a message in ``session``'s transaction: send once it commits."""
    session.info[_MESSAGES] = True


_AFTER = "jemput_after_commit"


def after_commit(session: Session, run: Callable[[], object]) -> None:
    """Call ``run`` (no session, no transaction) once ``session``'s transaction has committed;
    dropped when it rolls back. For handing a job to a background runner (a campaign plan)."""
    session.info.setdefault(_AFTER, []).append(run)


def changed_team_days(session: Session) -> list[int]:
    """The team-days marked on ``session`` and not yet handed over (for tests and diagnostics)."""
    return sorted(session.info.get(_CHANGED, ()))


def set_job_sink(sink: JobSink | None) -> JobSink | None:
    """Where committed changes go (``None``: nowhere); returns the previous sink."""
    global _sink
    previous, _sink = _sink, sink
    return previous


def set_replan_sink(sink: Callable[[list[int]], object] | JobSink | None) -> Any:
    """:func:`set_job_sink` for a plain callable taking team-day ids (re-plans only); returns the
    previous sink as it was given (so it can be restored)."""
    if sink is None or hasattr(sink, "replan"):
        previous = set_job_sink(sink)  # type: ignore[arg-type]
    else:
        previous = set_job_sink(_Replans(sink))
    return previous.replan if isinstance(previous, _Replans) else previous


@event.listens_for(Session, "after_commit")
def _hand_over(session: Session) -> None:
    ids = session.info.pop(_CHANGED, None)
    messages = session.info.pop(_MESSAGES, False)
    for run in session.info.pop(_AFTER, []):
        run()
    if _sink is None:
        return
    if ids:
        _sink.replan(sorted(ids))
    if messages:
        _sink.messages_waiting()


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_CHANGED, None)
    session.info.pop(_MESSAGES, None)
    session.info.pop(_AFTER, None)
