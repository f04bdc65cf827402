"""What an operator watches: Prometheus ``/metrics`` (staff or the host itself), request ids in
responses and in JSON log lines (no tokens, no personal data), the job queue in ``/healthz``."""

from __future__ import annotations

import json
import logging
import sys

import httpx

from app.liveserver import LiveServer
from app.logredact import JsonLines, log_config
from tests.app.helpers import login_as


def test_metrics_are_refused_to_an_anonymous_remote_caller(client) -> None:
    r = client.get("/metrics")  # the TestClient's address is "testclient": not this host
    assert r.status_code == 403
    assert "jemput_" not in r.text


def test_staff_see_the_metrics(client) -> None:
    client.get("/healthz")
    client.get("/info")
    login_as(client, "head")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'jemput_request_seconds_count{method="GET",route="/info",status="200"}' in text  # by route template, not raw path
    for name in ("jemput_outbox_pending", "jemput_outbox_oldest_pending_age_seconds", "jemput_outbox_failed", "jemput_queue_depth", "jemput_queue_workers", "jemput_replans_total"):
        assert name in text, name


def test_a_scraper_on_this_host_needs_no_login(app) -> None:
    with LiveServer(app) as base:
        r = httpx.get(f"{base}/metrics", timeout=10)
    assert r.status_code == 200 and "jemput_queue_depth" in r.text


def test_metrics_label_routes_by_template_so_tokens_never_appear(client) -> None:
    client.get("/track/SECRETTOKEN1234567890abcdef")
    login_as(client, "admin")
    text = client.get("/metrics").text
    assert "SECRETTOKEN" not in text
    assert 'route="/track/{token}"' in text


def test_every_response_carries_a_request_id_and_a_proxys_is_kept(client) -> None:
    first, second = client.get("/healthz"), client.get("/healthz")
    assert first.headers["x-request-id"] and first.headers["x-request-id"] != second.headers["x-request-id"]
    assert client.get("/healthz", headers={"X-Request-ID": "lb-1234abcd"}).headers["x-request-id"] == "lb-1234abcd"
    odd = client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers["x-request-id"]
    assert odd != "<script>" and odd.isalnum()


def test_json_log_lines_carry_the_request_id_and_no_token(app, capsys) -> None:
    with LiveServer(app, access_log=True, log_config=log_config(json_lines=True)) as base:
        r = httpx.get(f"{base}/track/SECRETTOKEN1234567890abcdef", headers={"X-Request-ID": "req-abcdef12"}, timeout=10)
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    mine = [e for e in lines if e.get("request_id") == "req-abcdef12"]
    assert r.headers["x-request-id"] == "req-abcdef12"
    assert mine and {"time", "level", "logger", "message"} <= set(mine[0])
    assert "SECRETTOKEN" not in err and "/track/[redacted]" in mine[0]["message"]


def test_json_lines_name_an_error_by_its_type_only() -> None:
    try:
        raise ValueError("NIK 3576011234567890 is wrong")
    except ValueError:
        record = logging.getLogger("jemput.test").makeRecord("jemput.test", logging.ERROR, __file__, 1, "booking failed", (), sys.exc_info())
    entry = json.loads(JsonLines().format(record))
    assert entry["error"] == "ValueError" and "3576011234567890" not in json.dumps(entry)


def test_healthz_reports_the_queue(client) -> None:
    queue = client.get("/healthz").json()["queue"]
    assert queue["kind"] == "process" and queue["status"] == "ok" and queue["workers"] == 1
