"""Replicas sharing one real Redis: cache and single flight, pacing, memo, bus, poller leadership.

Every replica is a separate ``create_server`` app reached through the real ``mcp.Client``, all
asking one simulator over loopback HTTP and sharing one Redis (see ``fleet_support``).
"""

from __future__ import annotations

import logging
import socket
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any

import anyio
import httpx2
import pytest
from fleet_support import (
    FakeTime,
    RedisProcess,
    own_redis_process,
    patient,
    ringing_call,
    start_replicas,
    with_redis,
    zudu_call,
)
from mcp import Client
from mcp_types import ResourceUpdatedNotification
from prometheus_client import generate_latest

from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.errors import ConfigError
from mcp_livecalls.fleet.cache import SharedFreshnessCache, decode, encode
from mcp_livecalls.fleet.core import Fleet, as_bytes
from mcp_livecalls.fleet.pacer import SharedPacer
from mcp_livecalls.server.app import LiveCallsApp
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import ManualClock, Simulator
from mcp_livecalls.upstream.pacing import RequestPacer
from mcp_livecalls.web.metrics import registry_for

pytestmark = pytest.mark.anyio

POLL_S = 0.2
WAIT_S = 30.0
"""Every wait in this file is bounded by this, far above what it takes (milliseconds)."""


# -- a real Redis ------------------------------------------------------------------------------


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    """A redis-server of this test's own, to stop, start or cut off mid-run."""
    yield from own_redis_process()


def _upstream(simulator: Simulator) -> int:
    return sum(simulator.requests.values())


def _text(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


# -- the shared cache and single flight ---------------------------------------------------------


async def test_three_replicas_polled_by_many_clients_ask_upstream_once_per_resource(
    settings: Settings, simulator: Simulator, redis_url: str
) -> None:
    call = zudu_call(simulator)
    fleet_settings = with_redis(settings, redis_url, cache_ttl_s=60)
    async with start_replicas(3, fleet_settings, simulator) as replicas:
        before = _upstream(simulator)
        results: list[Any] = []

        async def ask(client: Client, tool: str, arguments: dict[str, Any]) -> None:
            results.append(await client.call_tool(tool, arguments))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for _, client in replicas:
                    for _ in range(10):
                        lookup = {"call_id": call.id, "provider": "zudu"}
                        group.start_soon(ask, client, "get_live_call", lookup)
                        group.start_soon(ask, client, "list_active_calls", {"provider": "zudu"})
        after = _upstream(simulator)
        one_replica = sum(app.service.cache.upstream_calls for app, _ in replicas)
        fleet = replicas[0][0].fleet
        assert fleet is not None
        keys = [as_bytes(key).decode() for key in await fleet.redis.keys("*")]

    assert all(not result.is_error for result in results), [_text(r) for r in results if r.is_error]
    assert len(results) == 60
    assert one_replica == 2  # one upstream flight per resource in the whole fleet
    assert after - before <= 3  # a call lookup and a list page (which may take two requests)
    assert keys
    assert all(key.startswith("livecalls:") for key in keys)
    assert not [key for key in keys if call.id in key]  # keys are hashes, never call ids


async def test_an_upstream_error_is_shared_by_nobody_and_stored_for_nobody(
    settings: Settings, simulator: Simulator, redis_url: str
) -> None:
    fleet_settings = with_redis(settings, redis_url, cache_ttl_s=60)
    async with start_replicas(2, fleet_settings, simulator) as replicas:
        before = _upstream(simulator)
        for _, client in replicas:
            result = await client.call_tool(
                "get_live_call", {"call_id": "no-such-call-0001", "provider": "zudu"}
            )
            assert result.is_error
            assert "not" in _text(result).lower()

    assert _upstream(simulator) - before == 2  # the second replica asked again: errors are not cached


async def test_only_normalized_models_are_stored_and_a_stranger_is_a_miss() -> None:
    from mcp_livecalls.core.models import StreamDetails

    details = StreamDetails.model_validate(
        {"provider": "zudu", "call_id": "c-1", "status": "in_progress", "legs": []}
    )
    payload = encode(details)

    assert payload is not None
    assert payload.startswith(b"StreamDetails\n")
    assert decode(payload) == details
    assert encode({"raw": "provider body"}) is None  # anything else stays in the replica
    assert decode(b"Something\n{}") is None
    assert decode(b"LiveCall\n{not json") is None


async def test_a_crashed_leaders_lock_expires_and_a_waiter_asks_upstream_itself(redis_url: str) -> None:
    fleet = patient(Fleet(redis_url, prefix="t:"))
    cache = SharedFreshnessCache(0, fleet, lock_ttl_s=0.2)
    digest = fleet.hashed(repr(("zudu", "call", "c-9")))
    await fleet.redis.set(fleet.key("lock", digest), "crashed-leader", px=200)  # nobody will answer
    fetched: list[str] = []

    async def fetch() -> str:
        fetched.append("asked")
        return "fresh"

    try:
        with anyio.fail_after(WAIT_S):
            value = await cache.get(("zudu", "call", "c-9"), fetch)
    finally:
        await fleet.aclose()

    assert value == "fresh"
    assert fetched == ["asked"]
    assert cache.lock_waits == 1


def _details(call_id: str) -> Any:
    from mcp_livecalls.core.models import StreamDetails

    return StreamDetails.model_validate(
        {"provider": "zudu", "call_id": call_id, "status": "in_progress", "legs": []}
    )


async def test_a_leader_whose_replica_fell_back_mid_flight_still_hands_its_answer_over(
    redis_url: str,
) -> None:
    fleets = [patient(Fleet(redis_url, prefix="t:")) for _ in range(2)]
    leader, waiter = (SharedFreshnessCache(0, fleet, lock_ttl_s=60) for fleet in fleets)
    key = ("zudu", "stream", "c-7")
    lock_key = fleets[0].key("lock", fleets[0].hashed(repr(key)))
    asked: list[str] = []
    answers: dict[str, Any] = {}
    fell_back: list[bool] = []

    leading, waiting = anyio.Event(), anyio.Event()
    wait_for_leader = waiter._wait_for_leader

    async def waits(value_key: str, lock_key: str) -> Any:
        waiting.set()
        return await wait_for_leader(value_key, lock_key)

    waiter._wait_for_leader = waits  # type: ignore[method-assign]

    async def lead() -> Any:
        asked.append("leader")
        leading.set()
        await waiting.wait()  # the other replica waits on this leader's lock
        fleets[0].mark_down(OSError("a slow reply elsewhere on this replica"))
        fell_back.append(not fleets[0].available)
        return _details("c-7")

    async def wait() -> Any:
        asked.append("waiter")
        return _details("c-7")

    async def ask(name: str, cache: SharedFreshnessCache, fetch: Callable[[], Any]) -> None:
        answers[name] = await cache.get(key, fetch)

    try:
        with anyio.fail_after(WAIT_S):  # the lock lives 60 s: a waiter left to sit it out fails here
            async with anyio.create_task_group() as group:
                group.start_soon(ask, "leader", leader, lead)
                await leading.wait()
                group.start_soon(ask, "waiter", waiter, wait)
        left_behind = await fleets[1].redis.exists(lock_key)
    finally:
        for fleet in fleets:
            await fleet.aclose()

    assert fell_back == [True]  # the leader's replica was in fallback when it finished...
    assert left_behind == 0  # ...and gave its lock back all the same
    assert asked == ["leader"]  # the waiter got the leader's answer
    assert answers["waiter"] == answers["leader"] == _details("c-7")


async def test_a_lock_lives_as_long_as_its_holder_can_still_take_and_never_beyond_the_budget(
    redis_url: str,
) -> None:
    fleet = patient(Fleet(redis_url, prefix="t:"))
    cache = SharedFreshnessCache(0, fleet, lock_ttl_s=15)
    lives: list[int] = []

    async def fetch(call_id: str) -> Any:
        lock_key = fleet.key("lock", fleet.hashed(repr(("zudu", "stream", call_id))))
        lives.append(await fleet.redis.pttl(lock_key))
        return _details(call_id)

    try:
        with anyio.CancelScope(deadline=anyio.current_time() + 3):  # the caller has 3 s left
            await cache.get(("zudu", "stream", "c-1"), lambda: fetch("c-1"))
        await cache.get(("zudu", "stream", "c-2"), lambda: fetch("c-2"))  # no deadline of its own
    finally:
        await fleet.aclose()

    assert 0 < lives[0] <= 3000
    assert 3000 < lives[1] <= 15000


async def test_the_fleets_lock_lives_at_most_the_tool_budget(
    settings: Settings, simulator: Simulator, redis_url: str
) -> None:
    async with start_replicas(1, with_redis(settings, redis_url), simulator) as [(app, _)]:
        cache = app.service.cache

    assert isinstance(cache, SharedFreshnessCache)
    assert cache.lock_ttl_s == settings.http.tool_budget_s  # as the README says


# -- one pacing budget --------------------------------------------------------------------------


async def test_replicas_share_one_exotel_budget_per_account(redis_url: str) -> None:
    fleets = [patient(Fleet(redis_url, prefix="t:")) for _ in range(3)]
    pacers = [SharedPacer(RequestPacer(6), fleet, account="exotel:ACC1") for fleet in fleets]
    other = SharedPacer(RequestPacer(6), fleets[0], account="exotel:ACC2")
    try:
        granted = [await pacers[i % 3].try_acquire() for i in range(6)]
        seventh = await pacers[1].try_acquire()
        elsewhere = await other.try_acquire()
    finally:
        for fleet in fleets:
            await fleet.aclose()

    assert granted == [0.0] * 6  # six a minute between all three replicas, not six each
    assert 0 < seventh <= 10.5  # the next token of 6/min comes in ~10 s (less the test's own time)
    assert elsewhere == 0.0  # another account has its own budget


async def test_a_providers_rate_limit_reset_pauses_every_replica(redis_url: str) -> None:
    fleets = [patient(Fleet(redis_url, prefix="t:")) for _ in range(2)]
    first, second = (SharedPacer(RequestPacer(200), fleet, account="exotel:ACC1") for fleet in fleets)
    try:
        assert await second.try_acquire() == 0.0
        first.observe(httpx2.Headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "5"}))
        assert await first.try_acquire() > 4  # the pause travels with the next request to Redis
        paused = await second.try_acquire()
    finally:
        for fleet in fleets:
            await fleet.aclose()

    assert 4 < paused <= 5  # the other replica waits for the provider's reset too


async def test_each_replica_is_built_pacing_its_providers_account_through_redis(
    settings: Settings, simulator: Simulator, redis_url: str
) -> None:
    exotel = settings.provider(ProviderName("exotel"))
    assert exotel is not None
    one_a_minute = {**settings.providers, ProviderName("exotel"): replace(exotel, requests_per_minute=1)}
    fleet_settings = with_redis(settings, redis_url, providers=one_a_minute)
    async with start_replicas(2, fleet_settings, simulator) as replicas:
        pacers = [app.service.providers[ProviderName("exotel")].http.pacer for app, _ in replicas]
        unpaced = replicas[0][0].service.providers[ProviderName("zudu")].http.pacer
        first, second = pacers
        assert isinstance(first, SharedPacer)
        assert isinstance(second, SharedPacer)
        taken = await first.try_acquire()
        wait = await second.try_acquire()

    assert taken == 0.0
    assert wait > 0  # the other replica's adapter draws from the same bucket of one
    assert unpaced is None  # Zudu publishes no limit: nothing to share


# -- the provider memo --------------------------------------------------------------------------


async def test_a_call_found_by_one_replica_is_asked_of_its_provider_only_on_another(
    settings: Settings, simulator: Simulator, redis_url: str
) -> None:
    call = zudu_call(simulator)
    async with start_replicas(2, with_redis(settings, redis_url), simulator) as replicas:
        (_, first), (_, second) = replicas
        assert not (await first.call_tool("get_live_call", {"call_id": call.id})).is_error
        before = dict(simulator.requests)
        result = await second.call_tool("get_live_call", {"call_id": call.id})
        asked = {route[0] for route, n in simulator.requests.items() if n > before.get(route, 0)}

    assert not result.is_error, _text(result)
    assert asked == {"zudu"}


# -- the subscription bus and poller leadership -------------------------------------------------


async def test_a_listener_on_one_replica_hears_an_update_the_poller_on_another_found(
    settings: Settings, simulator: Simulator, clock: ManualClock, redis_url: str
) -> None:
    time = FakeTime()
    call = ringing_call(simulator)
    uri = f"livecalls://calls/{call.provider}/{call.id}"
    fleet_settings = with_redis(settings, redis_url, poll_interval_s=POLL_S)
    async with start_replicas(2, fleet_settings, simulator, time=time) as replicas:
        (app_a, client_a), (app_b, client_b) = replicas
        async with client_b.listen(resource_subscriptions=[uri]):
            with anyio.fail_after(WAIT_S):
                await time.until(lambda: time.sleeping == 1)  # B polled first: B leads
            async with client_a.listen(resource_subscriptions=[uri]) as heard_on_a:
                with anyio.fail_after(WAIT_S):
                    await time.until(lambda: time.sleeping == 2)  # A follows
                    polls_a = app_a.watcher.upstream_polls
                    clock.set(next(at for at, _ in call.schedule if at > clock.now()))
                    time.nudge(POLL_S)  # B's next poll sees the change (which may end the call)
                with anyio.fail_after(WAIT_S):
                    event = await heard_on_a.__aiter__().__anext__()

    assert getattr(event, "uri", None) == uri
    assert app_a.watcher.upstream_polls == polls_a  # A never asked upstream: B did
    assert app_b.watcher.upstream_polls >= 2


async def test_a_legacy_subscriber_on_one_replica_hears_an_update_the_poller_on_another_found(
    settings: Settings, simulator: Simulator, clock: ManualClock, redis_url: str
) -> None:
    time = FakeTime()
    call = ringing_call(simulator)
    uri = f"livecalls://calls/{call.provider}/{call.id}"
    heard: list[str] = []
    arrived = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            heard.append(str(message.params.uri))
            arrived.set()

    fleet_settings = with_redis(settings, redis_url, poll_interval_s=POLL_S)
    async with start_replicas(2, fleet_settings, simulator, time=time) as replicas:
        (app_a, _), (_, client_b) = replicas
        async with client_b.listen(resource_subscriptions=[uri]):
            with anyio.fail_after(WAIT_S):
                await time.until(lambda: time.sleeping == 1)  # B leads
            async with Client(create_server(app=app_a), mode="legacy", message_handler=on_message) as legacy:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # resources/subscribe is deprecated in 2026-07-28
                    await legacy.subscribe_resource(uri)
                with anyio.fail_after(WAIT_S):
                    await time.until(lambda: time.sleeping == 2)  # A follows
                    clock.set(next(at for at, _ in call.schedule if at > clock.now()))
                    time.nudge(POLL_S)
                    await arrived.wait()

    assert heard == [uri]


async def test_when_the_leading_poller_dies_another_replica_polls_within_two_intervals(
    settings: Settings, simulator: Simulator, redis_url: str
) -> None:
    time = FakeTime()
    call = zudu_call(simulator)
    uri = f"livecalls://calls/zudu/{call.id}"
    fleet_settings = with_redis(settings, redis_url, poll_interval_s=POLL_S)
    async with start_replicas(2, fleet_settings, simulator, time=time) as replicas:
        (app_a, client_a), (app_b, client_b) = replicas
        async with client_b.listen(resource_subscriptions=[uri]):
            with anyio.fail_after(WAIT_S):
                await time.until(lambda: time.sleeping == 1)
            async with client_a.listen(resource_subscriptions=[uri]) as heard_on_a:
                with anyio.fail_after(WAIT_S):
                    await time.until(lambda: time.sleeping == 2)
                    for _ in range(3):  # steady state: B polls, A follows
                        await time.tick(POLL_S)
                    assert app_b.watcher.leases is not None
                    assert app_a.watcher.leases is not None
                    assert uri in app_b.watcher.leases.leading
                    assert uri not in app_a.watcher.leases.leading
                    polls_a = app_a.watcher.upstream_polls

                    # B's poller dies without a word (a crashed process never resigns).
                    async def crashed(uri: str) -> None:
                        return None

                    app_b.watcher.leases.resign = crashed  # type: ignore[method-assign]
                    app_b.watcher._pollers[uri].scope.cancel()
                    await time.until(lambda: time.sleeping == 1)  # only A's poller is left
                    died_at = time.now
                    while app_a.watcher.upstream_polls == polls_a:
                        await time.tick(POLL_S / 2)  # A asks every half interval
                    took = time.now - died_at
                    # What changed while nobody polled is not lost: the new leader announces.
                    event = await heard_on_a.__aiter__().__anext__()

    assert took <= 2 * POLL_S
    assert getattr(event, "uri", None) == uri


def _count_resignations(time: FakeTime, *apps: LiveCallsApp) -> list[str]:
    """The URIs the pollers of ``apps`` resigned, each noted once its resignation is done."""
    resigned: list[str] = []
    for app in apps:
        leases = app.watcher.leases
        assert leases is not None
        resign = leases.resign

        async def resign_and_note(uri: str, resign: Callable[[str], Awaitable[None]] = resign) -> None:
            await resign(uri)
            resigned.append(uri)
            time.changed()

        leases.resign = resign_and_note  # type: ignore[method-assign]
    return resigned


async def test_when_no_replica_has_a_subscriber_left_nobody_polls(
    settings: Settings, simulator: Simulator, redis_url: str
) -> None:
    time = FakeTime()
    call = zudu_call(simulator)
    uri = f"livecalls://calls/zudu/{call.id}"
    fleet_settings = with_redis(settings, redis_url, poll_interval_s=POLL_S)
    async with start_replicas(2, fleet_settings, simulator, time=time) as replicas:
        (app_a, client_a), (app_b, client_b) = replicas
        async with (
            client_a.listen(resource_subscriptions=[uri]),
            client_b.listen(resource_subscriptions=[uri]),
        ):
            with anyio.fail_after(WAIT_S):
                await time.until(lambda: time.sleeping == 2)
            resigned = _count_resignations(time, app_a, app_b)
        with anyio.fail_after(WAIT_S):
            # A poller resigns after its last sleep ends, over the network: wait for both.
            await time.until(lambda: len(resigned) == 2)
        fleet = app_a.fleet
        assert fleet is not None
        lease = await fleet.redis.exists(fleet.key("lease", fleet.hashed(uri)))

    assert app_a.watcher.watched == set()
    assert app_b.watcher.watched == set()
    assert lease == 0  # the last leader resigned


# -- Redis going away and coming back -----------------------------------------------------------


class _Time:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_redis_stopped_mid_run_fails_no_tool_call_and_sharing_resumes_when_it_returns(
    settings: Settings, simulator: Simulator, own_redis: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    call = zudu_call(simulator)
    wall = _Time()
    fleets = [Fleet(own_redis.url, retry_after_s=2.0, clock=wall) for _ in range(2)]
    fleet_settings = with_redis(settings, own_redis.url, cache_ttl_s=60)
    arguments = {"call_id": call.id, "provider": "zudu"}
    async with start_replicas(2, fleet_settings, simulator, fleets=fleets) as replicas:
        (app_a, first), (app_b, second) = replicas
        assert not (await first.call_tool("get_live_call", arguments)).is_error

        own_redis.stop()
        with caplog.at_level(logging.WARNING, logger="mcp_livecalls.fleet"):
            answers_while_down = []
            for _ in range(3):
                for client in (first, second):
                    with anyio.fail_after(WAIT_S):
                        answers_while_down.append(await client.call_tool("get_live_call", arguments))
                    answers_while_down.append(await client.call_tool("list_active_calls", {}))
        warned = [r for r in caplog.records if "unreachable" in r.getMessage()]
        down = (app_a.fleet.down if app_a.fleet else None, app_b.fleet.down if app_b.fleet else None)
        scraped_while_down = generate_latest(registry_for(app_a)).decode()

        own_redis.start()
        wall.now += 2.0  # the retry is due
        new_call = simulator.population.live("zudu")[1]
        again = {"call_id": new_call.id, "provider": "zudu"}
        before = _upstream(simulator)
        shared = [await client.call_tool("get_live_call", again) for client in (first, second)]
        after = _upstream(simulator)

    failed = [_text(r) for r in answers_while_down if r.is_error]
    assert failed == []
    assert down == (True, True)
    assert len(warned) == 2  # one per replica, not one per call
    assert own_redis.url not in caplog.text
    assert all(not r.is_error for r in shared)
    assert after - before == 1  # shared again: the second replica got the first one's answer
    assert [fleet.down for fleet in fleets] == [False, False]
    assert "livecalls_redis_fallback 1.0" in scraped_while_down
    assert "livecalls_redis_fallbacks_total 1.0" in scraped_while_down


async def test_a_redis_that_accepts_but_never_answers_fails_no_tool_call(
    settings: Settings, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    call = zudu_call(simulator)
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        app = LiveCallsApp(with_redis(settings, url), now=simulator.clock.now)
        with caplog.at_level(logging.WARNING, logger="mcp_livecalls.fleet"):
            async with Client(create_server(app=app)) as client:
                with anyio.fail_after(WAIT_S):
                    results = [
                        await client.call_tool("get_live_call", {"call_id": call.id}),
                        await client.call_tool("list_active_calls", {}),
                        await client.call_tool("get_live_call", {"call_id": call.id, "provider": "zudu"}),
                    ]

    assert [r.is_error for r in results] == [False, False, False]
    assert app.fleet is not None
    assert app.fleet.fallbacks == 1
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1


# -- settings -----------------------------------------------------------------------------------


def test_the_redis_url_is_a_secret_and_its_password_is_redacted() -> None:
    url = "rediss://default:s3cret-pass%21@redis.example:6380/0"
    settings = Settings.from_env({"LIVECALLS_REDIS_URL": url, "LIVECALLS_REDIS_PREFIX": "cc1:"})

    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == url
    assert settings.redis_prefix == "cc1:"
    assert "s3cret-pass!" in settings.secrets()
    assert "s3cret-pass%21" in settings.secrets()
    assert url not in repr(settings)
    app = LiveCallsApp(settings)
    assert "s3cret" not in app.redact(f"could not reach {url}")


def test_a_redis_url_of_another_scheme_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError, match="redis://") as refused:
        Settings.from_env({"LIVECALLS_REDIS_URL": "http://user:hunter22@host/0"})

    assert "hunter22" not in str(refused.value)


def test_without_redis_the_server_keeps_its_in_process_state() -> None:
    app = LiveCallsApp(Settings())

    assert app.fleet is None
    assert type(app.bus).__name__ == "InMemorySubscriptionBus"
    assert app.watcher.leases is None
