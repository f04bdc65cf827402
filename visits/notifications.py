"""The notification outbox: messages are rows written in the same transaction as the change.

A worker (:func:`send_pending`, wired as ``jemput send-notifications`` through
``jemput send-notifications``) sends due rows through a provider:

- ``log`` (default): logs the notification id and template only — never the phone number
  or the text;
- ``webhook``: POSTs JSON ``{"id", "to", "language", "template", "text"}`` to an SMS/WhatsApp
  gateway; a failure is retried with exponential backoff (``next_attempt_at``) and the row is
  marked ``failed`` after ``notify_max_attempts``.

Delivery is at least once: a crash after commit loses nothing (the row stays ``pending``
and the next run sends it). Once sent, the text (which holds the tracking link) is replaced
by a placeholder so the outbox does not keep a usable token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from sqlmodel import Session, col, select

from visits.models import Notification, NotificationStatus
from visits.transactions import mark_messages
from visits.types import utcnow

log = logging.getLogger("jemput.notifications")

SENT_BODY_PLACEHOLDER = "[sent]"

ACK_TEMPLATES = {
    "id": "Jemput {office}: permohonan perekaman KTP-el di rumah sudah kami terima (nomor {reference}). Status dan jawaban kami: {link}",
    "en": "Jemput {office}: we have received your home E-KTP recording request (reference {reference}). Status and our answer: {link}",
}


class SendError(Exception):
    """The provider could not deliver; the message will be retried."""


class Provider(Protocol):
    name: str

    def send(self, notification: Notification) -> None: ...


class LogProvider:
    """Development provider: writes a line without personal data."""

    name = "log"

    def send(self, notification: Notification) -> None:
        log.info("notification %s (%s, %s) delivered to log provider", notification.id, notification.template, notification.language)


@dataclass
class WebhookProvider:
    """POST to an SMS/WhatsApp gateway; any non-2xx answer or network error is a SendError."""

    url: str
    timeout: float = 5.0
    name: str = "webhook"
    client: httpx.Client | None = None

    def send(self, notification: Notification) -> None:
        payload = {
            "id": notification.id,
            "to": notification.recipient,
            "language": notification.language,
            "template": notification.template,
            "text": notification.body,
        }
        try:
            if self.client is not None:
                response = self.client.post(self.url, json=payload, timeout=self.timeout)
            else:
                response = httpx.post(self.url, json=payload, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise SendError(type(exc).__name__) from None
        if not 200 <= response.status_code < 300:
            raise SendError(f"HTTP {response.status_code}")


def provider_from_settings(settings) -> Provider:  # noqa: ANN001 - app.settings.Settings
    if settings.notify_provider == "webhook":
        if not settings.notify_webhook_url:
            raise ValueError("JEMPUT_NOTIFY_WEBHOOK_URL is required for the webhook provider")
        return WebhookProvider(settings.notify_webhook_url, settings.notify_webhook_timeout)
    if settings.notify_provider != "log":
        raise ValueError(f"unknown notification provider {settings.notify_provider!r}")
    return LogProvider()


def enqueue(session: Session, *, recipient: str, language: str, template: str, body: str, request_id: int | None = None) -> Notification:
    """Add a message to the outbox in the caller's transaction (flushes)."""
    row = Notification(request_id=request_id, recipient=recipient, language=language if language in ("id", "en") else "id", template=template, body=body)
    session.add(row)
    session.flush()
    mark_messages(session)  # sent soon after commit when a job queue takes it (app.jobs)
    return row


def acknowledgement_text(language: str, office: str, reference: str, link: str) -> str:
    return ACK_TEMPLATES.get(language, ACK_TEMPLATES["id"]).format(office=office, reference=reference, link=link)


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """Delay before the next try after ``attempts`` failures: base, 2·base, 4·base... (max 6 h)."""
    return timedelta(seconds=min(base_seconds * (2 ** max(attempts - 1, 0)), 6 * 3600))


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def due_notifications(session: Session, now: datetime, limit: int) -> list[Notification]:
    stmt = (
        select(Notification)
        .where(Notification.status == NotificationStatus.PENDING, Notification.next_attempt_at <= now)
        .order_by(col(Notification.next_attempt_at), col(Notification.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)  # several workers never send the same row at once
    return list(session.exec(stmt).all())


def send_one(session: Session, row: Notification, provider: Provider, now: datetime, max_attempts: int, backoff_seconds: float) -> str:
    """Try one message and record the outcome on its row: 'sent', 'retry' or 'failed'."""
    try:
        provider.send(row)
    except SendError as exc:
        row.attempts += 1
        row.last_error = str(exc)[:500]
        if row.attempts >= max_attempts:
            row.status = NotificationStatus.FAILED
            outcome = "failed"
        else:
            row.next_attempt_at = now + backoff(row.attempts, backoff_seconds)
            outcome = "retry"
        log.warning("notification %s attempt %s: %s (%s)", row.id, row.attempts, row.last_error, outcome)
    else:
        row.attempts += 1
        row.status = NotificationStatus.SENT
        row.sent_at = now
        row.body = SENT_BODY_PLACEHOLDER
        row.last_error = None
        outcome = "sent"
    session.add(row)
    session.flush()
    return outcome


def send_pending(
    session: Session,
    provider: Provider,
    *,
    now: datetime | None = None,
    limit: int = 100,
    max_attempts: int = 5,
    backoff_seconds: float = 30.0,
) -> SendReport:
    """Send every due pending message (flushes; the caller commits)."""
    now = now or utcnow()
    report = SendReport()
    for row in due_notifications(session, now, limit):
        outcome = send_one(session, row, provider, now, max_attempts, backoff_seconds)
        key = {"sent": "sent", "retry": "retried", "failed": "failed"}[outcome]
        setattr(report, key, getattr(report, key) + 1)
    return report
