"""Administration of teams: dated kit outages, members leaving, a minimum crew, collective-leave
overrides, and before/after values on audited admin changes.

- recording_kit: ``under_repair`` joins the states; ``out_from`` / ``out_until`` date an outage;
  ``retired_at`` deactivates a kit (kept for history).
- team.min_members: fewer members present on a day takes the team off the plan.
- team_member.left_on: the first day without the member.
- calendar_override: the office works on a collective-leave day after all.
- audit_log.before / after: JSON of the changed fields.

Revision ID: 0003_teams
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_teams"
down_revision = "0003_field"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recording_kit", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_recording_kit_state_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_recording_kit_state_valid"), "state IN ('ok', 'out_of_service', 'under_repair')")
        batch_op.add_column(sa.Column("out_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("out_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_members", sa.Integer(), nullable=True))
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("left_on", sa.Date(), nullable=True))
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("before", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("after", sa.Text(), nullable=True))
    op.create_table(
        "calendar_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_override")),
        sa.UniqueConstraint("day", name=op.f("uq_calendar_override_day")),
    )


def downgrade() -> None:
    op.drop_table("calendar_override")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("after")
        batch_op.drop_column("before")
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.drop_column("left_on")
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("min_members")
    op.execute("UPDATE recording_kit SET state = 'out_of_service' WHERE state = 'under_repair'")
    with op.batch_alter_table("recording_kit", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
        batch_op.drop_column("out_until")
        batch_op.drop_column("out_from")
        batch_op.drop_constraint(op.f("ck_recording_kit_state_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_recording_kit_state_valid"), "state IN ('ok', 'out_of_service')")
