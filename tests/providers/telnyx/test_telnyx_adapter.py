"""Telnyx against the simulator: the adapter over loopback HTTP and the tools through a real MCP client.

The simulated Telnyx serves the shared population on two connections, its lists paged by cursor
(or, as a flavour, by page number), each call under a ``v3:`` control id.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import pytest
from mcp import Client
from mcp_types import TextContent

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.providers.telnyx.adapter import TelnyxProvider
from mcp_livecalls.providers.telnyx.simulated import SMALL_PAGE, TELNYX_FLAVOURS
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator, serve_simulator
from mcp_livecalls.upstream.policy import HttpPolicy

pytestmark = pytest.mark.anyio

FLAVOUR_SETS = [
    pytest.param((), id="cursor"),
    *(pytest.param((flavour,), id=flavour.split(".")[1]) for flavour in sorted(TELNYX_FLAVOURS)),
    pytest.param(tuple(sorted(TELNYX_FLAVOURS)), id="all"),
]
CONNECTIONS = DEMO_CREDENTIALS.telnyx_connection_ids.split(",")


def flavoured(flavours: tuple[str, ...] = (), clock: ManualClock | None = None) -> Simulator:
    return Simulator(
        seed=11, live_calls=30, providers=("telnyx",), flavours=flavours, clock=clock or ManualClock()
    )


def _alive(simulator: Simulator) -> set[str]:
    population = simulator.population
    return {call.id for call in population.live("telnyx") + population.queued("telnyx")}


def _settings(url: str, **credentials: str) -> Settings:
    return simulator_settings(url, DEMO_CREDENTIALS.replace(**credentials)).with_changes(cache_ttl_s=0)


@asynccontextmanager
async def client_for(simulator: Simulator, **credentials: str) -> AsyncIterator[Client]:
    with serve_simulator(simulator) as url:
        server = create_server(_settings(url, **credentials), now=simulator.clock.now)
        async with Client(server) as connected:
            yield connected


def _text(result: object) -> str:
    block = result.content[0]  # type: ignore[attr-defined]
    assert isinstance(block, TextContent)
    return block.text


@pytest.mark.parametrize("flavours", FLAVOUR_SETS)
async def test_every_connections_active_calls_are_listed_once_whatever_the_paging(
    flavours: tuple[str, ...],
) -> None:
    simulator = flavoured(flavours)
    with serve_simulator(simulator) as url:
        configured = _settings(url).provider(ProviderName("telnyx"))
        assert configured is not None
        async with httpx2.AsyncClient() as http:
            provider = TelnyxProvider.create(configured, http, HttpPolicy(), simulator.clock.now)
            found = await provider.list_active(ListQuery(), 0, 100)

    ids = [item.call.call_id for item in found.items]
    assert len(ids) == len(set(ids))
    assert set(ids) == _alive(simulator)
    assert found.notes == []
    assert {item.call.extras["connection_id"] for item in found.items} == set(CONNECTIONS)
    asked = simulator.requests[("telnyx", "list_calls")]
    if "telnyx.small_pages" in flavours:  # every page followed, by cursor or by number
        per_connection = {
            c: sum(i.call.extras["connection_id"] == c for i in found.items) for c in CONNECTIONS
        }
        assert asked == sum(max(1, math.ceil(n / SMALL_PAGE)) for n in per_connection.values())
    else:
        assert asked == len(CONNECTIONS)


async def test_a_call_looked_up_by_either_spelling_of_its_id_is_live_until_it_ends_then_not_found() -> None:
    clock = ManualClock()
    simulator = flavoured(clock=clock)
    async with client_for(simulator) as client:
        listed = await client.call_tool("list_active_calls", {"provider": "telnyx", "limit": 100})
        call_id = min((listed.structured_content or {})["calls"], key=lambda c: c["duration_s"] or 0)[
            "call_id"
        ]
        call = simulator.population.find("telnyx", call_id)
        assert call is not None
        for spelling in (call_id, call_id.replace("-", ":", 1)):
            found = await client.call_tool("get_live_call", {"provider": "telnyx", "call_id": spelling})
            assert not found.is_error, _text(found)
            assert (found.structured_content or {})["call_id"] == call_id

        clock.advance(call.end_ts - simulator.clock.now().timestamp() + 1)
        ended = await client.call_tool("get_live_call", {"provider": "telnyx", "call_id": call_id})
        clock.advance(601)  # Telnyx keeps a status for 10 minutes after the end
        forgotten = await client.call_tool("get_live_call", {"provider": "telnyx", "call_id": call_id})

    for gone in (ended, forgotten):
        assert gone.is_error
        assert "is not live" in _text(gone)
    assert simulator.requests[("telnyx", "get_call")] == 4


async def test_a_wrong_api_key_is_a_clear_error_naming_the_variable_never_the_key() -> None:
    simulator = flavoured()
    async with client_for(simulator, telnyx_api_key="KEYwrong0000000000000000") as client:
        listed = await client.call_tool("list_active_calls", {"provider": "telnyx"})
        looked_up = await client.call_tool("get_live_call", {"provider": "telnyx", "call_id": "v3-abc"})

    assert [failure["reason"] for failure in (listed.structured_content or {})["failures"]] == [
        "Telnyx rejected the credentials (401): check TELNYX_API_KEY."
    ]
    assert looked_up.is_error
    for text in (_text(listed), _text(looked_up)):
        assert "TELNYX_API_KEY" in text
        assert "KEYwrong" not in text
