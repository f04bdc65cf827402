"""Real-browser test support: headless Chromium from the Debian ``chromium`` package, driven by
Playwright for Python (its own browser download is not used), against the app served by uvicorn
on 127.0.0.1 with the tests' fixed clock.

The fixtures are registered once, in ``tests/conftest.py`` (one Playwright per test session:
importing them into a module would start a second one, which Playwright's sync API refuses):

- ``browser``: one Chromium for the test session. Under ``CI=true`` a missing browser fails.
- ``live``: a :class:`Live` server for one test: ``live.url``, ``live.app``, ``live.new_page(w, h)``.

Every page made by ``new_page`` refuses requests that leave 127.0.0.1 and records them in
``live.outside`` (a test asserts it stays empty).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("JEMPUT_CHROMIUM", "/usr/bin/chromium")


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"real-browser tests need {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _missing(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python (pip install playwright)")
    # The browser runs on the real clock: under CI's faketime pass libfaketime, preloaded into
    # Chromium's dozens of processes, slows every page load past a minute. The server under test
    # keeps the faked clock; pages never trust the device's clock for a booking decision.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"], env=env)
        yield b
        b.close()


class Live:
    def __init__(self, app, url: str, browser) -> None:  # noqa: ANN001
        self.app, self.url, self.browser = app, url, browser
        self.outside: list[str] = []
        self._contexts: list = []

    def new_page(self, width: int = 390, height: int = 844, *, offline_capable: bool = False, locale: str = "id-ID"):  # noqa: ANN201
        """A page in a fresh browser context of this size; requests off 127.0.0.1 are refused."""
        context = self.browser.new_context(viewport={"width": width, "height": height}, locale=locale, service_workers="allow" if offline_capable else "block")
        self._contexts.append(context)

        def guard(route) -> None:  # noqa: ANN001
            host = urlsplit(route.request.url).hostname or ""
            if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        return context.new_page()

    def close(self) -> None:
        for c in self._contexts:
            c.close()


@pytest.fixture
def live(app, browser) -> Iterator[Live]:  # noqa: ANN001 - ``app`` is tests/conftest.py's (fixed clock)
    from app.liveserver import LiveServer

    with LiveServer(app) as url:
        server = Live(app, url, browser)
        try:
            yield server
        finally:
            server.close()


def document_fits(page) -> bool:  # noqa: ANN001
    """No horizontal scrolling: the document is no wider than the viewport."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
