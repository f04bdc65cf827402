"""The transaction contract for every caller that opens its own sessions: the web app's request
dependencies (``app.db``), the background re-planner (``visits.planning.replan``) and the CLI jobs.

A session bound with ``write=True`` takes the database's write lock up front when its first
statement runs (SQLite: ``BEGIN IMMEDIATE``, see ``app.db``); :func:`transaction` commits on
success and rolls back on any error. Services only flush.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

WRITE_OPTION = "jemput_write"  # execution option read by app.db's SQLite "begin" listener


def open_session(engine: Engine, *, write: bool = False) -> Session:
    """A session on ``engine``; with ``write`` its transaction begins with the write lock."""
    return Session(engine.execution_options(**{WRITE_OPTION: True}) if write else engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """Commit on success, roll back on error: the only place transactions end."""
    session = open_session(engine, write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# ---------------------------------------------------------------- re-plan after commit
# A service marks the team-days whose bookings it changed on its session. When that session's
# transaction commits they are handed to the re-plan sink (the app's or the CLI's re-plan queue,
# set in their lifespan); when it rolls back they are dropped. This is the one way to ask for a
# re-plan.

_CHANGED = "jemput_changed_team_days"
_sink: Callable[[list[int]], object] | None = None


def mark_changed(session: Session, *team_day_ids: int) -> None:
    """Ask for a re-plan of these team-days once ``session``'s transaction commits."""
    session.info.setdefault(_CHANGED, set()).update(int(t) for t in team_day_ids if t is not None)


def changed_team_days(session: Session) -> list[int]:
    """The team-days marked on ``session`` and not yet handed over (for tests and diagnostics)."""
    return sorted(session.info.get(_CHANGED, ()))


def set_replan_sink(sink: Callable[[list[int]], object] | None) -> Callable[[list[int]], object] | None:
    """Where committed changes go (``None``: nowhere); returns the previous sink."""
    global _sink
    previous, _sink = _sink, sink
    return previous


@event.listens_for(Session, "after_commit")
def _hand_over(session: Session) -> None:
    ids = session.info.pop(_CHANGED, None)
    if ids and _sink is not None:
        _sink(sorted(ids))


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_CHANGED, None)
