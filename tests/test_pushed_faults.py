"""Every delivery fault of the simulator's pushed callbacks, through a real MCP client over
streamable HTTP: the server at a public URL the simulator posts Twilio's signed callbacks to, a
resource subscription, and ``wait_for_call_state``. The pollers' sleep is the test's (``Paused``):
no upstream poll comes unless the test lets its interval pass, so each update heard was pushed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import TextResourceContents
from pushed_support import Paused

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.server.app import LiveCallsApp
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simkit.callbacks import Change
from mcp_livecalls.simulator import (
    DEMO_CREDENTIALS,
    ManualClock,
    SimCall,
    Simulator,
    loopback_socket,
    serve_asgi,
    serve_simulator,
)
from mcp_livecalls.simulator.push import Delivery, PushFaults
from mcp_livecalls.web.front import http_app

pytestmark = pytest.mark.anyio

RECONCILE_S = 30.0
TWILIO = ProviderName("twilio")
STATUS = {"ringing": "ringing", "in_progress": "in_progress", "on_hold": "on_hold", "ended": "ended"}


@dataclass
class World:
    simulator: Simulator
    app: LiveCallsApp
    paused: Paused
    url: str


@pytest.fixture
def world(clock: ManualClock) -> Iterator[World]:
    with _serving(clock, "twilio") as served:
        yield served


@pytest.fixture(params=["telnyx", "vonage"])
def timed_world(request: pytest.FixtureRequest, clock: ManualClock) -> Iterator[World]:
    """A world of one provider whose events carry their own time (no sequence number). Answers
    stay cached for an hour: a tool call's cached answer then shows what the events made of it."""
    with _serving(clock, request.param, cache_ttl_s=3600) as served:
        yield served


@contextmanager
def _serving(clock: ManualClock, provider: str, cache_ttl_s: float = 0) -> Iterator[World]:
    simulator = Simulator(seed=5, clock=clock, live_calls=8, providers=(provider,))
    with serve_simulator(simulator) as sim_url:
        sock = loopback_socket()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = simulator_settings(sim_url, simulator.pusher.credentials(DEMO_CREDENTIALS))
        # cache_ttl_s=0: a reading after the reconcile interval goes upstream, whatever the wall clock
        settings = settings.with_changes(public_url=url, reconcile_s=RECONCILE_S, cache_ttl_s=cache_ttl_s)
        paused = Paused()
        app = LiveCallsApp(settings, now=clock.now, sleep=paused.sleep)
        served = http_app(create_server(app=app), settings, host="127.0.0.1")
        with serve_asgi(served, name="mcp-http", sock=sock):
            simulator.pusher.push_to(url)
            yield World(simulator, app, paused, url)


@asynccontextmanager
async def _client(world: World) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(5.0, read=60.0)) as http,
        Client(streamable_http_client(f"{world.url}/mcp", http_client=http)) as client,
    ):
        yield client


def _sequenced(change: Change) -> bool:
    """Whether Twilio numbers the change's callback (call progress, not a conference's hold)."""
    return change.state in ("ringing", "in_progress", "ended") and change.before != "on_hold"


def _upcoming(world: World, count: int, *, sequenced: tuple[int, ...] = ()) -> tuple[SimCall, list[Change]]:
    """A call with ``count`` changes to come that Twilio calls back about, those at the places
    ``sequenced`` numbered (and so seen in its REST answers too, unlike a hold). The clock moves
    on (in steps the pusher posts at) until the population has one."""
    simulator = world.simulator
    for _ in range(120):
        now = simulator.clock.now()
        for call in simulator.population.visible("twilio"):
            schedule = call.schedule
            changes = [
                Change(call, state, schedule[i - 1][1], at, i)
                for i, (at, state) in enumerate(schedule)
                if at > now and state != "early_media"
            ][:count]
            if len(changes) == count and all(_sequenced(changes[place]) for place in sequenced):
                return call, changes
        assert isinstance(simulator.clock, ManualClock)
        simulator.clock.advance(5)
    raise AssertionError("no call of the simulator has the changes this test needs")


async def _settled(world: World) -> list[Delivery]:
    return await anyio.to_thread.run_sync(world.simulator.pusher.settled, 30.0)


def _uri(call: SimCall) -> str:
    return f"livecalls://calls/twilio/{call.id}"


async def test_a_delayed_event_still_arrives_and_ends_a_waiting_wait_for_call_state(
    world: World, clock: ManualClock
) -> None:
    call, [change, *_] = _upcoming(world, 1)
    answers: list[Any] = []
    world.simulator.pusher.faults = PushFaults(delay_s=0.2)

    async with _client(world) as client:

        async def wait() -> None:
            until = [STATUS[change.state]]
            args = {"call_id": call.id, "provider": "twilio", "until": until, "timeout_s": 55}
            answers.append(await client.call_tool("wait_for_call_state", args))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(wait)
                await world.paused.until_sleeping(1)  # read once, now pausing: no poll would come
                clock.set(change.at)

    [answer] = answers
    assert answer.structured_content["outcome"] in ("reached", "ended")
    ends = {"ended", "failed"}  # an unanswered call's end may be a failure (busy, no answer)
    assert answer.structured_content["call"]["status"] in (
        ends if change.state == "ended" else {STATUS[change.state]}
    )
    assert world.app.pushed.taken >= 1


async def _heard(updates: Any) -> str | None:
    update = await anext(aiter(updates))
    return getattr(update, "uri", None)


async def test_a_duplicated_event_notifies_once(world: World, clock: ManualClock) -> None:
    call, [first, sentinel] = _upcoming(world, 2)
    world.simulator.pusher.faults = PushFaults(duplicate=True)

    async with _client(world) as client, client.listen(resource_subscriptions=[_uri(call)]) as updates:
        with anyio.fail_after(30):
            await world.paused.until_sleeping(1)
            clock.set(first.at)
            heard = [await _heard(updates)]
            deliveries = await _settled(world)  # the duplicate was answered: it was taken or not
            clock.set(sentinel.at)  # a change after it: the next update heard is for this one
            heard.append(await _heard(updates))

    ours = [d for d in deliveries if d.callback.call_id == call.id and d.callback.change == first]
    assert [d.status for d in ours] == [204, 204]  # the same request twice, both accepted
    assert heard == [_uri(call), _uri(call)]
    assert world.app.watcher.applied == 2  # one reading per change, none for the duplicate
    assert world.app.pushed.duplicates >= 1


async def test_an_older_event_arriving_late_does_not_roll_the_state_back(
    world: World, clock: ManualClock
) -> None:
    call, [older, newer, sentinel] = _upcoming(world, 3, sequenced=(0, 1))
    world.simulator.pusher.faults = PushFaults(reorder=True)

    async with _client(world) as client, client.listen(resource_subscriptions=[_uri(call)]) as updates:
        with anyio.fail_after(30):
            await world.paused.until_sleeping(1)
            clock.set(newer.at)  # both changes in one look, sent newest first
            heard = [await _heard(updates)]
            deliveries = await _settled(world)
            world.simulator.pusher.faults = PushFaults()
            clock.set(sentinel.at)
            heard.append(await _heard(updates))

    ours = [d.callback.change for d in deliveries if d.callback.change in (older, newer)]
    assert ours == [newer, older]  # the older one did arrive, after the newer
    assert heard == [_uri(call), _uri(call)]
    assert world.app.watcher.applied == 2  # the newer state, then the sentinel: no step back
    assert world.app.pushed.stale >= 1


async def test_a_dropped_event_is_caught_by_the_reconcile_poll(world: World, clock: ManualClock) -> None:
    call, [warm, dropped] = _upcoming(world, 2, sequenced=(1,))

    async with _client(world) as client, client.listen(resource_subscriptions=[_uri(call)]) as updates:
        with anyio.fail_after(30):
            await world.paused.until_sleeping(1)
            clock.set(warm.at)  # an event arrives: Twilio pushes, so polling becomes the reconciler
            await _heard(updates)
            await world.paused.until_sleeping(1)
            world.simulator.pusher.faults = PushFaults(drop=1.0)
            clock.set(dropped.at)
            deliveries = await _settled(world)
            polls, pause = world.app.watcher.upstream_polls, world.paused.asked[-1]
            world.paused.release()  # the reconcile interval passes (the test's clock)
            heard = await _heard(updates)

    assert [d.dropped for d in deliveries if d.callback.change == dropped] == [True]
    assert pause == RECONCILE_S  # the poll that caught it was the reconcile
    assert world.app.watcher.upstream_polls == polls + 1
    assert heard == _uri(call)


async def test_a_wrongly_signed_event_is_refused_and_changes_nothing(
    world: World, clock: ManualClock
) -> None:
    call, [refused, sentinel] = _upcoming(world, 2)
    before = len(await _settled(world)), world.app.pushed.taken
    world.simulator.pusher.faults = PushFaults(wrong_signature=True)

    async with _client(world) as client, client.listen(resource_subscriptions=[_uri(call)]) as updates:
        with anyio.fail_after(30):
            await world.paused.until_sleeping(1)
            clock.set(refused.at)
            deliveries = await _settled(world)
            taken = world.app.pushed.taken
            world.simulator.pusher.faults = PushFaults()
            clock.set(sentinel.at)
            heard = await _heard(updates)  # the first update heard is the sentinel's

    wrong = deliveries[before[0] :]
    assert wrong
    assert {d.status for d in wrong} == {403}
    assert taken == before[1]
    assert heard == _uri(call)
    assert world.app.watcher.applied == 1  # the sentinel's event only


def _statuses(change: Change) -> set[str]:
    """What the tools may say after ``change`` (an unanswered call's end may be a failure)."""
    return {"ended", "failed"} if change.state == "ended" else {change.state}


def _pushed_about(
    world: World, count: int, *, after_s: float = 0.0, live_after: bool = False
) -> tuple[SimCall, list[Change]]:
    """A call of the world's one provider with ``count`` changes to come, more than ``after_s``
    from now, that its provider calls back about (the first two to different states; with
    ``live_after``, the last not the end); the clock moves on (in steps the pusher posts at)
    until the population has one."""
    simulator = world.simulator
    [provider] = simulator.population.providers
    maker = simulator.pusher.makers[provider]
    for _ in range(120):
        now = simulator.clock.now()
        for call in simulator.population.visible(provider):
            schedule = call.schedule
            changes = [
                change
                for i, (at, state) in enumerate(schedule)
                if (at - now).total_seconds() > after_s
                and maker.payload(change := Change(call, state, schedule[i - 1][1], at, i), at)
            ][:count]
            if (
                len(changes) == count
                and call.state_at(now) != "ended"
                and not (live_after and changes[-1].state == "ended")
                and (count < 2 or not _statuses(changes[0]) & _statuses(changes[1]))
            ):
                return call, changes
        assert isinstance(simulator.clock, ManualClock)
        simulator.clock.advance(5)
    raise AssertionError("no call of the simulator has the changes this test needs")


async def test_an_older_timed_event_arriving_late_does_not_roll_the_state_back(timed_world: World) -> None:
    """Telnyx and Vonage number no events: their own time (``occurred_at``, ``timestamp``) orders them."""
    world, clock = timed_world, timed_world.simulator.clock
    assert isinstance(clock, ManualClock)
    call, [older, newer, sentinel] = _pushed_about(world, 3)
    uri = f"livecalls://calls/{call.provider}/{call.id}"
    world.simulator.pusher.faults = PushFaults(reorder=True)

    args = {"call_id": call.id, "provider": call.provider}

    async with _client(world) as client, client.listen(resource_subscriptions=[uri]) as updates:
        with anyio.fail_after(30):
            await world.paused.until_sleeping(1)
            await client.call_tool("get_live_call", args)  # cached now; the events patch it
            clock.set(newer.at)  # both changes in one look, sent newest first
            heard = [await _heard(updates)]
            deliveries = await _settled(world)
            shown = (await client.call_tool("get_live_call", args)).structured_content
            world.simulator.pusher.faults = PushFaults()
            clock.set(sentinel.at)
            heard.append(await _heard(updates))

    ours = [d for d in deliveries if d.callback.change in (older, newer)]
    assert [d.callback.change for d in ours] == [newer, older]  # the older one did arrive, last
    assert {d.status for d in ours} == {204}  # both verified and answered
    assert shown is not None
    assert shown["status"] in _statuses(newer)  # the newer event's state, not the older's
    assert heard == [uri, uri]
    assert world.app.watcher.applied == 2  # the newer state, then the sentinel: no step back
    assert world.app.pushed.stale >= 1  # other calls' changes in the look were reordered too


async def _providers_updates(client: Client) -> dict[str, str | None]:
    read = await client.read_resource("livecalls://providers")
    contents = read.contents[0]
    assert isinstance(contents, TextResourceContents)
    return {p["name"]: p.get("updates") for p in json.loads(contents.text)["providers"] if p["configured"]}


async def test_a_received_provider_is_only_reconciled_from_the_first_reading_before_any_event(
    world: World,
) -> None:
    call = world.simulator.population.live("twilio")[0]

    async with _client(world) as client, client.listen(resource_subscriptions=[_uri(call)]):
        with anyio.fail_after(30):
            said = await _providers_updates(client)
            await world.paused.until_sleeping(1)

    assert world.app.pushed.taken == 0  # no event yet
    assert world.paused.asked == [RECONCILE_S]  # the receiver is there: no 2-second polls first
    assert said["twilio"] == "pushed"
    assert said["zudu"] == "polled"  # no live webhooks


async def test_a_watched_provider_quiet_for_two_reconcile_intervals_is_polled_until_its_next_event(
    world: World, clock: ManualClock
) -> None:
    call, [sentinel] = _pushed_about(world, 1, after_s=2 * RECONCILE_S + 5, live_after=True)
    world.simulator.pusher.faults = PushFaults(drop=1.0)  # every event lost: the provider is quiet
    polled_every = world.app.settings.poll_interval_s

    async with _client(world) as client, client.listen(resource_subscriptions=[_uri(call)]) as updates:
        with anyio.fail_after(30):
            await world.paused.until_asked(1)
            clock.advance(RECONCILE_S)
            world.paused.release()  # the reconcile reading, within the quiet window
            await world.paused.until_asked(2)
            clock.advance(RECONCILE_S + 1)
            world.paused.release()  # two intervals and more with no event: quiet
            await world.paused.until_asked(3)
            quiet = world.app.pushed.healthy(TWILIO)
            world.simulator.pusher.faults = PushFaults()
            clock.set(sentinel.at)  # an event arrives: pushed again
            await _heard(updates)
            await world.paused.until_asked(4)

    # (a later callback of the sentinel's change may wake the poller again: only the first four count)
    assert world.paused.asked[:4] == [RECONCILE_S, RECONCILE_S, polled_every, RECONCILE_S]
    assert not quiet
    assert world.app.pushed.healthy(TWILIO)


async def test_a_wait_for_call_state_falls_back_to_polling_when_its_provider_goes_quiet(
    world: World, clock: ManualClock
) -> None:
    call, _ = _pushed_about(world, 1, after_s=2 * RECONCILE_S + 5)
    world.simulator.pusher.faults = PushFaults(drop=1.0)

    async with _client(world) as client:

        async def wait() -> None:
            args = {"call_id": call.id, "provider": "twilio", "until": ["ended"], "timeout_s": 55}
            await client.call_tool("wait_for_call_state", args)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(wait)
                await world.paused.until_asked(1)
                clock.advance(2 * RECONCILE_S + 1)
                world.paused.release()
                await world.paused.until_asked(2)
                group.cancel_scope.cancel()

    first, after_quiet = world.paused.asked
    assert first > 1.0  # the reconcile interval (or what is left of the wait): pushed from the start
    assert after_quiet == 1.0  # quiet since the wait began: the wait's own poll pause
