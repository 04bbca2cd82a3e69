"""SignalWire against the simulator: the adapter over loopback HTTP in every flavour.

The simulated SignalWire serves the shared population with UUID sids under
``/api/laml/2010-04-01``, its three status lists paged by ``next_page_uri`` and its documented
variants as flavours (``signalwire.*``).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import anyio
import pytest
from policies import PATIENT

from mcp_livecalls.core.models import CallStatus
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.providers.signalwire.adapter import SignalWireProvider
from mcp_livecalls.providers.signalwire.simulated import FIXTURE_CALL_SID, SIGNALWIRE_FLAVOURS
from mcp_livecalls.simulator import Simulator
from providers.kit import adapter_on, alive, flavour_sets, simulated

pytestmark = pytest.mark.anyio

FLAVOUR_SETS = flavour_sets(SIGNALWIRE_FLAVOURS, every=True)


def adapter_at(simulator: Simulator) -> AbstractAsyncContextManager[SignalWireProvider]:
    return adapter_on(simulator, SignalWireProvider, policy=PATIENT)


@pytest.mark.parametrize("flavours", FLAVOUR_SETS)
async def test_every_live_and_queued_call_is_listed_once_and_read_alike_one_by_one(
    flavours: tuple[str, ...],
) -> None:
    simulator = simulated("signalwire", flavours=flavours)
    expected = sorted(alive(simulator, "signalwire"))
    with anyio.fail_after(30):
        async with adapter_at(simulator) as provider:
            found = await provider.list_active(ListQuery(), 0, 100)
            listed = sorted(item.call.call_id for item in found.items)
            one = await provider.get_call(found.items[0].call.call_id)
            stream = await provider.get_stream(found.items[0].call.call_id)

    assert listed == expected
    assert found.notes == []
    assert one.call_id == found.items[0].call.call_id
    assert stream.call_id == one.call_id


async def test_a_call_in_a_conference_has_its_legs_and_hold_from_the_participants() -> None:
    simulator = simulated("signalwire")
    ts = simulator.now_ts()
    talking = [
        call
        for call in simulator.population.live("signalwire")
        if call.conference_uuid is not None and call.state_at_ts(ts) in ("in_progress", "on_hold")
    ]
    assert talking
    with anyio.fail_after(30):
        async with adapter_at(simulator) as provider:
            stream = await provider.get_stream(talking[0].id)

    assert {leg.leg_id for leg in stream.legs} >= {talking[0].id, str(talking[0].extra["agent_leg"])}
    assert stream.telephony_ids["conference_sid"] == talking[0].conference_uuid
    held = talking[0].state_at_ts(ts) == "on_hold"
    assert (stream.status is CallStatus.ON_HOLD) is held


async def test_the_documented_example_is_served_in_fixture_mode() -> None:
    with anyio.fail_after(30):
        async with adapter_at(simulated("signalwire", live_calls=None, fixtures=True)) as provider:
            call = await provider.get_call(FIXTURE_CALL_SID)

    assert (call.call_id, call.status, call.duration_s) == (FIXTURE_CALL_SID, CallStatus.IN_PROGRESS, 20)
