"""Test fixtures: a real database built by running the migrations.

SQLite (a temporary file) by default. Set ``JEMPUT_TEST_DATABASE_URL`` to a PostgreSQL
server URL (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) to run the
whole suite against a fresh database created on that server for this run and dropped at
the end. Under ``CI=true`` an unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="jemput-test-"))
os.environ["JEMPUT_DATA_DIR"] = str(_TMP)
os.environ.setdefault("JEMPUT_SECRET_KEY", "test-secret-key")
os.environ.setdefault("JEMPUT_SOLVER_WARM_START", "false")  # each test app starts its solver process only when it re-plans
# The suite's apps re-plan in their own process on either backend (the tests wait on that queue);
# the PostgreSQL job queue's tests (tests/planning/test_job_queue.py) choose it themselves.
os.environ.setdefault("JEMPUT_JOB_QUEUE", "process")

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"


def _create_pg_database(server_url: str) -> str:
    import psycopg

    url = make_url(server_url)
    name = f"jemput_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = url.set(drivername="postgresql", database=url.database or "postgres").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {url.host}:{url.port} is unreachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.exit(message, returncode=3)
        pytest.skip(message)
    return url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def _drop_pg_database(db_url: str) -> None:
    import psycopg

    url = make_url(db_url)
    name = url.database
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backend() -> str:
    """The database this run tests: PostgreSQL when ``JEMPUT_TEST_DATABASE_URL`` names a server."""
    return "postgresql" if os.environ.get("JEMPUT_TEST_DATABASE_URL") else "sqlite"


test_backend.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests about one backend itself (``@pytest.mark.sqlite`` / ``postgresql``) are deselected,
    not skipped, on the other: CI runs the suite on both, so each runs somewhere and none passes
    by skipping."""
    other = {"sqlite": "postgresql", "postgresql": "sqlite"}[test_backend()]
    dropped = [item for item in items if item.get_closest_marker(other)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not item.get_closest_marker(other)]


@pytest.fixture(scope="session")
def db_url() -> Iterator[str]:
    """A migrated, empty database for this test run."""
    from app.db import reset_engines
    from app.migrate import upgrade
    from app.settings import get_settings

    server = os.environ.get("JEMPUT_TEST_DATABASE_URL")
    url = _create_pg_database(server) if server else f"sqlite:///{_TMP / 'test.db'}"
    os.environ["JEMPUT_DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engines()
    upgrade(url)
    yield url
    reset_engines()
    if server:
        _drop_pg_database(url)


@pytest.fixture
def fresh_db_url() -> Iterator[str]:
    """An empty database (no migrations run) on the backend under test."""
    server = os.environ.get("JEMPUT_TEST_DATABASE_URL")
    if server:
        url = _create_pg_database(server)
        yield url
        _drop_pg_database(url)
    else:
        yield f"sqlite:///{_TMP / ('fresh-' + secrets.token_hex(4) + '.db')}"


@pytest.fixture(scope="session")
def engine(db_url: str):
    from app.db import get_engine

    return get_engine()


def _truncate_all(engine) -> None:
    from visits.models import metadata

    tables = list(reversed(metadata.sorted_tables))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture
def db(engine) -> Iterator[object]:
    """A clean database for one test (emptied after it)."""
    yield engine
    _truncate_all(engine)


@pytest.fixture
def session(db):
    from app.db import new_session

    s = new_session(db)
    yield s
    s.rollback()
    s.close()


# The app's clock in tests: a fixed working Monday morning in Jakarta, so no test depends on the
# hour, the weekday or the date it runs (CI also runs the suite under faketime on a Thursday
# evening before a long weekend). Tests that need another instant set ``app.dependency_overrides``.
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 2026-11-23 09:00 WIB (tests/booking/slot_support.NOW)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def app(db):
    from app.deps import get_now
    from app.main import create_app

    application = create_app()
    application.dependency_overrides[get_now] = lambda: NOW
    return application


@pytest.fixture
def client(app):
    """The app through a TestClient (its lifespan runs). Booking routes queue re-plans
    (``visits.planning.replan``): wait for them so none writes into the next test's data."""
    from fastapi.testclient import TestClient

    from visits.planning.replan import wait_idle

    with TestClient(app) as c:
        yield c
    assert wait_idle(60), "background re-plans still running after 60 s"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SHARED_DIR} is missing")
        pytest.skip("../shared is not beside the repository")
    return SHARED_DIR


from tests.browser import browser, live  # noqa: E402, F401 - the real-browser fixtures, registered once for the session
