"""Pushed events wake the pollers of their call at once, through the real MCP client; replays
change nothing; a pushing provider's resources are re-polled only every reconcile interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from mcp import Client
from pushed_support import Paused

from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import CallStatus, ProviderName
from mcp_livecalls.providers.hooks import WebhookEvent
from mcp_livecalls.server.app import LiveCallsApp
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import Fault, ManualClock, SimCall, Simulator

pytestmark = pytest.mark.anyio


def _changing_call(simulator: Simulator) -> SimCall:
    now = simulator.clock.now()
    return next(
        call
        for provider in ("exotel", "vobiz")
        for call in simulator.population.live(provider)
        if any(at > now for at, _ in call.schedule)
    )


def _event(call: SimCall, key: str) -> WebhookEvent:
    return WebhookEvent(ProviderName(call.provider), call.id, "hint", key)


async def test_a_pushed_event_is_heard_at_once_and_its_replay_changes_nothing(
    settings: Settings, simulator: Simulator, clock: ManualClock
) -> None:
    paused = Paused()
    app = LiveCallsApp(settings.with_changes(reconcile_s=30.0), now=simulator.clock.now, sleep=paused.sleep)
    call = _changing_call(simulator)
    uri = f"livecalls://calls/{call.provider}/{call.id}"
    heard: list[Any] = []

    async with (
        Client(create_server(app=app)) as client,
        client.listen(resource_subscriptions=[uri]) as updates,
    ):
        with anyio.fail_after(30):
            await paused.until_sleeping(1)  # the first reading is done; no poll would come again
            clock.set(next(at for at, _ in call.schedule if at > clock.now()))
            assert await app.pushed.take([_event(call, "nonce:1")]) == 1
            async for update in updates:
                heard.append(update)
                break
            await paused.until_sleeping(1)
            requests = sum(simulator.requests.values())
            assert await app.pushed.take([_event(call, "nonce:1")]) == 0  # a replay: nothing is read again
            assert sum(simulator.requests.values()) == requests
            assert app.pushed.duplicates == 1

    assert [getattr(update, "uri", None) for update in heard] == [uri]
    assert app.pushed.healthy(ProviderName(call.provider))
    assert paused.asked[-1] == 30.0  # the provider pushes: the next poll is only the reconcile


async def test_an_event_before_a_watchs_first_reading_is_announced_with_that_reading(
    settings: Settings, simulator: Simulator, clock: ManualClock
) -> None:
    """The first reading fails (every request a 400, never retried); the call changes and its
    event arrives before the next reading. Nothing earlier was announced, so that reading is."""
    paused = Paused()
    app = LiveCallsApp(settings.with_changes(reconcile_s=30.0), now=simulator.clock.now, sleep=paused.sleep)
    call = _changing_call(simulator)
    uri = f"livecalls://calls/{call.provider}/{call.id}"
    simulator.faults.inject(Fault(kind="status", status_code=400, provider=call.provider))

    async with (
        Client(create_server(app=app)) as client,
        client.listen(resource_subscriptions=[uri]) as updates,
    ):
        with anyio.fail_after(30):
            await paused.until_sleeping(1)  # the first reading failed; the poller waits
            simulator.faults.clear()
            clock.set(next(at for at, _ in call.schedule if at > clock.now()))
            assert await app.pushed.take([_event(call, "nonce:early")]) == 1
            heard = await anext(aiter(updates))

    assert getattr(heard, "uri", None) == uri
    assert app.watcher.upstream_polls == 2  # the failed reading and the one the event made


async def test_a_provider_that_never_pushed_is_polled_at_the_poll_interval(settings: Settings) -> None:
    app = LiveCallsApp(settings.with_changes(poll_interval_s=2.0, reconcile_s=30.0))
    provider = next(iter(app.settings.configured))

    assert app.watcher.interval_for(f"livecalls://calls/{provider}/abc") == 2.0
    assert app.watcher.interval_for("livecalls://calls/active") == 2.0


def _talking_call(simulator: Simulator, provider: str) -> SimCall:
    now = simulator.clock.now()
    return next(call for call in simulator.population.live(provider) if call.state_at(now) == "in_progress")


def _signed(call: SimCall, key: str, status: CallStatus) -> WebhookEvent:
    """An event as a reader of a provider that signs the body makes it (data, not a hint)."""
    return WebhookEvent(ProviderName(call.provider), call.id, "apply", key, status=status)


async def test_a_signed_event_is_applied_to_the_watched_call_without_an_upstream_request(
    settings: Settings, simulator: Simulator
) -> None:
    paused = Paused()
    app = LiveCallsApp(settings.with_changes(reconcile_s=30.0), now=simulator.clock.now, sleep=paused.sleep)
    call = _talking_call(simulator, "twilio")
    uri = f"livecalls://calls/twilio/{call.id}"

    async with (
        Client(create_server(app=app)) as client,
        client.listen(resource_subscriptions=[uri]) as updates,
    ):
        with anyio.fail_after(30):
            await paused.until_sleeping(1)
            requests = sum(simulator.requests.values())
            assert await app.pushed.take([_signed(call, "signature:a", CallStatus.ON_HOLD)]) == 1
            heard = await anext(aiter(updates))
            await paused.until_sleeping(1)

    assert getattr(heard, "uri", None) == uri
    assert sum(simulator.requests.values()) == requests  # the event was the reading
    assert (app.watcher.applied, app.watcher.upstream_polls) == (1, 1)


async def test_a_hold_told_by_a_webhook_stands_over_readings_that_cannot_say_hold(
    settings: Settings, simulator: Simulator
) -> None:
    """Twilio's call resource says in-progress for a held call: a reconcile reading after a
    participant-hold event keeps the hold; the unhold event ends it."""
    paused = Paused()
    app = LiveCallsApp(settings.with_changes(reconcile_s=30.0), now=simulator.clock.now, sleep=paused.sleep)
    call = _talking_call(simulator, "twilio")
    uri = f"livecalls://calls/twilio/{call.id}"
    args = {"call_id": call.id, "provider": "twilio"}

    async def status_read_afresh(client: Client) -> Any:
        app.service.cache.forget(lambda key: True)  # what the provider answers now, not a cached answer
        return (await client.call_tool("get_live_call", args)).structured_content["status"]

    async with (
        Client(create_server(app=app)) as client,
        client.listen(resource_subscriptions=[uri]) as updates,
    ):
        with anyio.fail_after(30):
            await paused.until_sleeping(1)
            assert await app.pushed.take([_signed(call, "signature:hold", CallStatus.ON_HOLD)]) == 1
            await anext(aiter(updates))
            await paused.until_asked(2)
            polls = app.watcher.upstream_polls
            paused.release()  # the reconcile reading: the call resource has no word for hold
            await paused.until_asked(3)
            reconciled = app.watcher.upstream_polls - polls
            held = await status_read_afresh(client)
            assert await app.pushed.take([_signed(call, "signature:unhold", CallStatus.IN_PROGRESS)]) == 1
            await anext(aiter(updates))
            talking = await status_read_afresh(client)

    assert (reconciled, held, talking) == (1, "on_hold", "in_progress")


async def test_a_waiting_wait_for_call_state_returns_when_a_signed_event_ends_the_call(
    settings: Settings, simulator: Simulator
) -> None:
    paused = Paused()
    app = LiveCallsApp(settings, now=simulator.clock.now, sleep=paused.sleep)
    call = _talking_call(simulator, "retell")
    answers: list[Any] = []

    async with Client(create_server(app=app)) as client:

        async def wait() -> None:
            args = {"call_id": call.id, "provider": "retell", "until": ["ended"], "timeout_s": 55}
            answers.append(await client.call_tool("wait_for_call_state", args))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(wait)
                await paused.until_sleeping(1)  # read once, now pausing: no poll would come
                requests = sum(simulator.requests.values())
                assert await app.pushed.take([_signed(call, "retell:ended", CallStatus.ENDED)]) == 1

    [answer] = answers
    assert answer.structured_content["outcome"] == "reached"
    assert answer.structured_content["call"]["status"] == "ended"
    assert sum(simulator.requests.values()) == requests


async def test_a_hint_makes_a_waiting_wait_for_call_state_read_the_call_at_once(
    settings: Settings, simulator: Simulator, clock: ManualClock
) -> None:
    paused = Paused()
    app = LiveCallsApp(settings, now=simulator.clock.now, sleep=paused.sleep)
    call = _changing_call(simulator)
    answers: list[Any] = []

    async with Client(create_server(app=app)) as client:

        async def wait() -> None:
            args = {"call_id": call.id, "provider": call.provider, "until": ["ended"], "timeout_s": 55}
            answers.append(await client.call_tool("wait_for_call_state", args))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(wait)
                await paused.until_sleeping(1)
                clock.set(call.ended_at)
                assert await app.pushed.take([_event(call, "nonce:end")]) == 1

    [answer] = answers
    assert answer.structured_content["outcome"] == "ended"  # read at once: gone from the live calls


async def test_events_are_ordered_by_their_own_time_when_they_say_a_status(settings: Settings) -> None:
    app = LiveCallsApp(settings)
    provider, at = ProviderName("telnyx"), datetime(2026, 12, 8, 4, 0, tzinfo=UTC)

    def event(key: str, seconds: float, status: CallStatus | None) -> WebhookEvent:
        when = at + timedelta(seconds=seconds)
        return WebhookEvent(provider, "call-1", "apply", key, status=status, at=when)

    taken = [
        await app.pushed.take([event("hold", 10, CallStatus.ON_HOLD)]),
        await app.pushed.take([event("answered", 5, CallStatus.IN_PROGRESS)]),  # older: left out
        await app.pushed.take([event("dtmf", 1, None)]),  # older, but says no status: only a reading
        await app.pushed.take([event("unhold", 10, CallStatus.IN_PROGRESS)]),  # the same time: kept
        await app.pushed.take([WebhookEvent(provider, "call-2", "apply", "x", status=CallStatus.ENDED)]),
    ]

    assert taken == [1, 0, 1, 1, 1]  # each call has its own order
    assert app.pushed.stale == 1
