"""The fleet under network faults: a half-open partition, and one Redis spelled several ways.

Each test runs its own ``redis-server`` (so this file may run beside ``test_fleet.py``, which
flushes the shared test database). A ``CutProxy`` in front of it leaves a replica's connections
silent without closing them — what a failover or a NAT timeout does — until the test heals it.
Pollers run on fake time (``FakeTime``): "within two poll intervals" is counted in ticks, while
the network's own pace is only ever bounded, far above what it needs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from time import monotonic
from typing import Any

import anyio
import pytest
import redis
from fleet_support import (
    CutProxy,
    FakeTime,
    Heard,
    RedisProcess,
    own_redis_process,
    patient,
    start_replicas,
    with_redis,
    zudu_call,
)
from prometheus_client import generate_latest
from pydantic import SecretStr

from mcp_livecalls.config import Settings
from mcp_livecalls.fleet.bus import RedisSubscriptionBus
from mcp_livecalls.fleet.core import Fleet, FleetUnavailable
from mcp_livecalls.server.app import LiveCallsApp
from mcp_livecalls.service.watch import ACTIVE_URI
from mcp_livecalls.simulator import ManualClock, Simulator
from mcp_livecalls.web.metrics import registry_for

pytestmark = pytest.mark.anyio

POLL_S = 0.2


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    """A redis-server of this test's own, to stop, start or cut off mid-run."""
    yield from own_redis_process()


def _listener_state(app: LiveCallsApp) -> float:
    text = generate_latest(registry_for(app)).decode()
    found = re.search(r"^livecalls_redis_listener_confirmed (\S+)$", text, re.MULTILINE)
    assert found is not None, "the listener's state is always on /metrics"
    return float(found[1])


# -- a half-open partition ----------------------------------------------------------------------


class SteppedClock:
    """A monotonic clock that stands still until ``advance`` moves it."""

    def __init__(self) -> None:
        self.now = monotonic()  # a reading taken on the real clock stays in its past

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def _next_change_is_heard(
    time: FakeTime, clock: ManualClock, simulator: Simulator, streams: list[Heard]
) -> None:
    """Settle, move the simulator to a call's next state, let two poll intervals pass, and wait
    (bounded) until every stream heard it. Without a poll or an update due in those two intervals
    nothing more happens, and the wait fails."""
    for _ in range(2):
        await time.tick(POLL_S)  # spare updates of what came before arrive now
    with anyio.fail_after(30):
        await anyio.sleep(0.2)  # and those on their way over the network too
    counts = [stream.count for stream in streams]
    clock.set(_next_change(simulator, clock))
    with anyio.fail_after(60):
        for _ in range(2):
            await time.tick(POLL_S)
        for stream, count in zip(streams, counts, strict=True):
            await stream.beyond(count)


def _next_change(simulator: Simulator, clock: ManualClock) -> Any:
    """When the next live call changes state (what the active-calls resource shows)."""
    now = clock.now()
    return min(
        at
        for provider in ("exotel", "vobiz", "zudu")
        for call in simulator.population.live(provider)
        for at, state in call.schedule
        if at > now and state != call.state_at(now)
    )


async def _ordinary_calls_recover(fleet: Fleet) -> None:
    """Wait (bounded) until ``fleet``'s ordinary Redis calls answer again (on new connections)."""
    with anyio.fail_after(30):
        for _ in range(3000):
            try:
                await fleet.run(lambda r: r.ping())
            except FleetUnavailable:
                await anyio.sleep(0.01)
            else:
                return


async def test_after_a_half_open_partition_heals_every_replicas_subscribers_hear_the_next_change(
    settings: Settings,
    simulator: Simulator,
    clock: ManualClock,
    own_redis: RedisProcess,
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = FakeTime()
    proxy = CutProxy(own_redis.port)
    secrets = settings.fleet_secrets()
    # A reaches Redis through the proxy and hears its heartbeat every 50 ms (deaf after 6 s of
    # silence); B is connected directly and gives its channel a minute.
    cut_off = Fleet(proxy.url, secrets=secrets, retry_after_s=0.2, heartbeat_s=0.05, heard_within_s=6.0)
    direct = patient(Fleet(own_redis.url, secrets=secrets))
    fleet_settings = with_redis(settings, own_redis.url, poll_interval_s=POLL_S)
    states: list[tuple[str, float, float]] = []
    heard_a, heard_b = Heard(), Heard()
    async with anyio.create_task_group() as group:
        await group.start(proxy.serve)
        async with start_replicas(
            2, fleet_settings, simulator, time=time, fleets=[direct, cut_off]
        ) as replicas:
            (app_b, client_b), (app_a, client_a) = replicas
            bus_a = app_a.bus
            assert isinstance(bus_a, RedisSubscriptionBus)
            # A's deafness is counted on a clock that moves only when the test says the silence
            # lasted long enough: a busy machine's slow heartbeat never makes A deaf too soon.
            silence = SteppedClock()
            bus_a._clock = silence
            async with (
                client_b.listen(resource_subscriptions=[ACTIVE_URI]) as stream_b,
                client_a.listen(resource_subscriptions=[ACTIVE_URI]) as stream_a,
                anyio.create_task_group() as listening,
            ):
                listening.start_soon(heard_b.collect, stream_b)
                listening.start_soon(heard_a.collect, stream_a)
                with anyio.fail_after(30):
                    await time.until(lambda: time.sleeping == 2)  # B leads, A follows
                await _next_change_is_heard(time, clock, simulator, [heard_a, heard_b])
                states.append(("joined", _listener_state(app_a), _listener_state(app_b)))

                with caplog.at_level(logging.WARNING, logger="mcp_livecalls.fleet"):
                    proxy.cut()
                    silence.advance(cut_off.heard_within_s + 1)  # A has heard nothing since
                    with anyio.fail_after(60):
                        await bus_a.wait_confirmed(False)  # A found itself deaf
                    states.append(("cut", _listener_state(app_a), _listener_state(app_b)))
                    await _next_change_is_heard(time, clock, simulator, [heard_a, heard_b])

                    proxy.heal()  # new connections work; A's old ones stay silent for good
                    assert app_a.fleet is not None
                    await _ordinary_calls_recover(app_a.fleet)
                    await _next_change_is_heard(time, clock, simulator, [heard_a, heard_b])
                    states.append(("healed", _listener_state(app_a), _listener_state(app_b)))

                    with anyio.fail_after(60):
                        await bus_a.wait_confirmed()  # A's channel came back on a new connection
                    states.append(("heard", _listener_state(app_a), _listener_state(app_b)))
                    await _next_change_is_heard(time, clock, simulator, [heard_a, heard_b])
                listening.cancel_scope.cancel()
            losses = bus_a.losses
        group.cancel_scope.cancel()

    assert states[0] == ("joined", 1.0, 1.0)
    assert states[1] == ("cut", 0.0, 1.0)
    assert states[2][0] == "healed"
    assert states[2][2] == 1.0  # A: either, as it reconnects
    assert states[3] == ("heard", 1.0, 1.0)
    assert losses >= 1
    deaf = [r for r in caplog.records if "No heartbeat came back" in r.getMessage()]
    again = [r for r in caplog.records if "heard again" in r.getMessage()]
    assert len(deaf) == 1  # once, however many reconnections it took
    assert len(again) == 1
    assert own_redis.url not in caplog.text
    assert proxy.url not in caplog.text


# -- one Redis, spelled several ways ------------------------------------------------------------


def _rotate(redis_process: RedisProcess) -> tuple[str, str]:
    """Give Redis's default user two passwords at once (a rotation under way); both URLs."""
    admin = redis.Redis.from_url(redis_process.url, socket_timeout=30)
    try:
        admin.acl_setuser(
            "default", enabled=True, passwords=["+old-pass-1", "+new-pass-2"], reset_passwords=False
        )
    finally:
        admin.close()
    port = redis_process.port
    return f"redis://default:old-pass-1@127.0.0.1:{port}/0", f"redis://:new-pass-2@127.0.0.1:{port}/0"


@pytest.mark.parametrize("spelling", ["host", "password"])
async def test_replicas_on_one_redis_spelled_differently_share_cursors_cache_and_leases(
    settings: Settings, simulator: Simulator, own_redis: RedisProcess, spelling: str
) -> None:
    if spelling == "host":
        port = own_redis.port
        urls = (f"redis://127.0.0.1:{port}/0", f"redis://localhost:{port}?db=0")
    else:
        urls = _rotate(own_redis)
    each = [with_redis(settings, url, cache_ttl_s=60, poll_interval_s=POLL_S) for url in urls]
    time = FakeTime()
    call = zudu_call(simulator)
    uri = f"livecalls://calls/zudu/{call.id}"
    async with start_replicas(2, each, simulator, time=time) as replicas:
        (app_a, client_a), (app_b, client_b) = replicas
        before = sum(simulator.requests.values())
        looked_up = [
            await client.call_tool("get_live_call", {"call_id": call.id, "provider": "zudu"})
            for client in (client_a, client_b)
        ]
        cached = sum(simulator.requests.values()) - before

        first = await client_a.call_tool("list_active_calls", {"provider": "zudu", "limit": 1})
        cursor = (first.structured_content or {}).get("next_cursor")
        second = await client_b.call_tool(
            "list_active_calls", {"provider": "zudu", "limit": 1, "cursor": cursor}
        )

        async with (
            client_a.listen(resource_subscriptions=[uri]),
            client_b.listen(resource_subscriptions=[uri]),
        ):
            with anyio.fail_after(30):
                await time.until(lambda: time.sleeping == 2)
                for _ in range(3):
                    await time.tick(POLL_S)
            leading = [uri in leases.leading for app in (app_a, app_b) if (leases := app.watcher.leases)]

    assert [r.is_error for r in looked_up] == [False, False]
    assert cached == 1  # one upstream request for both replicas within the TTL
    assert isinstance(cursor, str)
    assert not second.is_error, second.content  # a cursor from one replica is good on the other
    assert sorted(leading) == [False, True]  # one poller leads for both


async def test_a_replica_that_finds_another_fleet_on_its_redis_says_so_once_without_secrets(
    settings: Settings, simulator: Simulator, own_redis: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    ours = with_redis(settings, own_redis.url, fleet_secret=SecretStr("fleet-secret-ours-31"))
    theirs = with_redis(settings, own_redis.url, fleet_secret=SecretStr("fleet-secret-theirs-47"))
    with caplog.at_level(logging.WARNING, logger="mcp_livecalls.fleet"):
        async with (
            start_replicas(1, ours, simulator) as [(first, _)],
            start_replicas(1, theirs, simulator) as [(second, client)],
        ):
            assert second.fleet is not None
            await second.fleet.check_mark()  # a later heartbeat: no second warning
            scraped = generate_latest(registry_for(second)).decode()
            answered = await client.call_tool("list_active_calls", {})
        told = [r.getMessage() for r in caplog.records if "Another fleet" in r.getMessage()]

    assert first.fleet is not None
    assert not first.fleet.foreign
    assert len(told) == 1
    assert "cannot read its keys" in told[0]
    assert "LIVECALLS_FLEET_SECRET" in told[0]
    assert "fleet-secret" not in caplog.text
    assert own_redis.url not in caplog.text
    assert "livecalls_redis_foreign_fleet 1.0" in scraped
    assert not answered.is_error  # it still serves, on its own keys


def test_the_fleets_keys_come_from_the_fleet_secret_or_the_providers_never_the_redis_url() -> None:
    base: dict[str, Any] = {
        "ZUDU_API_KEY": "zk-1",
        "ZUDU_API_SECRET": "zs-2",
        "LIVECALLS_REDIS_URL": "redis://:pw-1@a:6379/0",
    }
    other_url = Settings.from_env({**base, "LIVECALLS_REDIS_URL": "redis://:pw-2@b.example:6380"})
    explicit = Settings.from_env({**base, "LIVECALLS_FLEET_SECRET": "  the-fleet-9  "})

    assert Settings.from_env(base).fleet_secrets() == other_url.fleet_secrets() == ["zk-1", "zs-2"]
    assert explicit.fleet_secrets() == ["the-fleet-9"]
    assert "the-fleet-9" in explicit.secrets()  # redacted like any credential
    assert "the-fleet-9" not in repr(explicit)
