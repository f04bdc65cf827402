"""Finding 6: no NIK oracle. Submitting a NIK that has an open request is answered exactly like
a new request (status code, fields, kinds of values), on submission and on the tracking API;
internally the duplicate waits for an operator (NEEDS_REVIEW, DUPLICATE_OPEN_REQUEST)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlmodel import select

from app.db import session_scope
from tests.app.intake_support import post_request
from tests.intake.intake_fixtures import area, form, nik
from visits import pii
from visits.models import RequestStatus, Resident, VisitRequest


@pytest.fixture
def api(client, session):
    area(session)
    session.commit()
    return client


def _shape(value):  # the kind of a value: its type, and for strings the pattern of its characters
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"[A-Za-z0-9]", "x", value) if len(value) < 40 else ("str", len(value))
    return type(value).__name__


def test_a_nik_with_an_open_request_is_answered_like_a_new_one(api) -> None:
    birth = date(1950, 3, 14)
    known, fresh = nik(birth, female=True, serial=1111), nik(birth, female=True, serial=2222)
    assert post_request(api, form(nik=known)).status_code == 201  # the open request a stranger probes for
    duplicate = post_request(api, form(nik=known, companion_name="Orang Asing", companion_phone="0813 1111 2222"))
    new = post_request(api, form(nik=fresh, companion_name="Orang Asing", companion_phone="0813 1111 2222"))
    assert duplicate.status_code == new.status_code == 201
    d, n = duplicate.json(), new.json()
    assert set(d) == set(n)
    assert (d["status"], d["eligible"], d["reasons"]) == (n["status"], n["eligible"], n["reasons"])
    assert _shape(d) == _shape(n)
    assert "DUPLICATE" not in duplicate.text
    td, tn = api.get(f"/api/v1/track/{d['tracking_token']}"), api.get(f"/api/v1/track/{n['tracking_token']}")
    assert td.status_code == tn.status_code == 200
    assert {k: v for k, v in td.json().items() if k != "reference"} == {k: v for k, v in tn.json().items() if k != "reference"}
    pd, pn = api.get(f"/track/{d['tracking_token']}"), api.get(f"/track/{n['tracking_token']}")
    assert pd.status_code == pn.status_code == 200

    def page(r, answer) -> str:
        return r.text.replace(answer["reference"], "R").replace(answer["tracking_token"], "T")

    assert page(pd, d) == page(pn, n)
    with session_scope() as s:  # handled internally: an operator reviews the duplicate
        row = s.exec(select(VisitRequest).where(VisitRequest.reference == d["reference"])).one()
        assert row.status == RequestStatus.NEEDS_REVIEW and "DUPLICATE_OPEN_REQUEST" in row.reasons
        assert s.exec(select(Resident).where(Resident.nik_hash == pii.lookup_hash(known))).one().full_name == "Siti Rahayu"  # not overwritten


def test_a_duplicate_that_is_ineligible_anyway_shows_only_its_other_reasons(api) -> None:
    birth = date(1950, 3, 14)
    known = nik(birth, female=True, serial=3333)
    assert post_request(api, form(nik=known)).status_code == 201
    r = post_request(api, form(nik=known), file=None)  # no KK attached: KK_MISSING
    assert r.status_code == 201
    assert [x["code"] for x in r.json()["reasons"]] == ["KK_MISSING"]
    assert "DUPLICATE" not in api.get(f"/api/v1/track/{r.json()['tracking_token']}").text
