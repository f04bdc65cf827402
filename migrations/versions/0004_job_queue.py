"""The PostgreSQL job queue's schema (procrastinate ships it: ``procrastinate/sql/schema.sql``).

PostgreSQL only: on SQLite the re-plan queue lives in the process (``visits.planning.replan``)
and this revision changes nothing. The tables (``procrastinate_*``) belong to procrastinate, not
to ``visits.models``; Alembic's comparison leaves them out (``migrations/env.py``). When a newer
procrastinate changes its schema, a new revision applies its migration files
(``procrastinate/sql/migrations``).

Revision ID: 0004_job_queue
Revises: 0004_travel_pairs
"""

from __future__ import annotations

from alembic import op

revision = "0004_job_queue"
down_revision = "0004_travel_pairs"
branch_labels = None
depends_on = None

DROP = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT p.oid::regprocedure AS routine FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%' LOOP
        EXECUTE 'DROP ROUTINE IF EXISTS ' || r.routine || ' CASCADE';
    END LOOP;
END $$;
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers CASCADE;
DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type, procrastinate_job_status CASCADE;
"""


def _run_script(bind, sql: str) -> None:  # noqa: ANN001 - an SQLAlchemy Connection
    """A multi-statement script on the migration's own connection, without parameters (psycopg
    then reads no placeholders: the script has ``%`` in it)."""
    cursor = bind.connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    _run_script(bind, SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _run_script(bind, DROP)
