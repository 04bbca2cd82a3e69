"""Vonage against the simulator: the adapter over loopback HTTP, its JWT checked by the simulated API."""

from __future__ import annotations

import math

import pytest

from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError
from mcp_livecalls.providers.vonage.adapter import LIVE_STATUSES, VonageProvider
from mcp_livecalls.providers.vonage.simulated import SMALL_PAGE, VONAGE_FLAVOURS
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock
from providers.kit import adapter_on, flavour_sets, found_until_it_ends, listed_once, loopback, simulated

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("flavours", flavour_sets(VONAGE_FLAVOURS))
async def test_every_started_ringing_and_answered_call_is_listed_once(flavours: tuple[str, ...]) -> None:
    simulator = simulated("vonage", seed=13, flavours=flavours)
    async with adapter_on(simulator, VonageProvider) as provider:
        found = await provider.list_active(ListQuery(), 0, 100)

    listed_once(found, simulator, "vonage")
    asked = simulator.requests[("vonage", "list_calls")]
    if "vonage.small_pages" in flavours:
        words = [item.call.provider_status for item in found.items]
        assert asked == sum(max(1, math.ceil(words.count(word) / SMALL_PAGE)) for word in LIVE_STATUSES)
    else:
        assert asked == len(LIVE_STATUSES)


async def test_an_ended_call_is_not_found_and_a_wrong_application_is_refused() -> None:
    clock = ManualClock()
    simulator = simulated("vonage", seed=13, clock=clock)
    call = simulator.population.live("vonage")[0]
    stranger = DEMO_CREDENTIALS.replace(vonage_application_id="aaaaaaaa-bbbb-4ccc-8ddd-ffffffffffff")
    async with loopback(simulator) as served:
        await found_until_it_ends(served.adapter(VonageProvider), clock, call)
        with pytest.raises(AuthError) as refused:
            await served.adapter(VonageProvider, stranger).get_call(call.id)

    assert "VONAGE_APPLICATION_ID" in str(refused.value)
