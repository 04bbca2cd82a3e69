"""Every provider of the registry, through the real server and MCP client, against the simulator.

Nothing here names a provider: a provider added to the registry (with its simulated API) is
covered by these tests as it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import TextContent, TextResourceContents

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.providers.registry import NAMES, PROVIDERS
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Fault, ManualClock, Simulator, serve_simulator

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def still() -> Simulator:
    """Six calls a provider, nobody new arriving, the clock standing still."""
    return Simulator(seed=5, live_calls=6 * len(NAMES), arrival_every_s=None, clock=ManualClock())


@pytest.fixture
async def client(still: Simulator) -> AsyncIterator[Client]:
    still.faults.clear()
    with serve_simulator(still) as url:
        settings = simulator_settings(url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0)
        async with Client(create_server(settings, now=still.clock.now)) as connected:
            yield connected


def _text(result: Any) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def _page(client: Client, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool("list_active_calls", arguments)
    assert not result.is_error, _text(result)
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


async def test_paging_across_every_provider_in_small_pages_returns_every_live_call_exactly_once(
    client: Client, still: Simulator
) -> None:
    seen: list[tuple[str, str]] = []
    arguments: dict[str, Any] = {"limit": 4}
    with anyio.fail_after(60):
        while True:
            page = await _page(client, arguments)
            assert "failures" not in page, page["failures"]
            seen += [(call["provider"], call["call_id"]) for call in page["calls"]]
            if not page.get("next_cursor"):
                break
            arguments = {"limit": 4, "cursor": page["next_cursor"]}

    # What each provider lists when asked alone, in one page: a provider's list may leave out what
    # its API does not list (Exotel's queued calls, Retell's registered ones), never more.
    alone: set[tuple[str, str]] = set()
    for provider in NAMES:
        page = await _page(client, {"provider": provider, "limit": 100})
        assert "next_cursor" not in page
        alone |= {(provider, call["call_id"]) for call in page["calls"]}
    population = still.population
    existing = {(p, call.id) for p in NAMES for call in population.live(p) + population.queued(p)}
    assert [key for key, count in Counter(seen).items() if count > 1] == []
    assert set(seen) == alone
    assert alone <= existing
    assert {provider for provider, _ in seen} == set(NAMES)


@pytest.mark.parametrize("provider", NAMES)
async def test_every_tool_and_resource_answers_a_providers_call(
    client: Client, still: Simulator, provider: str
) -> None:
    page = await _page(client, {"provider": provider, "limit": 50})
    assert page["calls"], f"the simulated {provider} has no live call"
    listed = page["calls"][0]
    target = {"provider": provider, "call_id": listed["call_id"]}

    for tool in ("get_live_call", "get_stream_details"):
        result = await client.call_tool(tool, target)
        assert not result.is_error, (tool, _text(result))
        assert result.structured_content is not None
        assert result.structured_content["call_id"] == listed["call_id"]
        assert result.structured_content["provider"] == provider
    looked_up = await client.call_tool("get_live_call", target)
    status = (looked_up.structured_content or {})["status"]
    with anyio.fail_after(30):
        waited = await client.call_tool("wait_for_call_state", {**target, "until": [status]})
    assert not waited.is_error, _text(waited)
    assert (waited.structured_content or {})["outcome"] == "reached"

    for uri in (
        f"livecalls://calls/{provider}/{listed['call_id']}",
        f"livecalls://calls/{provider}/{listed['call_id']}/stream",
    ):
        read = await client.read_resource(uri)
        contents = read.contents[0]
        assert isinstance(contents, TextResourceContents)
        assert listed["call_id"] in contents.text


async def test_the_providers_resource_has_a_row_for_every_provider(client: Client) -> None:
    read = await client.read_resource("livecalls://providers")
    contents = read.contents[0]
    assert isinstance(contents, TextResourceContents)
    for cls in PROVIDERS:
        assert cls.name.value in contents.text


@pytest.mark.parametrize("failing", NAMES)
async def test_a_provider_failing_alone_leaves_every_other_providers_calls_answered(
    client: Client, still: Simulator, failing: str
) -> None:
    still.faults.inject(Fault(kind="status", status_code=500, provider=failing))

    page = await _page(client, {"limit": 100})

    assert [failure["provider"] for failure in page["failures"]] == [failing]
    assert {call["provider"] for call in page["calls"]} == set(NAMES) - {failing}
    other = page["calls"][0]
    found = await client.call_tool("get_live_call", {"call_id": other["call_id"]})
    assert not found.is_error, _text(found)
    assert (found.structured_content or {})["provider"] == other["provider"]


async def test_reading_on_across_every_provider_in_default_pages_never_sees_a_cursor_as_repeated() -> None:
    # Each page asks every provider for a page's worth from where the last one's calls ended, so a
    # provider is asked again at an offset it read before: that is reading on, not a cycle.
    crowded = Simulator(seed=5, live_calls=40 * len(NAMES), arrival_every_s=None, clock=ManualClock())
    with serve_simulator(crowded) as url:
        settings = simulator_settings(url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0)
        async with Client(create_server(settings, now=crowded.clock.now)) as connected:
            arguments: dict[str, Any] = {}
            notes: list[str] = []
            seen: list[tuple[str, str]] = []
            with anyio.fail_after(60):
                for _ in range(4):
                    page = await _page(connected, arguments)
                    notes += page.get("notes", [])
                    seen += [(call["provider"], call["call_id"]) for call in page["calls"]]
                    arguments = {"cursor": page["next_cursor"]}

    assert notes == []
    assert len(seen) == len(set(seen)) == 4 * 20
