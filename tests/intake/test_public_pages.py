"""The family's pages in a real browser (headless Debian Chromium driven by Playwright), as people
use them on a 390 px phone: nothing scrolls sideways (both languages), the cancel button is
visible and asks first, an operator-made offer's SMS link leads to a working status page, a 6 MB
photo keeps the form, the flyer's QR code scans, every public page passes axe-core (WCAG 2.2 AA,
no serious or critical violation) and /docs renders with nothing loaded from elsewhere.

Set ``JEMPUT_SCREENSHOT_DIR`` to keep screenshots of every public page at 390, 768 and 1366 px.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select

from app.db import session_scope
from app.settings import get_settings
from tests.browser import document_fits
from tests.conftest import NOW
from visits.intake.tracking import hash_token, new_reference, new_token
from visits.models import Booking, BookingStatus, Channel, Notification, RequestStatus, VisitRequest

pytestmark = pytest.mark.slow

PHONE = (390, 844)
SIZES = ((390, 844), (768, 1024), (1366, 768))
LOCALES = {"id": "id-ID", "en": "en-US"}
WEEKDAYS_8_TO_2 = [{"weekday": d, "start": "08:00", "end": "14:00"} for d in range(5)]


# ---------------------------------------------------------------- data


def _services():  # noqa: ANN202
    from app.deps import office_info, slot_policy, travel_times

    return travel_times(), slot_policy(), office_info()


def _request(status: str = RequestStatus.ELIGIBLE, channel: str = Channel.WEB, reasons: list[str] | None = None) -> tuple[int, str]:
    """A request in the demo area with a known tracking token: (id, token)."""
    from tests.booking.slot_support import make_request, setup_area

    token = new_token()
    with session_scope(write=True) as s:
        setup_area(s)
        row = make_request(s, WEEKDAYS_8_TO_2, channel=channel, status=status)
        row.tracking_token_hash = hash_token(token)
        row.reference = new_reference()  # the real shape (the builder's "T0000001" is not one)
        row.reasons = reasons or []
        s.flush()
        return row.id, token  # type: ignore[return-value]


def _offered(channel: str = Channel.WEB) -> tuple[int, str]:
    from visits.booking import service as booking

    request_id, token = _request(channel=channel)
    with session_scope(write=True) as s:
        booking.offer(s, s.get(VisitRequest, request_id), NOW, *_services(), link_token=token)  # type: ignore[arg-type]
    return request_id, token


def _booked() -> tuple[int, str]:
    from visits.booking import service as booking
    from visits.models import SlotHold

    request_id, token = _offered()
    with session_scope(write=True) as s:
        hold = s.exec(select(SlotHold).where(SlotHold.request_id == request_id)).first()
        booking.confirm(s, s.get(VisitRequest, request_id), hold.offer_id, NOW, *_services(), link_token=token)  # type: ignore[arg-type, union-attr]
    return request_id, token


def _cancelled() -> tuple[int, str]:
    from visits.booking import service as booking

    request_id, token = _request()
    with session_scope(write=True) as s:
        travel, policy, office = _services()
        booking.cancel(s, s.get(VisitRequest, request_id), NOW, policy, office, link_token=token)  # type: ignore[arg-type]
    return request_id, token


@dataclass
class States:
    tokens: dict[str, str]


@pytest.fixture
def states(live) -> States:  # noqa: ANN001, F811
    return States(
        {
            "eligible": _request()[1],
            "ineligible": _request(RequestStatus.INELIGIBLE, reasons=["KK_MISSING"])[1],
            "needs_review": _request(RequestStatus.NEEDS_REVIEW)[1],
            "offered": _offered()[1],
            "booked": _booked()[1],
            "cancelled": _cancelled()[1],
        }
    )


def _public_paths(states: States) -> list[str]:
    return (
        ["/", "/info", "/info/flyer", "/request", "/request#errors", "/track", "/track?ref=K7QM-2XHD", "/nowhere"]
        + [f"/track/{t}" for t in states.tokens.values()]
        + [f"/track/{states.tokens['booked']}/cancel"]
    )


def _open(page, url: str) -> None:  # noqa: ANN001
    """Open a public page; ``/request#errors`` is the form sent empty (shown with its errors)."""
    if url.endswith("/request#errors"):
        page.goto(url.removesuffix("#errors"))
        page.evaluate("document.querySelector('form.intake').noValidate = true")
        with page.expect_navigation():
            page.click("form.intake button[type=submit]")
        assert page.locator(".error-summary").count() == 1
    else:
        page.goto(url)


def _shot(page, name: str) -> None:  # noqa: ANN001
    folder = os.environ.get("JEMPUT_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _slug(path: str, states: States) -> str:
    for state, token in states.tokens.items():
        path = path.replace(token, state)
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


# ---------------------------------------------------------------- layout


@pytest.mark.parametrize("lang", ["id", "en"])
def test_no_public_page_scrolls_sideways_on_a_phone(live, states, lang) -> None:  # noqa: ANN001, F811
    widths = SIZES if os.environ.get("JEMPUT_SCREENSHOT_DIR") else (PHONE,)
    for w, h in widths:
        page = live.new_page(w, h, locale=LOCALES[lang])
        for path in _public_paths(states):
            _open(page, live.url + path)
            assert page.evaluate("document.documentElement.lang") == lang, path
            if (w, h) == PHONE:
                assert document_fits(page), f"{path} scrolls sideways at 390 px ({lang})"
                # every table cell (availability rows, stacked tables) is inside the viewport too
                assert page.evaluate("[...document.querySelectorAll('td, th')].filter(e => e.offsetParent).every(e => e.getBoundingClientRect().right <= window.innerWidth + 0.5)"), path
            _shot(page, f"{lang}-{w}-{_slug(path, states)}")
    assert live.outside == []


def test_the_file_input_lets_the_family_choose_an_existing_photo(live) -> None:  # noqa: ANN001, F811
    page = live.new_page(*PHONE)
    page.goto(live.url + "/request")
    assert page.get_attribute("#f-kk_file", "capture") is None


# ---------------------------------------------------------------- the cancel button

CONTRAST = """(el) => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  let bg = null;
  for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || (c.length === 4 && c[3] > 0.99)) { bg = c.slice(0, 3); break; } }
  bg = bg || [255, 255, 255];
  const fg = rgb(getComputedStyle(el).color).slice(0, 3);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  const box = el.getBoundingClientRect();
  return {ratio: (a + 0.05) / (b + 0.05), width: box.width, height: box.height, fg, bg};
}"""


def _visible_with_contrast(page, selector: str) -> None:  # noqa: ANN001
    button = page.locator(selector)
    assert button.is_visible()
    found = button.evaluate(CONTRAST)
    assert found["ratio"] >= 4.5, found
    assert found["height"] >= 44 and found["width"] >= 44, found  # a large target


def test_family_cancel_is_visible_and_asks_first(live, states) -> None:  # noqa: ANN001, F811
    page = live.new_page(*PHONE)
    token = states.tokens["booked"]
    page.goto(f"{live.url}/track/{token}")
    assert page.locator("#booking").is_visible()  # the booking is the main thing
    assert page.get_by_text("Minta jadwal kunjungan").count() == 0
    _visible_with_contrast(page, "#cancel")
    page.click("#cancel")
    assert "Yakin" in page.locator("h1").inner_text()
    with session_scope() as s:
        assert s.exec(select(VisitRequest).where(VisitRequest.tracking_token_hash == hash_token(token))).one().status == RequestStatus.BOOKED
    _visible_with_contrast(page, "#cancel-yes")
    page.click("#cancel-yes")
    assert page.locator(".notice").inner_text().strip() == "Permohonan sudah dibatalkan."
    with session_scope() as s:
        assert s.exec(select(VisitRequest).where(VisitRequest.tracking_token_hash == hash_token(token))).one().status == RequestStatus.CANCELLED


def _operator_page(live, width: int = 1366, height: int = 768):  # noqa: ANN001, ANN202, F811
    from app.auth import SESSION_COOKIE
    from tests.app.helpers import session_for

    staff = session_for("operator")
    page = live.new_page(width, height)
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": staff.cookie, "url": live.url}])
    return page


def test_operator_cancel_is_visible_and_asks_first(live) -> None:  # noqa: ANN001, F811
    request_id, _token = _booked()
    page = _operator_page(live)
    page.goto(f"{live.url}/operator/requests/{request_id}")
    _visible_with_contrast(page, "#cancel")
    page.click("#cancel")  # the required "yes" box is not ticked: the browser does not send it
    with session_scope() as s:
        assert s.get(VisitRequest, request_id).status == RequestStatus.BOOKED  # type: ignore[union-attr]
    page.check("#f-confirm-cancel")
    page.click("#cancel")
    assert page.locator(".notice").is_visible()
    with session_scope() as s:
        assert s.get(VisitRequest, request_id).status == RequestStatus.CANCELLED  # type: ignore[union-attr]


# ---------------------------------------------------------------- the SMS link of an operator-made offer


def _last_link(request_id: int, base: str) -> str:
    with session_scope() as s:
        note = s.exec(select(Notification).where(Notification.request_id == request_id).order_by(Notification.id.desc())).first()  # type: ignore[union-attr]
    assert note is not None
    found = re.search(re.escape(base) + r"/track/[A-Za-z0-9_-]+", note.body)
    assert found, note.body
    return found.group(0)


def _booking_of(request_id: int) -> tuple:
    with session_scope() as s:
        b = s.exec(select(Booking).where(Booking.request_id == request_id, Booking.status == BookingStatus.CONFIRMED)).one()
        return (b.team_day_id, b.window_start)


def test_family_follows_the_sms_of_an_operator_offer_and_confirms_reschedules_cancels(live, monkeypatch) -> None:  # noqa: ANN001, F811
    monkeypatch.setattr(get_settings(), "public_base_url", live.url)
    request_id, _token = _request(channel=Channel.PHONE)
    desk = _operator_page(live)
    desk.goto(f"{live.url}/operator/requests/{request_id}")
    desk.get_by_role("button", name="Tawarkan jadwal").click()
    assert desk.locator(".notice").is_visible()
    with session_scope() as s:
        body = s.exec(select(Notification.body).where(Notification.request_id == request_id)).all()[-1]
    assert "ditahan 15 menit" in body and "Pilih salah satu di" not in body  # no "choose later" for a 15-minute hold

    family = live.new_page(*PHONE)
    family.goto(_last_link(request_id, live.url))  # the SMS link: the status page with its actions
    family.get_by_role("button", name="Pilih jadwal ini").click()
    assert family.locator("#booking").is_visible()
    first = _booking_of(request_id)

    family.get_by_role("button", name="Minta jadwal lain").click()  # reschedule
    family.locator("input[name=offer_id]").last.check()
    family.get_by_role("button", name="Pilih jadwal ini").click()
    assert family.locator("#booking").is_visible()
    assert _booking_of(request_id) != first

    family.goto(_last_link(request_id, live.url))  # the "rescheduled" SMS's link works too
    family.click("#cancel")
    family.click("#cancel-yes")
    with session_scope() as s:
        assert s.get(VisitRequest, request_id).status == RequestStatus.CANCELLED  # type: ignore[union-attr]
    assert live.outside == []


def test_reference_link_is_prefilled_and_opens_the_status_page_with_actions(live) -> None:  # noqa: ANN001, F811
    request_id, _token = _offered()
    with session_scope() as s:
        reference = s.get(VisitRequest, request_id).reference  # type: ignore[union-attr]
    page = live.new_page(*PHONE)
    page.goto(f"{live.url}/track?ref={reference}")
    assert page.input_value("#f-reference") == reference
    page.fill("#f-phone", "0812 3456 7890")
    page.get_by_role("button", name="Cek status").click()
    assert re.search(r"/track/[A-Za-z0-9_-]{40,}$", page.url)
    assert page.get_by_role("button", name="Pilih jadwal ini").is_visible()
    assert page.locator("#cancel").is_visible()


# ---------------------------------------------------------------- a 6 MB photo


def _fill_request_form(page, live) -> dict[str, str]:  # noqa: ANN001, F811
    """Fill in the request form as a family would; the typed values by selector."""
    from tests.booking.slot_support import setup_area
    from tests.intake.intake_fixtures import form

    with session_scope(write=True) as s:
        setup_area(s)
    data = form()
    page.goto(live.url + "/request")
    typed = {
        "#f-nik": data["nik"],
        "#f-full_name": data["full_name"],
        "#f-birth_date": data["birth_date"],
        "#f-rt": "3",
        "#f-rw": "2",
        "#f-street": data["street"],
        "#f-kk_number": data["kk_number"],
        "#f-companion_name": data["companion_name"],
        "#f-companion_phone": "0812 3456 7890",
        "#f-companion_relation": "anak",
        "#f-notes": "Pagar hijau, rumah kedua",
    }
    for selector, value in typed.items():
        page.fill(selector, value)
    page.check("input[name=sex][value=F]")
    page.select_option("#f-marital_status", "widowed")
    page.check("input[name=groups][value=elderly]")
    page.select_option("#f-kelurahan_code", data["kelurahan_code"])
    page.check("input[name=avail_5]")
    page.fill("input[name=avail_5_start]", "09:30")
    page.check("input[name=consent]")
    return typed | {"kelurahan": data["kelurahan_code"]}


def test_six_mb_photo_keeps_every_typed_field(live) -> None:  # noqa: ANN001, F811
    """A file the browser cannot shrink (not a readable image) goes to the server, which
    refuses it on the form again with everything typed kept."""
    page = live.new_page(*PHONE)
    typed = _fill_request_form(page, live)
    kelurahan = typed.pop("kelurahan")
    page.set_input_files("#f-kk_file", files=[{"name": "kk.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff" + b"\x00" * (6 * 1024 * 1024)}])
    with page.expect_navigation():
        page.click("form.intake button[type=submit]")
    summary = page.locator(".error-summary")
    assert summary.is_visible() and "5 MB" in summary.inner_text() and "kk_file" not in summary.inner_text()
    for selector, value in typed.items():
        assert page.input_value(selector) == value, selector
    assert page.is_checked("input[name=sex][value=F]") and page.is_checked("input[name=groups][value=elderly]") and page.is_checked("input[name=consent]")
    assert page.input_value("#f-marital_status") == "widowed" and page.input_value("#f-kelurahan_code") == kelurahan
    assert page.is_checked("input[name=avail_5]") and page.input_value("input[name=avail_5_start]") == "09:30"
    assert document_fits(page)
    with session_scope() as s:
        assert s.exec(select(VisitRequest)).all() == []


def test_a_large_photo_is_shrunk_in_the_browser_and_sent(live, tmp_path) -> None:  # noqa: ANN001, F811
    from PIL import Image

    big = tmp_path / "kk.png"
    Image.frombytes("RGB", (1500, 1500), os.urandom(1500 * 1500 * 3)).save(big, compress_level=0)
    assert big.stat().st_size > get_settings().upload_max_bytes
    page = live.new_page(*PHONE)
    _fill_request_form(page, live)
    page.set_input_files("#f-kk_file", str(big))
    page.wait_for_selector("#kk-shrunk:not([hidden])", timeout=20000)
    with page.expect_navigation():
        page.click("form.intake button[type=submit]")
    with session_scope() as s:
        assert len(s.exec(select(VisitRequest)).all()) == 1


# ---------------------------------------------------------------- the flyer's QR code


def _decode(png: Path) -> list[str]:
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the QR test needs zbarimg (apt-get install zbar-tools)")
        pytest.skip("zbarimg missing (apt-get install zbar-tools)")
    run = subprocess.run([zbarimg, "--quiet", "--raw", str(png)], capture_output=True, text=True, timeout=60)
    return run.stdout.split()


@pytest.mark.parametrize(("name", "size", "media"), [("phone", PHONE, "screen"), ("a4", (794, 1123), "print")])
def test_flyer_qr_decodes_to_the_form_url(live, tmp_path, name, size, media) -> None:  # noqa: ANN001, F811
    from app.routers.info import form_url

    page = live.new_page(*size)
    page.emulate_media(media=media)
    page.goto(live.url + "/info/flyer")
    box = page.locator(".qr svg").bounding_box()
    assert box and box["width"] >= 150 and abs(box["width"] - box["height"]) < 1  # the whole code, square
    png = tmp_path / f"flyer-{name}.png"
    page.screenshot(path=str(png), full_page=True)
    assert _decode(png) == [form_url()]


# ---------------------------------------------------------------- accessibility


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_public_page_passes_axe(live, states, lang) -> None:  # noqa: ANN001, F811
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page = live.new_page(*PHONE, locale=LOCALES[lang])
    problems = []
    for path in _public_paths(states):
        _open(page, live.url + path)
        result = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
        for v in result.response["violations"]:
            if v["impact"] in ("serious", "critical"):
                problems.append((path, v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]))
    assert problems == []


# ---------------------------------------------------------------- offline docs


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".swagger-ui .info"), ("/redoc", "redoc-wrap, .redoc-wrap, [role=navigation], h1")])
def test_docs_render_offline(live, path, ready) -> None:  # noqa: ANN001, F811
    page = live.new_page(1366, 768)
    page.goto(live.url + path)
    page.wait_for_selector(ready, timeout=20000)
    assert "Jemput" in page.content()
    assert live.outside == []
