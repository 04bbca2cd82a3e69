"""What a person does with the board and sees on it: filters, masked numbers, the host's light
and dark themes, the keyboard, a phone-narrow host (headless Chromium, the real server over a
real MCP client, the simulator behind it).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from mcp import Client
from playwright.async_api import expect

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.core.views import CallerView, viewing_as
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Simulator

from .host import start_board
from .shared import client, clock, server, settings, sim_url, simulator, unchanged_simulator

pytestmark = pytest.mark.anyio

# The file's one simulator and server (a person on the board changes nothing upstream): fixtures.
__all__ = ["client", "clock", "server", "settings", "sim_url", "simulator", "unchanged_simulator"]

MASKED = re.compile(r"(…\d{4}|\?) → (…\d{4}|\?)")
"""A parties line when numbers are masked: the last 4 digits of each, as the text answer has them."""


@pytest.fixture(autouse=True)
def _patient_expect() -> None:
    expect.set_options(timeout=30_000)  # a bound, not a speed: a busy machine changes no verdict


def board(page: Any) -> Any:
    return page.frame_locator("#app")


async def listed(client: Client, **arguments: Any) -> list[dict[str, Any]]:
    answer = await client.call_tool("list_active_calls", {"limit": 100, **arguments})
    calls: list[dict[str, Any]] = (answer.structured_content or {})["calls"]
    return calls


def keys(calls: list[dict[str, Any]]) -> set[str]:
    return {f"{call['provider']}/{call['call_id']}" for call in calls}


async def shown_keys(page: Any) -> set[str]:
    return set(await board(page).locator("tr.call").evaluate_all("(rows) => rows.map((r) => r.dataset.key)"))


async def wait_for_rows(page: Any, expected: set[str]) -> None:
    rows = board(page).locator("tr.call")
    await expect(rows).to_have_count(len(expected))
    assert await shown_keys(page) == expected


# -- filters ---------------------------------------------------------------------------------------


async def test_filtering_by_provider_shows_only_that_providers_calls(page: Any, client: Client) -> None:
    await start_board(page, client)
    await board(page).locator("tr.call").first.wait_for()

    await board(page).locator("#f-provider").select_option("twilio")

    await wait_for_rows(page, keys(await listed(client, provider="twilio")))
    assert all(key.startswith("twilio/") for key in await shown_keys(page))


async def test_filtering_by_direction_shows_only_calls_that_way(page: Any, client: Client) -> None:
    everything = await listed(client)
    inbound = [call for call in everything if call.get("direction") == "inbound"]
    assert 0 < len(inbound) < len(everything)
    await start_board(page, client)
    await board(page).locator("tr.call").first.wait_for()

    await board(page).locator("#f-direction").select_option("inbound")

    await wait_for_rows(page, keys(await listed(client, direction="inbound")))
    assert keys(inbound) >= await shown_keys(page)


async def test_filtering_by_the_last_digits_of_a_number_finds_that_call(page: Any, client: Client) -> None:
    target = next(call for call in await listed(client) if call.get("to_number"))
    digits = target["to_number"][-4:]
    await start_board(page, client)
    await board(page).locator("tr.call").first.wait_for()

    await board(page).locator("#f-number").fill(digits)
    await board(page).locator("#f-number").press("Enter")

    expected = keys(await listed(client, number=digits))
    assert f"{target['provider']}/{target['call_id']}" in expected
    await wait_for_rows(page, expected)


# -- numbers masked exactly as in the text ---------------------------------------------------------


@pytest.fixture
async def masked_client(sim_url: str, simulator: Simulator) -> AsyncIterator[Client]:
    settings = simulator_settings(sim_url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0, mask_numbers=True)
    async with Client(create_server(settings, now=simulator.clock.now)) as connected:
        yield connected


async def assert_parties_as_in_the_text(page: Any, client: Any) -> list[dict[str, Any]]:
    """Every row's numbers are the text answer's, masked: nothing longer than 4 digits shows."""
    answer = await client.call_tool("list_active_calls", {"limit": 100})
    text = answer.content[0].text
    calls: list[dict[str, Any]] = (answer.structured_content or {})["calls"]
    await wait_for_rows(page, keys(calls))
    for call in calls:
        row = board(page).locator(f'tr.call[data-key="{call["provider"]}/{call["call_id"]}"]')
        parties = await row.locator("td.parties > div").first.inner_text()
        assert MASKED.fullmatch(parties), parties
        if call.get("from_number") and call.get("to_number"):
            assert f"{call['from_number']}→{call['to_number']}" in text  # the text answer's very form
            assert parties == f"{call['from_number']} → {call['to_number']}"
    return calls


async def a_call_with_leg_contacts(client: Client, calls: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """A call (its board key) whose legs name their contacts, and those as the server gives them."""
    for call in calls:
        asked = {"call_id": call["call_id"], "provider": call["provider"]}
        details = (await client.call_tool("get_stream_details", asked)).structured_content or {}
        contacts = [leg["contact"] for leg in details.get("legs", []) if leg.get("contact")]
        if contacts:
            return f"{call['provider']}/{call['call_id']}", contacts
    pytest.fail("no simulated call has legs with contacts")


async def test_with_masking_on_the_board_shows_numbers_as_the_text_answer_does(
    page: Any, masked_client: Client
) -> None:
    await start_board(page, masked_client)

    calls = await assert_parties_as_in_the_text(page, masked_client)

    with_legs, contacts = await a_call_with_leg_contacts(masked_client, calls)
    await board(page).locator(f'tr.call[data-key="{with_legs}"]').click()
    legs = board(page).locator("#legs ul.legs li")
    await legs.first.wait_for()
    assert all(contact.startswith("…") and len(contact) == 5 for contact in contacts)
    shown = "\n".join(await legs.all_inner_texts())
    for contact in contacts:
        assert contact in shown
    assert not re.search(r"\+\d{5,}", shown)


@dataclass
class WithoutPii:
    """The client as a caller whose token lacks ``livecalls:pii`` (each request served under that
    caller's view, as the HTTP front does for a signed-in request)."""

    client: Client

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        with viewing_as(CallerView(pii=False)):
            return await self.client.call_tool(name, arguments)

    async def read_resource(self, uri: str) -> Any:
        with viewing_as(CallerView(pii=False)):
            return await self.client.read_resource(uri)


async def test_without_the_pii_scope_the_board_masks_numbers_and_shows_no_names_or_transcripts(
    page: Any, client: Client
) -> None:
    for voice_ai in await listed(client):
        asked = {"call_id": voice_ai["call_id"], "provider": voice_ai["provider"]}
        full = (await client.call_tool("get_stream_details", asked)).structured_content or {}
        if full.get("transcript"):  # with livecalls:pii this call's transcript shows
            break
    else:
        pytest.fail("no simulated call has a transcript")
    named = [call for call in await listed(client) if call.get("caller_name")]
    assert named, "precondition: with livecalls:pii some caller names show"

    scoped = WithoutPii(client)
    await start_board(page, scoped)
    await assert_parties_as_in_the_text(page, scoped)
    assert await board(page).locator(".caller").count() == 0
    key = f"{voice_ai['provider']}/{voice_ai['call_id']}"
    await board(page).locator(f'tr.call[data-key="{key}"]').click()
    await board(page).locator("#legs h2").wait_for()
    assert await board(page).locator("#legs ol.transcript").count() == 0
    for turn in full["transcript"]:
        assert turn["text"] not in await board(page).locator("body").inner_text()


# -- themes, and status not by colour alone --------------------------------------------------------


async def background(page: Any) -> str:
    return str(await board(page).locator("body").evaluate("(b) => getComputedStyle(b).backgroundColor"))


@pytest.mark.parametrize(("theme", "colour"), [("light", "rgb(255, 255, 255)"), ("dark", "rgb(22, 25, 29)")])
async def test_the_board_takes_the_hosts_theme_and_says_each_status_in_words(
    page: Any, client: Client, theme: str, colour: str
) -> None:
    await start_board(page, client, theme=theme)
    await board(page).locator("tr.call").first.wait_for()

    assert await background(page) == colour
    for call in await listed(client):
        cell = board(page).locator(f'tr.call[data-key="{call["provider"]}/{call["call_id"]}"] td').first
        words = call["status"].replace("_", " ")
        text = await cell.inner_text()
        assert text.endswith(words), text
        assert len(text) > len(words) + 1, text  # an icon, then the words


async def test_a_host_context_change_switches_the_theme(page: Any, client: Client) -> None:
    await start_board(page, client, theme="light")
    await board(page).locator("tr.call").first.wait_for()

    await page.evaluate(
        """() => document.getElementById("app").contentWindow.postMessage({jsonrpc: "2.0",
          method: "ui/notifications/host-context-changed", params: {theme: "dark"}}, "*")"""
    )

    await expect(board(page).locator("html")).to_have_attribute("data-theme", "dark")
    assert await background(page) == "rgb(22, 25, 29)"


# -- keyboard --------------------------------------------------------------------------------------


async def focused(page: Any) -> dict[str, Any]:
    found: dict[str, Any] = (
        await board(page)
        .locator("body")
        .evaluate(
            "() => ({tag: document.activeElement.tagName, key: document.activeElement.dataset.key || null})"
        )
    )
    return found


async def test_tab_reaches_the_calls_enter_opens_a_calls_legs_and_escape_closes_them(
    page: Any, client: Client
) -> None:
    await start_board(page, client)
    await board(page).locator("tr.call").first.wait_for()
    await board(page).locator("#f-number").focus()
    for _ in range(12):  # past the sort buttons, to the first call
        await page.keyboard.press("Tab")
        if (await focused(page))["tag"] == "TR":
            break
    first = (await focused(page))["key"]
    assert first is not None, "Tab never reached a call"
    await page.keyboard.press("ArrowDown")
    second = (await focused(page))["key"]
    assert second not in (None, first)

    await page.keyboard.press("Enter")
    legs = board(page).locator("#legs")
    await legs.locator("h2", has_text=second.split("/", 1)[1]).wait_for()
    await page.keyboard.press("Escape")

    await expect(legs).to_be_hidden()
    assert (await focused(page))["key"] == second  # back where the person was
    row = board(page).locator(f'tr.call[data-key="{second}"]')
    assert await row.get_attribute("aria-selected") == "false"


# -- a narrow host ---------------------------------------------------------------------------------


FACTS_SEEN = """(body) => Object.fromEntries([...body.querySelectorAll("tr.call")].map((row) => {
  const box = (node) => { if (!node || !node.getClientRects().length) return null;
    const r = node.getBoundingClientRect(); return {left: r.left, right: r.right, text: node.innerText}; };
  return [row.dataset.key, {status: box(row.cells[0]), provider: box(row.querySelector("td.provider")),
    parties: box(row.querySelector("td.parties")), time: box(row.querySelector("td.time")),
    agent: box(row.querySelector(".agent.narrow"))}];  // under the numbers: no room for a column
}))"""


@pytest.mark.parametrize("viewport", [{"width": 360, "height": 800}])  # the page fixture's viewport
async def test_at_360_pixels_nothing_scrolls_sideways_and_every_calls_key_facts_show(
    page: Any, client: Client
) -> None:
    await start_board(page, client)
    await board(page).locator("tr.call").first.wait_for()

    widths = await sideways(page)
    # One look at every row at once (a refresh re-renders the rows): each key fact's box, if shown.
    seen: dict[str, dict[str, Any]] = await board(page).locator("tbody").evaluate(FACTS_SEEN)
    width = widths[1]
    for call in await listed(client):
        facts = seen[f"{call['provider']}/{call['call_id']}"]
        wanted = ["status", "provider", "parties", "time", *(["agent"] if call.get("agent") else [])]
        for name in wanted:
            box = facts[name]
            assert box is not None, f"{name} is not shown"
            assert box["left"] >= 0, box
            assert box["right"] <= width + 0.5, box
            assert box["text"].strip(), f"{name} is empty"

    with_agent = next(call for call in await listed(client) if call.get("agent"))
    await board(page).locator(f'tr.call[data-key="{with_agent["provider"]}/{with_agent["call_id"]}"]').click()
    await board(page).locator("#legs h2").wait_for()
    await sideways(page)  # an opened call's long ids wrap too


async def sideways(page: Any) -> list[int]:
    """The board's widths, asserting nothing is wider than the frame: ``[scroll, client, body]``."""
    script = "(html) => [html.scrollWidth, html.clientWidth, document.body.scrollWidth]"
    widths: list[int] = await board(page).locator("html").evaluate(script)
    assert max(widths[0], widths[2]) <= widths[1], widths
    return widths
