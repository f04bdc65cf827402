"""``jemput serve`` owns its solver process: SIGTERM stops both; SIGKILL of the server ends the
solver within 5 s (it watches its parent). The solver starts with the app (JEMPUT_SOLVER_WARM_START)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.app.test_cli import _free_port, _installed_jemput

pytestmark = pytest.mark.slow


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _serve(tmp_path: Path, db_url: str) -> tuple[subprocess.Popen, set[int]]:
    env = dict(os.environ, JEMPUT_DATABASE_URL=db_url, JEMPUT_DATA_DIR=str(tmp_path), JEMPUT_SOLVER_WARM_START="true")
    port = _free_port()
    server = subprocess.Popen([_installed_jemput(), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, "jemput serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "jemput serve did not answer within 60 s"
        time.sleep(0.2)
    while not (children := _children(server.pid)):  # the solver process, started with the app
        assert time.monotonic() < deadline, "no solver process started"
        time.sleep(0.2)
    return server, children


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_sigterm_stops_the_server_and_its_solver_process(tmp_path: Path, db_url: str) -> None:
    server, children = _serve(tmp_path, db_url)
    server.send_signal(signal.SIGTERM)
    assert server.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after its graceful shutdown
    deadline = time.monotonic() + 10
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [c for c in children if _alive(c)]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_the_solver_process_ends_within_5s_when_the_server_is_killed(tmp_path: Path, db_url: str) -> None:
    server, children = _serve(tmp_path, db_url)
    server.kill()
    server.wait(10)
    deadline = time.monotonic() + 5
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [c for c in children if _alive(c)]
