"""What Alembic compares: only Jemput's tables (the job queue's ``procrastinate_*`` tables are procrastinate's)."""

from __future__ import annotations


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))
