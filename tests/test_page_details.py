"""A page across providers asks a Plivo-family provider (its lists answer UUIDs only, one detail
request per call) for the details of only the calls that can still make the page, and the page
keeps the calls and the order it has when every provider's whole slice is read.

Against the simulator over loopback HTTP through the real MCP client; the requests are the
simulator's own counters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.providers.registry import NAMES, PROVIDERS
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator, serve_simulator

pytestmark = pytest.mark.anyio

FAMILY = [cls.name.value for cls in PROVIDERS if cls.request_per_listed_call]


@dataclass
class Served:
    client: Client
    sim: Simulator


@asynccontextmanager
async def serving(calls_per_provider: int) -> AsyncIterator[Served]:
    """About ``calls_per_provider`` calls a provider, nobody new arriving, the clock standing still."""
    sim = Simulator(
        seed=11, live_calls=calls_per_provider * len(NAMES), arrival_every_s=None, clock=ManualClock()
    )
    with serve_simulator(sim) as url:
        settings = simulator_settings(url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0)
        async with Client(create_server(settings, now=sim.clock.now)) as client:
            yield Served(client, sim)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """About 25 calls a provider: a page of 20 of one provider alone is full."""
    async with serving(25) as served:
        yield served


async def _page(client: Client, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool("list_active_calls", arguments)
    assert not result.is_error, result.content
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


def _details(sim: Simulator) -> dict[str, int]:
    return {name: sim.requests[(name, "get_call")] for name in FAMILY}


async def _every_page(client: Client, limit: int) -> list[list[tuple[str, str]]]:
    pages: list[list[tuple[str, str]]] = []
    arguments: dict[str, Any] = {"limit": limit}
    with anyio.fail_after(60):
        while True:
            page = await _page(client, arguments)
            assert "failures" not in page, page["failures"]
            pages.append([(call["provider"], call["call_id"]) for call in page["calls"]])
            if not page.get("next_cursor"):
                return pages
            arguments = {"limit": limit, "cursor": page["next_cursor"]}


async def test_a_page_across_providers_asks_a_plivo_family_provider_for_fewer_details_than_alone(
    served: Served,
) -> None:
    client, crowded = served.client, served.sim
    assert FAMILY, "the Plivo family answers UUID lists"
    before = _details(crowded)
    page = await _page(client, {"limit": 20})
    across = {name: count - before[name] for name, count in _details(crowded).items()}
    for name in FAMILY:
        shown = sum(1 for call in page["calls"] if call["provider"] == name)
        assert shown <= across[name] < 20, (name, shown, across[name])

    for name in FAMILY:
        before = _details(crowded)
        alone = await _page(client, {"provider": name, "limit": 20})
        assert len(alone["calls"]) == 20
        assert _details(crowded)[name] - before[name] >= 20  # alone, every call of its page is asked


# Pages of 20 over 25 calls a provider, and of 7 over 10 (pages still cut through every provider's
# slice; the walk costs about calls x pages requests, so the small page walks a smaller population).
@pytest.mark.parametrize(("limit", "calls_per_provider"), [(20, 25), (7, 10)])
async def test_pages_across_providers_hold_the_calls_and_order_of_pages_read_from_whole_slices(
    monkeypatch: pytest.MonkeyPatch, limit: int, calls_per_provider: int
) -> None:
    async with serving(calls_per_provider) as served:
        await _same_pages_as_whole_slices(served, monkeypatch, limit)


async def _same_pages_as_whole_slices(served: Served, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    client, crowded = served.client, served.sim
    before = _details(crowded)
    asked_for_few = await _every_page(client, limit)
    few = sum(_details(crowded).values()) - sum(before.values())
    # The oracle: the same pages with every provider asked for its whole slice of each page.
    for cls in PROVIDERS:
        monkeypatch.setattr(cls, "request_per_listed_call", False)
    before = _details(crowded)
    whole = await _every_page(client, limit)
    assert asked_for_few == whole
    assert few < sum(_details(crowded).values()) - sum(before.values())
