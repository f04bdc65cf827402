"""Builders for the outreach tests: list files (CSV and XLSX), residents who asked or recorded."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, date, datetime

from openpyxl import Workbook
from sqlmodel import Session, select

from visits.intake.service_area import ensure_service_area
from visits.models import Channel, ConsentBy, Kelurahan, RequestStatus, Resident, VisitRequest
from visits.outreach.service import OutreachConfig

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB (tests/conftest.NOW)
TZ = "Asia/Jakarta"
CFG = OutreachConfig(region_prefix="3576", timezone=TZ, retention_days=30, max_attempts=3)
HEADER = "nik,full_name,birth_date,sex,kk_number,street,rt,rw,kelurahan_code,phone"
KK = "3576010101150001"
_serial = itertools.count(1)


def nik_for(birth: date, sex: str = "M", serial: int | None = None) -> str:
    day = birth.day + (40 if sex == "F" else 0)
    return f"357601{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial or next(_serial):04d}"


def person(
    birth: date = date(1950, 3, 15), sex: str = "M", *, nik: str | None = None, name: str = "Warga Uji", kel: str = "35.76.01.1003", phone: str = "081234567890", street: str = "Jl. Mawar 5"
) -> list[str]:
    return [nik or nik_for(birth, sex), name, birth.isoformat(), sex, KK, street, "1", "2", kel, phone]


def csv_of(*rows: list[str], header: str = HEADER) -> bytes:
    return ("\n".join([header, *(",".join(r) for r in rows)]) + "\n").encode()


def xlsx_of(*rows: list[str], header: str = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header.split(","))
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def area(session: Session) -> dict[str, Kelurahan]:
    ensure_service_area(session)
    session.flush()
    return {k.code: k for k in session.exec(select(Kelurahan)).all()}


def resident_with(session: Session, nik: str, *, status: str | None = RequestStatus.ELIGIBLE, recorded: bool = False, kel: str = "35.76.01.1003") -> Resident:
    """The resident of ``nik`` in the requests' tables: asking (a request of ``status``) and/or recorded."""
    k = session.exec(select(Kelurahan).where(Kelurahan.code == kel)).one()
    res = Resident(
        nik=nik,
        full_name="Warga",
        birth_date=date(1950, 3, 15),
        sex="M",
        marital_status="married",
        group_elderly=True,
        street="Jl. Mawar 5",
        rt="001",
        rw="002",
        kelurahan_id=k.id,
        lat=k.lat,
        lon=k.lon,
        ektp_recorded_at=NOW if recorded else None,
    )
    session.add(res)
    session.flush()
    if status is not None:
        n = next(_serial)
        session.add(
            VisitRequest(
                reference=f"OUT{n:06d}",
                tracking_token_hash=f"e{n:063d}",
                resident_id=res.id,  # type: ignore[arg-type]
                channel=Channel.PHONE,
                status=status,
                kk_number=KK,
                kk_check_at_visit=True,
                companion_name="Anak",
                companion_phone="+6281234567890",
                companion_relation="anak",
                consent_by=ConsentBy.GUARDIAN,
                consent_at=NOW,
                due_at=NOW,
            )
        )
        session.flush()
    return res
