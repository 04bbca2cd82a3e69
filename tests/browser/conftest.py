"""Headless Chromium (Debian's ``chromium``, installed by ``.ci/run``) driven by Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (or
``LIVECALLS_CHROMIUM``), once per test file (each test gets its own context and page).
Outside CI a missing Chromium or Playwright skips these tests with the reason; under ``CI=true``
it is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("LIVECALLS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


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
        launched = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
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
        opened = await context.new_page()
        opened.set_default_timeout(30_000)  # generous bounds: a busy machine changes no verdict
        yield opened
    finally:
        await context.close()
