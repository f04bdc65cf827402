"""Screen queries of booking: the confirmed visits of a day, per team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from visits.models import Booking, BookingStatus, Kelurahan, Resident, Team, TeamDay, VisitRequest


def bookings_by_team(session: Session, day: date) -> dict[str, list[tuple[Booking, VisitRequest]]]:
    """Confirmed bookings of ``day`` by team name, each team's in window order."""
    rows = session.exec(
        select(Booking, TeamDay, Team, VisitRequest)
        .join(TeamDay, Booking.team_day_id == TeamDay.id)  # type: ignore[arg-type]
        .join(Team, TeamDay.team_id == Team.id)  # type: ignore[arg-type]
        .join(VisitRequest, Booking.request_id == VisitRequest.id)  # type: ignore[arg-type]
        .where(TeamDay.day == day, Booking.status == BookingStatus.CONFIRMED)
        .order_by(col(Team.name), col(Booking.window_start))
    ).all()
    teams: dict[str, list[tuple[Booking, VisitRequest]]] = {}
    for booking, _, team, req in rows:
        teams.setdefault(team.name, []).append((booking, req))
    return teams


@dataclass(frozen=True)
class BookedVisit:
    """One row of the operator's bookings page: the booking, its request and where to go."""

    booking: Booking
    request: VisitRequest
    resident: Resident
    kelurahan: Kelurahan | None


def visits_by_team(session: Session, day: date) -> dict[str, list[BookedVisit]]:
    """Confirmed bookings of ``day`` by team name with the address, each team's in window order."""
    rows = session.exec(
        select(Booking, TeamDay, Team, VisitRequest, Resident, Kelurahan)  # type: ignore[call-overload]
        .join(TeamDay, Booking.team_day_id == TeamDay.id)
        .join(Team, TeamDay.team_id == Team.id)
        .join(VisitRequest, Booking.request_id == VisitRequest.id)
        .join(Resident, VisitRequest.resident_id == Resident.id)
        .join(Kelurahan, Resident.kelurahan_id == Kelurahan.id, isouter=True)
        .where(TeamDay.day == day, Booking.status == BookingStatus.CONFIRMED)
        .order_by(Team.name, Booking.window_start)
    ).all()
    teams: dict[str, list[BookedVisit]] = {}
    for booking, _, team, req, res, kel in rows:
        teams.setdefault(team.name, []).append(BookedVisit(booking, req, res, kel))
    return teams


def default_bookings_day(session: Session, today: date) -> date:
    """The day the bookings page opens on: today when it has bookings, else the next day that
    has any (what the desk prepares for), else today."""
    first = session.exec(
        select(col(TeamDay.day))
        .join(Booking, Booking.team_day_id == TeamDay.id)  # type: ignore[arg-type]
        .where(TeamDay.day >= today, Booking.status == BookingStatus.CONFIRMED)
        .order_by(col(TeamDay.day))
    ).first()
    return first or today
