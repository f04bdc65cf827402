"""The group-visit page in a real browser: a phone, a tablet (in English) and a desktop. No
horizontal scrolling, no serious or critical axe-core (WCAG 2.2 AA) problem, a member added by
choosing from the list and pressing the button (the summed time shown), and an empty choice
answered with the error summary and the message beside the field, in the page's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.helpers import PASSWORD, make_user
from tests.browser import document_fits
from tests.outreach.test_group_visits import _household, _minutes
from tests.outreach.test_outreach_browser import AXE_TAGS

SHOTS = Path("/tmp/shots-group")


@pytest.mark.slow
def test_the_group_page_on_a_phone_a_tablet_and_a_desktop(live) -> None:
    from axe_playwright_python.sync_playwright import Axe

    SHOTS.mkdir(parents=True, exist_ok=True)
    user = make_user("operator")
    axe = Axe()
    problems = []
    for width, height, locale, words in (
        (390, 844, "id-ID", ("Lama kunjungan", "Pilih warga dari daftar.")),
        (768, 1024, "en-GB", ("Visit length", "Choose a resident from the list.")),
        (1366, 768, "id-ID", ("Lama kunjungan", "Pilih warga dari daftar.")),
    ):
        lead, member, _other = _household(3)
        page = live.new_page(width, height, locale=locale)
        page.goto(f"{live.url}/login")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live.url}/operator/outreach/group-visits/{lead}")
        assert words[0] in page.inner_text("#group-minutes")
        assert document_fits(page), (width, page.evaluate("document.documentElement.scrollWidth"))
        result = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
        problems += [(width, v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result.response["violations"] if v["impact"] in ("serious", "critical")]
        page.screenshot(path=str(SHOTS / f"empty-{width}.png"), full_page=True)
        page.select_option("#g-member", str(member))
        page.click("#group-add button[type=submit]")
        page.wait_for_selector("#group-members")
        assert str(2 * _minutes("elderly")) in page.inner_text("#group-minutes")
        assert page.locator("#group-members li").count() == 1
        assert document_fits(page), (width, page.evaluate("document.documentElement.scrollWidth"))
        page.screenshot(path=str(SHOTS / f"member-{width}.png"), full_page=True)
        page.click("#group-add button[type=submit]")  # nothing chosen
        page.wait_for_selector("#error-summary")
        assert words[1] in page.inner_text("#error-summary") and words[1] in page.inner_text("#g-member-error")
        assert page.locator("#group-members li").count() == 1  # nothing changed
        result = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
        problems += [(width, v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result.response["violations"] if v["impact"] in ("serious", "critical")]
        page.screenshot(path=str(SHOTS / f"error-{width}.png"), full_page=True)
        page.close()
    assert problems == []
    assert live.outside == []
