"""What the hostile-text tests plant and how they look at the board afterwards."""

from __future__ import annotations

from typing import Any

__all__ = ["PROBE", "assert_inert", "open_call"]

PROBE = '"><img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
"""Markup that would run if any field were inserted as HTML."""


async def open_call(board: Any, key: str) -> None:
    """Click the board's row of the call ``provider/call_id`` and wait for its details."""
    index = await board.locator("tr.call").evaluate_all(
        "(rows, key) => rows.findIndex((row) => row.dataset.key === key)", key
    )
    assert index >= 0, f"the call {key} is not on the board"
    await board.locator("tr.call").nth(index).click()
    await board.locator("#legs h2, #legs p.error").first.wait_for()


async def assert_inert(page: Any, board: Any) -> str:
    """Nothing the probe carries ran or became an element; returns the board's text."""
    assert await board.locator("img").count() == 0
    assert await board.locator("script").count() == 1  # the board's own
    assert await page.frames[1].evaluate("window.__xss") is None
    return str(await board.locator("body").inner_text())
