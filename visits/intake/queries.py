"""Screen queries of intake: the operator's inbox and one case."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from visits.errors import NotFound
from visits.intake.models import OPEN_REQUEST_STATUSES, PRIVATE_REASONS, Group, Kecamatan, Kelurahan, KkDocument, RequestStatus, Resident, VisitRequest, is_unresolved_duplicate

INBOX_VIEWS = ("open", "new", "needs_review", "eligible", "ineligible", "overdue", "all")


def inbox_query(view: str, kelurahan_id: int | None, group: str | None, now: datetime):  # noqa: ANN201 - a select
    """The inbox's rows (request, resident, kelurahan or None), most urgent response clock first."""
    stmt = (
        select(VisitRequest, Resident, Kelurahan)
        .join(Resident, VisitRequest.resident_id == Resident.id)  # type: ignore[arg-type]
        .join(Kelurahan, Resident.kelurahan_id == Kelurahan.id, isouter=True)  # type: ignore[arg-type]  # none: outside the area
    )
    open_statuses = [RequestStatus.RECEIVED, RequestStatus.NEEDS_REVIEW, RequestStatus.ELIGIBLE, RequestStatus.INELIGIBLE]
    other = aliased(VisitRequest)
    # A duplicate answered as new (no NIK oracle) may be offered and booked by whoever holds its
    # token; it stays in front of the office, open and to review, until an operator decides (or
    # the other request is closed).
    duplicate = (
        col(VisitRequest.status).in_(OPEN_REQUEST_STATUSES),
        or_(*(cast(VisitRequest.reasons, String).like(f'%"{code}"%') for code in sorted(PRIVATE_REASONS))),
        col(VisitRequest.overridden_by_id).is_(None),
        col(VisitRequest.override_reason).is_(None),
        select(other.id).where(other.resident_id == VisitRequest.resident_id, other.id != VisitRequest.id, col(other.status).in_(OPEN_REQUEST_STATUSES)).exists(),
    )
    if view == "open":
        stmt = stmt.where(or_(col(VisitRequest.status).in_(open_statuses), and_(*duplicate)))
    elif view == "needs_review":
        stmt = stmt.where(or_(col(VisitRequest.status) == view, and_(*duplicate)))
    elif view == "new":
        stmt = stmt.where(VisitRequest.received_at >= now - timedelta(days=1))
    elif view == "overdue":
        stmt = stmt.where(col(VisitRequest.first_answer_at).is_(None), VisitRequest.due_at < now)
    elif view in ("eligible", "ineligible"):
        stmt = stmt.where(VisitRequest.status == view)
    if kelurahan_id is not None:
        stmt = stmt.where(Resident.kelurahan_id == kelurahan_id)
    if group in {g.value for g in Group}:
        stmt = stmt.where(getattr(Resident, f"group_{group}").is_(True))
    return stmt.order_by(col(VisitRequest.due_at), col(VisitRequest.id)).limit(500)


def inbox_rows(session: Session, view: str, kelurahan_id: int | None, group: str | None, now: datetime) -> list[tuple[VisitRequest, Resident, Kelurahan | None]]:
    return list(session.exec(inbox_query(view, kelurahan_id, group, now)).all())


def load_case(session: Session, request_id: int) -> tuple[VisitRequest, Resident, Kelurahan | None]:
    """The request, its resident and their kelurahan (None for an address outside the service area)."""
    row = session.get(VisitRequest, request_id)
    resident = session.get(Resident, row.resident_id) if row else None
    if row is None or resident is None:
        raise NotFound()
    return row, resident, session.get(Kelurahan, resident.kelurahan_id) if resident.kelurahan_id else None


def other_open_requests(session: Session, row: VisitRequest) -> list[VisitRequest]:
    """For an unresolved duplicate: its resident's other open requests, through which the office
    contacts the real family (the duplicate's companion may be anyone who knew the NIK)."""
    if not is_unresolved_duplicate(row):
        return []
    stmt = select(VisitRequest).where(VisitRequest.resident_id == row.resident_id, VisitRequest.id != row.id, col(VisitRequest.status).in_(OPEN_REQUEST_STATUSES))
    return list(session.exec(stmt.order_by(col(VisitRequest.received_at))).all())


def service_area(session: Session) -> list[tuple[Kecamatan, list[Kelurahan]]]:
    """Each kecamatan with its kelurahan, for the forms and filters."""
    kecamatan = session.exec(select(Kecamatan).order_by(col(Kecamatan.code))).all()
    kelurahan = session.exec(select(Kelurahan).order_by(col(Kelurahan.name))).all()
    return [(kec, [k for k in kelurahan if k.kecamatan_id == kec.id]) for kec in kecamatan]


def kelurahan_list(session: Session) -> list[Kelurahan]:
    return list(session.exec(select(Kelurahan).order_by(col(Kelurahan.name))).all())


def kk_document(session: Session, row: VisitRequest) -> KkDocument | None:
    """The request's KK image, unless deleted after its retention period."""
    doc = session.get(KkDocument, row.kk_document_id) if row.kk_document_id else None
    return doc if doc is not None and doc.deleted_at is None else None
