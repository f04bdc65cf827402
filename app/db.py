"""One engine per database URL; the request's session dependency owns the transaction.

Services in ``visits/`` only ``flush``; the dependency commits on success and rolls back
on any error. SQLite runs in WAL mode with a busy timeout and foreign keys on; a session
created with ``write=True`` takes SQLite's write lock up front (``BEGIN IMMEDIATE``) so two
writers that must not race are serialised instead of failing at commit time. On PostgreSQL
the same callers take a transaction-scoped advisory lock (see ``visits.locks``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from app.settings import get_settings

WRITE_OPTION = "jemput_write"


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - driver callback
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # pragma: no cover - driver callback
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, busy_timeout_ms: int = 5000) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000})
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


_engines: dict[tuple[str, int], Engine] = {}


def get_engine() -> Engine:
    s = get_settings()
    key = (s.resolved_database_url(), s.sqlite_busy_timeout_ms)
    if key not in _engines:
        _engines[key] = make_engine(*key)
    return _engines[key]


def reset_engines() -> None:
    """Dispose cached engines (tests and CLI switching databases)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def new_session(engine: Engine | None = None, *, write: bool = False) -> Session:
    engine = engine or get_engine()
    session = Session(engine, expire_on_commit=False)
    if write:
        # applied to the connection before BEGIN, so SQLite's lock is taken up front
        session.connection(execution_options={WRITE_OPTION: True})
    return session


@contextmanager
def session_scope(engine: Engine | None = None, *, write: bool = False) -> Iterator[Session]:
    """Commit on success, roll back on error: the only place transactions end."""
    session = new_session(engine, write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_session() -> Iterator[Session]:
    """FastAPI dependency for reads and ordinary writes."""
    with session_scope() as session:
        yield session


def get_write_session() -> Iterator[Session]:
    """FastAPI dependency for writes that must not race (takes the write lock up front)."""
    with session_scope(write=True) as session:
        yield session
