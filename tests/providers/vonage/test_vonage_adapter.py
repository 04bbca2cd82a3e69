"""Vonage against the simulator: the adapter over loopback HTTP, its JWT checked by the simulated API."""

from __future__ import annotations

import math

import httpx2
import pytest

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, CallNotFound
from mcp_livecalls.providers.vonage.adapter import LIVE_STATUSES, VonageProvider
from mcp_livecalls.providers.vonage.simulated import SMALL_PAGE, VONAGE_FLAVOURS
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator, serve_simulator
from mcp_livecalls.upstream.policy import HttpPolicy

pytestmark = pytest.mark.anyio

FLAVOUR_SETS = [
    pytest.param((), id="default"),
    *(pytest.param((flavour,), id=flavour.split(".")[1]) for flavour in sorted(VONAGE_FLAVOURS)),
]


def flavoured(flavours: tuple[str, ...] = (), clock: ManualClock | None = None) -> Simulator:
    return Simulator(
        seed=13, live_calls=24, providers=("vonage",), flavours=flavours, clock=clock or ManualClock()
    )


@pytest.mark.parametrize("flavours", FLAVOUR_SETS)
async def test_every_started_ringing_and_answered_call_is_listed_once(flavours: tuple[str, ...]) -> None:
    simulator = flavoured(flavours)
    with serve_simulator(simulator) as url:
        configured = simulator_settings(url, DEMO_CREDENTIALS).provider(ProviderName("vonage"))
        assert configured is not None
        async with httpx2.AsyncClient() as http:
            provider = VonageProvider.create(configured, http, HttpPolicy(), simulator.clock.now)
            found = await provider.list_active(ListQuery(), 0, 100)

    population = simulator.population
    alive = {call.id for call in population.live("vonage") + population.queued("vonage")}
    ids = [item.call.call_id for item in found.items]
    assert len(ids) == len(set(ids))
    assert set(ids) == alive
    assert found.notes == []
    asked = simulator.requests[("vonage", "list_calls")]
    if "vonage.small_pages" in flavours:
        words = [item.call.provider_status for item in found.items]
        assert asked == sum(max(1, math.ceil(words.count(word) / SMALL_PAGE)) for word in LIVE_STATUSES)
    else:
        assert asked == len(LIVE_STATUSES)


async def test_an_ended_call_is_not_found_and_a_wrong_application_is_refused() -> None:
    clock = ManualClock()
    simulator = flavoured(clock=clock)
    call = simulator.population.live("vonage")[0]
    with serve_simulator(simulator) as url:
        configured = simulator_settings(url, DEMO_CREDENTIALS).provider(ProviderName("vonage"))
        other = simulator_settings(
            url, DEMO_CREDENTIALS.replace(vonage_application_id="aaaaaaaa-bbbb-4ccc-8ddd-ffffffffffff")
        ).provider(ProviderName("vonage"))
        assert configured is not None
        assert other is not None
        async with httpx2.AsyncClient() as http:
            provider = VonageProvider.create(configured, http, HttpPolicy(), simulator.clock.now)
            assert (await provider.get_call(call.id)).call_id == call.id
            clock.advance(call.end_ts - clock.now().timestamp() + 1)
            with pytest.raises(CallNotFound):
                await provider.get_call(call.id)
            stranger = VonageProvider.create(other, http, HttpPolicy(), simulator.clock.now)
            with pytest.raises(AuthError) as refused:
                await stranger.get_call(call.id)

    assert "VONAGE_APPLICATION_ID" in str(refused.value)
