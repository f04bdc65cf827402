"""Several processes on one PostgreSQL: 2 web processes (``jemput serve``) and 2 job workers
(``jemput worker``), 200 bookings by 40 families at a time across both web processes (offers
from one, confirmation on the other), a worker SIGKILLed while it
solves (and a new one started, as a supervisor would).

At the end: every changed team-day has a stored plan of its latest version; no re-plan job is
left waiting, running or lost, and no two runs of one team-day overlapped (procrastinate's events);
the independent route checker passes; the outbox sent every message exactly once (a local
gateway counts the posts).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from app import jobs
from app.db import session_scope
from app.liveserver import free_port
from tests.booking.invariants import assert_routes_keep_promises
from visits.models import Booking, BookingStatus, Notification, NotificationStatus, Plan, TeamDay
from visits.planning.travel import TravelService
from visits.types import utcnow

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]  # several processes share one PostgreSQL

ROOT = Path(__file__).resolve().parents[2]
BOOKINGS = 200
CLIENTS = 40  # families booking at the same moment (20 per web process, within each one's connection pool)


class Gateway(BaseHTTPRequestHandler):
    """The SMS gateway: counts each message id it is sent."""

    received: Counter = Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with type(self).lock:
            type(self).received[body["id"]] += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[str, type[Gateway]]]:
    handler = type("Handler", (Gateway,), {"received": Counter(), "lock": threading.Lock()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/send", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def pg(db) -> Iterator[object]:
    if db.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: several processes share one PostgreSQL (SQLite keeps one process)")
    yield db
    with db.begin() as conn:
        conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers, procrastinate_workers RESTART IDENTITY CASCADE"))


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_healthy(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{base} did not start: {log.read_text()[-3000:]}")


def _scalar(db, sql: str) -> int:
    with db.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def _replans_pending(db) -> int:
    return _scalar(db, f"SELECT count(*) FROM procrastinate_jobs WHERE task_name = '{jobs.REPLAN_TASK}' AND status IN ('todo', 'doing')")


def _unplanned(db) -> list[int]:
    with session_scope(db) as s:
        touched = s.exec(select(TeamDay).where(TeamDay.version > 0)).all()
        planned = {(p.team_day_id, p.version) for p in s.exec(select(Plan)).all()}
    return [td.id for td in touched if (td.id, td.version) not in planned]  # type: ignore[misc]


def _runs_overlap(db) -> list[str]:
    """Per team-day lock, each run is a job's 'started' event up to that job's next event; no two may overlap."""
    with db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT j.lock, e.job_id, e.type::text, e.at FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id "
                f"WHERE j.task_name = '{jobs.REPLAN_TASK}' ORDER BY e.job_id, e.at, e.id"
            )
        ).all()
    runs: dict[str, list[tuple[object, object]]] = {}
    by_job: dict[int, list[tuple[str, object, str]]] = {}
    for lock, job_id, kind, at in rows:
        by_job.setdefault(job_id, []).append((kind, at, lock))
    for events in by_job.values():
        for k, (kind, at, lock) in enumerate(events):
            if kind == "started":
                end = events[k + 1][1] if k + 1 < len(events) else None
                assert end is not None, f"a run of {lock} never ended"
                runs.setdefault(lock, []).append((at, end))
    problems = []
    for lock, spans in runs.items():
        spans.sort()
        problems += [f"{lock}: {a} overlaps {b}" for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1]]
    return problems


def test_two_web_processes_and_two_workers_book_200_at_once_and_survive_a_killed_worker(pg, gateway, tmp_path: Path) -> None:
    from app.bench_booking import _setup_area, make_bench_requests

    gateway_url, received = gateway
    now = utcnow()
    with session_scope(pg, write=True) as s:
        _setup_area(s)
    with session_scope(pg, write=True) as s:
        tokens = make_bench_requests(s, BOOKINGS, random.Random(14), now)

    env = os.environ.copy()
    env.update(
        JEMPUT_JOB_QUEUE="postgres",
        JEMPUT_SECRET_KEY=os.environ["JEMPUT_SECRET_KEY"],  # one key for every process: the test's too (it seals the NIKs it stores)
        JEMPUT_TRACK_RATE_LIMIT="1000000",
        JEMPUT_STALLED_WORKER_SECONDS="4",
        JEMPUT_REPLAN_TIME_LIMIT_SECONDS="1",
        JEMPUT_NOTIFY_PROVIDER="webhook",
        JEMPUT_NOTIFY_WEBHOOK_URL=gateway_url,
        JEMPUT_DATA_DIR=str(tmp_path),
        JEMPUT_DB_POOL_SIZE="5",  # 2 web + 3 workers x 10 stay well inside the server's 100 connections,
        JEMPUT_DB_MAX_OVERFLOW="5",  # with the test session's own pools open
    )
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    webs = [_spawn(["serve", "--port", str(p)], env, tmp_path / f"web{k}.log") for k, p in enumerate(ports)]
    workers = {name: _spawn(["worker", "--name", name], env, tmp_path / f"{name}.log") for name in ("w1", "w2")}
    try:
        for base, web, k in zip(bases, webs, range(2), strict=True):
            _wait_healthy(base, web, tmp_path / f"web{k}.log")

        killed = threading.Event()

        def kill_one_mid_solve() -> None:
            """Once both workers are solving (two re-plans running), SIGKILL w1 and start w3."""
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                doing = _scalar(pg, f"SELECT count(*) FROM procrastinate_jobs WHERE task_name = '{jobs.REPLAN_TASK}' AND status = 'doing'")
                if doing >= 2:
                    os.killpg(workers["w1"].pid, signal.SIGKILL)
                    workers["w1"].wait(timeout=10)
                    killed.set()
                    workers["w3"] = _spawn(["worker", "--name", "w3"], env, tmp_path / "w3.log")
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_one_mid_solve)
        killer.start()
        start = threading.Event()
        todo = list(enumerate(tokens))
        answers: list[tuple[int, int]] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def book() -> None:
            start.wait(timeout=60)
            with httpx.Client(timeout=120) as http:
                while True:
                    with lock:
                        if not todo:
                            return
                        i, token = todo.pop()
                    try:
                        offers = http.post(f"{bases[i % 2]}/api/v1/track/{token}/offers")  # offers from one web process,
                        found = offers.json().get("offers") if offers.status_code == 200 else None
                        code = 0
                        if found:
                            code = http.post(f"{bases[(i + 1) % 2]}/api/v1/track/{token}/confirm", json={"offer_id": found[0]["offer_id"]}).status_code  # confirmed on the other
                        with lock:
                            answers.append((offers.status_code, code))
                    except BaseException as exc:  # noqa: BLE001 - reported below
                        with lock:
                            errors.append(exc)

        threads = [threading.Thread(target=book) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        start.set()
        for t in threads:
            t.join(timeout=600)
        killer.join(timeout=300)
        assert errors == [], errors[:3]
        assert killed.is_set(), "no moment with both workers solving: the kill did not happen mid-solve"
        assert {offer for offer, _ in answers} == {200}, Counter(answers)
        booked = sum(1 for _, code in answers if code == 200)
        assert booked >= BOOKINGS * 0.8 and {code for _, code in answers} <= {0, 200, 409}, Counter(answers)

        deadline = time.monotonic() + 300  # the killed run is retried once w1 is seen dead (4 s) by retry_stalled (every 15 s)
        while time.monotonic() < deadline and (_replans_pending(pg) or _unplanned(pg) or _scalar(pg, "SELECT count(*) FROM notification WHERE status = 'pending'")):
            time.sleep(1)
    finally:
        for process in [*webs, *workers.values()]:
            _stop(process)

    assert _unplanned(pg) == [], "team-days without a plan of their latest version"
    assert _replans_pending(pg) == 0
    assert _scalar(pg, f"SELECT count(*) FROM procrastinate_jobs WHERE task_name = '{jobs.REPLAN_TASK}' AND status = 'failed'") <= 1  # at most the killed run, when a newer job covered it
    assert _runs_overlap(pg) == []
    # The run w1 died in was taken up again (retried, or marked failed when a newer job of its team-day waited already).
    assert _scalar(pg, f"SELECT count(*) FROM procrastinate_jobs WHERE task_name = '{jobs.REPLAN_TASK}' AND (attempts > 0 OR status = 'failed')") >= 1
    with session_scope(pg) as s:
        confirmed = s.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).all()
        assert len(confirmed) == booked
        assert_routes_keep_promises(s, now, TravelService())
        notes = s.exec(select(Notification)).all()
    assert notes and {n.status for n in notes} == {NotificationStatus.SENT}
    assert dict(received.received) == {n.id: 1 for n in notes}  # every message, exactly once


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def test_serve_with_two_workers_answers_from_two_processes(pg, tmp_path: Path) -> None:
    env = os.environ.copy()
    env.update(JEMPUT_JOB_QUEUE="postgres", JEMPUT_SECRET_KEY="many-processes-share-this-key-" + "x" * 20, JEMPUT_DATA_DIR=str(tmp_path))
    port = free_port()
    server = _spawn(["serve", "--port", str(port), "--workers", "2"], env, tmp_path / "serve.log")
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", server, tmp_path / "serve.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (tmp_path / "serve.log").read_text().count("Application startup complete") < 2:
            time.sleep(0.3)
        log = (tmp_path / "serve.log").read_text()
        assert log.count("Application startup complete") == 2, log[-2000:]  # each worker process ran the lifespan
        assert len([c for c in _children(server.pid) if "multiprocessing" in Path(f"/proc/{c}/cmdline").read_text(errors="replace")]) >= 2
        assert all(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200 for _ in range(10))
    finally:
        _stop(server)


def test_a_web_process_on_postgresql_refuses_to_start_without_the_secret_key(pg, tmp_path: Path) -> None:
    env = os.environ.copy()
    env.pop("JEMPUT_SECRET_KEY", None)
    env.update(JEMPUT_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", str(free_port())], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "JEMPUT_SECRET_KEY must be set" in done.stdout + done.stderr
    assert not (tmp_path / "secret_key").exists()
