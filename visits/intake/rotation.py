"""Data-key rotation (``jemput rotate-data-key``): every sealed NIK and KK number re-sealed under
the current key, every NIK lookup hash recomputed under it, in batches (one transaction each).

Idempotent: a row already sealed and hashed under the current key is left alone, so an interrupted
rotation is simply run again. Lookups keep matching meanwhile (``visits.intake.service.find_resident``
matches the hash under every configured key). Once :func:`keys_in_use` names only the current key,
the older keys can be removed from ``JEMPUT_DATA_KEYS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Text, func, select, type_coerce, update
from sqlmodel import Session

from visits import pii
from visits.models import OutreachResident, Resident, VisitRequest

# (table, sealed column, its purpose, its lookup-hash column or None)
SEALED = (
    (Resident.__table__, "nik_sealed", pii.NIK, "nik_hash"),  # type: ignore[attr-defined]
    (VisitRequest.__table__, "kk_number_sealed", pii.KK, None),  # type: ignore[attr-defined]
    (OutreachResident.__table__, "nik_sealed", pii.NIK, "nik_hash"),  # type: ignore[attr-defined]
    (OutreachResident.__table__, "kk_number_sealed", pii.KK, None),  # type: ignore[attr-defined]
)


@dataclass
class RotationStep:
    last_id: int | None  # the batch's last row id; None: nothing after ``after``
    resealed: int = 0
    rehashed: int = 0


def rotate_batch(session: Session, table_name: str, after: int, size: int = 500, column: str | None = None) -> RotationStep:
    """Re-seal (and re-hash) ``column`` (default: the table's first sealed column in ``SEALED``) of
    the rows of ``table_name`` with an id after ``after``, at most ``size``."""
    table, column, purpose, hash_column = next(spec for spec in SEALED if spec[0].name == table_name and column in (None, spec[1]))
    raw = type_coerce(table.c[column], Text)  # the stored text: read without opening it
    columns = [table.c.id, raw] + ([table.c[hash_column]] if hash_column else [])
    rows = (
        session.connection().execute(select(*columns).where(table.c.id > after, table.c[column].is_not(None)).order_by(table.c.id).limit(size).with_for_update()).all()
    )  # a concurrent correction waits
    if not rows:
        return RotationStep(None)
    step = RotationStep(rows[-1][0])
    current = pii.keyring().current
    for row in rows:
        plain = pii.open_(row[1], purpose)
        values: dict[str, str] = {}
        if pii.key_id_of(row[1]) != current.id:
            values[column] = plain  # the column type seals it under the current key
            step.resealed += 1
        if hash_column and row[2] != (digest := pii.lookup_hash(plain, purpose)):
            values[hash_column] = digest
            step.rehashed += 1
        if values:
            session.connection().execute(update(table).where(table.c.id == row[0]).values(**values))
    return step


def keys_in_use(session: Session) -> dict[str, int]:
    """How many sealed values each key id holds (every sealed column)."""
    found: dict[str, int] = {}
    for table, column, _purpose, _hash in SEALED:
        raw = type_coerce(table.c[column], Text)
        key_id = func.substr(raw, 1, func.instr(raw, ":") - 1) if session.get_bind().dialect.name == "sqlite" else func.split_part(raw, ":", 1)
        for kid, count in session.connection().execute(select(key_id, func.count()).where(table.c[column].is_not(None)).group_by(key_id)).all():
            found[kid] = found.get(kid, 0) + count
    return found
