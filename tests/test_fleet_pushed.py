"""Pushed webhook events in a fleet: an event landing on one replica is heard on every replica,
once, and a provider's retry landing on another replica changes nothing (a real Redis)."""

from __future__ import annotations

import anyio
import pytest
from fleet_support import FakeTime, Heard, start_replicas, with_redis
from mcp import Client

from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import CallStatus, ProviderName
from mcp_livecalls.providers.hooks import WebhookEvent
from mcp_livecalls.simulator import SimCall, Simulator

pytestmark = pytest.mark.anyio


def _talking(simulator: Simulator) -> SimCall:
    now = simulator.clock.now()
    return next(call for call in simulator.population.live("twilio") if call.state_at(now) == "in_progress")


def _signed(call: SimCall, key: str, status: CallStatus) -> WebhookEvent:
    return WebhookEvent(ProviderName("twilio"), call.id, "apply", f"signature:{key}", status=status)


@pytest.mark.parametrize("listening", ["on B only", "on both"])
async def test_an_event_posted_to_replica_a_is_heard_once_by_each_subscriber_on_any_replica(
    settings: Settings,
    simulator: Simulator,
    redis_url: str,
    listening: str,
) -> None:
    time = FakeTime()
    call = _talking(simulator)
    uri = f"livecalls://calls/twilio/{call.id}"
    fleet_settings = with_redis(settings, redis_url, reconcile_s=30.0)
    heard_b, heard_a = Heard(), Heard()

    async with start_replicas(2, fleet_settings, simulator, time=time) as replicas:
        (app_a, client_a), (app_b, client_b) = replicas
        async with client_b.listen(resource_subscriptions=[uri]) as on_b, anyio.create_task_group() as group:
            group.start_soon(heard_b.collect, on_b)
            with anyio.fail_after(30):
                await time.until(lambda: time.sleeping == 1)  # B read the call first: B leads
            if listening == "on both":
                listen_a = await group.start(_listen, client_a, uri, heard_a)
                with anyio.fail_after(30):
                    await time.until(lambda: time.sleeping == 2)  # A follows
            requests = sum(simulator.requests.values())
            with anyio.fail_after(30):
                assert await app_a.pushed.take([_signed(call, "hold", CallStatus.ON_HOLD)]) == 1
                await heard_b.beyond(0)
                assert await app_b.pushed.take([_signed(call, "hold", CallStatus.ON_HOLD)]) == 0  # a retry
                assert await app_a.pushed.take([_signed(call, "unhold", CallStatus.IN_PROGRESS)]) == 1
                await heard_b.beyond(1)
                if listening == "on both":
                    await heard_a.beyond(1)
            group.cancel_scope.cancel()
            if listening == "on both":
                listen_a.cancel()

    assert heard_b.count == 2  # hold, unhold: each once
    assert heard_a.count == (2 if listening == "on both" else 0)
    assert (app_b.watcher.applied, app_a.watcher.applied) == (2, 0)  # the leader applied each
    assert sum(simulator.requests.values()) == requests  # signed events: nobody asked upstream
    assert app_b.pushed.duplicates == 1


async def _listen(
    client: Client, uri: str, heard: Heard, *, task_status: anyio.abc.TaskStatus[anyio.CancelScope]
) -> None:
    with anyio.CancelScope() as scope:
        async with client.listen(resource_subscriptions=[uri]) as stream:
            task_status.started(scope)
            await heard.collect(stream)
