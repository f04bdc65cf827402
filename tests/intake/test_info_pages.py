"""Public information page, flyer with a locally made QR code, and the intake catalogs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from app.settings import get_settings

APP = Path(__file__).resolve().parents[2] / "app"


def test_info_page_in_both_languages(client) -> None:
    page = client.get("/info")
    assert page.status_code == 200
    assert "TIDAK diperlukan" in page.text and get_settings().office_phone in page.text
    client.cookies.set("lang", "en")
    page = client.get("/info")
    assert "is NOT needed" in page.text and "How does a visit go?" in page.text


def test_flyer_has_local_qr_to_the_form(client) -> None:
    from app.routers.info import form_url, qr_svg

    page = client.get("/info/flyer")
    assert page.status_code == 200 and form_url() in page.text
    assert qr_svg(form_url()) in page.text  # exactly the QR code of the form's URL, inline
    assert page.text.count("<svg") == 1
    assert "size:A4" in (APP / "static" / "app.css").read_text()
    svg = client.get("/info/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")


def test_qr_encodes_the_form_url(client) -> None:
    import segno

    from app.routers.info import form_url, qr_svg

    assert form_url() == get_settings().public_base_url.rstrip("/") + "/request"
    qr = segno.make(form_url(), error="m", micro=False)
    assert qr.mode == "byte" and qr_svg(form_url()) == client.get("/info/qr.svg").text
    assert qr_svg(form_url()) != qr_svg(form_url() + "x")


def test_pages_load_nothing_from_elsewhere(client, session) -> None:
    from tests.intake.intake_fixtures import area

    area(session)
    for path in ("/info", "/info/flyer", "/request", "/track"):
        html = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path


def test_request_form_works_without_javascript(client, session) -> None:
    from tests.intake.intake_fixtures import area

    area(session)
    html = client.get("/request").text
    assert 'enctype="multipart/form-data"' in html and 'name="idempotency_key"' in html
    assert 'name="kelurahan_code"' in html and "Mentikan" in html
    for name in ("nik", "full_name", "birth_date", "kk_number", "companion_phone", "consent", "kk_file", "kelurahan_letter"):
        assert f'name="{name}"' in html
    assert 'for="f-nik"' in html  # labels


def test_intake_catalogs_have_identical_keys() -> None:
    ids = json.loads((APP / "locales" / "id" / "intake.json").read_text())
    ens = json.loads((APP / "locales" / "en" / "intake.json").read_text())
    assert set(ids) == set(ens)
    used = set()
    for path in (APP / "templates").rglob("*.html"):
        used |= set(re.findall(r'_\("((?:intake|track|info)\.[a-z0-9_.]+)"\)', path.read_text()))
    assert used <= set(ids), used - set(ids)


def test_every_error_code_has_a_message() -> None:
    from visits.intake.schemas import _GENERIC

    ids = json.loads((APP / "locales" / "id" / "intake.json").read_text())
    for code in set(_GENERIC.values()):
        assert f"intake.err.{code}" in ids
