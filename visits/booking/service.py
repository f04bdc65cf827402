"""The family's booking use cases, one function each, shared by every surface (the family's API
and pages, the operator's desk, the CLI's auto-booking): offer (or counter-propose with new
availability), confirm (a reschedule when already booked), cancel, auto-book.

Each takes ``now``, the travel times, the slot policy and the office; each only flushes. Team-days
whose bookings change are marked on the session (``slots.bump`` / ``mark_changed``) and re-planned
after the commit. Each returns what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from visits.booking import slots
from visits.booking.models import Booking
from visits.booking.notices import Office, family_link, notify
from visits.intake.models import VisitRequest
from visits.intake.tracking import mint_link
from visits.planning.models import TeamDay
from visits.planning.travel import TravelService
from visits.transactions import changed_team_days


@dataclass(frozen=True)
class Booked:
    """A confirmed booking and the team-days whose routes changed (the new one, and the old one
    when the visit moved)."""

    booking: Booking
    team_day: TeamDay
    rescheduled: bool
    changed: list[int] = field(default_factory=list)


def _link(session: Session, office: Office, request: VisitRequest, link_token: str | None, now: datetime) -> str:
    """The family's link in a message: their own token when at hand (their own action), else a
    freshly minted one (only its hash is stored), so every message opens the status page with
    its actions (choose, change, cancel)."""
    return family_link(office.base_url, request, link_token or mint_link(session, request.id, now))  # type: ignore[arg-type]


SHORT_HOLD_MINUTES = 60  # offers held shorter than this are chosen now (on the phone), not later


def _slots_of(result: slots.OfferResult) -> list:
    return [(o.day, o.start, o.end) for o in result.offers]


def offer(
    session: Session,
    request: VisitRequest,
    now: datetime,
    travel: TravelService,
    policy: slots.SlotPolicy,
    office: Office,
    *,
    availability: list[dict] | None = None,
    link_token: str | None = None,
    staff: bool = False,
    k: int | None = None,
) -> slots.OfferResult:
    """Offer slots (held) and tell the family; ``availability`` replaces theirs first (a
    counter-proposal)."""
    result = slots.make_offers(session, request.id, now, travel, policy, availability=availability, staff=staff, k=k)  # type: ignore[arg-type]
    if result.offers:
        minutes = int(policy.hold_for(request.channel).total_seconds() // 60)
        template = "offers_short" if minutes < SHORT_HOLD_MINUTES else "offers"
        notify(session, request, template, office=office.name, link=_link(session, office, request, link_token, now), slots=_slots_of(result), minutes=minutes)
    return result


def confirm(
    session: Session, request: VisitRequest, offer_id: str, now: datetime, travel: TravelService, policy: slots.SlotPolicy, office: Office, *, link_token: str | None = None, staff: bool = False
) -> Booked:
    """Book a held offer (raises :class:`slots.SlotTaken` with fresh offers) and tell the family."""
    before = slots.booking_of(session, request.id)  # type: ignore[arg-type]
    booking = slots.confirm(session, request.id, offer_id, now, travel, policy, staff=staff)  # type: ignore[arg-type]
    current = slots.booking_of(session, request.id)  # type: ignore[arg-type]
    assert current is not None
    team_day = current[1]
    notify(
        session,
        request,
        "rescheduled" if before else "booked",
        office=office.name,
        link=_link(session, office, request, link_token, now),
        slots=[(team_day.day, booking.window_start, booking.window_end)],
    )
    return Booked(booking, team_day, before is not None, changed_team_days(session))


def cancel(session: Session, request: VisitRequest, now: datetime, policy: slots.SlotPolicy, office: Office, *, link_token: str | None = None, staff: bool = False) -> list[int]:
    """Cancel the request and its booking, tell the family; the team-days that changed."""
    changed = slots.cancel(session, request.id, now, policy, staff=staff)  # type: ignore[arg-type]
    notify(session, request, "cancelled", office=office.name, link=_link(session, office, request, link_token, now), slots=[])
    return changed


def auto_book(session: Session, request: VisitRequest, now: datetime, travel: TravelService, policy: slots.SlotPolicy, office: Office) -> Booked | None:
    """Book the best slot inside the family's availability (they accept any of it) and tell them;
    when nothing fits it, send the nearest offers instead of booking."""
    best = slots.make_offers(session, request.id, now, travel, policy, k=1)  # type: ignore[arg-type]
    if best.reason is not None:  # nothing inside their availability: offer the nearest times
        offer(session, request, now, travel, policy, office)
        return None
    if not best.offers:
        return None
    return confirm(session, request, best.offers[0].offer_id, now, travel, policy, office)
