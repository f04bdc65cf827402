"""Finding 11 / personal data at rest (UU 27/2022 art. 35–39): NIK and KK numbers are sealed in the
database, looked up by a keyed hash, and the data key can be rotated."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import select

from app.cli import main as cli
from app.db import session_scope
from app.settings import get_settings
from tests.app.helpers import bearer_headers
from tests.app.intake_support import post_request
from tests.intake.intake_fixtures import area, form, kk, nik
from visits import pii
from visits.intake.nik import mask
from visits.intake.rotation import keys_in_use
from visits.intake.service import find_resident
from visits.models import RequestStatus, Resident, VisitRequest

BIRTH = date(1949, 7, 21)
PLANTED_NIK = nik(BIRTH, female=True, serial=7351)
PLANTED_KK = kk(serial=6284)
OTHER_NIK = nik(BIRTH, female=True, serial=7352)


@pytest.fixture
def api(client, session):
    area(session)
    session.commit()
    return client


def _database_text(engine) -> str:  # noqa: ANN001
    """Everything the database holds, as text: SQLite's dump and raw file bytes (with its -wal);
    on PostgreSQL every row of every table."""
    if engine.dialect.name == "sqlite":
        path = Path(make_url(str(engine.url)).database)
        raw = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
        conn = sqlite3.connect(path)
        dump = "\n".join(conn.iterdump())
        conn.close()
        return dump + raw.decode("latin-1")
    with engine.connect() as conn:
        return "\n".join(str(row[0]) for table in inspect(conn).get_table_names() for row in conn.execute(text(f'SELECT t::text FROM "{table}" t')))


def test_no_plaintext_nik_or_kk_number_in_the_database(api, engine) -> None:
    first = post_request(api, form(nik=PLANTED_NIK, kk_number=PLANTED_KK, birth_date=BIRTH.isoformat()))
    assert first.status_code == 201
    duplicate = post_request(api, form(nik=PLANTED_NIK, kk_number=PLANTED_KK, birth_date=BIRTH.isoformat(), companion_name="Orang Lain"))
    assert duplicate.status_code == 201
    assert post_request(api, form(nik=OTHER_NIK, birth_date=BIRTH.isoformat())).status_code == 201

    dumped = _database_text(engine)
    spaced = f"{PLANTED_NIK[:4]} {PLANTED_NIK[4:]}"
    for planted in (PLANTED_NIK, PLANTED_KK, OTHER_NIK, spaced):
        assert planted not in dumped
    assert "Siti Rahayu" in dumped  # the dump really holds the rows (names are not sealed)

    with session_scope() as s:
        residents = s.exec(select(Resident)).all()
        assert sorted(r.nik for r in residents) == sorted([PLANTED_NIK, OTHER_NIK])  # opened on read
        stored = s.exec(text("SELECT nik_sealed, nik_hash FROM resident")).all()  # type: ignore[call-overload]
        assert all(sealed.startswith(f"{pii.DERIVED_ID}:") and len(digest) == 64 for sealed, digest in stored)
        assert find_resident(s, PLANTED_NIK).nik == PLANTED_NIK  # type: ignore[union-attr]
        dup = s.exec(select(VisitRequest).where(VisitRequest.reference == duplicate.json()["reference"])).one()
        assert dup.status == RequestStatus.NEEDS_REVIEW and "DUPLICATE_OPEN_REQUEST" in dup.reasons  # duplicate detection by hash
        assert dup.kk_number == PLANTED_KK
        first_id = s.exec(select(VisitRequest.id).where(VisitRequest.reference == first.json()["reference"])).one()
        with pytest.raises(TypeError, match="sealed column"):  # comparing ciphertext would silently never match
            select(Resident).where(Resident.nik == PLANTED_NIK)
    case = f"/operator/requests/{first_id}"
    assert PLANTED_NIK in api.get(case, headers=bearer_headers("operator")).text  # staff who may see it: decrypted
    head_page = api.get(case, headers=bearer_headers("head")).text
    assert PLANTED_NIK not in head_page and mask(PLANTED_NIK) in head_page  # the head: masked


def _use_keys(spec: str | None) -> None:
    if spec is None:
        os.environ.pop("JEMPUT_DATA_KEYS", None)
    else:
        os.environ["JEMPUT_DATA_KEYS"] = spec
    get_settings.cache_clear()


@pytest.fixture
def default_keys_after() -> Iterator[None]:
    yield
    _use_keys(None)


def test_rotation_reseals_every_value_and_the_old_key_can_go(api, default_keys_after, capsys) -> None:
    for serial in range(5):
        assert post_request(api, form(nik=nik(BIRTH, female=True, serial=8100 + serial), kk_number=kk(serial=8100 + serial), birth_date=BIRTH.isoformat())).status_code == 201
    new = pii.new_key_spec("k2026")
    _use_keys(f"{new},secret")  # the new key is current; the old one still opens what it sealed
    with session_scope() as s:
        assert keys_in_use(s) == {pii.DERIVED_ID: 10}
        assert find_resident(s, nik(BIRTH, female=True, serial=8100)) is not None  # lookups match during the rotation
    assert cli(["rotate-data-key", "--batch", "2"]) == 0
    assert "older keys can be removed" in capsys.readouterr().out
    assert cli(["rotate-data-key"]) == 0  # idempotent: nothing left to do
    assert "0 value(s) re-sealed" in capsys.readouterr().out

    _use_keys(new)  # the old key removed
    with session_scope() as s:
        assert keys_in_use(s) == {"k2026": 10}
        residents = s.exec(select(Resident)).all()
        assert sorted(r.nik for r in residents) == sorted(nik(BIRTH, female=True, serial=8100 + i) for i in range(5))  # type: ignore[type-var]
        assert sorted(r.kk_number for r in s.exec(select(VisitRequest)).all()) == sorted(kk(serial=8100 + i) for i in range(5))  # type: ignore[type-var]
        assert find_resident(s, nik(BIRTH, female=True, serial=8103)) is not None  # re-hashed under the new key
    again = post_request(api, form(nik=nik(BIRTH, female=True, serial=8102), birth_date=BIRTH.isoformat()))
    with session_scope() as s:
        row = s.exec(select(VisitRequest).where(VisitRequest.reference == again.json()["reference"])).one()
        assert "DUPLICATE_OPEN_REQUEST" in row.reasons  # duplicate detection after the rotation

    _use_keys(pii.new_key_spec("k2027"))  # a key that never sealed anything: values do not open, loudly
    with session_scope() as s, pytest.raises(pii.DataKeyError, match="k2026"):
        s.exec(select(Resident)).all()


def test_bad_key_settings_are_refused_without_echoing_the_key() -> None:
    with pytest.raises(pii.DataKeyError) as bad:
        pii.parse_keys("k1:c2hvcnQ", "s")
    assert "c2hvcnQ" not in str(bad.value)
    with pytest.raises(pii.DataKeyError):
        pii.parse_keys("k1:" + pii.new_key_spec("x").split(":")[1] + ",k1:" + pii.new_key_spec("y").split(":")[1], "s")
    ring = pii.parse_keys(pii.new_key_spec("a") + ",secret", "s")
    sealed = pii.seal("3576014107450099", pii.NIK, ring.current)
    assert sealed.startswith("a:") and "3576014107450099" not in sealed
    assert pii.seal("3576014107450099", pii.NIK, ring.current) != sealed  # a random nonce per value


def test_the_migration_seals_stored_rows_and_downgrade_opens_them(fresh_db_url: str) -> None:
    from app.db import make_engine
    from app.migrate import downgrade, upgrade
    from tests.intake.test_migration import _seed_at_0001

    upgrade(fresh_db_url, "0001")
    engine = make_engine(fresh_db_url)
    try:
        with engine.begin() as conn:
            _seed_at_0001(conn)  # NIK 3576015403500001, KK 3576011503180007, in clear
        upgrade(fresh_db_url, "0003_reporting")
        upgrade(fresh_db_url, "0004_pii_at_rest")
        with engine.connect() as conn:
            [(sealed, digest)] = conn.execute(text("SELECT nik_sealed, nik_hash FROM resident")).all()
            [kk_sealed] = conn.execute(text("SELECT kk_number_sealed FROM visit_request")).scalars().all()
            assert "nik" not in {c["name"] for c in inspect(conn).get_columns("resident")}
            assert "kk_number" not in {c["name"] for c in inspect(conn).get_columns("visit_request")}
            if conn.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert pii.open_(sealed, pii.NIK) == "3576015403500001" and pii.open_(kk_sealed, pii.KK) == "3576011503180007"
        assert digest == pii.lookup_hash("3576015403500001") and "3576015403500001" not in sealed + kk_sealed
        with session_scope(engine) as s:
            assert find_resident(s, "3576015403500001").full_name == "Siti"  # type: ignore[union-attr]
            assert s.exec(select(VisitRequest)).one().kk_number == "3576011503180007"
        if engine.dialect.name == "sqlite":  # the rows as SQL (freed pages are zeroed: secure_delete)
            raw = sqlite3.connect(str(make_url(fresh_db_url).database))
            dump = "\n".join(raw.iterdump())
            raw.close()
            assert "Siti" in dump and "3576015403500001" not in dump and "3576011503180007" not in dump
            engine.dispose()
            path = Path(str(make_url(fresh_db_url).database))
            raw_bytes = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
            assert b"Siti" in raw_bytes and b"3576015403500001" not in raw_bytes and b"3576011503180007" not in raw_bytes

        downgrade(fresh_db_url, "0003_reporting")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT nik FROM resident")).scalars().all() == ["3576015403500001"]
            assert conn.execute(text("SELECT kk_number FROM visit_request")).scalars().all() == ["3576011503180007"]
        upgrade(fresh_db_url)
        with engine.begin() as conn:  # an anonymised resident cannot go back to revision 0003
            conn.execute(text("UPDATE resident SET nik_sealed = NULL, nik_hash = NULL"))
        with pytest.raises(RuntimeError, match="anonymised"):
            downgrade(fresh_db_url, "0003_reporting")
    finally:
        engine.dispose()
