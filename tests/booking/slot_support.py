"""Builders for slot and booking tests: the demo service area, teams and calendar, and requests."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from sqlmodel import Session, select

from visits.demo import ensure_calendar, ensure_teams
from visits.intake.service_area import KOTA_MOJOKERTO_CENTRE, ensure_office, ensure_service_area
from visits.models import Channel, ConsentBy, Kelurahan, RequestStatus, Resident, VisitRequest

JAKARTA = timezone(timedelta(hours=7))
# Monday 23 November 2026, 09:00 in Mojokerto: the horizon starts on Tuesday the 24th.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=JAKARTA)
_serial = itertools.count(1)


def setup_area(session: Session) -> None:
    ensure_service_area(session)
    ensure_office(session, "Dispendukcapil", "Kota Mojokerto", *KOTA_MOJOKERTO_CENTRE)
    ensure_teams(session)
    ensure_calendar(session)
    session.flush()


def make_request(
    session: Session, availability: list[dict], *, group: str = "elderly", channel: str = Channel.WEB, offset: tuple[float, float] = (0.0, 0.0), status: str = RequestStatus.ELIGIBLE
) -> VisitRequest:
    n = next(_serial)
    kel = session.exec(select(Kelurahan).order_by(Kelurahan.code)).all()[n % 18]
    resident = Resident(
        nik=f"357601{n:02d}0150{n:04d}"[:16].ljust(16, "1"),
        full_name=f"Warga {n}",
        birth_date=datetime(1950, 1, 1).date(),
        sex="M",
        marital_status="married",
        group_elderly=group == "elderly",
        group_mental=group == "mental",
        group_disabled=group == "disabled",
        group_bedridden=group == "bedridden",
        street="Jl. Contoh",
        rt="001",
        rw="002",
        kelurahan_id=kel.id,
        lat=kel.lat + offset[0],
        lon=kel.lon + offset[1],
    )
    session.add(resident)
    session.flush()
    req = VisitRequest(
        reference=f"T{n:07d}",
        tracking_token_hash=f"{n:064d}",
        resident_id=resident.id,
        channel=channel,
        status=status,
        kk_number="3576010101150001",
        kk_check_at_visit=True,
        companion_name="Anak",
        companion_phone="+6281234567890",
        companion_relation="anak",
        availability=availability,
        consent_by=ConsentBy.GUARDIAN,
        consent_at=NOW,
        received_at=NOW,
        due_at=NOW + timedelta(days=1),
    )
    session.add(req)
    session.flush()
    return req
