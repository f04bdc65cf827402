"""Outreach read models: the candidates to reach, per kelurahan, and their counts.

A candidate is an outreach row that is still on the call list (``ON_CALL_LIST``), is 60 or older on
the office's today (by birth date) or was referred by a partner, is on the office's list or referred,
and whose NIK has no ``resident`` recorded (``ektp_recorded_at``) or asking already (an open request).
So a resident recorded since, or who asked meanwhile, drops out without anyone touching the row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from visits.intake.eligibility import ELDERLY_AGE, age_on
from visits.intake.models import OPEN_REQUEST_STATUSES, Kecamatan, Kelurahan, Resident, VisitRequest
from visits.outreach import identity
from visits.outreach.models import ON_CALL_LIST, OutreachReferral, OutreachResident, OutreachState


def born_on_or_before(today: date, years: int) -> date:
    """The latest birth date of someone ``years`` old today (29 February: the 28th in a common year)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def _candidate_filter(today: date) -> list[Any]:
    referred = exists(select(OutreachReferral.id).where(OutreachReferral.outreach_resident_id == OutreachResident.id))
    asking_or_recorded = exists(
        select(Resident.id).where(
            identity.same_resident(),
            or_(
                col(Resident.ektp_recorded_at).is_not(None),
                exists(select(VisitRequest.id).where(VisitRequest.resident_id == Resident.id, col(VisitRequest.status).in_(OPEN_REQUEST_STATUSES))),
            ),
        )
    )
    return [
        col(OutreachResident.state).in_(ON_CALL_LIST),
        or_(col(OutreachResident.listed).is_(True), referred),
        or_(col(OutreachResident.birth_date) <= born_on_or_before(today, ELDERLY_AGE), referred),
        ~asking_or_recorded,
    ]


@dataclass
class Candidate:
    row: OutreachResident
    kelurahan: Kelurahan
    age: int
    referrals: list[OutreachReferral] = field(default_factory=list)

    @property
    def referred(self) -> bool:
        return bool(self.referrals)

    @property
    def groups(self) -> list[str]:
        found = ["elderly"] if self.age >= ELDERLY_AGE else []
        return found + sorted({r.group_code for r in self.referrals})

    @property
    def wants_visit(self) -> bool:
        return self.row.state == OutreachState.WANTS_VISIT

    @property
    def phone(self) -> str | None:
        return self.row.phone or next((r.contact_phone for r in self.referrals), None)

    def as_dict(self) -> dict[str, Any]:
        r = self.row
        return {
            "id": r.id,
            "full_name": r.full_name,
            "age": self.age,
            "sex": r.sex,
            "kelurahan_code": self.kelurahan.code,
            "street": r.street,
            "rt": r.rt,
            "rw": r.rw,
            "phone": self.phone,
            "groups": self.groups,
            "state": r.state,
            "attempts": r.attempts,
            "listed": r.listed,
            "referrals": [
                {"partner_kind": f.partner_kind, "partner_name": f.partner_name, "group": f.group_code, "contact_name": f.contact_name, "contact_phone": f.contact_phone, "note": f.note}
                for f in self.referrals
            ],
        }


def office_today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def candidates(session: Session, now: datetime, tz: str, kelurahan_id: int | None = None, limit: int = 500, *, partner_kind: str | None = None) -> list[Candidate]:
    """The call list: referred first, then the oldest first (``partner_kind``: only a partner's referrals)."""
    today = office_today(now, tz)
    stmt = select(OutreachResident, Kelurahan).join(Kelurahan, OutreachResident.kelurahan_id == Kelurahan.id).where(*_candidate_filter(today))  # type: ignore[arg-type]
    if kelurahan_id is not None:
        stmt = stmt.where(OutreachResident.kelurahan_id == kelurahan_id)
    if partner_kind is not None:
        stmt = stmt.where(exists(select(OutreachReferral.id).where(OutreachReferral.outreach_resident_id == OutreachResident.id, OutreachReferral.partner_kind == partner_kind)))
    rows = list(session.exec(stmt.order_by(col(OutreachResident.birth_date), col(OutreachResident.id))).all())
    ids = [r.id for r, _k in rows]
    refs: dict[int, list[OutreachReferral]] = defaultdict(list)
    for i in range(0, len(ids), 500):
        for ref in session.exec(select(OutreachReferral).where(col(OutreachReferral.outreach_resident_id).in_(ids[i : i + 500])).order_by(col(OutreachReferral.id))).all():
            refs[ref.outreach_resident_id].append(ref)
    found = [Candidate(r, k, age_on(r.birth_date, today), refs.get(r.id, [])) for r, k in rows]  # type: ignore[arg-type]
    found.sort(key=lambda c: (not c.referred, c.row.birth_date, c.row.id))
    return found[:limit]


def candidate(session: Session, outreach_id: int, now: datetime, tz: str) -> Candidate | None:
    """One row as a candidate (whatever its state: the intake prefill needs it once reached)."""
    row = session.get(OutreachResident, outreach_id)
    if row is None:
        return None
    kel = session.get(Kelurahan, row.kelurahan_id)
    assert kel is not None
    refs = list(session.exec(select(OutreachReferral).where(OutreachReferral.outreach_resident_id == outreach_id).order_by(col(OutreachReferral.id))).all())
    return Candidate(row, kel, age_on(row.birth_date, office_today(now, tz)), refs)


@dataclass(frozen=True)
class ReachCount:
    code: str
    name: str
    still_to_reach: int  # candidates not yet reached (state open)
    wants_visit: int  # reached, phone intake not done yet


def still_to_reach(session: Session, now: datetime, tz: str) -> dict[str, ReachCount]:
    """Counts per kelurahan code, per kecamatan code and for the city (key ``""``): figures only."""
    today = office_today(now, tz)
    stmt = (
        sa_select(col(Kelurahan.code), col(Kelurahan.name), col(Kecamatan.code), col(Kecamatan.name), col(OutreachResident.state), func.count())
        .select_from(OutreachResident)
        .join(Kelurahan, col(OutreachResident.kelurahan_id) == col(Kelurahan.id))
        .join(Kecamatan, col(Kelurahan.kecamatan_id) == col(Kecamatan.id))
        .where(*_candidate_filter(today))
        .group_by(col(Kelurahan.code), col(Kelurahan.name), col(Kecamatan.code), col(Kecamatan.name), col(OutreachResident.state))
    )
    sums: dict[str, list[Any]] = {}
    for kel_code, kel_name, kec_code, kec_name, state, n in session.execute(stmt).all():
        for code, name in ((kel_code, kel_name), (kec_code, kec_name), ("", "")):
            entry = sums.setdefault(code, [name, 0, 0])
            entry[1 if state == OutreachState.OPEN else 2] += n
    return {code: ReachCount(code, name, reach, wants) for code, (name, reach, wants) in sums.items()}


def kelurahan_with_candidates(session: Session, now: datetime, tz: str) -> list[tuple[Kelurahan, int]]:
    counts = still_to_reach(session, now, tz)
    rows = session.exec(select(Kelurahan).order_by(Kelurahan.name)).all()
    return [(k, counts[k.code].still_to_reach + counts[k.code].wants_visit if k.code in counts else 0) for k in rows]


def intake_prefill(c: Candidate) -> dict[str, Any]:
    """What phone intake's form starts with for a candidate who wants a visit."""
    r = c.row
    contact = c.referrals[-1] if c.referrals else None
    values: dict[str, Any] = {
        "nik": identity.read_nik(r),
        "full_name": r.full_name,
        "birth_date": r.birth_date.isoformat(),
        "sex": r.sex,
        "kelurahan_code": c.kelurahan.code,
        "rt": r.rt,
        "rw": r.rw,
        "street": r.street,
        "groups": c.groups,
        "kk_check_at_visit": "true",
    }
    if r.kk_number:
        values["kk_number"] = r.kk_number
    if c.phone:
        values["companion_phone"] = c.phone
    if contact is not None:
        values["companion_name"] = contact.contact_name
    return values
