"""Outreach: the imported not-yet-recorded residents (one row per NIK), partners' referrals and call results;
group visits (group_member: several requests visited in one booking, the lead request's).

Revision ID: 0004_outreach
Revises: 0003_reporting
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_outreach"
down_revision = "0004_job_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outreach_resident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nik_sealed", sa.Text(), nullable=False),
        sa.Column("nik_hash", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("kk_number_sealed", sa.Text(), nullable=True),
        sa.Column("street", sa.String(length=300), nullable=False),
        sa.Column("rt", sa.String(length=3), nullable=False),
        sa.Column("rw", sa.String(length=3), nullable=False),
        sa.Column("kelurahan_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_call_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("delete_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sex IN ('M', 'F')", name=op.f("ck_outreach_resident_sex_valid")),
        sa.CheckConstraint("state IN ('open', 'wants_visit', 'will_come', 'unreachable', 'refused', 'moved', 'deceased')", name=op.f("ck_outreach_resident_state_valid")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outreach_resident_attempts_non_negative")),
        sa.ForeignKeyConstraint(["kelurahan_id"], ["kelurahan.id"], name=op.f("fk_outreach_resident_kelurahan_id_kelurahan")),
        sa.ForeignKeyConstraint(["request_id"], ["visit_request.id"], name=op.f("fk_outreach_resident_request_id_visit_request")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_resident")),
        sa.UniqueConstraint("nik_hash", name=op.f("uq_outreach_resident_nik_hash")),
    )
    op.create_index("ix_outreach_resident_kelurahan_id_state", "outreach_resident", ["kelurahan_id", "state"], unique=False)
    op.create_table(
        "outreach_referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outreach_resident_id", sa.Integer(), nullable=False),
        sa.Column("partner_kind", sa.String(length=10), nullable=False),
        sa.Column("partner_name", sa.String(length=200), nullable=False),
        sa.Column("group_code", sa.String(length=10), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_phone", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("partner_kind IN ('kelurahan', 'puskesmas', 'dinsos', 'care_home')", name=op.f("ck_outreach_referral_partner_kind_valid")),
        sa.CheckConstraint("group_code IN ('disabled', 'mental', 'bedridden')", name=op.f("ck_outreach_referral_group_code_valid")),
        sa.ForeignKeyConstraint(["outreach_resident_id"], ["outreach_resident.id"], name=op.f("fk_outreach_referral_outreach_resident_id_outreach_resident")),
        sa.ForeignKeyConstraint(["created_by_id"], ["app_user.id"], name=op.f("fk_outreach_referral_created_by_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_referral")),
    )
    op.create_index("ix_outreach_referral_outreach_resident_id", "outreach_referral", ["outreach_resident_id"], unique=False)
    op.create_table(
        "outreach_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outreach_resident_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=14), nullable=False),
        sa.Column("called_by_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("result IN ('wants_visit', 'will_come', 'not_reachable', 'refused', 'moved', 'deceased')", name=op.f("ck_outreach_call_result_valid")),
        sa.ForeignKeyConstraint(["outreach_resident_id"], ["outreach_resident.id"], name=op.f("fk_outreach_call_outreach_resident_id_outreach_resident")),
        sa.ForeignKeyConstraint(["called_by_id"], ["app_user.id"], name=op.f("fk_outreach_call_called_by_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_call")),
    )
    op.create_index("ix_outreach_call_outreach_resident_id", "outreach_call", ["outreach_resident_id"], unique=False)
    op.create_table(
        "group_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_request_id", sa.Integer(), nullable=False),
        sa.Column("member_request_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_request_id"], ["visit_request.id"], name=op.f("fk_group_member_lead_request_id_visit_request")),
        sa.ForeignKeyConstraint(["member_request_id"], ["visit_request.id"], name=op.f("fk_group_member_member_request_id_visit_request")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_member")),
        sa.UniqueConstraint("member_request_id", name=op.f("uq_group_member_member_request_id")),
    )
    op.create_index("ix_group_member_lead_request_id", "group_member", ["lead_request_id"], unique=False)
    op.create_table(
        "outreach_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kelurahan_id", sa.Integer(), nullable=True),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("placed", sa.Integer(), nullable=False),
        sa.Column("team_days", sa.Integer(), nullable=False),
        sa.Column("travel_minutes", sa.Integer(), nullable=False),
        sa.Column("solve_seconds", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["kelurahan_id"], ["kelurahan.id"], name=op.f("fk_outreach_campaign_kelurahan_id_kelurahan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_campaign")),
    )
    op.create_table(
        "outreach_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("outreach_resident_id", sa.Integer(), nullable=False),
        sa.Column("team_day_id", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Time(), nullable=False),
        sa.Column("window_end", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["outreach_campaign.id"], name=op.f("fk_outreach_proposal_campaign_id_outreach_campaign")),
        sa.ForeignKeyConstraint(["outreach_resident_id"], ["outreach_resident.id"], name=op.f("fk_outreach_proposal_outreach_resident_id_outreach_resident")),
        sa.ForeignKeyConstraint(["team_day_id"], ["team_day.id"], name=op.f("fk_outreach_proposal_team_day_id_team_day")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_proposal")),
        sa.UniqueConstraint("outreach_resident_id", name=op.f("uq_outreach_proposal_outreach_resident_id")),
    )
    op.create_index("ix_outreach_proposal_campaign_id", "outreach_proposal", ["campaign_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outreach_proposal_campaign_id", table_name="outreach_proposal")
    op.drop_table("outreach_proposal")
    op.drop_table("outreach_campaign")
    op.drop_index("ix_group_member_lead_request_id", table_name="group_member")
    op.drop_table("group_member")
    op.drop_index("ix_outreach_call_outreach_resident_id", table_name="outreach_call")
    op.drop_table("outreach_call")
    op.drop_index("ix_outreach_referral_outreach_resident_id", table_name="outreach_referral")
    op.drop_table("outreach_referral")
    op.drop_index("ix_outreach_resident_kelurahan_id_state", table_name="outreach_resident")
    op.drop_table("outreach_resident")
