"""A real browser opens the coverage page at 1366×768 and 768×1024 (no horizontal scrolling) and
downloads the XLSX, which holds the page's figures."""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from app.db import session_scope
from tests.app.helpers import PASSWORD, make_user
from tests.browser import document_fits
from tests.reporting.support import NOW, area, baseline, request, visit

SHOTS = os.environ.get("JEMPUT_SCREENSHOTS", "")


@pytest.mark.slow
@pytest.mark.parametrize(("width", "height"), [(1366, 768), (768, 1024)])
def test_coverage_page_fits_and_its_xlsx_holds_the_figures(live, tmp_path, width: int, height: int) -> None:
    with session_scope(write=True) as s:
        kel = area(s)
        codes = sorted(kel)
        baseline(s, date(2026, 10, 31), {c: (1000 + 100 * i, 985 + 100 * i - i) for i, c in enumerate(codes)})
        for i in range(6):
            visit(s, request(s, codes[i], NOW - timedelta(days=20)), "recorded", NOW - timedelta(days=1 + i))
    user = make_user("head")
    page = live.new_page(width, height)
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live.url}/head")
    assert page.locator("h1").first.is_visible()
    assert document_fits(page), page.evaluate("document.documentElement.scrollWidth")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/head-{width}x{height}.png", full_page=True)
    city_still = page.locator("#city-still").inner_text()
    row = page.locator(f'tr[data-code="{codes[0]}"]')
    still_0 = row.locator('[data-field="still_to_record"]').inner_text()
    with page.expect_download() as info:
        page.click("#export-coverage-xlsx")
    path = tmp_path / "coverage.xlsx"
    info.value.save_as(path)
    rows = list(load_workbook(path).worksheets[0].iter_rows(values_only=True))
    header = rows[0]
    col = header.index("Masih perlu direkam")
    assert f"{rows[1][col]:,}".replace(",", ".") == city_still
    first = next(r for r in rows if r[1] == codes[0])
    assert f"{first[col]:,}".replace(",", ".") == still_0
    assert live.outside == []
