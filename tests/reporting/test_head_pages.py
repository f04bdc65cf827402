"""The head's pages: who reaches them, what they show (Indonesian numbers and dates), exports (audited,
aggregates only), the upload page, and a planted-value scan: the head never sees a phone, a street or a
full NIK/KK number on any page they can reach."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from argon2 import PasswordHasher
from openpyxl import load_workbook
from sqlmodel import select

import visits.staff.users
from app.db import session_scope
from app.report_format import Fmt
from tests.app.helpers import login_as
from tests.reporting.support import NOW, PLANTED_KK, PLANTED_NIK, PLANTED_PHONE, PLANTED_STREET, area, baseline, request, visit
from visits.models import AuditLog, CoverageBaseline

MENTIKAN, KAUMAN = "35.76.01.1003", "35.76.01.1004"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch) -> None:
    monkeypatch.setattr(visits.staff.users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def data(db) -> dict[str, int]:
    with session_scope(write=True) as s:
        area(s)
        baseline(s, date(2026, 10, 31), {MENTIKAN: (1000, 980), KAUMAN: (2000, 1995)})
        planted = request(
            s,
            MENTIKAN,
            NOW - timedelta(days=3),
            answered_at=NOW - timedelta(days=3) + timedelta(hours=2),
            status="visited",
            nik=PLANTED_NIK,
            kk=PLANTED_KK,
            phone=PLANTED_PHONE,
            street=PLANTED_STREET,
            letter=True,
        )
        visit(s, planted, "recorded", NOW - timedelta(days=1))
        late = request(s, KAUMAN, NOW - timedelta(days=10), status="received", nik="3576015507400123", kk="3576010303150077", phone="+6281311112222", street="Jl. Kedua Planted 5")
        return {"planted": planted.id, "late": late.id}  # type: ignore[dict-item]


def test_formats_are_indonesian() -> None:
    f = Fmt("id")
    assert f.pct(0.995) == "99,5\u00a0%"
    assert f.day(date(2026, 12, 1)) == "Selasa, 1 Desember 2026"
    assert f.num(142000) == "142.000"
    assert Fmt("en").day(date(2026, 12, 1)) == "Tuesday, 1 December 2026"


@pytest.mark.parametrize("lang", ["id", "en"])
def test_fast_number_format_matches_babel(lang: str) -> None:
    """The report formatter applies Babel's symbols itself; it must write what Babel writes."""
    import random

    from babel.numbers import format_decimal

    f, rng = Fmt(lang), random.Random(7)
    values = [0, 1, 999, 1000, 0.05, 0.15, 0.25, 2.675, 99.45, 99.95, 1234567, -1234567.891, -2.5, 1e9 + 0.5]
    values += [rng.uniform(-1e7, 1e7) for _ in range(3000)] + [rng.randint(-(10**8), 10**8) for _ in range(1000)]
    for v in values:
        for digits in range(4):
            assert f.dec(v, digits) == format_decimal(v, "#,##0" + ("." + "0" * digits if digits else ""), locale=f.locale), (v, digits)
    assert f.dec(-0.04, 1) == ("0,0" if lang == "id" else "0.0")  # a negative figure that rounds to zero reads 0


@pytest.mark.parametrize("role", ["head", "admin"])
def test_head_and_admin_reach_the_dashboard(client, data, role: str) -> None:
    login_as(client, role)
    r = client.get("/head")
    assert r.status_code == 200
    # Mentikan: 980 + 1 recorded by Jemput = 98,1 %; 995 needed: 14 still to record; city 2976 of 3000, ceil(2985) - 2976 = 9
    row = re.search(r'data-code="35.76.01.1003">(.*?)</tr>', r.text, re.S).group(1)  # type: ignore[union-attr]
    assert "98,10\u00a0%" in row and ">14<" in row.replace(" ", "")
    assert 'id="city-still">9<' in r.text
    assert "/head/export/coverage.xlsx" in r.text


@pytest.mark.parametrize("role", ["operator", "officer"])
def test_operator_and_officer_are_refused(client, data, role: str) -> None:
    login_as(client, role)
    assert client.get("/head").status_code == 403
    assert client.get("/api/v1/reports/coverage").status_code == 403


def test_the_public_is_sent_to_login(client, data) -> None:
    r = client.get("/head", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert client.get("/api/v1/reports/clock").status_code == 401


def test_the_head_lands_on_pages_with_a_dashboard_link_and_no_intake_button(client, data) -> None:
    login_as(client, "head")
    staff = client.get("/staff").text
    assert 'href="/head"' in staff
    inbox = client.get("/operator/requests").text
    assert 'href="/operator/intake"' not in inbox


def test_exports_hold_the_page_figures_and_are_audited(client, data) -> None:
    login_as(client, "head")
    r = client.get("/head/export/coverage.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    mentikan = next(x for x in rows if x[1] == MENTIKAN)
    assert mentikan[header.index("Sudah rekam")] == 981 and mentikan[header.index("Masih perlu direkam")] == 14
    city = rows[1]
    assert city[0] == "city" and city[header.index("Masih perlu direkam")] == 9
    for table in ("coverage", "pipeline", "clock", "criteria"):
        c = client.get(f"/head/export/{table}.csv")
        assert c.status_code == 200, (table, c.text[:200])
        assert list(csv.reader(io.StringIO(c.content.decode("utf-8-sig"))))
    assert client.get("/head/export/residents.csv").status_code == 404
    with session_scope() as s:
        actions = sorted(a.action for a in s.exec(select(AuditLog).where(AuditLog.entity == "report")).all())
    assert actions == ["export_clock_csv", "export_coverage_csv", "export_coverage_xlsx", "export_criteria_csv", "export_pipeline_csv"]


def test_api_gives_the_same_figures(client, data) -> None:
    login_as(client, "head")
    cov = client.get("/api/v1/reports/coverage").json()
    assert (cov["city"]["recorded"], cov["city"]["still_to_record"]) == (2976, 9)
    clock = client.get("/api/v1/reports/clock").json()
    assert clock["overdue_now"] == 1 and clock["received"] == 2
    assert client.get("/api/v1/reports/pipeline", params={"by": "group"}).json()["total"]["received"] == 2
    assert client.get("/api/v1/reports/criteria").json()["socialisation"]["letter_share"] == 1.0
    assert client.get("/api/v1/reports/clock", params={"start": "2026-13-01"}).status_code == 422


def test_upload_page_refuses_a_bad_file_naming_row_and_field_and_stores_a_good_one(client, data) -> None:
    staff = login_as(client, "head")
    bad = b"kelurahan_code,required,recorded,as_of\n35.76.01.1003,100,90,2026-11-20\n35.76.01.1004,100,abc,2026-11-20\n"
    r = client.post("/head/baseline", data={"csrf_token": staff.csrf_token}, files={"file": ("recap.csv", bad, "text/csv")})
    assert r.status_code == 422
    assert "Baris 3, kolom recorded" in r.text and "bukan bilangan bulat" in r.text
    good = bad.replace(b"abc", b"95")
    r = client.post("/head/baseline", data={"csrf_token": staff.csrf_token}, files={"file": ("recap.csv", good, "text/csv")}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post("/head/baseline", data={"csrf_token": staff.csrf_token}, files={"file": ("recap.csv", good, "text/csv")}, follow_redirects=False)
    with session_scope() as s:
        assert [b.as_of for b in s.exec(select(CoverageBaseline).order_by(CoverageBaseline.as_of)).all()] == [date(2026, 10, 31), date(2026, 11, 20)]
    assert "Senin, 20 November 2026"[:0] + "20 November 2026" in client.get("/head/baseline").text


HEAD_PAGES = [
    "/staff",
    "/head",
    "/head/pipeline",
    "/head/pipeline?by=group",
    "/head/pipeline?by=kelurahan",
    "/head/clock",
    "/head/criteria",
    "/head/monthly",
    "/head/baseline",
    "/operator/requests",
    "/operator/requests?view=all",
    "/operator/requests?view=overdue",
    "/operator/chase",
    "/operator/bookings",
    "/api/v1/reports/coverage",
    "/api/v1/reports/pipeline?by=kelurahan",
    "/api/v1/reports/clock",
    "/api/v1/reports/criteria",
    "/api/v1/plans?date=2026-11-23",
    "/api/v1/me",
    *(f"/head/export/{t}.csv" for t in ("coverage", "pipeline", "clock", "criteria")),
]


def _planted_forms() -> list[str]:
    digits = PLANTED_PHONE.lstrip("+")
    return [PLANTED_NIK, PLANTED_KK, PLANTED_PHONE, digits, "0" + digits[2:], PLANTED_STREET, "Jl. Kedua Planted", "3576015507400123", "3576010303150077", "6281311112222"]


def test_planted_values_never_reach_the_head(client, data) -> None:
    login_as(client, "head")
    pages = HEAD_PAGES + [f"/operator/requests/{data['planted']}", f"/operator/requests/{data['late']}"]
    for path in pages:
        r = client.get(path)
        assert r.status_code == (404 if path.startswith("/api/v1/plans") else 200), (path, r.status_code)  # no team works that day
        for value in _planted_forms():
            assert value not in r.text, f"{value!r} shown to the head on {path}"
    for t in ("coverage", "pipeline", "clock", "criteria"):
        book = load_workbook(io.BytesIO(client.get(f"/head/export/{t}.xlsx").content))
        text = " ".join(str(c) for row in book.worksheets[0].iter_rows(values_only=True) for c in row)
        assert not any(v in text for v in _planted_forms())
    # the case page shows the head masked numbers and no KK image link
    case = client.get(f"/operator/requests/{data['planted']}").text
    assert "3576 01•• •••• ••99" in case and "3576 01•• •••• ••88" in case
    assert f"/operator/requests/{data['planted']}/kk" not in case
    assert client.get(f"/operator/requests/{data['planted']}/kk").status_code == 403


def test_an_operator_still_sees_the_contact_details(client, data) -> None:
    login_as(client, "operator")
    case = client.get(f"/operator/requests/{data['planted']}").text
    assert PLANTED_PHONE in case and PLANTED_STREET in case and PLANTED_NIK in case and PLANTED_KK in case


def test_pipeline_page_names_its_rows(client, data) -> None:
    login_as(client, "head")
    page = client.get("/head/pipeline", params={"by": "channel"}).text
    row = re.search(r"<tr><td><strong>Jumlah</strong></td>(.*?)</tr>", page, re.S)
    assert row and [int(x) for x in re.findall(r'class="num">(\d+)<', row.group(1))][:2] == [2, 0]  # received 2, ineligible 0
    assert "<tr><td>Web</td>" in page
    by_group = client.get("/head/pipeline", params={"by": "group"}).text
    assert "<tr><td>Lansia (60 tahun ke atas)</td>" in by_group
