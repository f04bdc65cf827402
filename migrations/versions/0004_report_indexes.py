"""Report indexes: the coverage's recorded visits read with their request from one index, and a
partial index of the requests still waiting for their first answer (the clock's "overdue now").

- visit: ix_visit_outcome_recorded_on_device_at (outcome, recorded_on_device_at) becomes
  ix_visit_outcome_recorded_on_device_at_request_id (the same, then request_id);
- visit_request: ix_visit_request_unanswered_due_at (due_at) WHERE first_answer_at IS NULL
  (PostgreSQL and SQLite both take partial indexes).

Revision ID: 0004_report_indexes
Revises: 0003_reporting
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_report_indexes"
down_revision = "0004_pii_at_rest"
branch_labels = None
depends_on = None

_UNANSWERED = sa.text("first_answer_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_visit_outcome_recorded_on_device_at_request_id", "visit", ["outcome", "recorded_on_device_at", "request_id"], unique=False)
    op.drop_index("ix_visit_outcome_recorded_on_device_at", table_name="visit")
    op.create_index("ix_visit_request_unanswered_due_at", "visit_request", ["due_at"], unique=False, postgresql_where=_UNANSWERED, sqlite_where=_UNANSWERED)


def downgrade() -> None:
    op.drop_index("ix_visit_request_unanswered_due_at", table_name="visit_request")
    op.create_index("ix_visit_outcome_recorded_on_device_at", "visit", ["outcome", "recorded_on_device_at"], unique=False)
    op.drop_index("ix_visit_outcome_recorded_on_device_at_request_id", table_name="visit")
