"""A booked day for one team (Tuesday 2026-11-24), for the field page tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, select

from tests.booking.slot_support import NOW, make_request, setup_area
from visits.booking import slots
from visits.models import Booking, Resident, Team, TeamDay, VisitRequest
from visits.planning.travel import TravelService

DAY = date(2026, 11, 24)
# the officer's morning on that day (the app's clock in the browser test): 07:30 WIB
TUESDAY_MORNING = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
WINDOWS = [("09:00", "10:00"), ("10:00", "11:00"), ("13:00", "14:00"), ("14:00", "15:00")]


@dataclass
class BookedDay:
    team_id: int
    team_name: str
    booking_ids: list[int]  # in window order
    names: list[str]


def book_day(session: Session, windows: list[tuple[str, str]] = WINDOWS) -> BookedDay:
    """One active team with a confirmed booking per window on ``DAY`` (committed)."""
    setup_area(session)
    teams = session.exec(select(Team).order_by(Team.id)).all()
    team = teams[0]
    for other in teams[1:]:
        other.active = False
        session.add(other)
    session.flush()
    travel, policy = TravelService(), slots.SlotPolicy()
    ids, names = [], []
    for i, (start, end) in enumerate(windows):
        req = make_request(session, [{"date": DAY.isoformat(), "start": start, "end": end}], offset=(0.003 * (i + 1), 0.002 * (i + 1)))
        resident = session.get(Resident, req.resident_id)
        resident.full_name = f"Ibu Sumiati {i + 1}"
        resident.approach_notes = f"Ketuk pintu samping {i + 1}"
        req.companion_name = f"Budi {i + 1}"
        session.add_all([resident, req])
        session.flush()
        offer = slots.make_offers(session, req.id, NOW, travel, policy).offers[0]
        booking = slots.confirm(session, req.id, offer.offer_id, NOW, travel, policy)
        ids.append(booking.id)
        names.append(resident.full_name)
    tds = {session.get(TeamDay, b.team_day_id).team_id for b in session.exec(select(Booking)).all()}
    assert tds == {team.id}
    session.commit()
    return BookedDay(team.id, team.name, ids, names)


def request_of(session: Session, booking_id: int) -> VisitRequest:
    return session.get(VisitRequest, session.get(Booking, booking_id).request_id)


__all__ = ["DAY", "TUESDAY_MORNING", "BookedDay", "book_day", "request_of", "timedelta"]
