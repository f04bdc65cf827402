"""The operator's group-visit page (linked from the case page): add and remove a member, the summed
service time shown, a bad choice answered 422 naming the field in Indonesian with nothing stored,
and only operators and admins may use it."""

from __future__ import annotations

from sqlmodel import select

from app.db import session_scope
from tests.app.helpers import login_as
from tests.booking.slot_support import make_request
from tests.field.support import WORKDAY
from tests.outreach.test_group_visits import _household, _minutes, _status
from visits.models import GroupMember


def _members() -> list[tuple[int, int]]:
    with session_scope() as s:
        return [(g.lead_request_id, g.member_request_id) for g in s.exec(select(GroupMember)).all()]


def test_add_and_remove_a_member_with_the_summed_time(client) -> None:
    lead, a = _household(2)
    staff = login_as(client, "operator")
    case = client.get(f"/operator/requests/{lead}")
    assert case.status_code == 200 and f'href="/operator/outreach/group-visits/{lead}"' in case.text
    page = client.get(f"/operator/outreach/group-visits/{lead}")
    assert page.status_code == 200 and f'<option value="{a}">' in page.text
    assert f"Lama kunjungan: {_minutes('elderly')} menit" in page.text
    assert '<a href="/operator/intake">Warga baru di alamat ini?' in page.text  # a resident not asked for yet: phone intake first
    r = client.post(f"/operator/outreach/group-visits/{lead}/members", data={"csrf_token": staff.csrf_token, "member_request_id": str(a)}, follow_redirects=True)
    assert r.status_code == 200 and 'id="group-members"' in r.text
    assert f"Lama kunjungan: {2 * _minutes('elderly')} menit" in r.text
    assert _members() == [(lead, a)]
    r = client.post(f"/operator/outreach/group-visits/{lead}/members/{a}/remove", data={"csrf_token": staff.csrf_token}, follow_redirects=True)
    assert r.status_code == 200 and 'id="group-empty"' in r.text and _members() == []
    assert _status(a) == ["eligible"]


def test_a_bad_member_answers_422_naming_the_field_and_stores_nothing(client) -> None:
    lead, _a = _household(2)
    with session_scope(write=True) as s:
        elsewhere = make_request(s, WORKDAY).id  # another address
    staff = login_as(client, "operator")
    r = client.post(f"/operator/outreach/group-visits/{lead}/members", data={"csrf_token": staff.csrf_token, "member_request_id": str(elsewhere)})
    assert r.status_code == 422 and "Anggota: Anggota harus tinggal di alamat yang sama" in r.text
    r = client.post(f"/operator/outreach/group-visits/{lead}/members", data={"csrf_token": staff.csrf_token, "member_request_id": "x"})
    assert r.status_code == 422 and "Anggota: Pilih warga dari daftar." in r.text
    assert _members() == [] and _status(lead, elsewhere) == ["eligible", "eligible"]


def test_officer_head_and_the_public_cannot_use_it(client) -> None:
    lead, a = _household(2)
    anonymous = client.get(f"/operator/outreach/group-visits/{lead}", follow_redirects=False)
    assert anonymous.status_code in (303, 307, 401)
    for role in ("officer", "head"):
        staff = login_as(client, role)
        assert client.get(f"/operator/outreach/group-visits/{lead}").status_code == 403
        r = client.post(f"/operator/outreach/group-visits/{lead}/members", data={"csrf_token": staff.csrf_token, "member_request_id": str(a)})
        assert r.status_code == 403
    assert _members() == []
