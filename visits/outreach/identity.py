"""The one place an outreach row's NIK is written and looked up (and matched with a resident's).

NIK at rest may move to an encrypted column plus a keyed hash (``lookup_hash``); then only these
three functions change: what is stored, how a NIK is found, and how an outreach row is matched
with the ``resident`` who has the same NIK (recorded since, or asking already).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from visits.intake.models import Resident
from visits.intake.nik import normalise_digits
from visits.outreach.models import OutreachResident


def store_nik(row: OutreachResident, nik: str) -> None:
    """Write ``nik`` (already validated) on ``row``."""
    row.nik = normalise_digits(nik)


def find_by_nik(session: Session, nik: str) -> OutreachResident | None:
    return session.exec(select(OutreachResident).where(OutreachResident.nik == normalise_digits(nik))).first()


def find_many_by_nik(session: Session, niks: list[str]) -> dict[str, OutreachResident]:
    """The rows already held for these NIKs, by NIK (in chunks: a list has thousands)."""
    found: dict[str, OutreachResident] = {}
    for i in range(0, len(niks), 500):
        chunk = niks[i : i + 500]
        for row in session.exec(select(OutreachResident).where(col(OutreachResident.nik).in_(chunk))).all():
            found[row.nik] = row
    return found


def same_resident() -> Any:
    """The join condition: the ``resident`` row of the outreach row's NIK."""
    return col(Resident.nik) == col(OutreachResident.nik)


def read_nik(row: OutreachResident) -> str:
    """The NIK in clear (for the phone intake's prefill and the operator's call card)."""
    return row.nik
