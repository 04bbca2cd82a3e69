"""The call board as a person sees it: headless Chromium, a host page speaking the app bridge,
the real server over a real MCP client, the simulator behind it.

Every wait is bounded by Playwright's generous 30 s default (``conftest.page``); time in the
simulator moves only when a test says so (``ManualClock``), and so does time in the page
(Playwright's clock, ``host.run_clock``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from mcp import Client

from mcp_livecalls.server.board import REFRESH_FLOOR_S
from mcp_livecalls.simulator import Fault, ManualClock, Simulator

from .host import run_clock_until, start_board

pytestmark = pytest.mark.anyio

PROBE = '<img src=x onerror="window.__xss=1">'


def board(page: Any) -> Any:
    return page.frame_locator("#app")


async def test_the_board_shows_the_live_calls_of_every_provider_grouped_by_status(
    page: Any, client: Client, simulator: Simulator
) -> None:
    await start_board(page, client)
    frame = board(page)
    listed = (await client.call_tool("list_active_calls", {"limit": 100})).structured_content or {}
    calls = listed["calls"]

    await frame.locator("tr.call").first.wait_for()
    assert await frame.locator("tr.call").count() == len(calls)
    providers = {call["provider"] for call in calls}
    for provider in providers:
        assert (
            await frame.locator(f'#health .chip[data-provider="{provider}"]').inner_text()
            == f"✓ {provider} ok"
        )
    statuses = {call["status"].replace("_", " ") for call in calls}
    assert set(await frame.locator("tr.group th").all_inner_texts()) == statuses


async def legs_before_a_hold(
    page: Any, client: Client, simulator: Simulator, clock: ManualClock
) -> tuple[Any, float]:
    """Open the legs of a Twilio call whose first hold is still to come; return them and how far the
    simulator's clock must move to be halfway through that hold."""
    now = clock.now().timestamp()
    call = next(
        c for c in simulator.population.live("twilio") if c.holds and c.created_ts + c.holds[0][0] > now
    )
    await start_board(page, client)
    await board(page).locator(f'tr.call[data-key="twilio/{call.id}"]').click()
    legs = board(page).locator("#legs ul.legs")
    await legs.locator("li").first.wait_for()
    assert "on hold" not in await legs.inner_text()
    return legs, call.created_ts + (call.holds[0][0] + call.holds[0][1]) / 2 - now


async def wait_for_the_hold(page: Any, legs: Any) -> None:
    """The next refresh (no sooner than the freshness floor) re-reads the open call's legs."""

    async def held() -> bool:
        return "on hold" in await legs.inner_text()

    await run_clock_until(page, REFRESH_FLOOR_S, held)
    await legs.locator("li", has_text="on hold").wait_for()


async def test_a_hold_appears_after_the_simulator_puts_a_call_on_hold(
    page: Any, client: Client, simulator: Simulator, clock: ManualClock
) -> None:
    legs, to_the_hold = await legs_before_a_hold(page, client, simulator, clock)
    clock.advance(to_the_hold)
    await wait_for_the_hold(page, legs)


async def test_the_board_keeps_refreshing_when_the_wall_clock_is_set_back(
    page: Any, client: Client, simulator: Simulator, clock: ManualClock
) -> None:
    """A wall clock set back (by hand, by NTP) does not push the next refresh as far into the future."""
    legs, to_the_hold = await legs_before_a_hold(page, client, simulator, clock)
    page_now_s = await page.evaluate("() => Date.now() / 1000")
    await page.clock.set_system_time(page_now_s - 300 * 86_400)  # 300 days back (Python's API takes seconds)
    clock.advance(to_the_hold)
    await wait_for_the_hold(page, legs)


async def test_a_failing_provider_is_shown_failing(page: Any, client: Client, simulator: Simulator) -> None:
    simulator.faults.inject(Fault(kind="status", status_code=500, provider="exotel"))
    await start_board(page, client)

    chip = board(page).locator('#health .chip[data-provider="exotel"]')
    await chip.wait_for()
    assert (await chip.inner_text()).startswith("✕ exotel failing")
    assert await board(page).locator('tr.call[data-key^="exotel/"]').count() == 0


async def test_clicking_a_call_opens_its_legs_and_enter_does_too(
    page: Any, client: Client, simulator: Simulator
) -> None:
    call = simulator.population.live("zudu")[0]
    await start_board(page, client)
    row = board(page).locator(f'tr.call[data-key="zudu/{call.id}"]')
    await row.click()
    legs = board(page).locator("#legs")
    await legs.locator("h2").wait_for()
    assert call.id in await legs.locator("h2").inner_text()
    assert await legs.locator("ul.legs li").count() >= 1

    other = board(page).locator("tr.call").first
    await other.focus()
    await other.press("Enter")
    key = await other.get_attribute("data-key")
    await legs.locator("h2", has_text=key.split("/", 1)[1]).wait_for()


def _hostile(field: str, call: Any) -> None:
    if field == "caller_name":
        call.caller_name = PROBE
    elif field in ("from_number", "to_number"):
        setattr(call, field, PROBE)
    elif field in ("agent_name", "agent_id"):
        call.agent = dataclasses.replace(call.agent, **{field.removeprefix("agent_"): PROBE})


@pytest.mark.parametrize("field", ["caller_name", "from_number", "to_number", "agent_name", "agent_id"])
async def test_hostile_provider_text_in_a_field_shows_as_its_characters(
    page: Any, client: Client, simulator: Simulator, field: str
) -> None:
    provider = "twilio" if field == "caller_name" else "exotel"  # Exotel's list has no caller name
    call = next(
        c
        for c in simulator.population.live(provider)
        if field == "caller_name" or (c.agent is not None and c.direction == "outbound")
    )
    _hostile(field, call)
    await start_board(page, client)
    row = board(page).locator(f'tr.call[data-key="{provider}/{call.id}"]')
    await row.wait_for()

    assert "<img src=x" in await row.inner_text()
    assert await board(page).locator("img").count() == 0
    await row.click()
    await board(page).locator("#legs h2").wait_for()
    assert await board(page).locator("img").count() == 0
    assert await page.frames[1].evaluate("window.__xss") is None
