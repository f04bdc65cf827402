"""Any office by configuration: ``jemput init-office`` with a made-up area file and region prefix."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from app.cli import main as jemput
from app.db import session_scope
from app.settings import get_settings
from tests.app.intake_support import post_request
from tests.intake.intake_fixtures import form, kk
from visits.intake.area_file import parse_area
from visits.intake.service_area import KOTA_MOJOKERTO, ensure_service_area
from visits.models import Kecamatan, Kelurahan, Office

ROOT = Path(__file__).resolve().parents[2]
MADE_UP = ROOT / "tests" / "data" / "3599-kabupaten-contoh.csv"
DEMO = ROOT / "data" / "areas" / "3576-kota-mojokerto.csv"
ARGS = ["--name", "Dinas Dukcapil Kabupaten Contoh", "--phone", "+62321555000", "--region-prefix", "3599", "--timezone", "WIB", "--lat", "-7.54", "--lon", "112.51"]


@pytest.fixture
def office_dir(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    """A data folder of this test's own (init-office writes its settings file there)."""
    monkeypatch.setenv("JEMPUT_DATA_DIR", str(tmp_path))
    for name in ("JEMPUT_REGION_PREFIX", "JEMPUT_OFFICE_NAME", "JEMPUT_OFFICE_PHONE", "JEMPUT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_second_office_serves_only_its_own_area(client, db, office_dir) -> None:
    with session_scope() as s:
        ensure_service_area(s)  # the office had the demo area before
    assert jemput(["init-office", "--area", str(MADE_UP), *ARGS]) == 0
    settings = get_settings()
    assert (settings.region_prefix, settings.office_phone, settings.timezone) == ("3599", "+62321555000", "Asia/Jakarta")
    with session_scope() as s:
        assert sorted(k.name for k in s.exec(select(Kelurahan)).all()) == ["Karangrejo", "Sidorejo", "Sukamaju", "Tanjungsari"]
        assert sorted(k.code for k in s.exec(select(Kecamatan)).all()) == ["35.99.01", "35.99.02"]
        office = s.exec(select(Office)).one()
        assert (office.name, office.lat, office.lon) == ("Dinas Dukcapil Kabupaten Contoh", -7.54, 112.51)

    mojokerto = post_request(client, form(kelurahan_code="35.76.01.1003"))  # a Mojokerto KK and address
    assert mojokerto.status_code == 201 and mojokerto.json()["status"] == "ineligible"
    assert [r["code"] for r in mojokerto.json()["reasons"]] == ["OUTSIDE_SERVICE_AREA"]
    mojokerto_kk = post_request(client, form(kelurahan_code="35.99.01.2001", kk_number=kk(region="357601"), nik="3599015403500002"))
    assert [r["code"] for r in mojokerto_kk.json()["reasons"]] == ["OUTSIDE_SERVICE_AREA"]
    ours = post_request(client, form(kelurahan_code="35.99.01.2001", kk_number=kk(region="359901", serial=9), nik="3599015403500001"))
    assert ours.status_code == 201 and ours.json()["status"] == "eligible", ours.text

    page = client.get("/request")
    assert page.status_code == 200 and "Sukamaju" in page.text and "Tanjungsari" in page.text
    assert "Mentikan" not in page.text and "Kranggan" not in page.text
    flyer = client.get("/info/flyer").text
    assert "Dinas Dukcapil Kabupaten Contoh" in flyer and "+62321555000" in flyer and "Mojokerto" not in flyer


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("35.99.02,Contoh Lor,35.99.02.2003,Mojo,6141,-7.53,112.52", "postcode"),
        ("35.99.02,Contoh Lor,35.99.02.2003,Mojo,61413,-7.53,utara", "lon"),
        ("35.76.01,Prajurit Kulon,35.76.01.1003,Mentikan,61323,-7.47,112.41", "kecamatan_code"),
        ("35.99.02,Contoh Lor,35.99.01.2003,Mojo,61413,-7.53,112.52", "kelurahan_code"),
        ("35.99.02,Contoh Lor,35.99.02.2001,Lagi,61413,-7.53,112.52", "kelurahan_code"),
        ("35.99.02,Lain,35.99.02.2003,Mojo,61413,-7.53,112.52", "kecamatan_name"),
    ],
)
def test_a_bad_row_names_row_and_field_and_stores_nothing(client, db, office_dir, tmp_path, capsys, line: str, field: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(MADE_UP.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    with session_scope() as s:
        ensure_service_area(s)
    assert jemput(["init-office", "--area", str(bad), *ARGS]) == 2
    err = capsys.readouterr().err
    assert f"row 5, field {field}:" in err and "nothing was stored" in err
    with session_scope() as s:
        assert len(s.exec(select(Kelurahan)).all()) == 18 and s.exec(select(Office)).first() is None
    assert not (office_dir / "office.env").exists()
    assert get_settings().region_prefix == "3576"


def test_bad_options_are_refused(db, office_dir, capsys) -> None:
    args = [a if a != "3599" else "35" for a in ARGS]
    assert jemput(["init-office", "--area", str(MADE_UP), *args]) == 2
    assert "--region-prefix" in capsys.readouterr().err


def test_the_demo_area_file_is_the_demo_area() -> None:
    rows = parse_area(DEMO.read_text(encoding="utf-8"), "3576")
    expected = [(kec.code, kec.name, f"{kec.code}.{k.code}", k.name, k.postcode, k.lat, k.lon) for kec in KOTA_MOJOKERTO for k in kec.kelurahan]
    assert [(r.kecamatan_code, r.kecamatan_name, r.kelurahan_code, r.kelurahan_name, r.postcode, r.lat, r.lon) for r in rows] == expected
