"""The ``jemput`` command: migrate, seed-demo (idempotent), create-user, serve."""

from __future__ import annotations

import io
import os
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
from visits.models import Booking, Kecamatan, Kelurahan, Resident, Team, TeamSkill, User, VisitRequest
from visits.nik import parse_kk, parse_nik


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
    assert jemput(["seed-demo"]) == 0
    again = capsys.readouterr().out
    assert "password:" not in again and "kept as they were" in again
    assert {m: _count(m) for m in counts} == counts


def test_create_user_reads_the_password_from_stdin(db, monkeypatch, capsys) -> None:
    with session_scope() as s:
        s.add(Team(name="Tim A"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("rahasia-panjang-1\n"))
    assert jemput(["create-user", "--username", "petugas1", "--role", "officer", "--team", "Tim A"]) == 0
    with session_scope() as s:
        user = s.exec(select(User).where(User.username == "petugas1")).one()
    assert user.role == "officer" and user.team_id is not None and "rahasia" not in user.password_hash
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert jemput(["create-user", "--username", "x", "--role", "admin"]) == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO("rahasia-panjang-1\n"))
    assert jemput(["create-user", "--username", "y", "--role", "officer"]) == 2  # an officer needs a team
    assert _count(User) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_run_command_serves_health_and_login_with_demo_data_within_60s(tmp_path: Path) -> None:
    """What ``python3 dev.py demo`` runs after installing: migrate, seed-demo, serve (SQLite)."""
    env = {**os.environ, "JEMPUT_DATA_DIR": str(tmp_path), "JEMPUT_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    env.pop("JEMPUT_SECRET_KEY", None)
    cli = [sys.executable, "-m", "app.cli"]
    start = time.monotonic()
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "seed-demo"], env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() - start > 60:
                    pytest.fail("the server did not answer within 60 s")
                time.sleep(0.3)
        login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert health.status_code == 200 and login.status_code == 200 and "password" in login.text.lower()
        assert time.monotonic() - start < 60
        assert (tmp_path / "secret_key").exists()  # generated and kept on first run
    finally:
        server.terminate()
        server.wait(10)
