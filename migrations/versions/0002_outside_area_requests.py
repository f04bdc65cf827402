"""Requests from outside the service area are stored (ineligible); retries answer the first answer.

- resident.kelurahan_id, lat, lon and location_source become nullable: an address in a kelurahan
  outside the service area has no Kelurahan row and (without a map pin) no location; the code as
  submitted is kept in the new resident.outside_kelurahan_code. CHECK constraints keep exactly one
  of the two kelurahan columns set, a location for every address inside the area, and lat, lon and
  location_source set together.
- visit_request.first_answer keeps the status and reasons the submission answered, so an
  idempotent retry answers the same even after an operator or the slot offers changed the status.

SQLite cannot drop NOT NULL in place, and a batch "copy, DROP, rename" of ``resident`` fails once
requests reference residents (the app's connections run with foreign keys ON, and the DROP's
implicit DELETE would orphan them). So on SQLite the table is rebuilt with foreign-key checks
deferred: keep a copy of the rows, drop and re-create the table, insert the rows back. Every
orphan the DROP counted is matched again by the re-inserted rows, and SQLite verifies that at
COMMIT (a lost row would fail the migration instead of leaving dangling references).
PostgreSQL alters the columns in place.

Downgrade refuses (and changes nothing) while a resident without a service-area kelurahan or a
location exists: revision 0001 cannot hold them.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ONE_KELURAHAN = "(kelurahan_id IS NOT NULL AND outside_kelurahan_code IS NULL) OR (kelurahan_id IS NULL AND outside_kelurahan_code IS NOT NULL)"
LOCATED_IN_AREA = "kelurahan_id IS NULL OR lat IS NOT NULL"
LOCATION_COMPLETE = "(lat IS NULL AND lon IS NULL AND location_source IS NULL) OR (lat IS NOT NULL AND lon IS NOT NULL AND location_source IS NOT NULL)"
COMMON_COLUMNS = (
    "id",
    "nik",
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
    "lat",
    "lon",
    "location_source",
    "ektp_recorded_at",
    "created_at",
    "updated_at",
)


def _resident_table(outside_area: bool) -> list:
    """The resident table of revision 0002 (``outside_area``) or of revision 0001."""
    nullable = outside_area
    items: list = [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nik", sa.String(length=16), nullable=False),
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
        sa.Column("kelurahan_id", sa.Integer(), nullable=nullable),
        sa.Column("lat", sa.Float(), nullable=nullable),
        sa.Column("lon", sa.Float(), nullable=nullable),
        sa.Column("location_source", sa.String(length=12), nullable=nullable),
        sa.Column("ektp_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("location_source IN ('centroid', 'map_pin', 'geocoder', 'officer_gps')", name=op.f("ck_resident_location_source_valid")),
        sa.CheckConstraint("marital_status IN ('single', 'married', 'divorced', 'widowed')", name=op.f("ck_resident_marital_status_valid")),
        sa.CheckConstraint("sex IN ('M', 'F')", name=op.f("ck_resident_sex_valid")),
        sa.ForeignKeyConstraint(["kelurahan_id"], ["kelurahan.id"], name=op.f("fk_resident_kelurahan_id_kelurahan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident")),
        sa.UniqueConstraint("nik", name=op.f("uq_resident_nik")),
    ]
    if outside_area:
        items += [
            sa.Column("outside_kelurahan_code", sa.String(length=20), nullable=True),
            sa.CheckConstraint(ONE_KELURAHAN, name=op.f("ck_resident_one_kelurahan")),
            sa.CheckConstraint(LOCATED_IN_AREA, name=op.f("ck_resident_located_in_area")),
            sa.CheckConstraint(LOCATION_COMPLETE, name=op.f("ck_resident_location_complete")),
        ]
    return items


def _rebuild_resident_on_sqlite(outside_area: bool) -> None:
    """Drop and re-create ``resident`` keeping its rows and ids (see the module docstring)."""
    columns = ", ".join(COMMON_COLUMNS)  # up: the new column starts empty; down: it is dropped (always empty then)
    op.execute("PRAGMA defer_foreign_keys = ON")  # until this migration's COMMIT, which checks them
    op.execute("DROP TABLE IF EXISTS _resident_rebuild")
    op.execute(f"CREATE TABLE _resident_rebuild AS SELECT {columns} FROM resident")
    op.drop_table("resident")  # also drops its index
    op.create_table("resident", *_resident_table(outside_area))
    op.create_index(op.f("ix_resident_kelurahan_id"), "resident", ["kelurahan_id"], unique=False)
    op.execute(f"INSERT INTO resident ({columns}) SELECT {columns} FROM _resident_rebuild")
    op.drop_table("_resident_rebuild")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_resident_on_sqlite(outside_area=True)
    else:
        with op.batch_alter_table("resident", schema=None) as batch_op:
            batch_op.add_column(sa.Column("outside_kelurahan_code", sa.String(length=20), nullable=True))
            batch_op.alter_column("kelurahan_id", existing_type=sa.Integer(), nullable=True)
            batch_op.alter_column("lat", existing_type=sa.Float(), nullable=True)
            batch_op.alter_column("lon", existing_type=sa.Float(), nullable=True)
            batch_op.alter_column("location_source", existing_type=sa.String(length=12), nullable=True)
            batch_op.create_check_constraint(op.f("ck_resident_one_kelurahan"), ONE_KELURAHAN)
            batch_op.create_check_constraint(op.f("ck_resident_located_in_area"), LOCATED_IN_AREA)
            batch_op.create_check_constraint(op.f("ck_resident_location_complete"), LOCATION_COMPLETE)

    with op.batch_alter_table("visit_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_answer", sa.JSON(), nullable=True))  # ADD COLUMN, no rebuild


def downgrade() -> None:
    outside = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM resident WHERE kelurahan_id IS NULL OR lat IS NULL OR lon IS NULL OR location_source IS NULL")).scalar()
    if outside:
        raise RuntimeError(f"{outside} resident(s) live outside the service area or have no location, which revision 0001 cannot hold; delete them and their (ineligible) requests before downgrading.")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE visit_request DROP COLUMN first_answer")  # native since SQLite 3.35; a rebuild would hit the same FK problem
        _rebuild_resident_on_sqlite(outside_area=False)
        return
    with op.batch_alter_table("visit_request", schema=None) as batch_op:
        batch_op.drop_column("first_answer")
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_resident_location_complete"), type_="check")
        batch_op.drop_constraint(op.f("ck_resident_located_in_area"), type_="check")
        batch_op.drop_constraint(op.f("ck_resident_one_kelurahan"), type_="check")
        batch_op.alter_column("location_source", existing_type=sa.String(length=12), nullable=False)
        batch_op.alter_column("lon", existing_type=sa.Float(), nullable=False)
        batch_op.alter_column("lat", existing_type=sa.Float(), nullable=False)
        batch_op.alter_column("kelurahan_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("outside_kelurahan_code")
