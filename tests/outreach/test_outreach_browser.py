"""A real browser (390 px phone) opens the call list and the import page: no horizontal scrolling,
axe-core finds no serious or critical WCAG 2.2 AA problem, and one click records a call's result."""

from __future__ import annotations

from datetime import date

import pytest

from app.db import session_scope
from tests.app.helpers import PASSWORD, make_user
from tests.browser import document_fits
from tests.outreach.support import CFG, NOW, area, csv_of, person
from visits.outreach.service import import_list

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.mark.slow
def test_the_call_list_and_import_pages_on_a_phone(live) -> None:
    from axe_playwright_python.sync_playwright import Axe

    with session_scope(write=True) as s:
        area(s)
        import_list(s, "l.csv", csv_of(person(date(1950, 3, 15), name="Pak Harjo"), person(date(1938, 6, 1), "F", name="Mbah Sumi")), now=NOW, cfg=CFG)
    user = make_user("operator")
    page = live.new_page(390, 844)
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    axe = Axe()
    problems = []
    for path in ("/operator/outreach", "/operator/outreach/import"):
        page.goto(live.url + path)
        assert page.locator("h1").first.is_visible()
        assert document_fits(page), (path, page.evaluate("document.documentElement.scrollWidth"))
        result = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
        problems += [(path, v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result.response["violations"] if v["impact"] in ("serious", "critical")]
    assert problems == []
    page.goto(live.url + "/operator/outreach")
    page.locator(".candidate").first.locator('button[value="refused"]').click()
    page.wait_for_selector("#call-note")
    assert page.locator(".candidate").count() == 1 and "Mbah Sumi" not in page.locator(".candidate").first.inner_text()  # the oldest refused
    assert live.outside == []
