"""Migrations build the schema on SQLite and PostgreSQL, match the models, and round-trip."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.db import make_engine
from app.migrate import downgrade, upgrade
from visits.models import metadata


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            return compare_metadata(ctx, metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_on_empty_database_creates_every_table(fresh_db_url: str) -> None:
    upgrade(fresh_db_url)
    assert set(metadata.tables) <= _tables(fresh_db_url)


def test_autogenerate_finds_no_difference_between_models_and_migrations(fresh_db_url: str) -> None:
    upgrade(fresh_db_url)
    assert _diff(fresh_db_url) == []


def test_downgrade_then_upgrade_round_trips(fresh_db_url: str) -> None:
    upgrade(fresh_db_url)
    downgrade(fresh_db_url, "base")
    assert _tables(fresh_db_url) - {"alembic_version"} == set()
    upgrade(fresh_db_url)
    assert set(metadata.tables) <= _tables(fresh_db_url)
    assert _diff(fresh_db_url) == []


def test_every_constraint_is_named(db_url: str) -> None:
    for table in metadata.sorted_tables:
        for constraint in table.constraints:
            assert constraint.name, f"unnamed constraint on {table.name}: {constraint!r}"
