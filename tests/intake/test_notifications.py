"""The outbox: nothing lost between commit and send; the webhook provider retries and gives up."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from visits.models import Notification
from visits.notifications import LogProvider, SendError, WebhookProvider, enqueue, send_pending
from visits.types import utcnow

PHONE = "+6281234567890"


class GatewayHandler(BaseHTTPRequestHandler):
    plan: list[str] = []  # "ok" | "500" | "slow", one per request
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        step = self.plan.pop(0) if self.plan else "ok"
        if step == "slow":
            time.sleep(1.0)
        type(self).received.append(body)
        self.send_response(500 if step == "500" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        try:
            self.wfile.write(b"{}")
        except OSError:
            pass

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


@pytest.fixture
def gateway():
    GatewayHandler.plan, GatewayHandler.received = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), GatewayHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/send", GatewayHandler
    server.shutdown()
    server.server_close()


def _message(session, body: str = "Permohonan diterima: https://x/track/abc") -> Notification:
    row = enqueue(session, recipient=PHONE, language="id", template="ack", body=body)
    session.commit()
    return row


class Crash(BaseException):
    """Stands in for the worker process dying (not a SendError: nothing is recorded)."""


class CrashingProvider:
    name = "crash"

    def send(self, notification) -> None:
        raise Crash()


def test_crash_between_commit_and_send_loses_nothing(client, session) -> None:
    """A real submission commits its request and acknowledgement together; the worker dies while
    sending; the next worker run delivers the acknowledgement with the tracking link."""
    from app.cli import main as jemput
    from app.db import session_scope
    from tests.app.intake_support import post_request
    from tests.intake.intake_fixtures import area, form

    area(session)
    answer = post_request(client, form())
    assert answer.status_code == 201  # committed: the family already holds the answer
    token = answer.json()["tracking_token"]

    with pytest.raises(Crash):
        with session_scope() as s:  # the worker's transaction dies with it (rolled back)
            send_pending(s, CrashingProvider())
    with session_scope() as s:
        row = s.exec(select(Notification)).one()
        assert (row.status, row.attempts, row.template) == ("pending", 0, "ack")
        assert f"/track/{token}" in row.body and answer.json()["reference"] in row.body

    assert jemput(["send-notifications"]) == 0  # the next run (log provider)
    with session_scope() as s:
        sent = s.get(Notification, row.id)
    assert sent.status == "sent" and sent.sent_at is not None and sent.attempts == 1
    assert token not in sent.body  # the outbox keeps no usable tracking link once sent
    assert jemput(["send-notifications"]) == 0
    with session_scope() as s:
        assert s.get(Notification, row.id).attempts == 1  # sent once


def test_request_is_not_stored_when_the_acknowledgement_cannot_be_queued(db, monkeypatch, tmp_path) -> None:
    """The request and its acknowledgement are one transaction: no message, no request (and no file)."""
    from datetime import date

    from app.db import session_scope
    from tests.app.intake_support import counts
    from tests.intake.intake_fixtures import form, jpeg_bytes
    from visits.intake import service as intake
    from visits.intake.schemas import RequestIn
    from visits.intake.service_area import ensure_service_area

    with session_scope() as s:
        ensure_service_area(s)
    cfg = intake.IntakeConfig("k" * 32, "3576", "Asia/Jakarta", "http://x", "Dispendukcapil", tmp_path / "uploads", 5 * 1024 * 1024, 90)
    raw = form() | {"availability": [{"weekday": 0, "start": "08:00", "end": "12:00"}]}
    sub = intake.Submission(RequestIn.model_validate(raw, context={"today": date.today()}), kk_file=jpeg_bytes(), idempotency_key="outbox-down-key-1")

    def outbox_down(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(intake, "enqueue", outbox_down)
    with pytest.raises(RuntimeError, match="outbox unavailable"):
        with session_scope(write=True) as s:
            intake.submit(s, sub, cfg)
    assert counts() == {"VisitRequest": 0, "Resident": 0, "KkDocument": 0, "Notification": 0}
    assert list((tmp_path / "uploads").iterdir()) == []  # the KK file written before the failure is gone

    monkeypatch.undo()  # the outbox is back: the same submission goes through, exactly once
    with session_scope(write=True) as s:
        result = intake.submit(s, sub, cfg)
    assert counts() == {"VisitRequest": 1, "Resident": 1, "KkDocument": 1, "Notification": 1}
    assert len(list((tmp_path / "uploads").iterdir())) == 1 and result.status == "eligible"


def test_log_provider_writes_no_personal_data(session, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    _message(session, body="secret-body-text")
    send_pending(session, LogProvider())
    session.commit()
    assert PHONE not in caplog.text and "secret-body-text" not in caplog.text
    assert "ack" in caplog.text


def test_webhook_delivers_json(session, gateway) -> None:
    url, handler = gateway
    row = _message(session)
    report = send_pending(session, WebhookProvider(url, timeout=2))
    session.commit()
    assert report.sent == 1
    assert handler.received == [{"id": row.id, "to": PHONE, "language": "id", "template": "ack", "text": "Permohonan diterima: https://x/track/abc"}]


def test_webhook_500_then_timeout_then_success_with_backoff(session, gateway) -> None:
    url, handler = gateway
    handler.plan = ["500", "slow", "ok"]
    provider = WebhookProvider(url, timeout=0.3)
    row = _message(session)
    now = utcnow()

    first = send_pending(session, provider, now=now, backoff_seconds=10)
    session.commit()
    assert first.retried == 1
    r = session.get(Notification, row.id)
    assert (r.status, r.attempts, r.last_error) == ("pending", 1, "HTTP 500")
    assert r.next_attempt_at == now + timedelta(seconds=10)

    assert send_pending(session, provider, now=now + timedelta(seconds=5)).retried == 0  # not due yet

    second = send_pending(session, provider, now=now + timedelta(seconds=11), backoff_seconds=10)
    session.commit()
    assert second.retried == 1
    r = session.get(Notification, row.id)
    assert r.attempts == 2 and "Timeout" in r.last_error
    assert r.next_attempt_at == now + timedelta(seconds=11 + 20)  # doubled

    third = send_pending(session, provider, now=now + timedelta(seconds=60), backoff_seconds=10)
    session.commit()
    assert third.sent == 1 and session.get(Notification, row.id).status == "sent"


def test_webhook_gives_up_after_max_attempts(session, gateway) -> None:
    url, handler = gateway
    handler.plan = ["500"] * 3
    row = _message(session)
    now = utcnow()
    for i in range(3):
        send_pending(session, WebhookProvider(url, timeout=2), now=now + timedelta(hours=i), max_attempts=3, backoff_seconds=1)
        session.commit()
    r = session.get(Notification, row.id)
    assert (r.status, r.attempts) == ("failed", 3)
    assert send_pending(session, WebhookProvider(url), now=now + timedelta(days=1)).sent == 0


def test_webhook_unreachable_is_a_send_error() -> None:
    provider = WebhookProvider("http://127.0.0.1:9/none", timeout=0.5)
    with pytest.raises(SendError):
        provider.send(Notification(id=1, recipient=PHONE, language="id", template="ack", body="x"))


def test_cli_hook_sends(db, capsys) -> None:
    from app.cli import main as jemput
    from app.db import session_scope

    with session_scope() as s:
        enqueue(s, recipient=PHONE, language="en", template="ack", body="hello")
    assert jemput(["send-notifications"]) == 0
    assert "notifications sent: 1" in capsys.readouterr().out
    with session_scope() as s:
        assert s.exec(select(Notification)).one().status == "sent"
