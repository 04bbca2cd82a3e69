"""Vapi against the simulator: the adapter over loopback HTTP, and the server through an MCP client."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, CallNotFound
from mcp_livecalls.providers.vapi.adapter import VapiProvider
from mcp_livecalls.providers.vapi.simulated import VAPI_FLAVOURS
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock
from providers.kit import (
    adapter_on,
    client_on,
    flavour_sets,
    found_until_it_ends,
    listed_once,
    loopback,
    simulated,
    text_of,
)

pytestmark = pytest.mark.anyio

SMALL_PAGE = 8


@pytest.mark.parametrize("flavours", flavour_sets(VAPI_FLAVOURS))
@pytest.mark.parametrize("page_size", [50, SMALL_PAGE])
async def test_every_queued_ringing_and_talking_call_is_listed_once_whatever_the_order_and_page(
    flavours: tuple[str, ...], page_size: int
) -> None:
    simulator = simulated("vapi", seed=13, flavours=flavours)
    if "vapi.same_instants" in flavours and page_size == SMALL_PAGE:
        # A page must hold more than one instant's calls, or paging cannot get past it (a note).
        minutes = Counter(math.floor(call.created_ts / 60) for call in simulator.population.visible("vapi"))
        page_size = max(minutes.values()) + 2
    async with adapter_on(simulator, VapiProvider) as provider:
        provider.page_size = page_size
        found = await provider.list_active(ListQuery(), 0, 100)

    listed_once(found, simulator, "vapi")
    visible = len(simulator.population.visible("vapi"))
    asked = simulator.requests[("vapi", "list_calls")]
    # One page holds them all; small pages go back page by page (each repeats its bound's calls).
    assert asked == 1 if page_size >= visible else 1 < asked <= visible


async def test_the_agent_filter_is_asked_upstream_as_the_assistant_id() -> None:
    simulator = simulated("vapi", seed=13)
    assistant = next(call.agent for call in simulator.population.live("vapi") if call.agent)
    assert assistant is not None
    async with adapter_on(simulator, VapiProvider) as provider:
        found = await provider.list_active(ListQuery(agent_id=assistant.id), 0, 100)

    expected = {
        call.id
        for call in simulator.population.live("vapi") + simulator.population.queued("vapi")
        if call.agent == assistant
    }
    assert {item.call.call_id for item in found.items} == expected
    assert found.local_filters == []


async def test_an_ended_call_is_not_found_and_a_wrong_key_is_refused() -> None:
    clock = ManualClock()
    simulator = simulated("vapi", seed=13, clock=clock)
    call = simulator.population.live("vapi")[0]
    stranger = DEMO_CREDENTIALS.replace(vapi_api_key="00000000-0000-4000-8000-000000000000")
    async with loopback(simulator) as served:
        provider = served.adapter(VapiProvider)
        with pytest.raises(CallNotFound):
            await provider.get_call("not-a-vapi-uuid")
        await found_until_it_ends(provider, clock, call)
        with pytest.raises(AuthError) as refused:
            await served.adapter(VapiProvider, stranger).get_call(call.id)

    assert "VAPI_API_KEY" in str(refused.value)
    assert simulator.requests[("vapi", "get_call")] == 3  # the id that is not a UUID asked nothing


async def test_monitor_urls_and_a_transient_numbers_credentials_never_reach_a_client() -> None:
    simulator = simulated("vapi", seed=13)
    secrets = [
        secret
        for call in simulator.population.visible("vapi")
        for secret in (call.extra["monitor_token"], call.extra["twilio_token"], call.extra["twilio_account"])
    ]
    async with client_on(simulator) as client:
        seen = []
        results = [await client.call_tool("list_active_calls", {"provider": "vapi", "limit": 100})]
        for call in simulator.population.live("vapi"):
            for tool in ("get_live_call", "get_stream_details"):
                arguments = {"call_id": call.id, "provider": "vapi", "detail": "full"}
                results.append(await client.call_tool(tool, arguments))
        for result in results:
            assert not result.is_error
            seen += [text_of(result), json.dumps(result.structured_content)]

    shown = "\n".join(seen)
    assert "vapi" in shown
    assert not [secret for secret in secrets if secret in shown]
    assert "listen" not in shown.lower()
