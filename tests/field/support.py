"""A booked day for one team (Tuesday 24 November 2026, the day after the suite's NOW) and its officer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from sqlmodel import select

from app.db import session_scope
from tests.app.helpers import Staff, login_as, make_user, session_for
from tests.booking.slot_support import make_request, setup_area
from visits.booking import slots
from visits.models import Booking, RequestStatus, Resident, Team, VisitRequest
from visits.planning.translate import service_needs

JAKARTA = timezone(timedelta(hours=7))
DAY = datetime(2026, 11, 24).date()  # Tuesday
WORKDAY = [{"weekday": d, "start": "08:00", "end": "15:00"} for d in range(5)]


def at(hour: int, minute: int = 0, day=DAY) -> datetime:  # noqa: ANN001
    return datetime.combine(day, time(hour, minute), tzinfo=JAKARTA)


@dataclass
class BookedDay:
    team_id: int
    other_team_id: int
    team_day_id: int
    bookings: list[int]  # in window order
    requests: list[int]


def book_day(windows: list[tuple[int, int]] = ((9, 10), (10, 11), (13, 14)), team: str = "Tim 1") -> BookedDay:  # type: ignore[assignment]
    """Booked visits on ``team``'s Tuesday (one elderly resident each, near the centre), written
    as the booking service leaves them: confirmed, request booked, team-day bumped."""
    with session_scope() as session:
        setup_area(session)
        own = session.exec(select(Team).where(Team.name == team)).one()
        other = session.exec(select(Team).where(Team.name != team).order_by(Team.id)).first()
        td = slots.team_day_for(session, own.id, DAY)  # type: ignore[arg-type]
        bookings, requests = [], []
        for n, (start, end) in enumerate(windows):
            req = make_request(session, WORKDAY, offset=(0.001 * n, 0.001 * n))
            resident = session.get(Resident, req.resident_id)
            # fixed homes north-west of the office, whatever kelurahan the shared serial gave them
            resident.lat, resident.lon = -7.46 + 0.002 * n, 112.42 - 0.002 * n  # type: ignore[union-attr]
            needs = service_needs(session, resident)  # type: ignore[arg-type]
            b = Booking(request_id=req.id, team_day_id=td.id, window_start=time(start), window_end=time(end), service_minutes=needs.minutes)  # type: ignore[arg-type]
            session.add(b)
            req.status = RequestStatus.BOOKED
            session.flush()
            slots.bump(session, td.id)  # type: ignore[arg-type]
            bookings.append(b.id)
            requests.append(req.id)
        return BookedDay(own.id, other.id, td.id, bookings, requests)  # type: ignore[arg-type]


def officer_of(client, team_id: int) -> Staff:  # noqa: ANN001
    """Log ``client`` in as an officer of ``team_id`` (cookie session; send ``staff.headers`` on posts)."""
    user = make_user("officer", team_id=team_id)
    from visits.staff.users import start_session

    with session_scope() as session:
        cookie, csrf = start_session(session, user, lifetime=timedelta(hours=1))
    staff = Staff(user.id, user.username, user.role, user.team_id, cookie, csrf)  # type: ignore[arg-type]
    return staff


def outcome_body(
    outcome: str, *, arrived: datetime | None = None, minutes: int = 20, lat: float | None = None, lon: float | None = None, client_id: str | None = None, note: str | None = None
) -> dict:
    arrived = arrived or at(9, 5)
    return {
        "client_id": client_id or str(uuid.uuid4()),
        "outcome": outcome,
        "arrived_at": arrived.isoformat(),
        "finished_at": (arrived + timedelta(minutes=minutes)).isoformat(),
        "note": note,
        "lat": lat,
        "lon": lon,
    }


def request_row(request_id: int) -> VisitRequest:
    with session_scope() as session:
        row = session.get(VisitRequest, request_id)
        assert row is not None
        return row


__all__ = ["BookedDay", "DAY", "at", "book_day", "officer_of", "outcome_body", "request_row", "login_as", "session_for"]
