"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22

The whole data model: service area, residents and requests, teams and
calendars, slots, bookings, plans, visits, the notification outbox, staff accounts and the audit log.
Every constraint is named by the naming convention in visits/models.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kecamatan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kecamatan")),
        sa.UniqueConstraint("code", name=op.f("uq_kecamatan_code")),
    )
    op.create_table(
        "kk_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("storage_name", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delete_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kk_document")),
        sa.UniqueConstraint("storage_name", name=op.f("uq_kk_document_storage_name")),
    )
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempt_username_at", ["username", "at"], unique=False)

    op.create_table(
        "office",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office")),
    )
    op.create_table(
        "rate_limit_hit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=100), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hit")),
        sa.UniqueConstraint("bucket", "window_start", name=op.f("uq_rate_limit_hit_bucket_window_start")),
    )
    op.create_table(
        "service_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("served_group", sa.String(length=10), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("required_skill", sa.String(length=30), nullable=True),
        sa.CheckConstraint("served_group IN ('elderly', 'disabled', 'mental', 'bedridden')", name=op.f("ck_service_rule_served_group_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_rule")),
        sa.UniqueConstraint("served_group", name=op.f("uq_service_rule_served_group")),
    )
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("max_visits_per_day", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
        sa.UniqueConstraint("name", name=op.f("uq_team_name")),
    )
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role <> 'officer' OR team_id IS NOT NULL", name=op.f("ck_app_user_officer_has_team")),
        sa.CheckConstraint("role IN ('admin', 'operator', 'officer', 'head')", name=op.f("ck_app_user_role_valid")),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_app_user_team_id_team")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "kelurahan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("postcode", sa.String(length=5), nullable=False),
        sa.Column("kecamatan_id", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("population_required", sa.Integer(), nullable=True),
        sa.Column("population_recorded", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["kecamatan_id"], ["kecamatan.id"], name=op.f("fk_kelurahan_kecamatan_id_kecamatan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kelurahan")),
        sa.UniqueConstraint("code", name=op.f("uq_kelurahan_code")),
    )
    with op.batch_alter_table("kelurahan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kelurahan_kecamatan_id"), ["kecamatan_id"], unique=False)

    op.create_table(
        "office_closure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_office_closure_team_id_team")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_closure")),
        sa.UniqueConstraint("day", "team_id", name=op.f("uq_office_closure_day_team_id")),
    )
    with op.batch_alter_table("office_closure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_office_closure_day"), ["day"], unique=False)

    op.create_table(
        "recording_kit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('ok', 'out_of_service')", name=op.f("ck_recording_kit_state_valid")),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_recording_kit_team_id_team")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_kit")),
        sa.UniqueConstraint("code", name=op.f("uq_recording_kit_code")),
        sa.UniqueConstraint("team_id", name=op.f("uq_recording_kit_team_id")),
    )
    op.create_table(
        "shift_pattern",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("break_earliest", sa.Time(), nullable=True),
        sa.Column("break_latest", sa.Time(), nullable=True),
        sa.Column("break_minutes", sa.Integer(), nullable=False),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_shift_pattern_ends_after_start")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_shift_pattern_weekday_range")),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_shift_pattern_team_id_team")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_pattern")),
        sa.UniqueConstraint("team_id", "weekday", name=op.f("uq_shift_pattern_team_id_weekday")),
    )
    op.create_table(
        "team_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_team_day_team_id_team")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_day")),
        sa.UniqueConstraint("team_id", "day", name=op.f("uq_team_day_team_id_day")),
    )
    with op.batch_alter_table("team_day", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_day_day"), ["day"], unique=False)

    op.create_table(
        "team_skill",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("skill", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_team_skill_team_id_team")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_skill")),
        sa.UniqueConstraint("team_id", "skill", name=op.f("uq_team_skill_team_id_skill")),
    )
    with op.batch_alter_table("team_skill", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_skill_team_id"), ["team_id"], unique=False)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_api_token_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_day_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("solver_status", sa.String(length=20), nullable=False),
        sa.Column("objective", sa.Integer(), nullable=False),
        sa.Column("travel_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('current', 'superseded')", name=op.f("ck_plan_status_valid")),
        sa.ForeignKeyConstraint(["team_day_id"], ["team_day.id"], name=op.f("fk_plan_team_day_id_team_day")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
        sa.UniqueConstraint("team_day_id", "version", name=op.f("uq_plan_team_day_id_version")),
    )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_team_day_id"), ["team_day_id"], unique=False)

    op.create_table(
        "resident",
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
        sa.Column("kelurahan_id", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("location_source", sa.String(length=12), nullable=False),
        sa.Column("ektp_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("location_source IN ('centroid', 'map_pin', 'geocoder', 'officer_gps')", name=op.f("ck_resident_location_source_valid")),
        sa.CheckConstraint("marital_status IN ('single', 'married', 'divorced', 'widowed')", name=op.f("ck_resident_marital_status_valid")),
        sa.CheckConstraint("sex IN ('M', 'F')", name=op.f("ck_resident_sex_valid")),
        sa.ForeignKeyConstraint(["kelurahan_id"], ["kelurahan.id"], name=op.f("fk_resident_kelurahan_id_kelurahan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident")),
        sa.UniqueConstraint("nik", name=op.f("uq_resident_nik")),
    )
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resident_kelurahan_id"), ["kelurahan_id"], unique=False)

    op.create_table(
        "team_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_team_member_team_id_team")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_team_member_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_member")),
    )
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_member_team_id"), ["team_id"], unique=False)

    op.create_table(
        "user_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_user_session_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"], name=op.f("fk_audit_log_resident_id_resident")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_audit_log_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_resident_id_at", ["resident_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_user_id"), ["user_id"], unique=False)

    op.create_table(
        "visit_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=12), nullable=False),
        sa.Column("tracking_token_hash", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("kk_number", sa.String(length=16), nullable=False),
        sa.Column("kk_document_id", sa.Integer(), nullable=True),
        sa.Column("kk_check_at_visit", sa.Boolean(), nullable=False),
        sa.Column("companion_name", sa.String(length=200), nullable=False),
        sa.Column("companion_phone", sa.String(length=20), nullable=False),
        sa.Column("companion_relation", sa.String(length=50), nullable=False),
        sa.Column("availability", sa.JSON(), nullable=False),
        sa.Column("accept_any_time", sa.Boolean(), nullable=False),
        sa.Column("consent_by", sa.String(length=8), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_version", sa.String(length=20), nullable=False),
        sa.Column("kelurahan_letter", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("overridden_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("idempotency_hash", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_answer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("channel IN ('web', 'phone')", name=op.f("ck_visit_request_channel_valid")),
        sa.CheckConstraint("consent_by IN ('resident', 'guardian')", name=op.f("ck_visit_request_consent_by_valid")),
        sa.CheckConstraint("kk_document_id IS NOT NULL OR kk_check_at_visit OR status = 'ineligible'", name=op.f("ck_visit_request_kk_present")),
        sa.CheckConstraint(
            "status IN ('received', 'needs_review', 'eligible', 'ineligible', 'offered', 'booked', 'visited', 'failed', 'cancelled', 'closed')", name=op.f("ck_visit_request_status_valid")
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["app_user.id"], name=op.f("fk_visit_request_created_by_id_app_user")),
        sa.ForeignKeyConstraint(["kk_document_id"], ["kk_document.id"], name=op.f("fk_visit_request_kk_document_id_kk_document")),
        sa.ForeignKeyConstraint(["overridden_by_id"], ["app_user.id"], name=op.f("fk_visit_request_overridden_by_id_app_user")),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"], name=op.f("fk_visit_request_resident_id_resident")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_request")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_visit_request_idempotency_key")),
        sa.UniqueConstraint("reference", name=op.f("uq_visit_request_reference")),
        sa.UniqueConstraint("tracking_token_hash", name=op.f("uq_visit_request_tracking_token_hash")),
    )
    with op.batch_alter_table("visit_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_request_resident_id"), ["resident_id"], unique=False)
        batch_op.create_index("ix_visit_request_status_due_at", ["status", "due_at"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f("ck_notification_status_valid")),
        sa.ForeignKeyConstraint(["request_id"], ["visit_request.id"], name=op.f("fk_notification_request_id_visit_request")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_request_id"), ["request_id"], unique=False)
        batch_op.create_index("ix_notification_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "slot_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("team_day_id", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Time(), nullable=False),
        sa.Column("window_end", sa.Time(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('held', 'confirmed', 'released')", name=op.f("ck_slot_hold_status_valid")),
        sa.ForeignKeyConstraint(["request_id"], ["visit_request.id"], name=op.f("fk_slot_hold_request_id_visit_request")),
        sa.ForeignKeyConstraint(["team_day_id"], ["team_day.id"], name=op.f("fk_slot_hold_team_day_id_team_day")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_hold")),
        sa.UniqueConstraint("offer_id", name=op.f("uq_slot_hold_offer_id")),
    )
    with op.batch_alter_table("slot_hold", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slot_hold_request_id"), ["request_id"], unique=False)
        batch_op.create_index("ix_slot_hold_team_day_status", ["team_day_id", "status"], unique=False)

    op.create_table(
        "booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("team_day_id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=True),
        sa.Column("window_start", sa.Time(), nullable=False),
        sa.Column("window_end", sa.Time(), nullable=False),
        sa.Column("service_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('confirmed', 'cancelled', 'rescheduled', 'done')", name=op.f("ck_booking_status_valid")),
        sa.ForeignKeyConstraint(["hold_id"], ["slot_hold.id"], name=op.f("fk_booking_hold_id_slot_hold")),
        sa.ForeignKeyConstraint(["request_id"], ["visit_request.id"], name=op.f("fk_booking_request_id_visit_request")),
        sa.ForeignKeyConstraint(["team_day_id"], ["team_day.id"], name=op.f("fk_booking_team_day_id_team_day")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking")),
    )
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_request_id"), ["request_id"], unique=False)
        batch_op.create_index("ix_booking_team_day_status", ["team_day_id", "status"], unique=False)

    op.create_table(
        "plan_stop",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("arrival", sa.Time(), nullable=False),
        sa.Column("start", sa.Time(), nullable=False),
        sa.Column("end", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("fk_plan_stop_booking_id_booking")),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_plan_stop_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_stop")),
        sa.UniqueConstraint("plan_id", "position", name=op.f("uq_plan_stop_plan_id_position")),
    )
    with op.batch_alter_table("plan_stop", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_stop_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_uuid", sa.String(length=36), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_on_device_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("follow_up_due", sa.Date(), nullable=True),
        sa.CheckConstraint("outcome IN ('recorded', 'not_home', 'refused', 'unfit', 'kit_failure', 'address_not_found', 'already_recorded')", name=op.f("ck_visit_outcome_valid")),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("fk_visit_booking_id_booking")),
        sa.ForeignKeyConstraint(["officer_id"], ["app_user.id"], name=op.f("fk_visit_officer_id_app_user")),
        sa.ForeignKeyConstraint(["request_id"], ["visit_request.id"], name=op.f("fk_visit_request_id_visit_request")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
        sa.UniqueConstraint("client_uuid", name=op.f("uq_visit_client_uuid")),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_request_id"))
        batch_op.drop_index(batch_op.f("ix_visit_booking_id"))

    op.drop_table("visit")
    with op.batch_alter_table("plan_stop", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_stop_plan_id"))

    op.drop_table("plan_stop")
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_index("ix_booking_team_day_status")
        batch_op.drop_index(batch_op.f("ix_booking_request_id"))

    op.drop_table("booking")
    with op.batch_alter_table("slot_hold", schema=None) as batch_op:
        batch_op.drop_index("ix_slot_hold_team_day_status")
        batch_op.drop_index(batch_op.f("ix_slot_hold_request_id"))

    op.drop_table("slot_hold")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_notification_request_id"))

    op.drop_table("notification")
    with op.batch_alter_table("visit_request", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_request_status_due_at")
        batch_op.drop_index(batch_op.f("ix_visit_request_resident_id"))

    op.drop_table("visit_request")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_user_id"))
        batch_op.drop_index("ix_audit_log_resident_id_at")

    op.drop_table("audit_log")
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))

    op.drop_table("user_session")
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_member_team_id"))

    op.drop_table("team_member")
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_kelurahan_id"))

    op.drop_table("resident")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_team_day_id"))

    op.drop_table("plan")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))

    op.drop_table("api_token")
    with op.batch_alter_table("team_skill", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_skill_team_id"))

    op.drop_table("team_skill")
    with op.batch_alter_table("team_day", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_day_day"))

    op.drop_table("team_day")
    op.drop_table("shift_pattern")
    op.drop_table("recording_kit")
    with op.batch_alter_table("office_closure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_office_closure_day"))

    op.drop_table("office_closure")
    with op.batch_alter_table("kelurahan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kelurahan_kecamatan_id"))

    op.drop_table("kelurahan")
    op.drop_table("app_user")
    op.drop_table("team")
    op.drop_table("service_rule")
    op.drop_table("rate_limit_hit")
    op.drop_table("office")
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_username_at")

    op.drop_table("login_attempt")
    op.drop_table("kk_document")
    op.drop_table("kecamatan")
