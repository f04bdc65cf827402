"""Prometheus metrics (prometheus-client): what an operator of the service watches.

Counted in the process that does the work: request latency in the web processes, job durations
and re-plan outcomes in whichever process re-plans (a ``jemput worker``, or the web process with
the in-process queue). Figures read from the database (queue depth, failed jobs, outbox age and
failures, the last reminder run) are collected when ``/metrics`` is scraped.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram

REQUEST_SECONDS = Histogram("jemput_request_seconds", "Web request latency", ["method", "route", "status"], buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10))
JOB_SECONDS = Histogram("jemput_job_seconds", "Job duration", ["task"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120))
REPLANS = Counter("jemput_replans_total", "Re-plans by outcome (written, stale, kept, skipped, up_to_date, error)", ["outcome"])
REPLAN_FAILURES = Counter("jemput_replan_failures_total", "Re-plans that raised (the previous plan stayed)")
LAST_REMINDER_RUN = Gauge("jemput_reminders_last_run_timestamp_seconds", "When this process last ran the day-before reminders")


def observe_replan(outcome: str, seconds: float) -> None:
    REPLANS.labels(outcome).inc()
    JOB_SECONDS.labels("replan_team_day").observe(seconds)
    if outcome == "error":
        REPLAN_FAILURES.inc()


def mark_reminders_run() -> None:
    LAST_REMINDER_RUN.set(time.time())


# ---------------------------------------------------------------- figures read at scrape time


class DatabaseFigures:
    """A prometheus collector: the outbox, the job queue and the last reminder run, read from
    the database when ``/metrics`` is scraped (so every web process reports the same figures)."""

    def collect(self):  # noqa: ANN201 - the prometheus_client collector protocol
        from prometheus_client.core import GaugeMetricFamily
        from sqlalchemy import text

        from app.db import get_engine
        from app.jobs import REPLAN_TASK, current_jobs

        engine = get_engine()
        try:
            with engine.connect() as conn:
                pending, oldest = conn.execute(text("SELECT count(*), min(created_at) FROM notification WHERE status = 'pending'")).one()
                failed = conn.execute(text("SELECT count(*) FROM notification WHERE status = 'failed'")).scalar_one()
                durations = reminders = replan_failed = None
                if engine.dialect.name == "postgresql":
                    durations = conn.execute(
                        text(
                            "SELECT j.task_name, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.at - s.at)), "
                            "percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM f.at - s.at)), count(*) "
                            "FROM procrastinate_jobs j JOIN procrastinate_events s ON s.job_id = j.id AND s.type = 'started' "
                            "JOIN procrastinate_events f ON f.job_id = j.id AND f.type IN ('succeeded', 'failed') "
                            "WHERE f.at > now() - interval '1 hour' GROUP BY j.task_name"
                        )
                    ).all()
                    replan_failed = conn.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t AND status = 'failed'"), {"t": REPLAN_TASK}).scalar_one()
                    reminders = conn.execute(
                        text(
                            "SELECT extract(epoch FROM now() - max(e.at)) FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id "
                            "WHERE j.task_name = 'jemput.send_reminders' AND e.type = 'succeeded'"
                        )
                    ).scalar_one()
        except Exception:  # noqa: BLE001 - a scrape never fails because the database is down; /healthz says so
            return
        now = datetime.now(UTC)
        yield _gauge(GaugeMetricFamily, "jemput_outbox_pending", "Messages waiting in the outbox", pending)
        yield _gauge(GaugeMetricFamily, "jemput_outbox_oldest_pending_age_seconds", "Age of the oldest message waiting", (now - _aware(oldest)).total_seconds() if oldest else 0.0)
        yield _gauge(GaugeMetricFamily, "jemput_outbox_failed", "Messages given up after their retries", failed)
        try:
            status = current_jobs().status()
        except Exception:  # noqa: BLE001 - no queue in this process (a bare app in a test)
            status = None
        if status is not None:
            for name, doc, value in (
                ("jemput_queue_depth", "Jobs waiting", status.depth),
                ("jemput_queue_running", "Jobs running", status.running),
                ("jemput_queue_workers", "Live job workers", status.workers),
                ("jemput_queue_failed_jobs", "Jobs ended failed (PostgreSQL: kept a week) / re-plans that raised in this process", status.failed),
            ):
                yield _gauge(GaugeMetricFamily, name, doc, value, kind=status.kind)
            if status.heartbeat_age_seconds is not None:
                yield _gauge(GaugeMetricFamily, "jemput_queue_heartbeat_age_seconds", "Age of the freshest worker heartbeat", status.heartbeat_age_seconds, kind=status.kind)
        if durations is not None:
            family = GaugeMetricFamily("jemput_job_duration_seconds", "Job durations over the last hour (PostgreSQL queue)", labels=["task", "quantile"])
            count = GaugeMetricFamily("jemput_jobs_finished_last_hour", "Jobs finished over the last hour", labels=["task"])
            for task, p50, p95, n in durations:
                family.add_metric([task, "0.5"], float(p50))
                family.add_metric([task, "0.95"], float(p95))
                count.add_metric([task], float(n))
            yield family
            yield count
            yield _gauge(GaugeMetricFamily, "jemput_replan_failed_jobs", "Re-plan jobs that failed (PostgreSQL queue; kept a week)", replan_failed or 0)
        if reminders is not None:
            yield _gauge(GaugeMetricFamily, "jemput_reminders_last_run_age_seconds", "Seconds since the day-before reminders last ran", float(reminders))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _gauge(family: type, name: str, doc: str, value: float, **labels: str):  # noqa: ANN202
    metric = family(name, doc, labels=list(labels))
    metric.add_metric(list(labels.values()), float(value))
    return metric


_registered = False


def is_loopback(host: str | None) -> bool:
    """Whether the client is this host (a Prometheus scraper beside the server)."""
    import ipaddress

    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def registry_text() -> tuple[bytes, str]:
    """The exposition of this process's metrics and the database's figures."""
    global _registered
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    if not _registered:
        REGISTRY.register(DatabaseFigures())
        _registered = True
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# ---------------------------------------------------------------- request latency and request ids


class RequestMetrics:
    """ASGI middleware: each HTTP request's latency by method, route template and status; a
    request id (the caller's ``X-Request-ID`` when it is a short token, else a new one) set for
    the logs (:data:`app.logredact.REQUEST_ID`) and returned in ``X-Request-ID``."""

    def __init__(self, app) -> None:  # noqa: ANN001 - an ASGI app
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from app.logredact import REQUEST_ID, request_id_from

        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = request_id_from(incoming)
        token = REQUEST_ID.set(rid)
        status = {"code": 500}
        started = time.perf_counter()

        async def send_with_id(message) -> None:  # noqa: ANN001
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
            REQUEST_SECONDS.labels(scope.get("method", ""), template, str(status["code"])).observe(time.perf_counter() - started)
            REQUEST_ID.reset(token)
