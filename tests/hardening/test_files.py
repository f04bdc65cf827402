"""Finding 11 (files): the SQLite database and its -wal/-shm files are readable by their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db import make_engine


@pytest.mark.sqlite
def test_the_sqlite_database_and_its_wal_are_created_0600(fresh_db_url: str) -> None:
    old = os.umask(0o022)  # a usual umask: files would be 0644
    try:
        engine = make_engine(fresh_db_url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as reader:  # keeps the -wal and -shm files while it is open
            reader.execute(text("SELECT x FROM t")).all()
            path = Path(make_url(fresh_db_url).database)  # type: ignore[arg-type]
            files = [p for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")) if p.exists()]
            assert len(files) >= 2
            for p in files:
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, (p.name, oct(p.stat().st_mode))
        engine.dispose()
    finally:
        os.umask(old)


@pytest.mark.sqlite
def test_an_existing_world_readable_database_is_tightened(fresh_db_url: str) -> None:
    path = Path(make_url(fresh_db_url).database)  # type: ignore[arg-type]
    path.touch()
    path.chmod(0o644)
    make_engine(fresh_db_url).dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
