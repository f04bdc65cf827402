"""Migrations build the schema on SQLite and PostgreSQL, match the models, and round-trip.

Alembic's autogenerate comparison does not look at CHECK constraints (and only partly at unique
and foreign-key ones), so ``constraints_of`` reads them back from the migrated database with
SQLAlchemy's inspector and compares them, by name, with the models' metadata.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, Column, ForeignKeyConstraint, Integer, MetaData, PrimaryKeyConstraint, UniqueConstraint, inspect
from sqlalchemy.engine import Engine

from app.db import make_engine
from app.migrate import downgrade, upgrade
from migrations.env_filters import include_name
from visits.models import metadata


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True, "include_name": include_name})
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


Constraint = tuple[str, str, str, str]  # (kind, table, name, what it covers)


def constraints_in_database(engine: Engine) -> set[Constraint]:
    """Primary-key, check, unique and foreign-key constraints of the migrated database (name may be "")."""
    inspector = inspect(engine)
    found: set[Constraint] = set()
    for table in inspector.get_table_names():
        if table == "alembic_version" or not include_name(table, "table", {}):  # the job queue's tables are procrastinate's
            continue
        pk = inspector.get_pk_constraint(table)
        found.add(("pk", table, pk.get("name") or "", ",".join(pk["constrained_columns"])))
        found |= {("ck", table, c.get("name") or "", "") for c in inspector.get_check_constraints(table)}
        found |= {("uq", table, c.get("name") or "", ",".join(c["column_names"])) for c in inspector.get_unique_constraints(table)}
        found |= {("fk", table, c.get("name") or "", f"{','.join(c['constrained_columns'])}->{c['referred_table']}({','.join(c['referred_columns'])})") for c in inspector.get_foreign_keys(table)}
    return found


def constraints_in_models(meta: MetaData) -> set[Constraint]:
    """The same, from the models' metadata (check constraints by name only: their SQL text is per dialect)."""
    found: set[Constraint] = set()
    for table in meta.sorted_tables:
        for c in table.constraints:
            name = str(c.name) if c.name else ""
            if isinstance(c, PrimaryKeyConstraint):
                found.add(("pk", table.name, name, ",".join(col.name for col in c.columns)))
            elif isinstance(c, CheckConstraint):
                found.add(("ck", table.name, name, ""))
            elif isinstance(c, UniqueConstraint):
                found.add(("uq", table.name, name, ",".join(col.name for col in c.columns)))
            elif isinstance(c, ForeignKeyConstraint):
                referred = c.elements[0].column.table.name
                found.add(("fk", table.name, name, f"{','.join(c.column_keys)}->{referred}({','.join(e.column.name for e in c.elements)})"))
    return found


def _constraint_diff(engine: Engine, meta: MetaData) -> dict[str, list[Constraint]]:
    db, models = constraints_in_database(engine), constraints_in_models(meta)
    return {"missing from the database": sorted(models - db), "not in the models": sorted(db - models)}


def test_the_migrated_database_has_the_models_constraints(engine) -> None:
    """Check, unique, foreign-key and primary-key constraints: same names, same columns (both backends)."""
    assert _constraint_diff(engine, metadata) == {"missing from the database": [], "not in the models": []}
    kinds = {kind for kind, *_ in constraints_in_database(engine)}
    assert kinds == {"pk", "ck", "uq", "fk"}  # the inspector really saw each kind on this backend


def test_the_constraint_comparison_catches_a_check_the_migrations_lack(engine) -> None:
    """What autogenerate misses: a CHECK declared on a model but not created by any migration."""
    meta = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(meta)
    meta.tables["team"].append_constraint(CheckConstraint("length(name) > 0", name="name_not_empty"))
    meta.tables["team"].append_column(Column("spare_id", Integer))
    meta.tables["team"].append_constraint(UniqueConstraint("spare_id"))
    diff = _constraint_diff(engine, meta)
    assert diff["missing from the database"] == [("ck", "team", "ck_team_name_not_empty", ""), ("uq", "team", "uq_team_spare_id", "spare_id")]
    assert diff["not in the models"] == []


def test_every_constraint_is_named(engine) -> None:
    """In the models (so the migration's names are deterministic) and in the migrated database."""
    for table in metadata.sorted_tables:
        for constraint in table.constraints:
            assert constraint.name, f"unnamed constraint on {table.name}: {constraint!r}"
    prefixes = {"pk": "pk_", "ck": "ck_", "uq": "uq_", "fk": "fk_"}
    unnamed = [c for c in constraints_in_database(engine) if not c[2].startswith(prefixes[c[0]] + c[1] + "_") and c[2] != prefixes[c[0]] + c[1]]
    assert unnamed == [], "constraints without a name from the naming convention (PostgreSQL names unnamed ones itself)"
