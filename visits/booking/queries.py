"""Screen queries of booking: the confirmed visits of a day, per team."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from visits.models import Booking, BookingStatus, Team, TeamDay, VisitRequest


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
