"""Prometheus metrics (prometheus-client): what an operator of the service watches.

Counted in the process that does the work: request latency in the web processes, job durations
and re-plan outcomes in whichever process re-plans (a ``jemput worker``, or the web process with
the in-process queue). Figures read from the database (queue depth, failed jobs, outbox age and
failures, the last reminder run) are collected when ``/metrics`` is scraped.
"""

from __future__ import annotations

import time

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
