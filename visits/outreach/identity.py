"""The one place an outreach row's NIK is written and looked up (and matched with a resident's).

The NIK is sealed at rest (``visits.pii``) and found by its keyed hash, under any configured data
key (during a rotation a row may still carry an older key's hash); an outreach row is matched with
the ``resident`` of the same NIK by the two hashes, which ``jemput rotate-data-key`` recomputes for
both tables under the current key.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from visits import pii
from visits.intake.models import Resident
from visits.intake.nik import normalise_digits
from visits.outreach.models import OutreachResident


def store_nik(row: OutreachResident, nik: str) -> None:
    """Write ``nik`` (already validated) on ``row``."""
    row.nik = normalise_digits(nik)


def find_by_nik(session: Session, nik: str) -> OutreachResident | None:
    hashes = pii.lookup_hashes(normalise_digits(nik), pii.NIK)
    return session.exec(select(OutreachResident).where(col(OutreachResident.nik_hash).in_(hashes))).first()


def find_many_by_nik(session: Session, niks: list[str]) -> dict[str, OutreachResident]:
    """The rows already held for these NIKs, by NIK (in chunks: a list has thousands)."""
    found: dict[str, OutreachResident] = {}
    hashes = [h for nik in niks for h in pii.lookup_hashes(normalise_digits(nik), pii.NIK)]
    for i in range(0, len(hashes), 500):
        chunk = hashes[i : i + 500]
        for row in session.exec(select(OutreachResident).where(col(OutreachResident.nik_hash).in_(chunk))).all():
            found[row.nik] = row
    return found


def same_resident() -> Any:
    """The join condition: the ``resident`` row of the outreach row's NIK."""
    return col(Resident.nik_hash) == col(OutreachResident.nik_hash)


def read_nik(row: OutreachResident) -> str:
    """The NIK in clear (for the phone intake's prefill and the operator's call card)."""
    return row.nik
