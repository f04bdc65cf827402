"""Road travel times between pairs of points, kept across processes and days (travel_pair).

Revision ID: 0004_travel_pairs
Revises: 0003_reporting
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_travel_pairs"
down_revision = "0004_report_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "travel_pair",
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("origin", sa.BigInteger(), nullable=False),
        sa.Column("destination", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("source", "origin", "destination", name=op.f("pk_travel_pair")),
    )


def downgrade() -> None:
    op.drop_table("travel_pair")
