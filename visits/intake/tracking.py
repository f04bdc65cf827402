"""Tracking a request without an account.

- The tracking token is 256 random bits (or, for an idempotent submission, an HMAC of the
  Idempotency-Key under the secret key, so a retry can answer with the same token); only
  its SHA-256 is stored (``VisitRequest.tracking_token_hash``).
- The short reference (for phone calls) finds a request only together with the companion's
  phone number.
- The summary shows the minimum: reference, status, reasons, next step, offered or booked
  slot — never NIK, KK, address, phone or group.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlmodel import Session, select

from visits.intake.eligibility import REASONS
from visits.intake.models import PRIVATE_REASONS, public_status
from visits.intake.schemas import ReasonOut, SlotOut, TrackSummary, try_normalise_phone
from visits.models import Booking, BookingStatus, HoldStatus, RequestStatus, SlotHold, TeamDay, TrackingLink, VisitRequest
from visits.types import utcnow

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
TOKEN_MIN_LENGTH = 32

NEXT_STEPS = {
    RequestStatus.RECEIVED: ("Permohonan sudah diterima dan akan kami periksa.", "Your request was received and will be checked."),
    RequestStatus.NEEDS_REVIEW: (
        "Petugas kami sedang memeriksa permohonan; kami akan menghubungi pendamping.",
        "An operator is checking the request and will contact the companion.",
    ),
    RequestStatus.ELIGIBLE: (
        "Permohonan memenuhi syarat. Kami akan menawarkan jadwal kunjungan sesuai waktu yang Anda pilih.",
        "The request is eligible. We will offer visit times that fit the times you gave.",
    ),
    RequestStatus.OFFERED: ("Pilih salah satu jadwal yang kami tawarkan.", "Choose one of the visit times we offered."),
    RequestStatus.BOOKED: ("Jadwal kunjungan sudah pasti. Pastikan pendamping ada di rumah.", "The visit is booked. Please make sure the companion is at home."),
    RequestStatus.VISITED: ("Perekaman sudah dilakukan. KTP-el dapat diambil sesuai informasi petugas.", "Recording is done. Collect the E-KTP as the officer told you."),
    RequestStatus.FAILED: ("Kunjungan belum berhasil; kami akan menghubungi Anda untuk jadwal baru.", "The visit could not be completed; we will contact you for a new time."),
    RequestStatus.CANCELLED: ("Permohonan dibatalkan.", "The request was cancelled."),
    RequestStatus.CLOSED: ("Permohonan selesai.", "The request is closed."),
}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def idempotent_token(secret: str, idempotency_key: str) -> str:
    """The tracking token of an idempotent submission: a retry re-derives the same one."""
    digest = hmac.new(secret.encode(), b"tracking-token:" + idempotency_key.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_reference() -> str:
    """Short and easy to read out on the phone, e.g. ``K7QM-2XHD`` (40 bits)."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_reference(value: str) -> str:
    compact = "".join(ch for ch in value.upper() if ch.isalnum())
    return f"{compact[:4]}-{compact[4:]}" if len(compact) == 8 else compact


def tracking_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/track/{token}"


def find_by_token(session: Session, token: str) -> VisitRequest | None:
    """The request for a tracking token, or None (also for anything that cannot be a token)."""
    if not (TOKEN_MIN_LENGTH <= len(token) <= 128) or not token.replace("-", "").replace("_", "").isalnum():
        return None
    digest = hash_token(token)
    row = session.exec(select(VisitRequest).where(VisitRequest.tracking_token_hash == digest)).first()
    if row is None:
        row = session.exec(select(VisitRequest).join(TrackingLink, TrackingLink.request_id == VisitRequest.id).where(TrackingLink.token_hash == digest)).first()  # type: ignore[arg-type]
    return row


def mint_link(session: Session, request_id: int, now: datetime) -> str:
    """A fresh tracking token for the request (for a message sent without the family's own
    token, or after a reference + phone lookup); only its hash is stored. Flushes."""
    token = new_token()
    session.add(TrackingLink(request_id=request_id, token_hash=hash_token(token), created_at=now))
    session.flush()
    return token


def find_by_reference(session: Session, reference: str, phone: str) -> VisitRequest | None:
    """The request with this reference whose companion phone matches; None otherwise."""
    e164 = try_normalise_phone(phone)
    if e164 is None:
        return None
    row = session.exec(select(VisitRequest).where(VisitRequest.reference == normalise_reference(reference))).first()
    if row is None or not hmac.compare_digest(row.companion_phone, e164):
        return None
    return row


def _reasons(codes: list[str], lang: str) -> list[ReasonOut]:
    out = []
    for code in codes:
        reason = REASONS.get(code)
        if reason is not None:
            out.append(ReasonOut(code=code, message=reason.message(lang), next_step=reason.next_step(lang)))
    return out


def _slots(session: Session, request_id: int, now: datetime) -> list[SlotOut]:
    slots: list[SlotOut] = []
    holds = session.exec(
        select(SlotHold, TeamDay).join(TeamDay, SlotHold.team_day_id == TeamDay.id).where(SlotHold.request_id == request_id, SlotHold.status == HoldStatus.HELD)  # type: ignore[arg-type]
    ).all()
    for hold, day in holds:
        if hold.expires_at > now:
            slots.append(SlotOut(day=day.day, start=hold.window_start.strftime("%H:%M"), end=hold.window_end.strftime("%H:%M"), status="offered", offer_id=hold.offer_id))
    bookings = session.exec(
        select(Booking, TeamDay).join(TeamDay, Booking.team_day_id == TeamDay.id).where(Booking.request_id == request_id, Booking.status == BookingStatus.CONFIRMED)  # type: ignore[arg-type]
    ).all()
    for booking, day in bookings:
        slots.append(SlotOut(day=day.day, start=booking.window_start.strftime("%H:%M"), end=booking.window_end.strftime("%H:%M"), status="booked"))
    return sorted(slots, key=lambda s: (s.day, s.start))


def public_reasons(row: VisitRequest) -> list[str]:
    return [code for code in row.reasons or () if code not in PRIVATE_REASONS]


def _eligible_status(status: str) -> bool:
    return status not in (RequestStatus.INELIGIBLE, RequestStatus.NEEDS_REVIEW, RequestStatus.RECEIVED, RequestStatus.CANCELLED)


def is_eligible(row: VisitRequest) -> bool:
    return _eligible_status(row.status)


def next_step(row: VisitRequest, lang: str) -> str:
    status = public_status(row)
    if status == RequestStatus.INELIGIBLE:
        reasons = _reasons(public_reasons(row), lang)
        return reasons[0].next_step if reasons else ""
    pair = NEXT_STEPS.get(RequestStatus(status))
    return (pair[1] if lang == "en" else pair[0]) if pair else ""


def summary(session: Session, row: VisitRequest, lang: str, now: datetime | None = None) -> TrackSummary:
    status = public_status(row)
    shown_reasons = public_reasons(row) if status == RequestStatus.INELIGIBLE else []
    return TrackSummary(
        reference=row.reference,
        status=status,
        eligible=_eligible_status(status),
        reasons=_reasons(shown_reasons, lang),
        next_step=next_step(row, lang),
        first_answer_due=row.due_at,
        slots=_slots(session, row.id, now or utcnow()) if row.id is not None else [],
    )


def page_view(s: TrackSummary) -> dict[str, object]:
    """What the status page shows as its main thing, as predicates (templates hold no status
    literals): the confirmed booking when there is one, the offers to choose from, and whether
    the page is only informational (no slot to show)."""
    booking = next((x for x in s.slots if x.status == "booked"), None)
    offered = [x for x in s.slots if x.status == "offered" and x.offer_id]
    return {"booking": booking, "offered": offered, "cancelled": s.status == RequestStatus.CANCELLED}
