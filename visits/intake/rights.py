"""The data subject's rights (UU 27/2022 art. 5–13) besides access (``visits.intake.export``):
correction and erasure on request, and anonymisation once the purpose has ended.

- :func:`correct`: an operator corrects a resident's details (and the companion's, the KK number's
  on one request) with a written reason. The corrected record is validated exactly as intake
  validates a submission (:class:`visits.intake.schemas.RequestIn`): a bad value is a 422 naming
  the field and nothing changes. The audit row names who, when, which fields and the reason,
  never a value.
- :func:`erase_resident`: on the resident's (or guardian's) request, an operator anonymises the
  resident and every request of theirs, with a written reason. Refused (409) while one of their
  requests is still open (received … booked, failed): cancel it first, so the booking is released
  and the family told the usual way.
- :func:`anonymise_closed`: the periodic job (``jemput anonymise-closed``): requests closed
  (visited, cancelled, ineligible, closed) for longer than the retention period are anonymised;
  their resident too once none of the resident's requests is open or still within the period.

Anonymising removes what names or reaches a person: name, NIK (and its hash), KK number, street,
RT/RW, approach notes, disability detail, the exact location (back to the kelurahan centroid), the
birth day and month (the year stays), the companion's name, phone and relation, notes, operator
reasons, availability, KK images (file deleted), tracking links and tokens, messages' recipients and
texts, field notes and GPS fixes, survey comments. It keeps what the aggregate figures need:
kelurahan, groups, sex, channel, dates, statuses, reasons codes, outcomes, bookings, cards.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, delete, select

from visits.errors import Conflict, InvalidInput, NotFound
from visits.intake.models import OPEN_REQUEST_STATUSES, RequestStatus, TrackingLink
from visits.intake.nik import parse_nik
from visits.intake.schemas import FieldError, RequestIn, field_errors
from visits.intake.service import find_resident, lock_nik
from visits.intake.tracking import hash_token
from visits.intake.uploads import remove_file
from visits.models import FollowUpSurvey, Kelurahan, KkDocument, Notification, Resident, Visit, VisitRequest
from visits.outbox import NotificationStatus
from visits.staff import audit

CLOSED_STATUSES = (RequestStatus.VISITED, RequestStatus.CANCELLED, RequestStatus.INELIGIBLE, RequestStatus.CLOSED)
RESIDENT_FIELDS = ("nik", "full_name", "birth_date", "sex", "marital_status", "disability_type", "approach_notes", "street", "rt", "rw")
REQUEST_FIELDS = ("kk_number", "companion_name", "companion_phone", "companion_relation", "notes")
CORRECTABLE = RESIDENT_FIELDS + REQUEST_FIELDS
MIN_REASON = 10


class CorrectionRefused(InvalidInput):
    """A correction with wrong fields: every field named (``errors``), nothing changed."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"intake.err.{errors[0].code}", field=errors[0].field)
        self.errors = errors


def _reason(reason: str | None, field_name: str = "reason") -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise CorrectionRefused([FieldError(field_name, "override_reason")])
    return reason[:2000]


def _as_submitted(resident: Resident, row: VisitRequest, kel: Kelurahan | None) -> dict[str, Any]:
    """The stored record in RequestIn's shape (what intake would have been given)."""
    return {
        **{name: getattr(resident, name) for name in RESIDENT_FIELDS},
        **{name: getattr(row, name) for name in REQUEST_FIELDS},
        "groups": [g.value for g in resident.groups],
        "kelurahan_code": kel.code if kel is not None else resident.outside_kelurahan_code,
        "kk_check_at_visit": row.kk_check_at_visit,
        "availability": [{"weekday": 0, "start": "08:00", "end": "12:00"}],  # not corrected here (the case page offers slots)
        "consent": True,
        "consent_by": row.consent_by,
    }


@dataclass(frozen=True)
class Correction:
    request: VisitRequest
    resident: Resident
    fields: list[str]  # the names of the fields that changed (empty: nothing did)


def correct(session: Session, request_id: int, changes: dict[str, Any], *, reason: str | None, today: date, now: datetime) -> Correction:
    """Correct the resident of ``request_id`` and that request's own details. ``changes`` maps
    field names (:data:`CORRECTABLE`) to the corrected values as typed; the caller audits the
    returned field names. Raises :class:`CorrectionRefused` (422, every wrong field) or Conflict."""
    row = session.get(VisitRequest, request_id)
    if row is None:
        raise NotFound()
    resident = session.get(Resident, row.resident_id)
    if resident is None:
        raise NotFound()
    if resident.anonymised_at is not None or row.anonymised_at is not None:
        raise Conflict("rights.err.anonymised")
    unknown = [name for name in changes if name not in CORRECTABLE]
    errors = [FieldError(name, "invalid") for name in unknown]
    try:
        reason = _reason(reason)
    except CorrectionRefused as exc:
        errors += exc.errors
    kel = session.get(Kelurahan, resident.kelurahan_id) if resident.kelurahan_id is not None else None
    merged = _as_submitted(resident, row, kel) | {k: v for k, v in changes.items() if k in CORRECTABLE}
    try:
        valid = RequestIn.model_validate(merged, context={"today": today})
    except ValidationError as exc:
        found = field_errors(exc)
        # the stored values passed intake already; one that no longer would is named too (correct it as well)
        errors += [e for e in found if e.field in changes] or found
        valid = None
    if valid is not None:
        nik = parse_nik(valid.nik)
        if "nik" in changes or "birth_date" in changes or "sex" in changes:
            if not (nik.matches_birth_date(valid.birth_date) and nik.matches_sex(valid.sex)):
                errors.append(FieldError(next(f for f in ("birth_date", "sex", "nik") if f in changes), "nik_birthdate_mismatch"))
    if errors:
        raise CorrectionRefused(errors)
    assert valid is not None
    new = valid.model_dump()
    new["marital_status"] = valid.marital_status.value
    changed = [name for name in CORRECTABLE if name in changes and new[name] != getattr(resident if name in RESIDENT_FIELDS else row, name)]
    if "nik" in changed:
        lock_nik(session, valid.nik)  # as a submission for it would: the check and the write are not raced
        other = find_resident(session, valid.nik)
        if other is not None and other.id != resident.id:
            raise Conflict("rights.err.nik_taken", field="nik")
    for name in changed:
        setattr(resident if name in RESIDENT_FIELDS else row, name, new[name])
    if changed:
        resident.updated_at = row.updated_at = now
        row.version += 1
        session.add(resident)
        session.add(row)
        session.flush()
    return Correction(row, resident, changed)


# ---------------------------------------------------------------- anonymisation


@dataclass
class Anonymised:
    requests: list[int] = field(default_factory=list)
    residents: list[int] = field(default_factory=list)
    files: int = 0


def _anonymise_request(session: Session, row: VisitRequest, upload_dir: Path, now: datetime, out: Anonymised) -> None:
    row.kk_number = None
    row.companion_name = row.companion_relation = row.companion_phone = ""
    row.notes = row.override_reason = None
    row.availability = []
    row.idempotency_key = row.idempotency_hash = None
    row.tracking_token_hash = hash_token(secrets.token_urlsafe(32))  # the family's token opens nothing any more
    row.anonymised_at = row.updated_at = now
    row.version += 1
    session.add(row)
    session.exec(delete(TrackingLink).where(col(TrackingLink.request_id) == row.id))
    doc = session.get(KkDocument, row.kk_document_id) if row.kk_document_id else None
    if doc is not None and doc.deleted_at is None:
        remove_file(upload_dir, doc.storage_name)
        doc.deleted_at = now
        session.add(doc)
        out.files += 1
    for message in session.exec(select(Notification).where(Notification.request_id == row.id)).all():
        if message.status == NotificationStatus.PENDING:
            message.status, message.last_error = NotificationStatus.FAILED, "anonymised"
        message.recipient, message.body = "", ""
        session.add(message)
    for visit in session.exec(select(Visit).where(Visit.request_id == row.id)).all():
        visit.notes, visit.gps_lat, visit.gps_lon = None, None, None
        session.add(visit)
    for survey in session.exec(select(FollowUpSurvey).where(FollowUpSurvey.request_id == row.id)).all():
        survey.comment = None
        session.add(survey)
    out.requests.append(row.id)  # type: ignore[arg-type]


def _anonymise_resident(session: Session, resident: Resident, now: datetime, out: Anonymised) -> None:
    kel = session.get(Kelurahan, resident.kelurahan_id) if resident.kelurahan_id is not None else None
    resident.nik = None  # and its hash (models: set with the NIK)
    resident.nik_hash = None
    resident.full_name = resident.street = ""
    resident.rt = resident.rw = ""
    resident.approach_notes = resident.disability_type = None
    resident.birth_date = date(resident.birth_date.year, 1, 1)
    if kel is not None:
        resident.lat, resident.lon, resident.location_source = kel.lat, kel.lon, "centroid"
    else:
        resident.lat = resident.lon = resident.location_source = None
    resident.anonymised_at = resident.updated_at = now
    session.add(resident)
    out.residents.append(resident.id)  # type: ignore[arg-type]


def _requests_of(session: Session, resident_id: int) -> list[VisitRequest]:
    return list(session.exec(select(VisitRequest).where(VisitRequest.resident_id == resident_id).order_by(col(VisitRequest.id))).all())


def erase_resident(session: Session, resident_id: int, *, reason: str | None, upload_dir: Path, now: datetime) -> Anonymised:
    """Anonymise a resident and all their requests at their request (the caller audits it with the reason)."""
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound()
    _reason(reason)
    if resident.anonymised_at is not None:
        raise Conflict("rights.err.anonymised")
    requests = _requests_of(session, resident_id)
    if any(r.status in OPEN_REQUEST_STATUSES for r in requests):
        raise Conflict("rights.err.open_request", field="status")
    out = Anonymised()
    for row in requests:
        if row.anonymised_at is None:
            _anonymise_request(session, row, upload_dir, now, out)
    _anonymise_resident(session, resident, now, out)
    session.flush()
    return out


def anonymise_closed(session: Session, *, retention_days: int, upload_dir: Path, now: datetime, limit: int = 500) -> Anonymised:
    """Anonymise at most ``limit`` requests closed before ``now - retention_days`` (and their
    residents once nothing of theirs is open or recent). Run it until it anonymises nothing."""
    cutoff = now - timedelta(days=retention_days)
    closed = [s.value for s in CLOSED_STATUSES]
    rows = session.exec(
        select(VisitRequest).where(col(VisitRequest.status).in_(closed), col(VisitRequest.updated_at) < cutoff, col(VisitRequest.anonymised_at).is_(None)).order_by(col(VisitRequest.id)).limit(limit)
    ).all()
    out = Anonymised()
    for row in rows:
        _anonymise_request(session, row, upload_dir, now, out)
    session.flush()
    audit.record_many(session, user_id=None, action="anonymise", entity="visit_request", items=[(row.id, row.resident_id) for row in rows], route="jemput anonymise-closed")
    for resident_id in dict.fromkeys(row.resident_id for row in rows):
        resident = session.get(Resident, resident_id)
        if resident is None or resident.anonymised_at is not None:
            continue
        if all(r.anonymised_at is not None for r in _requests_of(session, resident_id)):
            _anonymise_resident(session, resident, now, out)
    session.flush()
    return out
