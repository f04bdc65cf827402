"""Tracking tokens: unguessable, stored hashed; references only with the phone."""

from __future__ import annotations

import secrets
import time

import pytest
from sqlmodel import select

from tests.intake.intake_fixtures import area, form
from visits.intake.schemas import validate_request
from visits.intake.service import IntakeConfig, Submission, submit
from visits.intake.tracking import find_by_reference, find_by_token, hash_token, idempotent_token, new_reference, new_token
from visits.models import VisitRequest


def _cfg(tmp_path) -> IntakeConfig:
    return IntakeConfig("k" * 32, "3576", "Asia/Jakarta", "https://jemput.example", "Dinas", tmp_path, 5 * 1024 * 1024, 90)


def _submit(session, tmp_path, **kw):
    from datetime import date

    data, errors = validate_request({**form(kk_check_at_visit="true"), "availability": [{"weekday": 1, "start": "08:00", "end": "12:00"}]}, date.today())
    assert not errors, errors
    result = submit(session, Submission(data=data, channel="phone", **kw), _cfg(tmp_path))  # type: ignore[arg-type]
    session.commit()
    return result


def test_tokens_are_long_random_and_stored_hashed(session, tmp_path) -> None:
    area(session)
    result = _submit(session, tmp_path)
    token = result.tracking_token
    assert len(token) >= 43  # 256 bits, base64url
    row = session.exec(select(VisitRequest)).one()
    assert row.tracking_token_hash == hash_token(token) and token not in row.tracking_token_hash
    assert find_by_token(session, token).id == row.id
    assert result.request.status == "eligible"  # phone channel, KK checked at the visit


@pytest.mark.slow
def test_ten_thousand_random_tokens_find_nothing(session, tmp_path) -> None:
    area(session)
    _submit(session, tmp_path)
    started = time.perf_counter()
    for _ in range(10_000):
        assert find_by_token(session, new_token()) is None
    for junk in ("", "a", "x" * 500, "'; DROP TABLE visit_request; --", "../../etc/passwd"):
        assert find_by_token(session, junk) is None
    assert time.perf_counter() - started < 60


def test_idempotent_token_is_keyed_by_the_secret() -> None:
    assert idempotent_token("s1", "key-0001") == idempotent_token("s1", "key-0001")
    assert idempotent_token("s1", "key-0001") != idempotent_token("s2", "key-0001")
    assert len(idempotent_token("s1", "key-0001")) == 43
    assert len({new_reference() for _ in range(1000)}) == 1000
    assert all(len(secrets.token_bytes(16)) * 8 >= 128 for _ in range(1))


def test_reference_needs_the_matching_phone(session, tmp_path) -> None:
    area(session)
    row = _submit(session, tmp_path).request
    assert find_by_reference(session, row.reference, "081234567890").id == row.id
    assert find_by_reference(session, row.reference.lower().replace("-", " "), "+62 812 3456 7890").id == row.id
    assert find_by_reference(session, row.reference, "081234567899") is None
    assert find_by_reference(session, row.reference, "not a phone") is None
    assert find_by_reference(session, "ZZZZ-ZZZZ", "081234567890") is None
