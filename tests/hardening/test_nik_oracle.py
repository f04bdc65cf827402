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
        return re.sub(r"[A-Za-z0-9_-]", "x", value) if len(value) < 40 else ("str", len(value))
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


@pytest.fixture
def bookable(client, session):
    from tests.booking.slot_support import setup_area

    setup_area(session)  # the service area, the office, the demo teams and their hours
    session.commit()
    return client


def _no_ids(r, answer) -> str:
    return r.text.replace(answer["reference"], "R").replace(answer["tracking_token"], "T")


def test_what_a_duplicates_token_does_next_is_what_a_new_requests_does(bookable, now) -> None:
    """Finding 6, the follow-up steps: with the tracking token the stranger is given they may ask
    for offers, read the status, confirm, and open the status page. None of it tells a duplicate
    from a new request; the office still sees the duplicate, and the open request is untouched."""
    api = bookable
    birth = date(1950, 3, 14)
    known, fresh = nik(birth, female=True, serial=4444), nik(birth, female=True, serial=5555)
    real = post_request(api, form(nik=known)).json()  # the family's open request
    stranger = {"companion_name": "Orang Asing", "companion_phone": "0813 1111 2222"}
    d = post_request(api, form(nik=known, **stranger)).json()
    n = post_request(api, form(nik=fresh, **stranger)).json()
    od = api.post(f"/api/v1/track/{d['tracking_token']}/offers", json={})
    on = api.post(f"/api/v1/track/{n['tracking_token']}/offers", json={})
    assert od.status_code == on.status_code == 200, (od.text, on.text)
    assert od.json()["offers"] and _shape(od.json()) == _shape(on.json())
    sd, sn = api.get(f"/api/v1/track/{d['tracking_token']}").json(), api.get(f"/api/v1/track/{n['tracking_token']}").json()
    assert sd["status"] == sn["status"] == "offered" and _shape(sd) == _shape(sn)
    assert _no_ids(api.get(f"/track/{d['tracking_token']}"), d).count("offer_id") == _no_ids(api.get(f"/track/{n['tracking_token']}"), n).count("offer_id")
    cd = api.post(f"/api/v1/track/{d['tracking_token']}/confirm", json={"offer_id": od.json()["offers"][0]["offer_id"]})
    cn = api.post(f"/api/v1/track/{n['tracking_token']}/confirm", json={"offer_id": on.json()["offers"][0]["offer_id"]})
    assert cd.status_code == cn.status_code == 200 and _shape(cd.json()) == _shape(cn.json())
    sd, sn = api.get(f"/api/v1/track/{d['tracking_token']}").json(), api.get(f"/api/v1/track/{n['tracking_token']}").json()
    assert sd["status"] == sn["status"] == "booked" and _shape(sd) == _shape(sn)
    bad = {"offer_id": "x" * 12}
    wd, wn = api.post(f"/api/v1/track/{d['tracking_token']}/confirm", json=bad), api.post(f"/api/v1/track/{n['tracking_token']}/confirm", json=bad)
    assert wd.status_code == wn.status_code and wd.json() == wn.json()
    pd, pn = api.get(f"/track/{d['tracking_token']}/cancel"), api.get(f"/track/{n['tracking_token']}/cancel")
    assert pd.status_code == pn.status_code == 200
    with session_scope() as s:
        from visits.intake.queries import inbox_rows

        dup = s.exec(select(VisitRequest).where(VisitRequest.reference == d["reference"])).one()
        assert "DUPLICATE_OPEN_REQUEST" in dup.reasons  # the office knows
        for view in ("open", "needs_review"):  # and finds it where requests waiting for it are listed, booked or not
            assert dup.id in {row.id for row, _, _ in inbox_rows(s, view, None, None, now)}, view
        first = s.exec(select(VisitRequest).where(VisitRequest.reference == real["reference"])).one()
        assert first.status == RequestStatus.ELIGIBLE and first.companion_phone == "+6281234567890"  # the family's request is theirs alone
        dup_id, first_id = dup.id, first.id
    from tests.app.helpers import bearer_headers

    office = bearer_headers("operator")
    case = api.get(f"/operator/requests/{dup_id}", headers=office)
    assert case.status_code == 200 and f'href="/operator/requests/{first_id}"' in case.text  # the family is reached through their own request
    assert f'href="/operator/requests/{dup_id}"' not in api.get(f"/operator/requests/{first_id}", headers=office).text


def test_a_duplicate_the_office_declines_reads_as_a_request_the_office_cancelled(api, now) -> None:
    """The office decides the duplicate (after reaching the family through their own request):
    declined as DUPLICATE_OPEN_REQUEST, its token shows what an office-cancelled new request shows,
    not an ineligible answer without a reason (which only a duplicate would get)."""
    from visits.booking import slots
    from visits.intake.service import decline

    birth = date(1950, 3, 14)
    known, fresh = nik(birth, female=True, serial=7777), nik(birth, female=True, serial=8888)
    assert post_request(api, form(nik=known)).status_code == 201
    d = post_request(api, form(nik=known, companion_phone="0813 1111 2222")).json()
    n = post_request(api, form(nik=fresh, companion_phone="0813 1111 2222")).json()
    with session_scope() as s:
        dup = s.exec(select(VisitRequest).where(VisitRequest.reference == d["reference"])).one()
        new = s.exec(select(VisitRequest).where(VisitRequest.reference == n["reference"])).one()
        decline(s, dup.id, user_id=None, code="DUPLICATE_OPEN_REQUEST", reason="Keluarga sudah punya permohonan terbuka", now=now)
        slots.cancel(s, new.id, now, staff=True)
    td, tn = api.get(f"/api/v1/track/{d['tracking_token']}").json(), api.get(f"/api/v1/track/{n['tracking_token']}").json()
    assert td["status"] == tn["status"] == "cancelled"
    assert {k: v for k, v in td.items() if k != "reference"} == {k: v for k, v in tn.items() if k != "reference"}
    assert _no_ids(api.get(f"/track/{d['tracking_token']}"), d) == _no_ids(api.get(f"/track/{n['tracking_token']}"), n)
