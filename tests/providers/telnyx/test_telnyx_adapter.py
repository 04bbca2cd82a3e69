"""Telnyx against the simulator: the adapter over loopback HTTP and the tools through a real MCP client.

The simulated Telnyx serves the shared population on two connections, its lists paged by cursor
(or, as a flavour, by page number), each call under a ``v3:`` control id.
"""

from __future__ import annotations

import math

import pytest

from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.providers.telnyx.adapter import TelnyxProvider
from mcp_livecalls.providers.telnyx.simulated import SMALL_PAGE, TELNYX_FLAVOURS
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock
from providers.kit import adapter_on, client_on, flavour_sets, listed_once, simulated, text_of

pytestmark = pytest.mark.anyio

CONNECTIONS = DEMO_CREDENTIALS.telnyx_connection_ids.split(",")


@pytest.mark.parametrize("flavours", flavour_sets(TELNYX_FLAVOURS, plain="cursor", every=True))
async def test_every_connections_active_calls_are_listed_once_whatever_the_paging(
    flavours: tuple[str, ...],
) -> None:
    simulator = simulated("telnyx", seed=11, live_calls=30, flavours=flavours)
    async with adapter_on(simulator, TelnyxProvider) as provider:
        found = await provider.list_active(ListQuery(), 0, 100)

    listed_once(found, simulator, "telnyx")
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
    simulator = simulated("telnyx", seed=11, live_calls=30, clock=clock)
    async with client_on(simulator) as client:
        listed = await client.call_tool("list_active_calls", {"provider": "telnyx", "limit": 100})
        call_id = min((listed.structured_content or {})["calls"], key=lambda c: c["duration_s"] or 0)[
            "call_id"
        ]
        call = simulator.population.find("telnyx", call_id)
        assert call is not None
        for spelling in (call_id, call_id.replace("-", ":", 1)):
            found = await client.call_tool("get_live_call", {"provider": "telnyx", "call_id": spelling})
            assert not found.is_error, text_of(found)
            assert (found.structured_content or {})["call_id"] == call_id

        clock.advance(call.end_ts - simulator.clock.now().timestamp() + 1)
        ended = await client.call_tool("get_live_call", {"provider": "telnyx", "call_id": call_id})
        clock.advance(601)  # Telnyx keeps a status for 10 minutes after the end
        forgotten = await client.call_tool("get_live_call", {"provider": "telnyx", "call_id": call_id})

    for gone in (ended, forgotten):
        assert gone.is_error
        assert "is not live" in text_of(gone)
    assert simulator.requests[("telnyx", "get_call")] == 4


async def test_a_wrong_api_key_is_a_clear_error_naming_the_variable_never_the_key() -> None:
    simulator = simulated("telnyx", seed=11, live_calls=30)
    wrong = DEMO_CREDENTIALS.replace(telnyx_api_key="KEYwrong0000000000000000")
    async with client_on(simulator, wrong) as client:
        listed = await client.call_tool("list_active_calls", {"provider": "telnyx"})
        looked_up = await client.call_tool("get_live_call", {"provider": "telnyx", "call_id": "v3-abc"})

    assert [failure["reason"] for failure in (listed.structured_content or {})["failures"]] == [
        "Telnyx rejected the credentials (401): check TELNYX_API_KEY."
    ]
    assert looked_up.is_error
    for text in (text_of(listed), text_of(looked_up)):
        assert "TELNYX_API_KEY" in text
        assert "KEYwrong" not in text
