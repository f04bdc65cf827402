"""Builders for the reporting tests: the service area, baselines, requests and visits with chosen instants."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, time, timedelta, timezone

from sqlmodel import Session, select

from visits.field.service import next_step_of
from visits.intake.service_area import ensure_service_area
from visits.models import Booking, Channel, ConsentBy, CoverageBaseline, CoverageBaselineRow, Kelurahan, RequestStatus, Resident, Team, TeamDay, Visit, VisitRequest

WIB = timezone(timedelta(hours=7))
TZ = "Asia/Jakarta"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=WIB)  # Monday (tests/conftest.NOW)
_n = itertools.count(1)
PLANTED_PHONE = "+6281299887766"
PLANTED_STREET = "Jl. Rahasia Planted 77"
PLANTED_NIK = "3576014107450099"
PLANTED_KK = "3576010202150088"


def area(session: Session) -> dict[str, Kelurahan]:
    ensure_service_area(session)
    return {k.code: k for k in session.exec(select(Kelurahan)).all()}


def baseline(session: Session, as_of: date, rows: dict[str, tuple[int, int]]) -> CoverageBaseline:
    kel = {k.code: k.id for k in session.exec(select(Kelurahan)).all()}
    b = CoverageBaseline(as_of=as_of, source_name="test.csv", sha256="0" * 64, imported_at=NOW)
    session.add(b)
    session.flush()
    session.add_all(CoverageBaselineRow(baseline_id=b.id, kelurahan_id=kel[c], required=req, recorded=rec) for c, (req, rec) in rows.items())
    session.flush()
    return b


def request(
    session: Session,
    kel_code: str | None,
    received_at: datetime,
    *,
    answered_at: datetime | None = None,
    due_at: datetime | None = None,
    status: str = RequestStatus.ELIGIBLE,
    channel: str = Channel.WEB,
    letter: bool | None = None,
    groups: tuple[str, ...] = ("elderly",),
    reasons: list[str] | None = None,
    nik: str | None = None,
    kk: str | None = None,
    phone: str | None = None,
    street: str | None = None,
) -> VisitRequest:
    n = next(_n)
    kel = session.exec(select(Kelurahan).where(Kelurahan.code == kel_code)).one() if kel_code else None
    resident = Resident(
        nik=nik or f"3576{n:012d}",
        full_name=f"Warga {n}",
        birth_date=date(1950, 1, 1),
        sex="M",
        marital_status="married",
        group_elderly="elderly" in groups,
        group_disabled="disabled" in groups,
        group_mental="mental" in groups,
        group_bedridden="bedridden" in groups,
        street=street or "Jl. Contoh",
        rt="001",
        rw="002",
        kelurahan_id=kel.id if kel else None,
        outside_kelurahan_code=None if kel else "35.16.01.2001",
        lat=kel.lat if kel else None,
        lon=kel.lon if kel else None,
        location_source="centroid" if kel else None,
    )
    session.add(resident)
    session.flush()
    r = VisitRequest(
        reference=f"R{n:07d}",
        tracking_token_hash=f"{n:064d}",
        resident_id=resident.id,
        channel=channel,
        status=status,
        kk_number=kk or "3576010101150001",
        kk_check_at_visit=True,
        companion_name="Anak",
        companion_phone=phone or "+6281234567890",
        companion_relation="anak",
        availability=[],
        consent_by=ConsentBy.GUARDIAN,
        consent_at=received_at,
        kelurahan_letter=letter,
        reasons=reasons or [],
        received_at=received_at,
        first_answer_at=answered_at,
        due_at=due_at or received_at + timedelta(days=1),
    )
    session.add(r)
    session.flush()
    return r


def booking(session: Session, req: VisitRequest, day: date, created_at: datetime | None = None) -> Booking:
    team = session.exec(select(Team)).first()
    if team is None:
        team = Team(name="Tim Uji")
        session.add(team)
        session.flush()
    td = session.exec(select(TeamDay).where(TeamDay.team_id == team.id, TeamDay.day == day)).first()
    if td is None:
        td = TeamDay(team_id=team.id, day=day)  # type: ignore[arg-type]
        session.add(td)
        session.flush()
    b = Booking(request_id=req.id, team_day_id=td.id, window_start=time(9), window_end=time(10), service_minutes=30, created_at=created_at or NOW)  # type: ignore[arg-type]
    session.add(b)
    session.flush()
    return b


def visit(session: Session, req: VisitRequest, outcome: str, at: datetime) -> Visit:
    b = booking(session, req, at.astimezone(WIB).date(), created_at=at - timedelta(days=2))
    v = Visit(client_uuid=str(uuid.uuid4()), body_hash="0" * 64, booking_id=b.id, request_id=req.id, outcome=outcome, next_step=next_step_of(outcome), recorded_on_device_at=at, received_at=at)  # type: ignore[arg-type]
    session.add(v)
    session.flush()
    return v
