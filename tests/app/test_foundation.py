"""Health, docs, languages, the data model's invariants and the database layer."""

from __future__ import annotations

import threading
import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from app.db import new_session, session_scope
from app.i18n import LANGUAGES, catalog, negotiate
from app.settings import Settings
from visits.models import Kecamatan, Kelurahan, Team, User


def test_healthz_checks_the_database(client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


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


def test_pages_load_nothing_from_the_internet(client) -> None:
    html = client.get("/").text
    assert "http://" not in html.replace("http://127.0.0.1", "") and "https://" not in html
    assert client.get("/static/app.css").status_code == 200


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
    with pytest.raises(Exception):
        with session_scope(db) as s:
            s.add(LoginAttempt(username="u", at=at.replace(tzinfo=None)))


def test_the_readme_lists_every_setting() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [name for name in Settings.model_fields if f"JEMPUT_{name.upper()}" not in readme]
    assert missing == []
