"""NIK and KK numbers sealed at rest (UU 27/2022 art. 35–39), with a keyed hash for NIK lookups.

- resident.nik (plain, unique) becomes resident.nik_sealed (``visits.pii.seal``: AES-GCM under the
  current data key, prefixed with the key id) and resident.nik_hash (HMAC-SHA256 under a key
  derived from the data key; unique: one resident per NIK). Both are nullable: an anonymised
  resident has neither.
- visit_request.kk_number (plain) becomes visit_request.kk_number_sealed (nullable for the same reason).
- resident.anonymised_at and visit_request.anonymised_at: when the personal data was removed
  (``visits.intake.rights``: erasure on request, or the retention job).
- Every existing row is sealed here with the keys from the settings (``JEMPUT_DATA_KEYS``, by
  default derived from ``JEMPUT_SECRET_KEY``); the plaintext columns are then dropped.

SQLite cannot drop a UNIQUE column, so ``resident`` is rebuilt as in revision 0002 (foreign keys
deferred: copy, drop, re-create, insert back); its column list is checked against the table first,
so a revision that added a resident column before this one fails loudly instead of losing it.
``kk_number`` is dropped in place (ALTER TABLE DROP COLUMN). PostgreSQL alters in place.

Downgrade opens every value back into the plaintext columns; it refuses (changing nothing) while an
anonymised resident or request exists (revision 0003 cannot hold a NULL NIK or KK number).

Revision ID: 0004_pii_at_rest
Revises: 0003_reporting
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from visits import pii

revision = "0004_pii_at_rest"
down_revision = "0003_reporting"
branch_labels = None
depends_on = None

BATCH = 1000
ONE_KELURAHAN = "(kelurahan_id IS NOT NULL AND outside_kelurahan_code IS NULL) OR (kelurahan_id IS NULL AND outside_kelurahan_code IS NOT NULL)"
LOCATED_IN_AREA = "kelurahan_id IS NULL OR lat IS NOT NULL"
LOCATION_COMPLETE = "(lat IS NULL AND lon IS NULL AND location_source IS NULL) OR (lat IS NOT NULL AND lon IS NOT NULL AND location_source IS NOT NULL)"
OTHER_COLUMNS = (  # resident's columns besides the NIK, as revisions 0002-0003 left them
    "id",
    "full_name",
    "birth_date",
    "sex",
    "marital_status",
    "group_elderly",
    "group_disabled",
    "disability_type",
    "group_mental",
    "group_bedridden",
    "approach_notes",
    "street",
    "rt",
    "rw",
    "kelurahan_id",
    "outside_kelurahan_code",
    "lat",
    "lon",
    "location_source",
    "ektp_recorded_at",
    "created_at",
    "updated_at",
)


def _anonymised_at() -> sa.Column:
    return sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True)


def _resident_table(sealed: bool) -> list:
    """``resident`` of this revision (``sealed``) or of revision 0003."""
    nik: list = (
        [sa.Column("nik_sealed", sa.Text(), nullable=True), sa.Column("nik_hash", sa.String(length=64), nullable=True), sa.UniqueConstraint("nik_hash", name=op.f("uq_resident_nik_hash"))]
        if sealed
        else [sa.Column("nik", sa.String(length=16), nullable=False), sa.UniqueConstraint("nik", name=op.f("uq_resident_nik"))]
    )
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        *nik,
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("marital_status", sa.String(length=10), nullable=False),
        sa.Column("group_elderly", sa.Boolean(), nullable=False),
        sa.Column("group_disabled", sa.Boolean(), nullable=False),
        sa.Column("disability_type", sa.String(length=100), nullable=True),
        sa.Column("group_mental", sa.Boolean(), nullable=False),
        sa.Column("group_bedridden", sa.Boolean(), nullable=False),
        sa.Column("approach_notes", sa.Text(), nullable=True),
        sa.Column("street", sa.String(length=300), nullable=False),
        sa.Column("rt", sa.String(length=3), nullable=False),
        sa.Column("rw", sa.String(length=3), nullable=False),
        sa.Column("kelurahan_id", sa.Integer(), nullable=True),
        sa.Column("outside_kelurahan_code", sa.String(length=20), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("location_source", sa.String(length=12), nullable=True),
        sa.Column("ektp_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *([_anonymised_at()] if sealed else []),
        sa.CheckConstraint("location_source IN ('centroid', 'map_pin', 'geocoder', 'officer_gps')", name=op.f("ck_resident_location_source_valid")),
        sa.CheckConstraint("marital_status IN ('single', 'married', 'divorced', 'widowed')", name=op.f("ck_resident_marital_status_valid")),
        sa.CheckConstraint("sex IN ('M', 'F')", name=op.f("ck_resident_sex_valid")),
        sa.CheckConstraint(ONE_KELURAHAN, name=op.f("ck_resident_one_kelurahan")),
        sa.CheckConstraint(LOCATED_IN_AREA, name=op.f("ck_resident_located_in_area")),
        sa.CheckConstraint(LOCATION_COMPLETE, name=op.f("ck_resident_location_complete")),
        sa.ForeignKeyConstraint(["kelurahan_id"], ["kelurahan.id"], name=op.f("fk_resident_kelurahan_id_kelurahan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident")),
    ]


def _rebuild_resident_on_sqlite(sealed: bool) -> None:
    """Drop and re-create ``resident`` keeping its rows and ids (see revision 0002)."""
    found = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("resident")}
    expected = set(OTHER_COLUMNS) | {"nik", "nik_sealed", "nik_hash", "anonymised_at"}
    if found - expected:
        raise RuntimeError(f"resident has columns this revision does not know ({', '.join(sorted(found - expected))}): add them to OTHER_COLUMNS and _resident_table")
    columns = ", ".join((*OTHER_COLUMNS, "nik_sealed", "nik_hash", "anonymised_at") if sealed else (*OTHER_COLUMNS, "nik"))
    op.execute("PRAGMA defer_foreign_keys = ON")  # until this migration's COMMIT, which checks them
    op.execute("DROP TABLE IF EXISTS _resident_rebuild")
    op.execute(f"CREATE TABLE _resident_rebuild AS SELECT {columns} FROM resident")
    op.drop_table("resident")  # also drops its index
    op.create_table("resident", *_resident_table(sealed))
    op.create_index(op.f("ix_resident_kelurahan_id"), "resident", ["kelurahan_id"], unique=False)
    op.execute(f"INSERT INTO resident ({columns}) SELECT {columns} FROM _resident_rebuild")
    op.drop_table("_resident_rebuild")


def _convert(select: str, update: str, convert) -> None:  # noqa: ANN001 - (row) -> dict of new values
    """Rewrite rows in batches of BATCH, by id."""
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(sa.text(f"{select} WHERE id > :after ORDER BY id LIMIT {BATCH}"), {"after": after}).all()
        if not rows:
            return
        bind.execute(sa.text(update), [{"id": row[0], **convert(row)} for row in rows])
        after = rows[-1][0]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("resident", sa.Column("nik_sealed", sa.Text(), nullable=True))
    op.add_column("resident", sa.Column("nik_hash", sa.String(length=64), nullable=True))
    op.add_column("resident", _anonymised_at())
    op.add_column("visit_request", sa.Column("kk_number_sealed", sa.Text(), nullable=True))
    op.add_column("visit_request", _anonymised_at())
    _convert("SELECT id, nik FROM resident", "UPDATE resident SET nik_sealed = :s, nik_hash = :h WHERE id = :id", lambda r: {"s": pii.seal(r[1], pii.NIK), "h": pii.lookup_hash(r[1], pii.NIK)})
    _convert("SELECT id, kk_number FROM visit_request", "UPDATE visit_request SET kk_number_sealed = :s WHERE id = :id", lambda r: {"s": pii.seal(r[1], pii.KK)})
    if sqlite:
        _rebuild_resident_on_sqlite(sealed=True)
        op.execute("ALTER TABLE visit_request DROP COLUMN kk_number")  # native since SQLite 3.35 (no constraint names it)
        return
    op.drop_constraint(op.f("uq_resident_nik"), "resident", type_="unique")
    op.drop_column("resident", "nik")
    op.create_unique_constraint(op.f("uq_resident_nik_hash"), "resident", ["nik_hash"])
    op.drop_column("visit_request", "kk_number")


def downgrade() -> None:
    bind = op.get_bind()
    erased = bind.execute(sa.text("SELECT (SELECT COUNT(*) FROM resident WHERE nik_sealed IS NULL) + (SELECT COUNT(*) FROM visit_request WHERE kk_number_sealed IS NULL)")).scalar()
    if erased:
        raise RuntimeError(f"{erased} anonymised resident(s) or request(s) have no NIK or KK number, which revision 0003 cannot hold; delete them before downgrading.")
    sqlite = bind.dialect.name == "sqlite"
    op.add_column("resident", sa.Column("nik", sa.String(length=16), nullable=True))
    # SQLite adds a NOT NULL column only with a default; PostgreSQL sets NOT NULL once filled
    op.add_column("visit_request", sa.Column("kk_number", sa.String(length=16), nullable=not sqlite, server_default="" if sqlite else None))
    _convert("SELECT id, nik_sealed FROM resident", "UPDATE resident SET nik = :n WHERE id = :id", lambda r: {"n": pii.open_(r[1], pii.NIK)})
    _convert("SELECT id, kk_number_sealed FROM visit_request", "UPDATE visit_request SET kk_number = :k WHERE id = :id", lambda r: {"k": pii.open_(r[1], pii.KK)})
    if sqlite:
        _rebuild_resident_on_sqlite(sealed=False)
        op.execute("ALTER TABLE visit_request DROP COLUMN kk_number_sealed")
        op.execute("ALTER TABLE visit_request DROP COLUMN anonymised_at")
        return
    op.drop_constraint(op.f("uq_resident_nik_hash"), "resident", type_="unique")
    op.drop_column("resident", "nik_sealed")
    op.drop_column("resident", "nik_hash")
    op.drop_column("resident", "anonymised_at")
    op.alter_column("resident", "nik", existing_type=sa.String(length=16), nullable=False)
    op.create_unique_constraint(op.f("uq_resident_nik"), "resident", ["nik"])
    op.alter_column("visit_request", "kk_number", existing_type=sa.String(length=16), nullable=False)
    op.drop_column("visit_request", "kk_number_sealed")
    op.drop_column("visit_request", "anonymised_at")
