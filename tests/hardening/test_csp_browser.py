"""Finding 8 in a real browser: the Content-Security-Policy blocks nothing the pages need (the
intake form's script, the flyer's print button, the style sheet) and the staff pages cannot be framed."""

from __future__ import annotations

import pytest

from tests.intake.intake_fixtures import area


@pytest.fixture
def area_ready(db, session):
    area(session)
    session.commit()


def test_pages_run_under_the_csp_without_violations(area_ready, live, tmp_path) -> None:
    page = live.new_page(390, 844)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text or "Refused" in m.text else None)
    for path in ("/request", "/info/flyer", "/login"):
        page.goto(live.url + path)
        page.wait_for_load_state("load")
    page.goto(live.url + "/info/flyer")
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != ""  # the style sheet applied
    page.evaluate("window.__printed = 0; window.print = () => { window.__printed += 1; }")
    page.click("[data-print]")
    assert page.evaluate("window.__printed") >= 1  # the button works without an inline handler
    page.screenshot(path=str(tmp_path / "flyer.png"))
    assert violations == []
    assert live.outside == []


def test_a_staff_page_cannot_be_framed(area_ready, live) -> None:
    page = live.new_page(1280, 800)
    page.set_content(f'<iframe id="f" src="{live.url}/login"></iframe>')
    page.wait_for_timeout(800)
    frame = page.frame_locator("#f")
    assert frame.locator("input[name=username]").count() == 0
