"""One engine per database URL; the request's session dependency owns the transaction.

Services in ``visits/`` only ``flush``; the dependency commits on success and rolls back
on any error. SQLite runs in WAL mode with a busy timeout and foreign keys on; a session
created with ``write=True`` takes SQLite's write lock up front (``BEGIN IMMEDIATE``) so two
writers that must not race are serialised instead of failing at commit time (within one
process they queue on a lock first, see ``_configure_sqlite``). On PostgreSQL the same callers
lock the rows they depend on (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from fastapi import Depends
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from app.settings import Settings, get_settings
from visits import pii
from visits.transactions import WRITE_OPTION, open_session, transaction

_WRITER_FLAG = "jemput_holds_writer_lock"

_keys: tuple[Settings, pii.Keyring] | None = None


def data_keyring() -> pii.Keyring:
    """The keys sealing NIK and KK numbers, from the settings (``JEMPUT_DATA_KEYS``), parsed once
    per settings object (tests and the CLI clear the settings cache to change them)."""
    global _keys
    settings = get_settings()
    if _keys is None or _keys[0] is not settings:
        _keys = (settings, pii.parse_keys(settings.data_keys, settings.resolved_secret_key()))
    return _keys[1]


pii.use(data_keyring)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    # One writer at a time in this process: writers queue here instead of polling SQLite's lock,
    # which is unfair and lets a waiter run out of its busy timeout when many threads write at
    # once. The busy timeout still covers writers in other processes. A plain Lock, not an RLock:
    # FastAPI may begin a request's transaction on one worker thread and commit it on another.
    writer = threading.Lock()
    queue_timeout = max(60.0, 12 * busy_timeout_ms / 1000)  # a writer waiting this long is stuck: fail loudly

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - driver callback
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA secure_delete=ON")  # deleted or overwritten personal data is zeroed, not left in free pages
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # pragma: no cover - driver callback
        if not conn.get_execution_options().get(WRITE_OPTION, False):
            conn.exec_driver_sql("BEGIN")
            return
        if not writer.acquire(timeout=queue_timeout):
            raise TimeoutError(f"no SQLite write lock within {queue_timeout:.0f} s")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writer.release()
            raise
        conn.info[_WRITER_FLAG] = True

    def _release(info: dict) -> None:
        if info.pop(_WRITER_FLAG, False):
            writer.release()

    @event.listens_for(engine, "commit")
    def _on_commit(conn) -> None:  # pragma: no cover - driver callback
        _release(conn.info)

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn) -> None:  # pragma: no cover - driver callback
        _release(conn.info)

    @event.listens_for(engine.pool, "reset")
    def _on_reset(_dbapi_connection, record, _state) -> None:  # pragma: no cover - a transaction left open
        _release(record.info)


def _private_sqlite_file(url: str) -> None:
    """The database file is readable by its owner only (0600), created so before SQLite opens it;
    SQLite gives its ``-wal`` and ``-shm`` files the database file's permissions."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.exists():
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if file.exists() and file.stat().st_mode & 0o077:
                file.chmod(0o600)


def make_engine(url: str, busy_timeout_ms: int = 5000, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """``hide_parameters``: a failing statement's error (and so any log line or traceback) never
    holds its parameters, where NIK, KK numbers, names, streets and phones would be."""
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}, hide_parameters=True)
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # JIT off for the app's sessions: its queries are index probes over a few thousand rows, and
    # the scalar subqueries of the reports push PostgreSQL's cost estimate past jit_above_cost,
    # so each call compiled ~30 ms of code to save a few (measured on /head/pipeline).
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow, hide_parameters=True, connect_args={"options": "-c jit=off"})


_engines: dict[tuple[str, int], Engine] = {}


def get_engine() -> Engine:
    s = get_settings()
    key = (s.resolved_database_url(), s.sqlite_busy_timeout_ms, s.db_pool_size, s.db_max_overflow)
    if key not in _engines:
        _engines[key] = make_engine(*key)
    return _engines[key]


def reset_engines() -> None:
    """Dispose cached engines (tests and CLI switching databases)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def new_session(engine: Engine | None = None, *, write: bool = False) -> Session:
    """A session; with ``write`` its transaction takes the write lock up front (SQLite: ``BEGIN
    IMMEDIATE``) when its first statement runs, in the thread that runs it. Not here: FastAPI
    opens a dependency on one worker thread and runs the endpoint on another, and a thread that
    holds the write lock must never have to wait for a free worker."""
    return open_session(engine or get_engine(), write=write)


def session_scope(engine: Engine | None = None, *, write: bool = False) -> AbstractContextManager[Session]:
    """Commit on success, roll back on error (``visits.transactions.transaction``)."""
    return transaction(engine or get_engine(), write=write)


def get_session() -> Iterator[Session]:
    """FastAPI dependency for reads and ordinary writes (use :data:`ReadSession`)."""
    with session_scope() as session:
        yield session


def get_write_session() -> Iterator[Session]:
    """FastAPI dependency for writes that must not race (use :data:`WriteSession`)."""
    with session_scope(write=True) as session:
        yield session


# Routes declare ``session: Session = ReadSession`` (or ``WriteSession``). Function scope: the
# transaction commits (or rolls back) when the endpoint returns, BEFORE the response is sent.
# FastAPI's default for a ``yield`` dependency is to close it after the response and its
# background tasks: a family could be told "booked" and the commit fail afterwards, and an
# uncommitted write would hold SQLite's lock while the background task waits for a thread.
ReadSession = Depends(get_session, scope="function")
WriteSession = Depends(get_write_session, scope="function")
