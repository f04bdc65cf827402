"""The admin pages through the real app: create, edit, deactivate, per-field errors, audit."""

from __future__ import annotations

import json
from datetime import date, time

import pytest
from sqlmodel import select

from app.db import session_scope
from tests.app.helpers import login_as, make_user
from tests.booking.slot_support import setup_area
from visits.models import AuditLog, KitState, Office, OfficeClosure, RecordingKit, ServiceRule, ShiftPattern, Team, TeamMember, TeamSkill, User

from .support import WEDNESDAY


@pytest.fixture
def admin(client):  # noqa: ANN001, ANN201
    with session_scope() as s:
        setup_area(s)
    return login_as(client, "admin")


def _post(client, admin, url, **data):  # noqa: ANN001, ANN003, ANN202
    return client.post(url, data={"csrf_token": admin.csrf_token, **data}, follow_redirects=False)


def _audit(entity: str) -> list[AuditLog]:
    with session_scope() as s:
        return list(s.exec(select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.id)).all())


def test_teams_create_edit_deactivate_and_audit(client, admin) -> None:
    r = _post(client, admin, "/admin/teams", name="Tim 9", max_visits_per_day="8", min_members="2", skills="odgj, bahasa_isyarat")
    assert r.status_code == 303
    with session_scope() as s:
        team = s.exec(select(Team).where(Team.name == "Tim 9")).one()
        assert (team.max_visits_per_day, team.min_members) == (8, 2)
        assert sorted(t.skill for t in s.exec(select(TeamSkill).where(TeamSkill.team_id == team.id))) == ["bahasa_isyarat", "odgj"]
    assert "Tim 9" in client.get("/admin/teams").text

    r = _post(client, admin, f"/admin/teams/{team.id}", name="Tim Sembilan", max_visits_per_day="6", min_members="", skills="odgj")
    assert r.status_code == 303
    edit = _audit("team")[-1]
    assert edit.action == "update" and edit.user_id == admin.user_id
    assert json.loads(edit.before)["name"] == "Tim 9" and json.loads(edit.after) == {"name": "Tim Sembilan", "active": True, "max_visits_per_day": 6, "min_members": None, "skills": ["odgj"]}

    r = _post(client, admin, f"/admin/teams/{team.id}/deactivate")
    assert r.status_code == 303
    with session_scope() as s:
        assert s.get(Team, team.id).active is False  # kept for history
    assert _audit("team")[-1].action == "deactivate"


def test_team_fields_are_checked_in_the_users_language(client, admin) -> None:
    r = _post(client, admin, "/admin/teams", name="", max_visits_per_day="banyak", min_members="99", skills="ODGJ!")
    assert r.status_code == 422
    assert "Wajib diisi." in r.text and "Harus berupa angka." in r.text and "Di luar batas" in r.text and "Keahlian hanya huruf kecil" in r.text
    client.cookies.set("lang", "en")
    r = _post(client, admin, "/admin/teams", name="Tim 1")
    assert r.status_code == 422 and "This name or code is taken." in r.text
    with session_scope() as s:
        assert len(s.exec(select(Team)).all()) == 3  # nothing stored


def test_members_join_with_an_officer_account_and_leave(client, admin) -> None:
    with session_scope() as s:
        team = s.exec(select(Team).where(Team.name == "Tim 2")).one()
    officer = make_user("officer")
    r = _post(client, admin, f"/admin/teams/{team.id}/members", name="Budi", user_id=str(officer.id))
    assert r.status_code == 303
    with session_scope() as s:
        member = s.exec(select(TeamMember).where(TeamMember.team_id == team.id)).one()
        assert member.user_id == officer.id and s.get(User, officer.id).team_id == team.id
    head = make_user("head")
    r = _post(client, admin, f"/admin/teams/{team.id}/members", name="", user_id=str(head.id))
    assert r.status_code == 422 and "bukan petugas lapangan" in r.text
    r = _post(client, admin, f"/admin/teams/{team.id}/members/{member.id}/leave", left_on="2026-11-01")
    assert r.status_code == 422 and "Tanggal sudah lewat." in r.text
    r = _post(client, admin, f"/admin/teams/{team.id}/members/{member.id}/leave", left_on="2026-12-01")
    assert r.status_code == 303
    with session_scope() as s:
        assert s.get(TeamMember, member.id).left_on == date(2026, 12, 1)
    assert "01-12-2026" in client.get(f"/admin/teams/{team.id}").text


def test_kits_create_edit_with_dates_and_retire(client, admin) -> None:
    r = _post(client, admin, "/admin/kits", code="KIT-09", team_id="", state="ok")
    assert r.status_code == 303
    with session_scope() as s:
        kit = s.exec(select(RecordingKit).where(RecordingKit.code == "KIT-09")).one()
    r = _post(client, admin, f"/admin/kits/{kit.id}", code="KIT-09", state="out_of_service", out_from="2026-12-10", out_until="2026-12-01")
    assert r.status_code == 422 and "Tanggal akhir sebelum tanggal mulai." in r.text
    r = _post(client, admin, f"/admin/kits/{kit.id}", code="KIT-09", state="out_of_service", out_from="2026-12-01", out_until="2026-12-10", notes="kamera rusak")
    assert r.status_code == 303
    with session_scope() as s:
        kit = s.get(RecordingKit, kit.id)
        assert (kit.state, kit.out_from, kit.out_until, kit.notes) == (KitState.OUT_OF_SERVICE, date(2026, 12, 1), date(2026, 12, 10), "kamera rusak")
        tim1 = s.exec(select(Team).where(Team.name == "Tim 1")).one()
    r = _post(client, admin, f"/admin/kits/{kit.id}", code="KIT-09", team_id=str(tim1.id), state="ok")
    assert r.status_code == 422 and "sudah memegang alat lain" in r.text
    assert "Sedang diperbaiki" in client.get(f"/admin/kits/{kit.id}").text
    r = _post(client, admin, f"/admin/kits/{kit.id}/retire")
    assert r.status_code == 303
    with session_scope() as s:
        assert s.get(RecordingKit, kit.id).retired_at is not None
    assert [a.action for a in _audit("recording_kit")] == ["create", "update", "deactivate"]


def test_shift_patterns_set_check_and_remove(client, admin) -> None:
    with session_scope() as s:
        tim2 = s.exec(select(Team).where(Team.name == "Tim 2")).one()
    r = _post(client, admin, "/admin/shifts", team_id=str(tim2.id), weekday="4", start_time="08:00", end_time="07:00", break_minutes="30", break_earliest="", break_latest="")
    assert r.status_code == 422 and "Jam selesai harus setelah jam mulai." in r.text and r.text.count("Wajib diisi.") == 2
    r = _post(client, admin, "/admin/shifts", team_id=str(tim2.id), weekday="4", start_time="07:30", end_time="11:30", break_minutes="0")
    assert r.status_code == 303
    with session_scope() as s:
        pattern = s.exec(select(ShiftPattern).where(ShiftPattern.team_id == tim2.id)).one()
        assert (pattern.weekday, pattern.start_time, pattern.end_time) == (4, time(7, 30), time(11, 30))
    assert "07:30" in client.get("/admin/shifts").text
    r = _post(client, admin, f"/admin/shifts/{pattern.id}/delete")
    assert r.status_code == 303
    with session_scope() as s:
        assert s.get(ShiftPattern, pattern.id) is None
    assert [a.action for a in _audit("shift_pattern")] == ["create", "delete"]


def test_closures_create_check_and_remove(client, admin) -> None:
    r = _post(client, admin, "/admin/closures", team_id="", start="2026-11-20", end="", reason="")
    assert r.status_code == 422 and "Tanggal sudah lewat." in r.text and "Wajib diisi." in r.text
    r = _post(client, admin, "/admin/closures", team_id="", start="2026-12-02", end="2026-12-01", reason="Rapat")
    assert r.status_code == 422 and "Tanggal akhir sebelum tanggal mulai." in r.text
    r = _post(client, admin, "/admin/closures", team_id="", start="2026-12-01", end="2026-12-03", reason="Rapat kerja")
    assert r.status_code == 303  # no booking on those days: saved at once
    with session_scope() as s:
        rows = s.exec(select(OfficeClosure).order_by(OfficeClosure.day)).all()
    assert [c.day for c in rows] == [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)]
    assert "Rapat kerja" in client.get("/admin/closures").text
    r = _post(client, admin, f"/admin/closures/{rows[0].id}/delete")
    assert r.status_code == 303
    with session_scope() as s:
        assert len(s.exec(select(OfficeClosure)).all()) == 2
    assert json.loads(_audit("office_closure")[0].after)["days"] == 3


def test_service_rules_and_the_office(client, admin) -> None:
    r = _post(client, admin, "/admin/rules/mental", minutes="2", required_skill="odgj")
    assert r.status_code == 422 and "Di luar batas" in r.text
    r = _post(client, admin, "/admin/rules/disabled", minutes="45", required_skill="")
    assert r.status_code == 303
    with session_scope() as s:
        assert s.exec(select(ServiceRule).where(ServiceRule.served_group == "disabled")).one().minutes == 45
    assert client.post("/admin/rules/nobody", data={"csrf_token": admin.csrf_token, "minutes": "10"}).status_code == 404

    r = _post(client, admin, "/admin/office", name="Dispendukcapil", address="Jl. Baru 1", lat="48.85", lon="112.43")
    assert r.status_code == 422 and "Di luar batas" in r.text
    r = _post(client, admin, "/admin/office", name="Dispendukcapil", address="Jl. Baru 1", lat="-7.47", lon="112.43")
    assert r.status_code == 303
    with session_scope() as s:
        office = s.exec(select(Office)).one()
        assert (office.address, office.lat) == ("Jl. Baru 1", -7.47)
    assert "Jl. Baru 1" in client.get("/admin/office").text
    changed = _audit("office")[-1]
    assert json.loads(changed.after)["address"] == "Jl. Baru 1" and json.loads(changed.before)["address"] != "Jl. Baru 1"


def test_the_audit_page_lists_and_filters_changes(client, admin) -> None:
    _post(client, admin, "/admin/teams", name="Tim 7")
    _post(client, admin, "/admin/closures", team_id="", start="2026-12-01", reason="Rapat")
    page = client.get("/admin/audit")
    assert page.status_code == 200 and "office_closure" in page.text and "Tim 7" in page.text and admin.username in page.text
    only = client.get("/admin/audit", params={"entity": "team"})
    assert "Tim 7" in only.text and "office_closure #" not in only.text


def test_every_admin_post_needs_the_csrf_token(client, admin) -> None:
    for url, data in (("/admin/teams", {"name": "Tim X"}), ("/admin/closures", {"start": "2026-12-01", "reason": "x"}), ("/admin/office", {"name": "x"})):
        assert client.post(url, data=data, follow_redirects=False).status_code == 403
    with session_scope() as s:
        assert s.exec(select(Team).where(Team.name == "Tim X")).first() is None


def test_the_calendar_shows_hours_breaks_closures_kit_outages_and_load(client, admin) -> None:
    from .support import book_on

    with session_scope() as s:
        book_on(s, "Tim 1", WEDNESDAY, ("09:00", "10:00"))
        tim1 = s.exec(select(Team).where(Team.name == "Tim 1")).one()
        s.add(OfficeClosure(day=date(2026, 11, 26), team_id=tim1.id, reason="Pelatihan"))
        kit = s.exec(select(RecordingKit).where(RecordingKit.team_id == tim1.id)).one()
        kit.state, kit.out_from, kit.out_until = KitState.OUT_OF_SERVICE, date(2026, 11, 30), date(2026, 11, 30)
    page = client.get("/admin/calendar", params={"team_id": tim1.id})
    assert page.status_code == 200
    rows = page.text.split("<tr")
    wednesday = next(r for r in rows if "25-11-2026" in r)
    assert "08:00–15:00" in wednesday and "30 menit, 11:30–12:30" in wednesday and "2/10" in wednesday
    assert "Pelatihan" in next(r for r in rows if "26-11-2026" in r)
    assert "Alat tidak dapat dipakai" in next(r for r in rows if "30-11-2026" in r)
    assert "Akhir pekan" in next(r for r in rows if "28-11-2026" in r)
    assert "08:00–11:00" in next(r for r in rows if "27-11-2026" in r)  # Friday


def test_users_get_another_role_or_team_audited(client, admin) -> None:
    with session_scope() as s:
        tim2 = s.exec(select(Team).where(Team.name == "Tim 2")).one()
    operator = make_user("operator")
    r = _post(client, admin, f"/admin/users/{operator.id}", role="officer", team_id="")
    assert r.status_code == 422  # an officer needs a team
    r = _post(client, admin, f"/admin/users/{operator.id}", role="officer", team_id=str(tim2.id))
    assert r.status_code == 303
    with session_scope() as s:
        user = s.get(User, operator.id)
        assert (user.role, user.team_id) == ("officer", tim2.id)
    change = _audit("app_user")[-1]
    assert json.loads(change.before) == {"role": "operator", "team_id": None} and json.loads(change.after) == {"role": "officer", "team_id": tim2.id}
    _post(client, admin, f"/admin/users/{operator.id}/disable")
    assert _audit("app_user")[-1].action == "deactivate"
