"""Field-test fixtures: background re-plans started by a request finish before the database is emptied."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def client(client) -> Iterator[object]:  # wraps tests/conftest.py's client
    from visits.planning.replan import wait_idle

    yield client
    assert wait_idle(60), "background re-plans still running after 60 s"
