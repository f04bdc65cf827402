"""Reporting: coverage baselines (one per date, rows per kelurahan), the indexes the head's reports need, and
visit_request.heard_via (the optional "how did you hear of the service" answer; socialisation), and the
follow-up survey after a recorded visit and the card delivery record (monitoring).

Revision ID: 0003_reporting
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_reporting"
down_revision = "0003_public"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coverage_baseline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["imported_by_id"], ["app_user.id"], name=op.f("fk_coverage_baseline_imported_by_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_baseline")),
        sa.UniqueConstraint("as_of", name=op.f("uq_coverage_baseline_as_of")),
    )
    op.create_table(
        "coverage_baseline_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("baseline_id", sa.Integer(), nullable=False),
        sa.Column("kelurahan_id", sa.Integer(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("recorded", sa.Integer(), nullable=False),
        sa.CheckConstraint("required >= 0 AND recorded >= 0 AND recorded <= required", name=op.f("ck_coverage_baseline_row_consistent")),
        sa.ForeignKeyConstraint(["baseline_id"], ["coverage_baseline.id"], name=op.f("fk_coverage_baseline_row_baseline_id_coverage_baseline")),
        sa.ForeignKeyConstraint(["kelurahan_id"], ["kelurahan.id"], name=op.f("fk_coverage_baseline_row_kelurahan_id_kelurahan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_baseline_row")),
        sa.UniqueConstraint("baseline_id", "kelurahan_id", name=op.f("uq_coverage_baseline_row_baseline_id_kelurahan_id")),
    )
    with op.batch_alter_table("coverage_baseline_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coverage_baseline_row_baseline_id"), ["baseline_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coverage_baseline_row_kelurahan_id"), ["kelurahan_id"], unique=False)
    op.create_table(
        "follow_up_survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.CheckConstraint("satisfaction IS NULL OR (satisfaction >= 1 AND satisfaction <= 5)", name=op.f("ck_follow_up_survey_satisfaction_range")),
        sa.ForeignKeyConstraint(["request_id"], ["visit_request.id"], name=op.f("fk_follow_up_survey_request_id_visit_request")),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_follow_up_survey_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_survey")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_follow_up_survey_token_hash")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_follow_up_survey_visit_id")),
    )
    with op.batch_alter_table("follow_up_survey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_up_survey_request_id"), ["request_id"], unique=False)
    op.create_table(
        "card_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("delivered_at IS NULL OR printed_at IS NOT NULL", name=op.f("ck_card_delivery_printed_before_delivered")),
        sa.ForeignKeyConstraint(["request_id"], ["visit_request.id"], name=op.f("fk_card_delivery_request_id_visit_request")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["app_user.id"], name=op.f("fk_card_delivery_updated_by_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_delivery")),
        sa.UniqueConstraint("request_id", name=op.f("uq_card_delivery_request_id")),
    )
    op.add_column("visit_request", sa.Column("heard_via", sa.String(length=20), nullable=True))  # in place on both backends
    op.create_index("ix_visit_request_received_at", "visit_request", ["received_at"], unique=False)
    op.create_index("ix_visit_outcome_recorded_on_device_at", "visit", ["outcome", "recorded_on_device_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_visit_outcome_recorded_on_device_at", table_name="visit")
    op.drop_index("ix_visit_request_received_at", table_name="visit_request")
    op.drop_column("visit_request", "heard_via")  # in place (SQLite >= 3.35 drops a plain column without a rebuild)
    op.drop_table("card_delivery")
    with op.batch_alter_table("follow_up_survey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_survey_request_id"))
    op.drop_table("follow_up_survey")
    with op.batch_alter_table("coverage_baseline_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverage_baseline_row_kelurahan_id"))
        batch_op.drop_index(batch_op.f("ix_coverage_baseline_row_baseline_id"))
    op.drop_table("coverage_baseline_row")
    op.drop_table("coverage_baseline")
