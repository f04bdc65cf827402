"""Finding 4 end to end, with a real ``kill -9``: a family books into a team-day, the server and its
solver process are SIGKILLed while that team-day is being re-planned, the server is started again.
Within 30 s every team-day of the horizon has a timed route from a current plan
(``GET /api/v1/plans``), and a free window on the team-day that was being re-planned is offered.

The server runs on the real clock (a subprocess): the test books whatever it is offered, so it
does not depend on the hour or the weekday."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, select

from app.db import make_engine, session_scope
from app.migrate import upgrade
from tests.app.test_cli import _free_port, _installed_jemput
from tests.app.test_lifecycle import _alive, _children
from tests.intake.intake_fixtures import form, jpeg_bytes, multipart, nik
from visits.demo import ensure_bookings, ensure_calendar, ensure_requests, ensure_teams
from visits.intake.service_area import KOTA_MOJOKERTO_CENTRE, ensure_office, ensure_service_area
from visits.models import Booking, BookingStatus, Plan, PlanStatus, Role, SlotHold, Team, TeamDay
from visits.staff.users import create_user
from visits.types import utcnow

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "kata-sandi-uji-kill9"
EVERY_DAY = json.dumps([{"weekday": d, "start": "08:00", "end": "15:00"} for d in range(6)])


def _seed(db_url: str) -> None:
    """The demo's area, office, calendar and requests, with one team working (every booking is
    on its days, the one a new family is offered too) and its first visits booked."""
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with session_scope(engine, write=True) as s:
            ensure_service_area(s)
            ensure_office(s, "Dispendukcapil", "Kota Mojokerto, Jawa Timur", *KOTA_MOJOKERTO_CENTRE)
            teams = ensure_teams(s)
            for team in teams[1:]:
                team.active = False
                s.add(team)
            ensure_calendar(s)
            ensure_requests(s, count=20)
            s.flush()
            ensure_bookings(s, utcnow(), how_many=6)
            create_user(s, "kill9-operator", Role.OPERATOR, PASSWORD)
    finally:
        engine.dispose()


def _serve(tmp_path: Path, db_url: str, port: int, **settings: str) -> subprocess.Popen:
    env = dict(os.environ, JEMPUT_DATABASE_URL=db_url, JEMPUT_DATA_DIR=str(tmp_path), JEMPUT_SOLVER_WARM_START="true", PYTHONPATH=str(ROOT), **settings)
    server = subprocess.Popen([_installed_jemput(), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("ab"))
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, "jemput serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "jemput serve did not answer within 60 s"
        time.sleep(0.2)


def _submit(base: str, serial: int) -> str:
    data = form(nik=nik(date(1950, 3, 14), female=True, serial=serial), availability=EVERY_DAY)
    r = httpx.post(f"{base}/api/v1/requests", data=multipart(data), files={"kk_file": ("kk.jpg", jpeg_bytes(), "image/jpeg")}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["tracking_token"]


def _untimed(base: str, headers: dict, days: list) -> list[str]:
    """What is not yet a timed route from a current plan, per day (empty: all timed)."""
    missing = []
    for day in days:
        r = httpx.get(f"{base}/api/v1/plans", params={"date": day.isoformat()}, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        for route in r.json()["routes"]:
            if route["stops"] and (route["source"] != "plan" or any(stop["start"] is None for stop in route["stops"])):
                missing.append(f"{day} team {route['team_id']}: {route['source']}, {sum(stop['start'] is None for stop in route['stops'])} of {len(route['stops'])} untimed")
    return missing


@pytest.fixture
def file_db(tmp_path: Path, fresh_db_url: str) -> str:
    """A database file of the test's own on SQLite (the server's, as in production); on PostgreSQL a fresh database."""
    return fresh_db_url if fresh_db_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'jemput.db'}"


def test_after_a_kill_9_during_a_re_plan_every_team_day_is_timed_and_bookable_within_30s(tmp_path: Path, file_db: str) -> None:
    fresh_db_url = file_db
    _seed(fresh_db_url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(tmp_path, fresh_db_url, port, JEMPUT_REPLAN_TIME_LIMIT_SECONDS="5")
    try:
        token = _submit(base, 6001)
        offers = httpx.post(f"{base}/api/v1/track/{token}/offers", json={}, timeout=30).json()["offers"]
        assert offers, "the working team has room in the horizon"
        solver = _children(server.pid)
        booked = httpx.post(f"{base}/api/v1/track/{token}/confirm", json={"offer_id": offers[0]["offer_id"]}, timeout=30)
        assert booked.status_code == 200, booked.text
        for pid in [server.pid, *solver]:  # at once: the re-plan of that team-day has just begun
            os.kill(pid, signal.SIGKILL)
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(10)
    assert not [pid for pid in _children(server.pid) if _alive(pid)]

    engine = make_engine(fresh_db_url)
    try:
        with session_scope(engine) as s:
            hold = s.exec(select(SlotHold).where(SlotHold.offer_id == offers[0]["offer_id"])).one()
            team_day = s.get(TeamDay, hold.team_day_id)
            assert team_day is not None
            lost = s.exec(select(Plan).where(Plan.team_day_id == team_day.id, Plan.version == team_day.version, Plan.status == PlanStatus.CURRENT)).first()
            assert lost is None, "the re-plan finished before the kill: nothing was lost"
            days = sorted(set(s.exec(select(TeamDay.day).join(Booking, Booking.team_day_id == TeamDay.id).where(Booking.status == BookingStatus.CONFIRMED, col(TeamDay.day) >= utcnow().date())).all()))  # type: ignore[arg-type]
            killed_day, killed_team_day = team_day.day, team_day.id
            working = s.exec(select(Team).where(Team.active)).all()
            assert [t.id for t in working] == [team_day.team_id]
    finally:
        engine.dispose()

    server = _serve(tmp_path, fresh_db_url, port)
    try:
        started = time.monotonic()
        login = httpx.post(f"{base}/api/v1/auth/token", data={"username": "kill9-operator", "password": PASSWORD}, timeout=30)
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        while missing := _untimed(base, headers, days):
            assert time.monotonic() - started < 30, f"still untimed 30 s after the restart: {missing}"
            time.sleep(0.5)

        weekday = killed_day.weekday()
        other = form(nik=nik(date(1950, 3, 14), female=True, serial=6002), availability=json.dumps([{"weekday": weekday, "start": "08:00", "end": "15:00"}]))
        r = httpx.post(f"{base}/api/v1/requests", data=multipart(other), files={"kk_file": ("kk.jpg", jpeg_bytes(), "image/jpeg")}, timeout=30)
        assert r.status_code == 201, r.text
        again = httpx.post(f"{base}/api/v1/track/{r.json()['tracking_token']}/offers", json={}, timeout=30).json()["offers"]
        on_that_day = [o for o in again if o["date"] == killed_day.isoformat()]
        assert on_that_day, f"no free window offered on {killed_day}: {again}"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    engine = make_engine(fresh_db_url)
    try:
        with session_scope(engine) as s:
            held = s.exec(select(SlotHold).where(SlotHold.offer_id == on_that_day[0]["offer_id"])).one()
            assert held.team_day_id == killed_team_day  # the one team works that day: the window is on the team-day that was re-planned
    finally:
        engine.dispose()
