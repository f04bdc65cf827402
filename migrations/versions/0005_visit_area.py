"""Visits carry their resident and the kelurahan the resident lived in when visited, so the
coverage counts recorded residents per kelurahan from one index of one table (it joined every
recorded visit since the baseline to its request and resident: 70-80 ms on five years of a
regency's data).

- visit.resident_id (FK resident) and visit.kelurahan_id (FK kelurahan), filled from the
  request's resident for the rows there are;
- ix_visit_outcome_recorded_on_device_at_request_id becomes ix_visit_recorded_area
  (outcome, recorded_on_device_at, kelurahan_id, resident_id).

Revision ID: 0005_visit_area
Revises: 0004_outreach
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_visit_area"
down_revision = "0004_outreach"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visit") as batch:
        batch.add_column(sa.Column("resident_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("kelurahan_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_visit_resident_id_resident", "resident", ["resident_id"], ["id"])
        batch.create_foreign_key("fk_visit_kelurahan_id_kelurahan", "kelurahan", ["kelurahan_id"], ["id"])
    op.execute(
        "UPDATE visit SET resident_id = (SELECT visit_request.resident_id FROM visit_request WHERE visit_request.id = visit.request_id), "
        "kelurahan_id = (SELECT resident.kelurahan_id FROM visit_request JOIN resident ON resident.id = visit_request.resident_id WHERE visit_request.id = visit.request_id)"
    )
    op.create_index("ix_visit_recorded_area", "visit", ["outcome", "recorded_on_device_at", "kelurahan_id", "resident_id"], unique=False)
    op.drop_index("ix_visit_outcome_recorded_on_device_at_request_id", table_name="visit")


def downgrade() -> None:
    op.create_index("ix_visit_outcome_recorded_on_device_at_request_id", "visit", ["outcome", "recorded_on_device_at", "request_id"], unique=False)
    op.drop_index("ix_visit_recorded_area", table_name="visit")
    with op.batch_alter_table("visit") as batch:
        batch.drop_constraint("fk_visit_kelurahan_id_kelurahan", type_="foreignkey")
        batch.drop_constraint("fk_visit_resident_id_resident", type_="foreignkey")
        batch.drop_column("kelurahan_id")
        batch.drop_column("resident_id")
