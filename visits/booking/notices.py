"""Messages to the family about offers and bookings (through the notification outbox).

Every message carries the way to reschedule or cancel: the tracking link when the family's
token is at hand (it is never stored in clear), otherwise the tracking page with the short
reference, which works together with the companion's phone number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlmodel import Session, col, select

from visits.models import Notification, VisitRequest
from visits.notifications import enqueue


@dataclass(frozen=True)
class Office:
    """What a message says about the office: its name and the base of the family's links."""

    name: str
    base_url: str


DAY_NAMES = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}

TEMPLATES = {
    "offers": {
        "id": "{office}: jadwal kunjungan perekaman KTP-el untuk permohonan {reference}: {slots}. Pilih salah satu di {link}",
        "en": "{office}: home-visit times for E-KTP recording, request {reference}: {slots}. Choose one at {link}",
    },
    "offers_short": {
        "id": "{office}: jadwal kunjungan perekaman KTP-el yang ditawarkan lewat telepon untuk permohonan {reference}: {slots}. Jadwal ini hanya ditahan {minutes} menit, selama Anda memilih bersama petugas kami di telepon. Status, ubah atau batal: {link}",
        "en": "{office}: home-visit times for E-KTP recording offered on the phone, request {reference}: {slots}. They are held for only {minutes} minutes, while you choose with our operator on the phone. Status, change or cancel: {link}",
    },
    "booked": {
        "id": "{office}: kunjungan perekaman KTP-el {reference} dijadwalkan {slot}. Pastikan pendamping ada di rumah. Ubah/batal: {link}",
        "en": "{office}: E-KTP recording visit {reference} is booked for {slot}. Please have the companion at home. Change/cancel: {link}",
    },
    "rescheduled": {
        "id": "{office}: jadwal kunjungan {reference} diubah menjadi {slot}. Ubah/batal: {link}",
        "en": "{office}: visit {reference} moved to {slot}. Change/cancel: {link}",
    },
    "cancelled": {
        "id": "{office}: kunjungan {reference} dibatalkan. Ajukan lagi kapan saja: {link}",
        "en": "{office}: visit {reference} is cancelled. Ask again any time: {link}",
    },
    "withdrawn": {  # the office's capacity shrank (closure, kit, crew): visits.teams.capacity
        "id": "{office}: mohon maaf, kunjungan {reference} pada {slot} tidak dapat dilaksanakan karena perubahan jadwal petugas. Kami menawarkan jadwal pengganti: {link}",
        "en": "{office}: we are sorry, visit {reference} on {slot} cannot take place because our officers' schedule changed. We are offering new times: {link}",
    },
    "reminder": {
        "id": "{office}: pengingat, besok {slot} petugas datang untuk perekaman KTP-el ({reference}). Ubah/batal: {link}",
        "en": "{office}: reminder, tomorrow {slot} our officers come for E-KTP recording ({reference}). Change/cancel: {link}",
    },
}


def slot_text(lang: str, day: date, start: time, end: time) -> str:
    names = DAY_NAMES.get(lang, DAY_NAMES["id"])
    return f"{names[day.weekday()]} {day.strftime('%d-%m-%Y')} {start.strftime('%H:%M')}–{end.strftime('%H:%M')}"


def family_language(session: Session, request_id: int) -> str:
    """The language the family was first answered in."""
    first = session.exec(select(Notification.language).where(Notification.request_id == request_id).order_by(col(Notification.id))).first()
    return first or "id"


def family_link(base_url: str, request: VisitRequest, token: str | None) -> str:
    base = base_url.rstrip("/")
    return f"{base}/track/{token}" if token else f"{base}/track?ref={request.reference}"


def notify(session: Session, request: VisitRequest, template: str, *, office: str, link: str, slots: list[tuple[date, time, time]], minutes: int = 0) -> Notification:
    lang = family_language(session, request.id)  # type: ignore[arg-type]
    texts = [slot_text(lang, *s) for s in slots]
    body = TEMPLATES[template][lang].format(office=office, reference=request.reference, link=link, slots="; ".join(texts), slot=texts[0] if texts else "", minutes=minutes)
    return enqueue(session, recipient=request.companion_phone, language=lang, template=f"booking_{template}", body=body, request_id=request.id)
