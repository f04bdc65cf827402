"""The ``jemput`` command: migrate, seed-demo (idempotent), create-user, serve."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from app.cli import main as jemput
from app.db import session_scope
from visits.intake.nik import parse_kk, parse_nik
from visits.models import Booking, Kecamatan, Kelurahan, Office, OutreachResident, OutreachState, Resident, Team, TeamSkill, User, VisitRequest
from visits.staff.users import verify_password

# Kota Mojokerto's outline lies inside this box (approximate, from the city boundary on OpenStreetMap:
# the Brantas river on the north edge near 7.445 S; about 4.5 km across for 20.5 km2), and the centre
# BRIEF.md gives (7.4722 S, 112.4336 E) is near its middle.
CITY_LAT = (-7.500, -7.445)
CITY_LON = (112.405, 112.458)
KELURAHAN_CELL = re.compile(r"([A-Z][A-Za-z ]+?) \((\d{4}), (\d{5})\)")
DEMO_PASSWORD = re.compile(r"demo (\w+)\s+user: (\S+)\s+password: (\S+)")
TRACKED_REFERENCE = re.compile(r"demo family tracking link \(([\w-]+)\)")


def brief_service_area(shared_dir: Path) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """From BRIEF.md's Kemendagri table: {kecamatan code: name}, {kelurahan code: (name, postcode)}."""
    kecamatan: dict[str, str] = {}
    kelurahan: dict[str, tuple[str, str]] = {}
    for line in (shared_dir / "BRIEF.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*(35\.76\.\d{2}) ([^|]+?)\s*\|(.+)\|\s*$", line)
        if m:
            kecamatan[m.group(1)] = m.group(2)
            for name, code, postcode in KELURAHAN_CELL.findall(m.group(3)):
                kelurahan[f"{m.group(1)}.{code}"] = (name, postcode)
    return kecamatan, kelurahan


def _inside_the_city(lat: float, lon: float) -> bool:
    return CITY_LAT[0] <= lat <= CITY_LAT[1] and CITY_LON[0] <= lon <= CITY_LON[1]


def _count(model) -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_seed_demo_is_idempotent_and_well_formed(db, capsys) -> None:
    assert jemput(["seed-demo"]) == 0
    first = capsys.readouterr().out
    assert "demo-admin" in first and "password:" in first and "/track/" in first
    counts = {m: _count(m) for m in (Kecamatan, Kelurahan, Team, User, Resident, VisitRequest, Booking)}
    assert counts[Kecamatan] == 3 and counts[Kelurahan] == 18 and counts[Team] == 3 and counts[User] == 4
    assert 55 <= counts[VisitRequest] <= 65 and counts[Booking] >= 10
    with session_scope() as s:
        assert [t.skill for t in s.exec(select(TeamSkill)).all()] == ["odgj"]
        assert {u.role for u in s.exec(select(User)).all()} == {"admin", "operator", "officer", "head"}
        residents = s.exec(select(Resident)).all()
        for r in residents:
            parse_nik(r.nik)  # raises on a malformed NIK
        for req in s.exec(select(VisitRequest)).all():
            parse_kk(req.kk_number)
        groups = {g for r in residents for g in r.groups}
        kelurahan = {r.kelurahan_id for r in residents}
    assert groups == {"elderly", "disabled", "mental", "bedridden"} and len(kelurahan) == 18
    # a not-yet-recorded list (imported through the office's own checks) gives outreach someone to call
    assert "outreach list: 24 residents" in first
    with session_scope() as s:
        listed = s.exec(select(OutreachResident)).all()
        assert len(listed) == 24 and len({o.kelurahan_id for o in listed}) == 3
        assert all(o.listed and o.state == OutreachState.OPEN for o in listed)
        assert not {o.nik for o in listed} & {r.nik for r in residents}  # nobody on the list has asked
    counts[OutreachResident] = 24
    assert jemput(["seed-demo"]) == 0
    again = capsys.readouterr().out
    assert "password:" not in again and "kept as they were" in again
    assert {m: _count(m) for m in counts} == counts


def test_seed_demo_loads_the_briefs_kelurahan_inside_the_city(db, shared_dir, capsys) -> None:
    kecamatan, kelurahan = brief_service_area(shared_dir)
    assert len(kecamatan) == 3 and len(kelurahan) == 18  # the table was read
    assert jemput(["seed-demo"]) == 0
    with session_scope() as s:
        kec_rows = {k.id: k for k in s.exec(select(Kecamatan)).all()}
        kel_rows = s.exec(select(Kelurahan)).all()
        offices = s.exec(select(Office)).all()
        homes = [(r.lat, r.lon) for r in s.exec(select(Resident)).all()]
    assert {k.code: k.name for k in kec_rows.values()} == kecamatan
    assert {k.code: (k.name, k.postcode) for k in kel_rows} == kelurahan
    assert all(kec_rows[k.kecamatan_id].code == k.code.rsplit(".", 1)[0] for k in kel_rows)
    outside = [(k.code, k.lat, k.lon) for k in kel_rows if not _inside_the_city(k.lat, k.lon)]
    assert outside == []
    assert len({(k.lat, k.lon) for k in kel_rows}) == 18  # one centroid each, not all the centre
    assert len(offices) == 1 and _inside_the_city(offices[0].lat, offices[0].lon)
    assert homes and all(_inside_the_city(lat, lon) for lat, lon in homes)


def test_the_city_box_holds_the_briefs_centre_and_not_its_neighbours() -> None:
    assert _inside_the_city(-7.4722, 112.4336)  # BRIEF.md's city centre
    assert not _inside_the_city(-7.5515, 112.4859)  # south-east of the city edge: Kabupaten Mojokerto
    assert not _inside_the_city(-7.2575, 112.7521)  # Surabaya


def test_create_user_reads_the_password_from_stdin(db, monkeypatch, capsys) -> None:
    with session_scope() as s:
        s.add(Team(name="Tim A"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("rahasia-panjang-1\n"))
    assert jemput(["create-user", "--username", "petugas1", "--role", "officer", "--team", "Tim A"]) == 0
    with session_scope() as s:
        user = s.exec(select(User).where(User.username == "petugas1")).one()
    assert user.role == "officer" and user.team_id is not None and "rahasia" not in user.password_hash
    assert user.password_hash.startswith("$argon2id$") and verify_password(user.password_hash, "rahasia-panjang-1")
    assert not verify_password(user.password_hash, "rahasia-panjang-1\n") and not verify_password(user.password_hash, "rahasia-panjang-2")
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert jemput(["create-user", "--username", "x", "--role", "admin"]) == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO("rahasia-panjang-1\n"))
    assert jemput(["create-user", "--username", "y", "--role", "officer"]) == 2  # an officer needs a team
    assert _count(User) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _installed_jemput() -> Path:
    """The ``jemput`` console script the install put next to this Python (``.venv/bin/jemput``)."""
    script = Path(sys.executable).parent / ("jemput.exe" if os.name == "nt" else "jemput")
    assert script.is_file(), f"{script} is missing: install the project (python3 dev.py test does)"
    return script


@pytest.mark.slow
def test_the_run_command_serves_health_and_login_with_demo_data_within_60s(tmp_path: Path, fresh_db_url: str) -> None:
    """What ``python3 dev.py demo`` runs after installing: jemput migrate, seed-demo, serve.

    SQLite in a fresh data folder (the default database); on a PostgreSQL test run, a fresh database there.
    """
    jemput_cmd = _installed_jemput()
    env = {k: v for k, v in os.environ.items() if k not in ("JEMPUT_SECRET_KEY", "JEMPUT_DATABASE_URL")}
    env["JEMPUT_DATA_DIR"] = str(tmp_path / "data")
    if os.environ.get("JEMPUT_TEST_DATABASE_URL"):
        env["JEMPUT_DATABASE_URL"] = fresh_db_url
        env["JEMPUT_SECRET_KEY"] = "a-shared-key-as-on-every-postgresql-host"  # required there (never generated)
    start = time.monotonic()
    run = {"env": env, "cwd": tmp_path, "capture_output": True, "text": True, "timeout": 50}
    migrated = subprocess.run([jemput_cmd, "migrate"], **run)
    assert migrated.returncode == 0, migrated.stderr
    seeded = subprocess.run([jemput_cmd, "seed-demo"], **run)
    assert seeded.returncode == 0, seeded.stderr
    passwords = {role: (user, password) for role, user, password in DEMO_PASSWORD.findall(seeded.stdout)}
    assert set(passwords) == {"admin", "operator", "officer", "head"}, seeded.stdout
    references = TRACKED_REFERENCE.findall(seeded.stdout)
    assert references, seeded.stdout
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([jemput_cmd, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                if time.monotonic() - start > 60:
                    pytest.fail("the server did not answer within 60 s")
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        with httpx.Client(base_url=base, timeout=10) as browser:
            login_page = browser.get("/login")
            assert login_page.status_code == 200 and 'name="password"' in login_page.text
            token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.text).group(1)
            username, password = passwords["operator"]
            r = browser.post("/login", data={"username": username, "password": password, "csrf_token": token})
            assert (r.status_code, r.headers.get("location")) == (303, "/staff")
            inbox = browser.get("/operator/requests", params={"view": "all"})
            assert inbox.status_code == 200 and all(ref in inbox.text for ref in references)  # the seeded requests
        assert time.monotonic() - start < 60
        if "JEMPUT_DATABASE_URL" not in env:
            assert (tmp_path / "data" / "secret_key").exists()  # generated and kept on first run (SQLite only)
            assert (tmp_path / "data" / "jemput.db").exists()  # the default: SQLite in the data folder
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def test_auto_book_books_the_families_who_accept_any_time_and_replans(db, capsys) -> None:
    from tests.booking.slot_support import make_request, setup_area
    from visits.models import Notification, Plan, TeamDay

    any_weekday = [{"weekday": d, "start": "08:00", "end": "14:00"} for d in range(5)]
    with session_scope(write=True) as s:
        setup_area(s)
        keen = make_request(s, any_weekday)
        keen.accept_any_time = True
        asks_first = make_request(s, any_weekday).id
        keen_id = keen.id
    assert jemput(["auto-book"]) == 0
    assert "auto-booked: 1" in capsys.readouterr().out
    with session_scope() as s:
        booking = s.exec(select(Booking).where(Booking.request_id == keen_id)).one()
        team_day = s.get(TeamDay, booking.team_day_id)
        plan = s.exec(select(Plan).where(Plan.team_day_id == team_day.id, Plan.status == "current")).one()
        assert plan.version == team_day.version  # re-planned by the command itself
        assert s.exec(select(Booking).where(Booking.request_id == asks_first)).all() == []
        assert [n.template for n in s.exec(select(Notification).where(Notification.request_id == keen_id)).all()] == ["booking_booked"]
