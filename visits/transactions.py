"""The transaction contract for every caller that opens its own sessions: the web app's request
dependencies (``app.db``), the background re-planner (``visits.replan``) and the CLI jobs.

A session bound with ``write=True`` takes the database's write lock up front when its first
statement runs (SQLite: ``BEGIN IMMEDIATE``, see ``app.db``); :func:`transaction` commits on
success and rolls back on any error. Services only flush.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
