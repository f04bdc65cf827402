"""Extra tracking links: a token minted for a message sent without the family's own token
(an operator's offer, a reminder) or after a reference + phone lookup; only its SHA-256 is stored.

Revision ID: 0003_public
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_public"
down_revision = "0003_teams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tracking_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["visit_request.id"], name=op.f("fk_tracking_link_request_id_visit_request")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tracking_link_token_hash")),
    )
    with op.batch_alter_table("tracking_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracking_link_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tracking_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracking_link_request_id"))
    op.drop_table("tracking_link")
