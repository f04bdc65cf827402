"""Health, docs, languages, the data model's invariants and the database layer."""

from __future__ import annotations

import logging
import re
import socket
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

import app.db
from app.db import ReadSession, WriteSession, get_session, get_write_session, make_engine, new_session, session_scope
from app.i18n import LANGUAGES, catalog, negotiate
from app.settings import Settings, get_settings
from visits.errors import Conflict
from visits.models import Kecamatan, Kelurahan, Team, User

APP_DIR = Path(__file__).resolve().parents[2] / "app"


def test_healthz_checks_the_database(client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["database"]) == ("ok", "ok")
    assert body["queue"]["kind"] == "process" and body["queue"]["status"] == "ok"  # the suite's apps re-plan in process


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the test connects


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_healthz_answers_503_when_the_database_is_unreachable(client, monkeypatch, caplog, tmp_path, kind: str) -> None:
    secret_bit = "s3cret-pw"
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'jemput.db'}" if kind == "sqlite" else f"postgresql+psycopg://jemput:{secret_bit}@127.0.0.1:{_closed_port()}/jemput"
    settings = get_settings()
    monkeypatch.setattr(settings, "database_url", url)
    try:
        with caplog.at_level(logging.WARNING, logger="jemput"):
            r = client.get("/healthz")
    finally:
        bad = app.db._engines.pop((url, settings.sqlite_busy_timeout_ms), None)
        if bad is not None:
            bad.dispose()
    assert r.status_code == 503
    assert r.json() == {"status": "error", "database": "unreachable"}  # no driver message, host or path
    assert "health check failed" in caplog.text
    assert secret_bit not in caplog.text and "no-such-folder" not in caplog.text and "127.0.0.1" not in caplog.text
    monkeypatch.undo()
    assert client.get("/healthz").status_code == 200  # the real database again


def test_openapi_and_docs_are_served(client) -> None:
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "Jemput"


def test_pages_are_indonesian_by_default_and_english_on_request(client) -> None:
    assert "Perekaman KTP-el di rumah" in client.get("/").text
    assert "E-KTP recording at home" in client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    client.get("/lang/en", follow_redirects=False)
    assert "E-KTP recording at home" in client.get("/", headers={"Accept-Language": "id"}).text


def test_language_negotiation_order() -> None:
    assert negotiate("en", "id-ID", "id") == "en"
    assert negotiate(None, "fr-FR, en;q=0.5", "id") == "en"
    assert negotiate(None, "in-ID", "en") == "id"
    assert negotiate("xx", None, "id") == "id"


def test_catalogs_have_the_same_keys() -> None:
    keys = [set(catalog(lang)) for lang in LANGUAGES]
    assert keys[0] == keys[1], keys[0] ^ keys[1]


ABSOLUTE_URL = re.compile(r"https?://[^\s\"'<>)]+|(?<![:/\w])//[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# absolute URLs a template or static file may contain because they load nothing: XML namespace names
ALLOWED_URLS = ("http://www.w3.org/",)


def test_templates_and_static_files_name_no_other_host() -> None:
    """No CDN, web font, analytics or map script: the pages load nothing from the internet.

    The only outside address a page may ever use is a setting (``JEMPUT_MAP_TILE_URL``, empty by
    default), so it never appears in a template or static file.
    """
    files = [f for folder in ("templates", "static", "locales") for f in sorted((APP_DIR / folder).rglob("*")) if f.is_file()]
    assert any(f.suffix == ".html" for f in files) and any(f.suffix == ".css" for f in files)
    found = [(str(f.relative_to(APP_DIR)), url) for f in files for url in ABSOLUTE_URL.findall(f.read_text(encoding="utf-8", errors="replace")) if not url.startswith(ALLOWED_URLS)]
    assert found == []


def test_the_url_scan_would_catch_a_cdn() -> None:
    samples = ['<script src="https://cdn.example.com/x.js">', "url(//fonts.example.org/a.woff2)", "<img src='http://tiles.example.net/1/2/3.png'>"]
    assert [bool(ABSOLUTE_URL.search(s)) for s in samples] == [True, True, True]
    assert not ABSOLUTE_URL.search("// a comment in a script\nvar a = 1; // another")


LOADS = re.compile(r"""(?:\bsrc|\bsrcset|<link[^>]*\bhref)\s*=\s*["']([^"']+)|url\(\s*["']?([^"')]+)|@import\s+["']([^"']+)""", re.I)


@pytest.mark.parametrize("path", ["/", "/login", "/info", "/info/flyer", "/request", "/track", "/static/app.css"])
def test_pages_load_nothing_from_the_internet(client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    loaded = [next(g for g in m if g) for m in LOADS.findall(r.text)]
    if path != "/static/app.css":
        assert "/static/app.css" in loaded  # the scan sees what a page loads
    assert [u for u in loaded if not u.startswith(("/", "data:")) or u.startswith("//")] == [], loaded


def test_settings_come_from_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("JEMPUT_REGION_PREFIX", "3516")
    monkeypatch.setenv("JEMPUT_COVERAGE_TARGET", "0.99")
    monkeypatch.setenv("JEMPUT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JEMPUT_SECRET_KEY", raising=False)
    monkeypatch.delenv("JEMPUT_DATABASE_URL", raising=False)
    s = Settings()
    assert (s.region_prefix, s.coverage_target, s.timezone, s.default_language) == ("3516", 0.99, "Asia/Jakarta", "id")
    assert s.resolved_database_url() == f"sqlite:///{tmp_path / 'jemput.db'}"
    key = s.resolved_secret_key()
    assert len(key) > 40 and Settings().resolved_secret_key() == key  # generated once, then kept


def test_no_secret_key_is_generated_for_postgresql(monkeypatch, tmp_path) -> None:
    """Several processes and hosts share one PostgreSQL: each generating its own key would sign
    different tokens, so the key must come from the environment."""
    monkeypatch.setenv("JEMPUT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JEMPUT_SECRET_KEY", raising=False)
    monkeypatch.setenv("JEMPUT_DATABASE_URL", "postgresql+psycopg://jemput@db.example:5432/jemput")
    with pytest.raises(RuntimeError, match="JEMPUT_SECRET_KEY must be set"):
        Settings().resolved_secret_key()
    assert not (tmp_path / "secret_key").exists()
    monkeypatch.setenv("JEMPUT_SECRET_KEY", "k" * 48)
    assert Settings().resolved_secret_key() == "k" * 48


def test_bad_settings_are_refused(monkeypatch) -> None:
    monkeypatch.setenv("JEMPUT_DEFAULT_LANGUAGE", "fr")
    with pytest.raises(ValueError):
        Settings()


def test_session_scope_commits_or_rolls_back(db) -> None:
    with session_scope(db) as s:
        s.add(Team(name="Committed"))
    with pytest.raises(RuntimeError):
        with session_scope(db) as s:
            s.add(Team(name="Rolled back"))
            s.flush()
            raise RuntimeError("boom")
    with session_scope(db) as s:
        names = set(s.exec(select(Team.name)).all())
    assert names == {"Committed"}


@pytest.mark.parametrize("dependency", [ReadSession, WriteSession], ids=["read-write session", "write session"])
@pytest.mark.parametrize(("outcome", "status", "kept"), [("ok", 200, True), ("domain-error", 409, False), ("crash", 500, False)])
def test_the_route_session_commits_on_success_and_rolls_back_on_error(db, dependency, outcome: str, status: int, kept: bool) -> None:
    """Through a real route: what a service flushed is committed only when the route succeeds."""
    from app.main import create_app

    application = create_app()

    @application.post("/test-only/write-then/{outcome}")
    def write_then(outcome: str, session: Session = dependency) -> dict:
        session.add(Team(name="written by the route"))
        session.flush()  # as a service would: the row is in the transaction
        if outcome == "domain-error":
            raise Conflict()
        if outcome == "crash":
            raise RuntimeError("after writing")
        return {"written": True}

    with TestClient(application, raise_server_exceptions=False) as c:
        r = c.post(f"/test-only/write-then/{outcome}")
    assert r.status_code == status
    with session_scope(db) as s:
        names = s.exec(select(Team.name)).all()
    assert names == (["written by the route"] if kept else [])


@pytest.mark.sqlite  # deferred foreign-key checks (PRAGMA defer_foreign_keys) are SQLite's
@pytest.mark.parametrize("dependency", [ReadSession, WriteSession], ids=["read-write session", "write session"])
def test_a_failed_commit_is_never_answered_as_success(db, dependency) -> None:
    """The route's transaction commits before its response is sent: when COMMIT fails (here a
    foreign key checked only at commit), the client gets a 500, not a 200 for lost work."""
    from app.main import create_app

    application = create_app()

    @application.post("/test-only/fails-at-commit")
    def fails_at_commit(session: Session = dependency) -> dict:
        session.connection().exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        session.add(Kelurahan(code="35.76.09.9998", name="x", postcode="00000", kecamatan_id=999, lat=0, lon=0))
        session.flush()  # accepted for now: the check waits for COMMIT
        return {"saved": True}

    with TestClient(application, raise_server_exceptions=False) as c:
        r = c.post("/test-only/fails-at-commit")
    assert r.status_code == 500 and "saved" not in r.text
    with session_scope(db) as s:
        assert s.exec(select(Kelurahan)).all() == []


def test_every_route_commits_before_it_answers() -> None:
    """Every route's database session is function-scoped (see app.db.ReadSession)."""
    from fastapi.routing import APIRoute, iter_route_contexts

    from app.main import create_app

    def sessions(dependant):  # noqa: ANN001, ANN202
        for dep in dependant.dependencies:
            if dep.call in (get_session, get_write_session):
                yield dep
            yield from sessions(dep)

    routes = [r for r in iter_route_contexts(create_app().routes) if isinstance(r.original_route, APIRoute)]
    found = [(route.path, dep.scope) for route in routes for dep in sessions(route.original_route.dependant)]
    assert len(found) > 20
    assert [(path, scope) for path, scope in found if scope != "function"] == []


@pytest.mark.sqlite
def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(engine, db_url: str) -> None:
    for session in (new_session(), new_session(write=True)):  # what the request dependencies use
        conn = session.connection()
        pragmas = [conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in ("journal_mode", "busy_timeout", "foreign_keys")]
        session.close()
        assert pragmas == ["wal", get_settings().sqlite_busy_timeout_ms, 1]
    other = make_engine(db_url, busy_timeout_ms=1234)  # the setting is what is applied
    try:
        with other.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    finally:
        other.dispose()


def test_foreign_keys_and_check_constraints_are_enforced(db) -> None:
    with pytest.raises(IntegrityError):
        with session_scope(db) as s:
            s.add(Kelurahan(code="35.76.09.9999", name="x", postcode="00000", kecamatan_id=999, lat=0, lon=0))
    with pytest.raises(IntegrityError):
        with session_scope(db) as s:  # an officer must belong to a team
            s.add(User(username="o", password_hash="x", role="officer"))
    with pytest.raises(IntegrityError):
        with session_scope(db) as s:
            s.add(User(username="x", password_hash="x", role="superuser"))


def test_write_sessions_serialise_writers(db) -> None:
    """Two write sessions never interleave: the second waits for the first to commit."""
    order: list[str] = []
    first_in = threading.Event()

    def writer(name: str, hold: float) -> None:
        with session_scope(db, write=True) as s:
            s.exec(select(Kecamatan)).all()  # the lock is already held before any write
            order.append(f"{name}-in")
            first_in.set()
            threading.Event().wait(hold)
            s.add(Kecamatan(code=f"99.{name}", name=name))
            s.flush()
            order.append(f"{name}-out")

    t1 = threading.Thread(target=writer, args=("a", 0.3))
    t1.start()
    first_in.wait(5)
    t2 = threading.Thread(target=writer, args=("b", 0))
    t2.start()
    t1.join(10)
    t2.join(10)
    if db.dialect.name == "sqlite":
        assert order == ["a-in", "a-out", "b-in", "b-out"]
    else:  # PostgreSQL serialises racing writers with row/advisory locks instead
        assert sorted(order) == ["a-in", "a-out", "b-in", "b-out"]
    s = new_session(db)
    assert len(s.exec(select(Kecamatan)).all()) == 2
    s.close()


def test_utc_instants_round_trip_timezone_aware(db) -> None:
    from datetime import timedelta, timezone

    from visits.models import LoginAttempt
    from visits.types import utcnow

    jakarta = timezone(timedelta(hours=7))
    at = utcnow().replace(microsecond=0).astimezone(jakarta)
    with session_scope(db) as s:
        s.add(LoginAttempt(username="u", at=at))
    with session_scope(db) as s:
        back = s.exec(select(LoginAttempt)).one().at
    assert back == at and back.utcoffset() == timedelta(0)
    with pytest.raises(Exception):  # noqa: B017 - each driver wraps the refused naive datetime in its own error
        with session_scope(db) as s:
            s.add(LoginAttempt(username="u", at=at.replace(tzinfo=None)))


def test_the_readme_lists_every_setting() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [name for name in Settings.model_fields if f"JEMPUT_{name.upper()}" not in readme]
    assert missing == []


@pytest.mark.postgresql
def test_postgresql_pools_are_sized_by_the_settings(db_url: str, monkeypatch) -> None:
    """Every web and worker process counts against the server's max_connections: the pool is a setting."""
    from app.db import get_engine

    monkeypatch.setenv("JEMPUT_DB_POOL_SIZE", "3")
    monkeypatch.setenv("JEMPUT_DB_MAX_OVERFLOW", "1")
    get_settings.cache_clear()
    try:
        engine = get_engine()
        assert (engine.pool.size(), engine.pool._max_overflow) == (3, 1)  # type: ignore[attr-defined]
        engine.dispose()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
