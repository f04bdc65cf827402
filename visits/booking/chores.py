"""Booking chores around the family's own actions: auto-booking, reminders, the chase list.

``Office`` is re-exported from ``visits.booking.notices``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from visits.booking import slots
from visits.booking.notices import Office, family_link, notify
from visits.booking.service import auto_book
from visits.intake.tracking import mint_link
from visits.models import Booking, BookingStatus, HoldStatus, RequestStatus, SlotHold, TeamDay, VisitRequest
from visits.planning.travel import TravelService


def auto_book_pending(session: Session, now: datetime, travel: TravelService, policy: slots.SlotPolicy, office: Office) -> list[int]:
    """Auto-book every eligible request whose family accepts any time in their availability."""
    rows = session.exec(select(VisitRequest).where(VisitRequest.accept_any_time == True, VisitRequest.status == RequestStatus.ELIGIBLE).order_by(col(VisitRequest.due_at))).all()  # noqa: E712
    return [b.team_day.id for row in rows if (b := auto_book(session, row, now, travel, policy, office)) is not None]  # type: ignore[misc]


def send_reminders(session: Session, now: datetime, tz: str, office: Office) -> int:
    """The day-before reminder for every confirmed booking tomorrow (once each, even when two
    runs overlap: a booking another run is reminding is skipped, and once it commits its
    ``reminder_sent_at`` is set)."""
    tomorrow: date = now.astimezone(ZoneInfo(tz)).date() + timedelta(days=1)
    rows = session.exec(
        select(Booking, TeamDay, VisitRequest)
        .join(TeamDay, Booking.team_day_id == TeamDay.id)  # type: ignore[arg-type]
        .join(VisitRequest, Booking.request_id == VisitRequest.id)  # type: ignore[arg-type]
        .where(Booking.status == BookingStatus.CONFIRMED, TeamDay.day == tomorrow, Booking.reminder_sent_at.is_(None))  # type: ignore[union-attr]
        .with_for_update(of=Booking, skip_locked=True)  # PostgreSQL: two runs at once never remind twice (SQLite writes one at a time)
    ).all()
    for booking, td, request in rows:
        notify(
            session,
            request,
            "reminder",
            office=office.name,
            link=family_link(office.base_url, request, mint_link(session, request.id, now)),  # type: ignore[arg-type]
            slots=[(td.day, booking.window_start, booking.window_end)],
        )
        booking.reminder_sent_at = now
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class ChaseRow:
    request_id: int
    reference: str
    due_at: datetime
    offers_expire_at: datetime | None  # None: every offer has lapsed (the family must be called)
    companion_name: str = ""
    companion_relation: str = ""
    companion_phone: str = ""  # E.164, for the call link
    resident_id: int | None = None  # for the audit of the page showing the phone


def chase_list(session: Session, now: datetime) -> list[ChaseRow]:
    """Offers sent but not confirmed, most urgent response clock first."""
    rows = session.exec(select(VisitRequest).where(VisitRequest.status == RequestStatus.OFFERED).order_by(col(VisitRequest.due_at))).all()
    out = []
    for r in rows:
        expiry = session.exec(
            select(SlotHold.expires_at).where(SlotHold.request_id == r.id, SlotHold.status == HoldStatus.HELD, SlotHold.expires_at > now).order_by(SlotHold.expires_at.desc())  # type: ignore[attr-defined]
        ).first()
        out.append(ChaseRow(r.id, r.reference, r.due_at, expiry, r.companion_name, r.companion_relation, r.companion_phone, r.resident_id))  # type: ignore[arg-type]
    return out
