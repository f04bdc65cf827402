"""The data subject's right of access (UU 27/2022 art. 7): everything held about one resident,
as plain JSON-ready data, for an operator to hand over when the resident or their guardian asks.

Read-only (the caller audits the export). Visits carry the officers' notes and GPS fixes at the home. The KK image itself is not embedded (its metadata is;
the operator can open it on the case page); secrets (tracking-token and idempotency hashes) are
not personal data of the resident and are left out.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session, SQLModel, select

from visits.errors import NotFound
from visits.models import AuditLog, Booking, CardDelivery, FollowUpSurvey, KkDocument, Notification, Resident, Visit, VisitRequest

SECRET_FIELDS = frozenset({"tracking_token_hash", "idempotency_key", "idempotency_hash", "storage_name", "sha256", "nik_hash", "token_hash", "body_hash", "client_uuid"})


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _row(row: SQLModel) -> dict[str, Any]:
    return {k: _plain(v) for k, v in row.model_dump().items() if k not in SECRET_FIELDS}


def resident_export(session: Session, resident_id: int) -> dict[str, Any]:
    """The resident, their requests (with KK metadata, bookings, messages sent, visits, surveys and
    the card's delivery) and who accessed their data (the audit trail), or NotFound."""
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound()
    requests = session.exec(select(VisitRequest).where(VisitRequest.resident_id == resident_id).order_by(VisitRequest.id)).all()  # type: ignore[arg-type]
    out_requests = []
    for req in requests:
        doc = session.get(KkDocument, req.kk_document_id) if req.kk_document_id else None
        bookings = session.exec(select(Booking).where(Booking.request_id == req.id).order_by(Booking.id)).all()  # type: ignore[arg-type]
        messages = session.exec(select(Notification).where(Notification.request_id == req.id).order_by(Notification.id)).all()  # type: ignore[arg-type]
        visits = session.exec(select(Visit).where(Visit.request_id == req.id).order_by(Visit.id)).all()  # type: ignore[arg-type]
        surveys = session.exec(select(FollowUpSurvey).where(FollowUpSurvey.request_id == req.id).order_by(FollowUpSurvey.id)).all()  # type: ignore[arg-type]
        card = session.exec(select(CardDelivery).where(CardDelivery.request_id == req.id)).first()
        out_requests.append(
            _row(req)
            | {
                "kk_document": _row(doc) if doc else None,
                "bookings": [_row(b) for b in bookings],
                "messages": [_row(m) for m in messages],
                "visits": [_row(v) for v in visits],  # outcomes, officers' notes, GPS fixes at the home
                "surveys": [_row(f) for f in surveys],
                "card": _row(card) if card else None,
            }
        )
    trail = session.exec(select(AuditLog).where(AuditLog.resident_id == resident_id).order_by(AuditLog.id)).all()  # type: ignore[arg-type]
    return {"resident": _row(resident), "requests": out_requests, "access_log": [_row(a) for a in trail]}
