"""The board in the official MCP Apps host: ``@modelcontextprotocol/ext-apps``'s AppBridge renders
it from a real ``mcp-livecalls serve --transport http`` over the simulator, in headless Chromium.

The home-made host of ``host.py`` stays for what this one cannot do: bind tool calls to an
in-memory client (a caller's view, a planted upstream) and send a chosen host context.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from mcp_livecalls.server.board import BOARD_URI
from mcp_livecalls.simulator import ManualClock

from .official import official_host_js, served_mcp, start_official_board


@pytest.fixture
def clock() -> ManualClock:
    """The simulator's clock, from the wall's now: the server in a subprocess keeps the wall clock."""
    return ManualClock.starting_now()


pytestmark = pytest.mark.anyio

__all__ = ["official_host_js", "served_mcp"]  # fixtures, used by name


async def test_the_official_app_bridge_renders_the_board_with_the_calls_and_a_click_opens_legs(
    page: Any, official_host_js: str, served_mcp: str, client: Client
) -> None:
    found = await start_official_board(page, official_host_js, served_mcp)
    assert found == {"tool": "list_active_calls", "uri": BOARD_URI}
    board = page.frame_locator("#app")
    listed = (await client.call_tool("list_active_calls", {"limit": 100})).structured_content or {}
    expected = {f"{call['provider']}/{call['call_id']}" for call in listed["calls"]}

    rows = board.locator("tr.call")
    await rows.first.wait_for()
    shown = set(await rows.evaluate_all("(rows) => rows.map((row) => row.dataset.key)"))
    assert shown == expected
    assert (await board.locator("#summary").inner_text()).startswith(f"{len(expected)} live")

    key = sorted(expected)[0]
    await board.locator(f'tr.call[data-key="{key}"]').click()  # the App's tools/call, through AppBridge
    legs = board.locator("#legs")
    await legs.locator("h2", has_text=key.split("/", 1)[1]).wait_for()
    assert await legs.locator("ul.legs li").count() >= 1
