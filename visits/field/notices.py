"""Messages to the family from the field, through the outbox (Bahasa Indonesia or English, the
language the family was first answered in)."""

from __future__ import annotations

from datetime import date, time

from sqlmodel import Session

from visits.booking.notices import family_language, slot_text
from visits.models import Notification, VisitRequest
from visits.notifications import enqueue

TEMPLATES = {
    "on_our_way": {
        "id": "{office}: petugas sedang menuju rumah Anda untuk perekaman KTP-el ({reference}), perkiraan tiba pukul {eta}. Mohon pendamping ada di rumah.",
        "en": "{office}: our officers are on their way to you for E-KTP recording ({reference}), expected at {eta}. Please have the companion at home.",
    },
    "missed": {
        "id": "{office}: petugas sudah datang untuk kunjungan {reference}, tetapi perekaman belum dapat dilakukan. Kami kirimkan pilihan waktu baru.",
        "en": "{office}: our officers came for visit {reference}, but the recording could not be done. We are sending you new times.",
    },
    "cannot_keep": {
        "id": "{office}: mohon maaf, petugas tidak dapat datang pada {slot} untuk kunjungan {reference}. Kami kirimkan pilihan waktu baru.",
        "en": "{office}: we are sorry, our officers cannot come at {slot} for visit {reference}. We are sending you new times.",
    },
}


def tell_family(session: Session, request: VisitRequest, template: str, *, office: str, eta: time | None = None, slot: tuple[date, time, time] | None = None) -> Notification:
    lang = family_language(session, request.id)  # type: ignore[arg-type]
    body = TEMPLATES[template][lang].format(
        office=office,
        reference=request.reference,
        eta=eta.strftime("%H:%M") if eta else "",
        slot=slot_text(lang, *slot) if slot else "",
    )
    return enqueue(session, recipient=request.companion_phone, language=lang, template=f"field_{template}", body=body, request_id=request.id)
