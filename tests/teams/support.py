"""Builders for the administration tests: bookings on one team's day."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from tests.booking.slot_support import NOW, make_request
from visits.booking import slots
from visits.booking.notices import Office
from visits.models import Booking, BookingStatus, KitState, RecordingKit, Team, TeamDay
from visits.planning.travel import TravelService

TRAVEL = TravelService()
POLICY = slots.SlotPolicy()
OFFICE = Office("Dinas Uji", "http://127.0.0.1")
WEDNESDAY = date(2026, 11, 25)
HOURS = ("08:00", "09:00", "10:00", "13:00", "14:00")


def team(session: Session, name: str) -> Team:
    return session.exec(select(Team).where(Team.name == name)).one()


def book_on(session: Session, team_name: str, day: date = WEDNESDAY, hours: tuple[str, ...] = HOURS) -> list[Booking]:
    """One confirmed booking per starting hour on ``day``, all with ``team_name`` (the other teams'
    kits are away while booking, then back)."""
    target = team(session, team_name)
    others = [k for k in session.exec(select(RecordingKit)).all() if k.team_id != target.id and k.state == KitState.OK]
    for kit in others:
        kit.state = KitState.OUT_OF_SERVICE
    session.flush()
    booked = []
    for start in hours:
        end = f"{int(start[:2]) + 1:02d}:00"
        req = make_request(session, [{"date": day.isoformat(), "start": start, "end": end}])
        result = slots.make_offers(session, req.id, NOW, TRAVEL, POLICY, k=1)
        assert result.reason is None and result.offers, (start, result.reason)
        booked.append(slots.confirm(session, req.id, result.offers[0].offer_id, NOW, TRAVEL, POLICY))
    for kit in others:
        kit.state = KitState.OK
    session.flush()
    assert {session.get(TeamDay, b.team_day_id).team_id for b in booked} == {target.id}
    return booked


def confirmed(session: Session) -> list[Booking]:
    return session.exec(select(Booking).where(Booking.status == BookingStatus.CONFIRMED)).all()
