"""Revision 0002 (requests from outside the service area) on a database that already holds data."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from app.db import make_engine
from app.migrate import downgrade, upgrade

NOW = "2026-11-24 03:00:00+00:00"


def _seed_at_0001(conn) -> None:
    conn.execute(text("INSERT INTO kecamatan (id, code, name) VALUES (1, '35.76.01', 'Prajurit Kulon')"))
    conn.execute(text("INSERT INTO kelurahan (id, code, name, postcode, kecamatan_id, lat, lon) VALUES (1, '35.76.01.1003', 'Mentikan', '61323', 1, -7.4712, 112.4172)"))
    conn.execute(
        text(
            "INSERT INTO resident (id, nik, full_name, birth_date, sex, marital_status, group_elderly, group_disabled, group_mental, group_bedridden,"
            " street, rt, rw, kelurahan_id, lat, lon, location_source, created_at, updated_at)"
            f" VALUES (1, '3576015403500001', 'Siti', '1950-03-14', 'F', 'widowed', true, false, false, false, 'Jl. Mawar 5', '003', '002', 1, -7.47, 112.42, 'centroid', '{NOW}', '{NOW}')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO visit_request (id, reference, tracking_token_hash, resident_id, channel, status, kk_number, kk_check_at_visit, companion_name,"
            " companion_phone, companion_relation, availability, accept_any_time, consent_by, consent_at, consent_version, reasons, received_at, due_at,"
            f" updated_at, version) VALUES (1, 'AAAA-BBBB', '{'0' * 64}', 1, 'phone', 'eligible', '3576011503180007', true, 'Budi', '+6281234567890', 'anak',"
            f" '[]', false, 'guardian', '{NOW}', '2026-11', '[]', '{NOW}', '{NOW}', '{NOW}', 1)"
        )
    )
    conn.execute(
        text(
            f"INSERT INTO notification (id, request_id, recipient, language, template, body, status, attempts, next_attempt_at, created_at) VALUES (1, 1, '+6281234567890', 'id', 'ack', 'x', 'pending', 0, '{NOW}', '{NOW}')"
        )
    )
    conn.execute(text(f"INSERT INTO audit_log (id, at, action, entity, entity_id, resident_id, route) VALUES (1, '{NOW}', 'read', 'resident', 1, 1, '/x')"))


def _insert_outside_resident(conn) -> None:
    conn.execute(
        text(
            "INSERT INTO resident (id, nik, full_name, birth_date, sex, marital_status, group_elderly, group_disabled, group_mental, group_bedridden,"
            " street, rt, rw, kelurahan_id, outside_kelurahan_code, lat, lon, location_source, created_at, updated_at)"
            f" VALUES (2, '3516011403500001', 'Joko', '1950-03-14', 'M', 'married', true, false, false, false, 'Jl. Jauh 1', '001', '001', NULL, '35.16.01.2001', NULL, NULL, NULL, '{NOW}', '{NOW}')"
        )
    )


def test_upgrade_keeps_data_and_downgrade_round_trips(fresh_db_url: str) -> None:
    upgrade(fresh_db_url, "0001")
    engine = make_engine(fresh_db_url)
    try:
        with engine.begin() as conn:
            _seed_at_0001(conn)
        upgrade(fresh_db_url, "0002")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT nik, kelurahan_id, outside_kelurahan_code, location_source FROM resident")).all() == [("3576015403500001", 1, None, "centroid")]
            assert conn.execute(text("SELECT COUNT(*) FROM visit_request WHERE resident_id = 1 AND first_answer IS NULL")).scalar() == 1
            assert conn.execute(text("SELECT COUNT(*) FROM notification")).scalar() == 1
            assert conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE resident_id = 1")).scalar() == 1
            if conn.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        checks = {c["name"] for c in inspect(engine).get_check_constraints("resident")}
        assert {"ck_resident_sex_valid", "ck_resident_one_kelurahan", "ck_resident_located_in_area", "ck_resident_location_complete"} <= checks
        assert inspect(engine).get_foreign_keys("resident")[0]["referred_table"] == "kelurahan"

        with engine.begin() as conn:  # the constraints hold: an address in the area without a location is refused
            with pytest.raises(IntegrityError):
                with conn.begin_nested():
                    conn.execute(text("UPDATE resident SET lat = NULL, lon = NULL, location_source = NULL WHERE id = 1"))
            with pytest.raises(IntegrityError):
                with conn.begin_nested():
                    conn.execute(text("UPDATE resident SET outside_kelurahan_code = '35.16.01.2001' WHERE id = 1"))
            _insert_outside_resident(conn)

        with pytest.raises(RuntimeError, match="outside the service area"):
            downgrade(fresh_db_url, "0001")
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM resident WHERE id = 2"))
        downgrade(fresh_db_url, "0001")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM visit_request")).scalar() == 1
            assert "outside_kelurahan_code" not in {c["name"] for c in inspect(conn).get_columns("resident")}
        upgrade(fresh_db_url)
    finally:
        engine.dispose()
