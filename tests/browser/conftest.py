"""Headless Chromium (Debian's ``chromium``, installed by ``.ci/run``) driven by Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (or
``LIVECALLS_CHROMIUM``), once per test file (each test gets its own context and page).
The page's timers and ``Date`` run on Playwright's test clock (``page.clock``): a test that needs
the board's next refresh or a ticking time runs the clock past it (``host.run_clock``) instead of
waiting out the refresh floor in wall time. The clock is not paused (Playwright's own waits in the
page need its frames to keep coming), so tests assert only what time can bring, never its absence.
The board's sandboxed iframe stays in the page's process (``--disable-features=IsolateSandboxedIframes``):
Chromium otherwise gives it a process of its own, and on a busy machine the first document there
ran its scripts before Playwright's clock reached it (a real ``Date``, then the test clock months
earlier), so the clock governed the board's timers only from some later moment.
Outside CI a missing Chromium or Playwright skips these tests with the reason; under ``CI=true``
it is a failure.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("LIVECALLS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-features=IsolateSandboxedIframes"]
"""No OS sandbox (containers), and the board's frame in its host's process, where Playwright's
init scripts (the test clock) run before the frame's own scripts."""
PAGE_EPOCH = dt.datetime(2026, 1, 26, 9, 0, tzinfo=dt.UTC)
"""Where the page's test clock starts (the board reads no wall date, only differences)."""


def _unavailable() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Module-wide, so the one browser below lives on one event loop for a file's tests. Not
    session-wide: anyio's runner would then stay current in the worker's thread after the browser
    tests, and a later test's ``anyio.run`` would find a loop already running."""
    return "asyncio"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need Chromium and Playwright under CI: {reason}")
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 900, "height": 900}


@pytest.fixture
async def page(browser: Any, viewport: dict[str, int]) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport=viewport)
    try:
        await context.clock.install(time=PAGE_EPOCH)
        opened = await context.new_page()
        opened.set_default_timeout(30_000)  # generous bounds: a busy machine changes no verdict
        yield opened
    finally:
        await context.close()
