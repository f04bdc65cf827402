"""The officer's day in the field: visit outcomes (proof of visit), "on our way", where a team stands.

- visit: rebuilt (nothing wrote it before this revision): the new outcome codes (companion_absent,
  unwell, wrong_address, moved, deceased), ``body_hash`` (an outcome replayed with the same
  client_uuid must carry the same body) and ``next_step``.
- on_our_way: one row per booked visit whose companion was told the team is on its way.
- team_stand: where a team stands on its day (the re-planner's "here, now" and done visits).

Downgrade drops the new tables and rebuilds visit as revision 0002 had it (its rows are lost:
the old outcome codes cannot hold the new ones).

Revision ID: 0003_field
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_field"
down_revision = "0002"
branch_labels = None
depends_on = None

NEW_OUTCOMES = ("recorded", "not_home", "companion_absent", "unwell", "refused", "wrong_address", "moved", "deceased", "already_recorded", "kit_failure", "unfit", "address_not_found")
OLD_OUTCOMES = ("recorded", "not_home", "refused", "unfit", "kit_failure", "address_not_found", "already_recorded")
NEXT_STEPS = ("completed", "reoffered", "closed", "kit_out_of_service")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _visit_table(new: bool) -> None:
    columns = [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_uuid", sa.String(length=36), nullable=False),
    ]
    if new:
        columns.append(sa.Column("body_hash", sa.String(length=64), nullable=False))
    columns += [
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
    ]
    if new:
        columns.append(sa.Column("next_step", sa.String(length=20), nullable=False))
    columns += [
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_on_device_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("follow_up_due", sa.Date(), nullable=True),
        sa.CheckConstraint(_in("outcome", NEW_OUTCOMES if new else OLD_OUTCOMES), name=op.f("ck_visit_outcome_valid")),
    ]
    if new:
        columns.append(sa.CheckConstraint(_in("next_step", NEXT_STEPS), name=op.f("ck_visit_next_step_valid")))
    columns += [
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("fk_visit_booking_id_booking")),
        sa.ForeignKeyConstraint(["officer_id"], ["app_user.id"], name=op.f("fk_visit_officer_id_app_user")),
        sa.ForeignKeyConstraint(["request_id"], ["visit_request.id"], name=op.f("fk_visit_request_id_visit_request")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
        sa.UniqueConstraint("client_uuid", name=op.f("uq_visit_client_uuid")),
    ]
    op.create_table("visit", *columns)
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_request_id"), ["request_id"], unique=False)


def _drop_visit() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_request_id"))
        batch_op.drop_index(batch_op.f("ix_visit_booking_id"))
    op.drop_table("visit")


def upgrade() -> None:
    _drop_visit()
    _visit_table(new=True)
    op.create_table(
        "on_our_way",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("eta", sa.Time(), nullable=False),
        sa.Column("times_sent", sa.Integer(), nullable=False),
        sa.Column("first_sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("fk_on_our_way_booking_id_booking")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_on_our_way")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_on_our_way_booking_id")),
    )
    op.create_table(
        "team_stand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_day_id", sa.Integer(), nullable=False),
        sa.Column("free_from", sa.Time(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("late_minutes", sa.Integer(), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("done", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team_day_id"], ["team_day.id"], name=op.f("fk_team_stand_team_day_id_team_day")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_stand")),
        sa.UniqueConstraint("team_day_id", name=op.f("uq_team_stand_team_day_id")),
    )


def downgrade() -> None:
    op.drop_table("team_stand")
    op.drop_table("on_our_way")
    _drop_visit()
    _visit_table(new=False)
