"""The PostgreSQL job queue (procrastinate, ``app.jobs``): re-plans deferred after commit and
run by a worker, the periodic reminders once per booking, and the choice of queue.

PostgreSQL only (the queue lives in PostgreSQL; on SQLite the in-process queue stays, tested in
tests/planning/test_replan*.py); CI runs the suite on both.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from app import jobs
from app.db import session_scope
from tests.booking.slot_support import NOW, make_request, setup_area
from visits.booking import slots
from visits.models import Booking, Notification, Plan, TeamDay
from visits.planning.travel import TravelService
from visits.transactions import mark_changed, set_job_sink

TRAVEL, POLICY = TravelService(), slots.SlotPolicy()


def _run_worker() -> None:
    """``jemput worker`` until caught up, in a thread of its own: procrastinate runs its own event
    loop, and the test session's Playwright holds this thread's."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(jobs.run_worker, wait=False, install_signal_handlers=False, listen_notify=False).result()


def test_the_queue_follows_the_database_unless_the_setting_names_one() -> None:
    assert jobs.queue_kind("sqlite:///x.db", "auto") == jobs.IN_PROCESS
    assert jobs.queue_kind("postgresql+psycopg://u@h/db", "auto") == jobs.POSTGRES
    assert jobs.queue_kind("postgresql+psycopg://u@h/db", "process") == jobs.IN_PROCESS
    assert jobs.conninfo("postgresql+psycopg://u:p@h:5433/db") == "postgresql://u:p@h:5433/db"


def test_the_periodic_chores_are_scheduled() -> None:
    periodic = {p.task.name: p.cron for p in jobs.jobs_app.periodic_registry.periodic_tasks.values()}
    assert periodic == {f"jemput.{name}": cron for name, cron in jobs.SCHEDULE.items()}
    replan_task = jobs.jobs_app.tasks[jobs.REPLAN_TASK]
    assert replan_task.queueing_lock is None and replan_task.lock is None  # per team-day, given at defer time


@pytest.fixture
def pg(db) -> Iterator[object]:
    if db.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: the job queue lives in PostgreSQL (SQLite keeps the in-process queue)")
    yield db
    jobs.close_postgres_app()
    with db.begin() as conn:
        conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers, procrastinate_workers RESTART IDENTITY CASCADE"))


def _jobs(db) -> list[tuple[str, str, dict]]:
    with db.connect() as conn:
        return [(r[0], r[1], r[2]) for r in conn.execute(text("SELECT task_name, status::text, args FROM procrastinate_jobs ORDER BY id"))]


def _booked(db, day: str, n: int = 1) -> list[int]:
    """``n`` confirmed bookings on ``day``; their team-day ids."""
    with session_scope(db, write=True) as s:
        setup_area(s)
        out = []
        for k in range(n):
            req = make_request(s, [{"date": day, "start": "08:00", "end": "15:00"}], offset=(k * 0.002, -k * 0.0015))
            offer = slots.make_offers(s, req.id, NOW, TRAVEL, POLICY).offers[0]
            slots.confirm(s, req.id, offer.offer_id, NOW, TRAVEL, POLICY)
            out.append(s.exec(select(Booking.team_day_id).where(Booking.request_id == req.id)).one())
    return out


@pytest.mark.postgresql
def test_a_replan_is_deferred_after_commit_not_after_rollback_and_a_worker_stores_the_plan(pg) -> None:
    queue = jobs.PostgresJobs(jobs.postgres_app())
    previous = set_job_sink(queue)
    try:
        [team_day_id] = _booked(pg, "2026-11-25")  # the confirmation's commit defers the re-plan
        with session_scope(pg) as s:
            other = s.exec(select(TeamDay.id).where(TeamDay.id != team_day_id)).first()
        with pytest.raises(RuntimeError), session_scope(pg, write=True) as s:
            mark_changed(s, other)
            raise RuntimeError("rolled back")
        assert queue.replan([team_day_id]) == []  # one waits already (its queueing lock)
    finally:
        set_job_sink(previous)
    waiting = [(name, status, args) for name, status, args in _jobs(pg) if name == jobs.REPLAN_TASK]
    assert waiting == [(jobs.REPLAN_TASK, "todo", {"team_day_id": team_day_id})]  # none for the rolled-back change
    assert queue.status().depth >= 1

    _run_worker()  # until caught up

    with session_scope(pg) as s:
        td = s.get(TeamDay, team_day_id)
        plans = s.exec(select(Plan).where(Plan.team_day_id == team_day_id)).all()
    assert td is not None and [p.version for p in plans] == [td.version]
    assert [status for name, status, _ in _jobs(pg) if name == jobs.REPLAN_TASK] == ["succeeded"]


def _figures() -> dict[str, float]:
    """The unlabelled figures /metrics reads from the database."""
    from app.metrics import DatabaseFigures

    return {m.name: m.samples[0].value for m in DatabaseFigures().collect() if len(m.samples) == 1 and not m.samples[0].labels}


@pytest.mark.postgresql
def test_the_reminders_task_run_twice_for_the_same_day_queues_each_reminder_once(pg) -> None:
    _booked(pg, "2026-11-25", n=3)
    tuesday = int((NOW + timedelta(days=1)).timestamp())  # the day before the visits
    barrier, counts = threading.Barrier(2), []

    def run() -> None:
        barrier.wait(timeout=30)
        counts.append(jobs.send_reminders(tuesday))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(counts)[-1] <= 3 and sum(counts) == 3  # two overlapping runs: each booking reminded by one of them

    assert "jemput_reminders_last_run_age_seconds" not in _figures()  # no worker has run them yet
    jobs.postgres_app().configure_task("jemput.send_reminders").defer(timestamp=tuesday)  # and a worker's run of the same day adds none
    _run_worker()
    assert ("jemput.send_reminders", "succeeded", {"timestamp": tuesday}) in _jobs(pg)
    assert 0 <= _figures()["jemput_reminders_last_run_age_seconds"] < 120  # /metrics: the age of the last run, from the job table
    with session_scope(pg) as s:
        reminders = s.exec(select(Notification.request_id).where(Notification.template == "booking_reminder")).all()
    assert len(reminders) == 3 and set(Counter(reminders).values()) == {1}


@pytest.mark.postgresql
def test_healthz_and_metrics_report_the_postgresql_queue(pg, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import get_settings
    from tests.app.helpers import login_as

    [team_day_id] = _booked(pg, "2026-11-25")  # no sink: nothing deferred yet
    monkeypatch.setenv("JEMPUT_JOB_QUEUE", "postgres")
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as client:
            jobs.current_jobs().replan([team_day_id])
            queue = client.get("/healthz").json()["queue"]
            assert queue == {"status": "no_worker", "kind": "postgres", "waiting": 1, "running": 0, "workers": 0, "heartbeat_age_seconds": None}
            _run_worker()
            queue = client.get("/healthz").json()["queue"]
            assert queue["waiting"] == 0 and queue["heartbeat_age_seconds"] is None  # the worker unregistered when it stopped
            login_as(client, "admin")
            text = client.get("/metrics").text
    finally:
        get_settings.cache_clear()
    assert 'jemput_job_duration_seconds{quantile="0.95",task="jemput.replan_team_day"}' in text
    assert 'jemput_jobs_finished_last_hour{task="jemput.replan_team_day"} 1.0' in text
    assert 'jemput_queue_depth{kind="postgres"} 0.0' in text
    assert "jemput_replan_failed_jobs 0.0" in text


def test_jemput_worker_refuses_without_the_postgresql_queue(monkeypatch, capsys) -> None:
    from app.cli import main
    from app.settings import get_settings

    monkeypatch.setenv("JEMPUT_JOB_QUEUE", "process")
    get_settings.cache_clear()
    try:
        assert main(["worker"]) == 2
    finally:
        get_settings.cache_clear()
    assert "needs the PostgreSQL job queue" in capsys.readouterr().err


@pytest.mark.postgresql
def test_a_burst_gets_quick_plans_first_and_a_polish_of_each_after(pg, monkeypatch) -> None:
    """While other re-plans wait, a re-plan solves with the busy time limit and queues a polish
    (the full time limit, lower priority) of its team-day; the last one of the burst, with none
    waiting, and the polish itself solve with the full time."""
    from app.settings import get_settings
    from visits.planning import replan

    calls: list[tuple[int, float, bool]] = []
    real = replan.replan_team_day

    def recorded(engine, team_day_id, travel, now, time_limit, seed, solver, *, polish=False):  # noqa: ANN001, ANN202
        calls.append((team_day_id, time_limit, polish))
        return real(engine, team_day_id, travel, now, time_limit, seed, solver, polish=polish)

    monkeypatch.setattr(replan, "replan_team_day", recorded)
    first, second = _booked(pg, "2026-11-25")[0], _booked(pg, "2026-11-26")[0]
    assert first != second
    queue = jobs.PostgresJobs(jobs.postgres_app())
    with pg.begin() as conn:  # the confirmations' own re-plans are not needed: start from a queue of two
        conn.execute(text("DELETE FROM procrastinate_jobs"))
    assert queue.replan([first, second]) == [first, second]

    _run_worker()  # one job at a time, until caught up

    s = get_settings()
    quick, full = s.replan_busy_time_limit_seconds, s.replan_time_limit_seconds
    assert calls == [(first, quick, False), (second, full, False), (first, full, True)]
    ran = [(name, status, args) for name, status, args in _jobs(pg) if name == jobs.REPLAN_TASK]
    assert ran == [
        (jobs.REPLAN_TASK, "succeeded", {"team_day_id": first}),
        (jobs.REPLAN_TASK, "succeeded", {"team_day_id": second}),
        (jobs.REPLAN_TASK, "succeeded", {"team_day_id": first, "polish": True}),
    ]
    with session_scope(pg) as session:  # one plan per version: the polish kept or replaced the same row
        for tid in (first, second):
            td = session.get(TeamDay, tid)
            assert [p.version for p in session.exec(select(Plan).where(Plan.team_day_id == tid)).all()] == [td.version]
