"""Submitting a home-visit request (web form, JSON API and phone intake share this service).

Order of work: the input is already validated (:class:`visits.intake.schemas.RequestIn`); the KK
file is checked and cleaned; submissions for one NIK are serialised (:func:`lock_nik`); an
Idempotency-Key that was seen before answers with the first answer (or 422 when the body
differs); the eligibility rules run; then resident, KK document, request and acknowledgement
message are written together inside a savepoint. A unique-constraint race (concurrent retries
with one key) rolls back only the savepoint and is resolved by reading what the winner stored.

Concurrency: the duplicate check ("no other open request for this NIK") reads, then writes. The
NIK unique constraint only guards a resident's first request; for a returning resident (row
present, last request closed) two submissions could both see "no open request". SQLite write
sessions hold the database write lock from BEGIN (``app.db``); on PostgreSQL :func:`lock_nik`
takes a transaction-scoped advisory lock per NIK before anything is read, held until the
caller's transaction ends, so the second submission sees the first one's request.

Response clock: an ineligible decision is the first answer (``first_answer_at`` set at once);
an eligible request is answered when slots are offered (``visits.booking.slots.make_offers``) and one
under review when an operator decides, so both keep ``first_answer_at`` NULL until then.

The service only flushes; the caller's session dependency commits.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from visits import pii
from visits.clock import first_answer_due
from visits.errors import Conflict, InvalidInput, NotFound
from visits.intake.eligibility import Applicant, Reason, evaluate, reason_for
from visits.intake.models import DECLINABLE, OVERRIDABLE, PRIVATE_REASONS
from visits.intake.schemas import RequestIn
from visits.intake.tracking import hash_token, idempotent_token, new_reference, new_token, tracking_link
from visits.intake.uploads import CleanFile, clean_upload, store_kk
from visits.models import (
    OPEN_REQUEST_STATUSES,
    Channel,
    Kelurahan,
    KkDocument,
    LocationSource,
    RequestStatus,
    Resident,
    VisitRequest,
)
from visits.notifications import acknowledgement_text, enqueue
from visits.types import utcnow

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{8,100}$")
MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class IntakeConfig:
    """The settings the service needs (kept explicit so tests can vary them)."""

    secret_key: str
    region_prefix: str
    timezone: str
    public_base_url: str
    office_name: str
    upload_dir: Path
    upload_max_bytes: int
    kk_retention_days: int

    @classmethod
    def from_settings(cls, settings) -> IntakeConfig:  # noqa: ANN001 - app.settings.Settings
        return cls(
            secret_key=settings.resolved_secret_key(),
            region_prefix=settings.region_prefix,
            timezone=settings.timezone,
            public_base_url=settings.public_base_url,
            office_name=settings.office_name,
            upload_dir=settings.upload_dir,
            upload_max_bytes=settings.upload_max_bytes,
            kk_retention_days=settings.kk_retention_days,
        )


@dataclass(frozen=True)
class Submission:
    data: RequestIn
    channel: Channel = Channel.WEB
    language: str = "id"
    kk_file: bytes | None = None
    idempotency_key: str | None = None
    created_by_id: int | None = None


@dataclass(frozen=True)
class SubmitResult:
    """The answer to one submission. ``status`` and ``reasons`` are the first answer: a replayed
    retry carries them as they were answered then, not the request's current status."""

    request: VisitRequest
    tracking_token: str
    reasons: list[Reason]
    status: str
    replayed: bool = False

    @property
    def eligible(self) -> bool:
        return self.status == RequestStatus.ELIGIBLE


def check_idempotency_key(key: str | None) -> str | None:
    if key is None or key == "":
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise InvalidInput("intake.err.idempotency_key_format", field="idempotency_key")
    return key


def office_today(tz: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def lock_nik(session: Session, nik: str) -> None:
    """Serialise writes for one NIK (submissions, a NIK correction) until the caller's transaction
    ends (PostgreSQL).

    A transaction-scoped advisory lock on a keyed hash of the NIK (the key keeps the NIK out of
    ``pg_locks``). SQLite needs nothing: write sessions hold the database write lock already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = bytes.fromhex(pii.lookup_hash(nik, "lock:" + pii.NIK))
    session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int.from_bytes(digest[:8], "big", signed=True)})


def first_answer_of(row: VisitRequest) -> tuple[str, list[str]]:
    """(status, reason codes) as the submission answered them (older rows: as they are now)."""
    snap = row.first_answer or {}
    return str(snap.get("status") or row.status), list(snap.get("reasons", row.reasons))


def _replay(session: Session, key: str, fingerprint: str, cfg: IntakeConfig) -> SubmitResult | None:
    row = session.exec(select(VisitRequest).where(VisitRequest.idempotency_key == key)).first()
    if row is None:
        return None
    if row.idempotency_hash != fingerprint:
        raise InvalidInput("intake.err.idempotency_mismatch", field="idempotency_key")
    status, codes = first_answer_of(row)
    return SubmitResult(row, idempotent_token(cfg.secret_key, key), [reason_for(code) for code in codes], status, replayed=True)


def find_kelurahan(session: Session, code: str, region_prefix: str) -> Kelurahan | None:
    """The service area's kelurahan with this (well-formed) code; None for a code outside the area,
    which the OUTSIDE_SERVICE_AREA rule answers. A code inside the area's region that names no
    kelurahan of ours is a typing error, not an address elsewhere: 422."""
    kel = session.exec(select(Kelurahan).where(Kelurahan.code == code)).first()
    if kel is None and code.replace(".", "").startswith(region_prefix):
        raise InvalidInput("intake.err.kelurahan_unknown", field="kelurahan_code")
    return kel


def find_resident(session: Session, nik: str) -> Resident | None:
    """The resident with this NIK, by its keyed hash (under any configured data key: during a
    rotation a row may still carry an older key's hash)."""
    stmt = select(Resident).where(Resident.nik_hash.in_(pii.lookup_hashes(nik, pii.NIK)))  # type: ignore[union-attr]
    return session.exec(stmt).first()


def has_open_request(session: Session, resident_id: int | None) -> bool:
    if resident_id is None:
        return False
    stmt = select(VisitRequest.id).where(VisitRequest.resident_id == resident_id, VisitRequest.status.in_([s.value for s in OPEN_REQUEST_STATUSES]))  # type: ignore[attr-defined]
    return session.exec(stmt).first() is not None


def _apply_resident(resident: Resident, data: RequestIn, kel: Kelurahan | None, now: datetime) -> Resident:
    groups = data.groups_set()
    resident.full_name = data.full_name
    resident.birth_date = data.birth_date
    resident.sex = data.sex
    resident.marital_status = data.marital_status.value
    resident.group_elderly = "elderly" in groups
    resident.group_disabled = "disabled" in groups
    resident.disability_type = data.disability_type if "disabled" in groups else None
    resident.group_mental = "mental" in groups
    resident.group_bedridden = "bedridden" in groups
    resident.approach_notes = data.approach_notes
    resident.street, resident.rt, resident.rw = data.street, data.rt, data.rw
    # outside the service area there is no Kelurahan row: keep the code as submitted
    resident.kelurahan_id = kel.id if kel is not None else None
    resident.outside_kelurahan_code = None if kel is not None else data.kelurahan_code
    if data.lat is not None and data.lon is not None:
        resident.lat, resident.lon, resident.location_source = data.lat, data.lon, LocationSource.MAP_PIN
    elif kel is not None:
        resident.lat, resident.lon, resident.location_source = kel.lat, kel.lon, LocationSource.CENTROID
    else:
        resident.lat, resident.lon, resident.location_source = None, None, None
    resident.updated_at = now
    return resident


def decide_status(reasons: list[Reason], channel: Channel, has_document: bool) -> RequestStatus:
    if reasons:
        return RequestStatus.INELIGIBLE
    if not has_document and channel == Channel.WEB:
        return RequestStatus.NEEDS_REVIEW  # a family asked to show the KK at the visit: an operator confirms
    return RequestStatus.ELIGIBLE


@dataclass(frozen=True)
class _Decision:
    """What the rules decided for one submission, before anything is written."""

    kelurahan: Kelurahan | None  # None: outside the service area
    resident: Resident | None  # the stored resident with this NIK, if any
    duplicate: bool
    reasons: list[Reason]  # every rule's finding (stored on the request, for staff)
    status: RequestStatus  # the stored status
    token: str
    public_reasons: list[Reason]  # the answer given to the submitter: never DUPLICATE_OPEN_REQUEST
    public_status: RequestStatus


def _decide(session: Session, sub: Submission, cfg: IntakeConfig, has_document: bool, now: datetime) -> _Decision:
    data = sub.data
    kel = find_kelurahan(session, data.kelurahan_code, cfg.region_prefix)
    resident = find_resident(session, data.nik)
    duplicate = resident is not None and has_open_request(session, resident.id)
    applicant = Applicant(
        nik=data.nik,
        kk_number=data.kk_number,
        birth_date=data.birth_date,
        sex=data.sex,
        marital_status=data.marital_status.value,
        groups=data.groups_set(),
        kelurahan_code=data.kelurahan_code,
        kelurahan_known=kel is not None,
        has_kk_document=has_document,
        kk_check_at_visit=data.kk_check_at_visit,
        has_open_request=duplicate,
        kelurahan_letter=data.kelurahan_letter,
    )
    reasons = evaluate(applicant, office_today(cfg.timezone, now), cfg.region_prefix)
    token = idempotent_token(cfg.secret_key, sub.idempotency_key) if sub.idempotency_key else new_token()
    # No NIK oracle: whether this NIK has an open request is specific personal data (it says the
    # person is elderly, disabled, bedridden or mentally ill), so the submitter is answered as if
    # the request were new. Internally the duplicate goes to an operator: stored NEEDS_REVIEW
    # (or INELIGIBLE for its other reasons) with DUPLICATE_OPEN_REQUEST among its reasons.
    public = [r for r in reasons if r.code not in PRIVATE_REASONS]
    public_status = decide_status(public, Channel(sub.channel), has_document)
    status = decide_status(reasons, Channel(sub.channel), has_document)
    if duplicate and not public:
        status = RequestStatus.NEEDS_REVIEW
    return _Decision(kel, resident, duplicate, reasons, status, token, public, public_status)


def _create(session: Session, sub: Submission, cfg: IntakeConfig, clean: CleanFile | None, fingerprint: str, now: datetime) -> SubmitResult:
    decision = _decide(session, sub, cfg, clean is not None, now)
    written: list[KkDocument] = []
    try:
        row = _write(session, sub, cfg, decision, clean, fingerprint, now, written)
    except BaseException:
        for doc in written:  # the savepoint rolled back: remove the file it wrote
            (Path(cfg.upload_dir) / doc.storage_name).unlink(missing_ok=True)
        raise
    return SubmitResult(row, decision.token, decision.public_reasons, decision.public_status.value)


def _save_resident(session: Session, data: RequestIn, d: _Decision, now: datetime) -> Resident:
    if d.resident is None:
        resident = _apply_resident(Resident(nik=data.nik), data, d.kelurahan, now)  # type: ignore[call-arg]
    elif not d.duplicate:  # a new application after the last one was closed: take the new details
        resident = _apply_resident(d.resident, data, d.kelurahan, now)
    else:  # an open request exists: a second submission never overwrites the resident
        resident = d.resident
    session.add(resident)
    session.flush()
    return resident


def _write(session: Session, sub: Submission, cfg: IntakeConfig, d: _Decision, clean: CleanFile | None, fingerprint: str, now: datetime, written: list[KkDocument]) -> VisitRequest:
    data = sub.data
    with session.begin_nested():
        resident = _save_resident(session, data, d, now)
        doc = store_kk(session, clean, Path(cfg.upload_dir), cfg.kk_retention_days, now) if clean is not None else None
        if doc is not None:
            written.append(doc)
        row = VisitRequest(
            reference=new_reference(),
            tracking_token_hash=hash_token(d.token),
            resident_id=resident.id,  # type: ignore[arg-type]
            channel=Channel(sub.channel).value,
            status=d.status.value,
            kk_number=data.kk_number,
            kk_document_id=doc.id if doc else None,
            kk_check_at_visit=data.kk_check_at_visit,
            companion_name=data.companion_name,
            companion_phone=data.companion_phone,
            companion_relation=data.companion_relation,
            availability=data.availability_json(),
            accept_any_time=data.accept_any_time,
            consent_by=data.consent_by.value,
            consent_at=now,
            kelurahan_letter=data.kelurahan_letter,
            heard_via=data.heard_via.value if data.heard_via else None,
            notes=data.notes,
            reasons=[r.code for r in d.reasons],
            first_answer={"status": d.public_status.value, "reasons": [r.code for r in d.public_reasons]},
            created_by_id=sub.created_by_id,
            idempotency_key=sub.idempotency_key,
            idempotency_hash=fingerprint if sub.idempotency_key else None,
            received_at=now,
            # the decision alone answers an ineligible request; an eligible one is answered by its slot offers
            first_answer_at=now if d.status == RequestStatus.INELIGIBLE else None,
            due_at=first_answer_due(session, now, cfg.timezone),
            updated_at=now,
        )
        session.add(row)
        session.flush()
        enqueue(
            session,
            recipient=data.companion_phone,
            language=sub.language,
            template="ack",
            body=acknowledgement_text(sub.language, cfg.office_name, row.reference, tracking_link(cfg.public_base_url, d.token)),
            request_id=row.id,
        )
    return row


def submit(session: Session, sub: Submission, cfg: IntakeConfig, now: datetime | None = None) -> SubmitResult:
    """Store one request (or answer a retried one) and return the first answer."""
    now = now or utcnow()
    key = check_idempotency_key(sub.idempotency_key)
    clean = clean_upload(sub.kk_file, cfg.upload_max_bytes) if sub.kk_file is not None else None
    kk_sha = hashlib.sha256(sub.kk_file).hexdigest() if sub.kk_file is not None else None
    # keyed: the stored fingerprint covers the NIK and KK number, which must not be testable against it
    fingerprint = hmac.new(cfg.secret_key.encode(), b"idempotency:" + sub.data.fingerprint(Channel(sub.channel).value, kk_sha).encode(), hashlib.sha256).hexdigest()
    lock_nik(session, sub.data.nik)
    for _ in range(MAX_ATTEMPTS):
        if key is not None:
            replay = _replay(session, key, fingerprint, cfg)
            if replay is not None:
                return replay
        try:
            return _create(session, sub, cfg, clean, fingerprint, now)
        except IntegrityError:
            continue  # a concurrent submission won a unique constraint; look again
    raise Conflict()


def _decision_target(session: Session, request_id: int, reason: str, allowed: tuple[RequestStatus, ...]) -> tuple[VisitRequest, str]:
    """The request an operator decides on, and the written reason (at least 10 characters)."""
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput("intake.err.override_reason", field="override_reason")
    row = session.get(VisitRequest, request_id)
    if row is None:
        raise NotFound()
    if row.status not in allowed:
        raise Conflict("intake.err.override_status", field="status")
    return row, reason


def _record_decision(session: Session, row: VisitRequest, status: RequestStatus, *, reason: str, user_id: int | None, now: datetime | None) -> VisitRequest:
    """The operator's decision, with its written reason; it answers the request if nothing had."""
    now = now or utcnow()
    row.status = status.value
    row.override_reason = reason[:2000]
    row.overridden_by_id = user_id
    row.first_answer_at = row.first_answer_at or now
    row.updated_at = now
    row.version += 1
    session.add(row)
    session.flush()
    return row


def override(session: Session, request_id: int, *, user_id: int | None, reason: str, now: datetime | None = None) -> VisitRequest:
    """An operator declares an ineligible (or to-review) request eligible, with a written reason."""
    row, reason = _decision_target(session, request_id, reason, OVERRIDABLE)
    resident = session.get(Resident, row.resident_id)
    if resident is None or resident.kelurahan_id is None or resident.lat is None:
        # the home is not in one of our kelurahan: no team can visit it (a new request with the right address can)
        raise Conflict("intake.err.override_outside_area", field="kelurahan_code")
    if row.kk_document_id is None:
        row.kk_check_at_visit = True  # no KK on file: the officers check it at the door
    return _record_decision(session, row, RequestStatus.ELIGIBLE, reason=reason, user_id=user_id, now=now)


DECLINE_CODES = ("KK_MISSING", "NOT_IN_SERVED_GROUP", "OUTSIDE_SERVICE_AREA", "UNDER_AGE", "NIK_BIRTHDATE_MISMATCH", "DUPLICATE_OPEN_REQUEST")


def decline(session: Session, request_id: int, *, user_id: int | None, code: str, reason: str, now: datetime | None = None) -> VisitRequest:
    """An operator decides a request under review is not eligible (reason code + written note)."""
    if code not in DECLINE_CODES:
        raise InvalidInput("intake.err.choice", field="decline_code")
    row, reason = _decision_target(session, request_id, reason, DECLINABLE)
    row.reasons = [*row.reasons, code] if code not in row.reasons else list(row.reasons)
    return _record_decision(session, row, RequestStatus.INELIGIBLE, reason=reason, user_id=user_id, now=now)
