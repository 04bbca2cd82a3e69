"""Live updates, wait_for_call_state, prompts and completions, through the real MCP client."""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    PromptReference,
    ResourceTemplateReference,
    ResourceUpdatedNotification,
    TextContent,
)

from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import LiveCall, ProviderName
from mcp_livecalls.providers.zudu.adapter import ZuduProvider
from mcp_livecalls.server.app import LiveCallsApp
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import ManualClock, SimCall, Simulator

pytestmark = pytest.mark.anyio

POLL_S = 0.2
WAIT_S = 30.0
"""Every wait here is bounded by this, far above what it takes (time is fake; work is milliseconds)."""


class FakeTime:
    """Time for the pollers and the wait loop that moves only when the test says so.

    ``sleep`` blocks until the test calls ``tick`` (one poll interval for every sleeper), or, with
    ``auto``, returns at once after moving the clock. ``until`` waits (bounded by the caller's
    ``fail_after``) for a condition that sleeping, waking or cancelling makes true.
    """

    def __init__(self, *, auto: bool = False) -> None:
        self.auto = auto
        self.now = 1000.0
        self.sleeps = 0
        self.cancelled = 0
        self._sleepers: list[anyio.Event] = []
        self._changed = anyio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if self.auto:
            self.now += seconds
            await anyio.lowlevel.checkpoint()
            return
        wake = anyio.Event()
        self._sleepers.append(wake)
        self.sleeps += 1
        self._signal()
        try:
            await wake.wait()
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            self._signal()
            raise
        finally:
            self._sleepers.remove(wake)

    @property
    def sleeping(self) -> int:
        return len(self._sleepers)

    def tick(self, seconds: float = POLL_S) -> None:
        self.now += seconds
        for wake in self._sleepers:
            wake.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            changed = self._changed
            await changed.wait()

    async def next_poll(self) -> None:
        """Wake the sleepers and wait until each has polled and gone back to sleep."""
        target = self.sleeps + self.sleeping
        self.tick()
        await self.until(lambda: self.sleeps >= target)

    def _signal(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def app(settings: Settings, simulator: Simulator, fake_time: FakeTime) -> LiveCallsApp:
    return LiveCallsApp(
        settings.with_changes(poll_interval_s=POLL_S),
        now=simulator.clock.now,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )


@pytest.fixture
def watched_server(app: LiveCallsApp) -> MCPServer[Any]:
    return create_server(app=app)


@pytest.fixture
async def watching(watched_server: MCPServer[Any]) -> AsyncIterator[Client]:
    async with Client(watched_server) as connected:
        yield connected


@pytest.fixture
async def waiting(settings: Settings, simulator: Simulator) -> AsyncIterator[Client]:
    """A server whose wait loop sleeps on a fake clock that moves as fast as it is asked to."""
    time = FakeTime(auto=True)
    app = LiveCallsApp(settings, now=simulator.clock.now, sleep=time.sleep, clock=time.clock)
    async with Client(create_server(app=app)) as connected:
        yield connected


def _next_change(call: SimCall, now: datetime) -> datetime:
    return next(at for at, _ in call.schedule if at > now)


def _ringing_call(simulator: Simulator) -> SimCall:
    now = simulator.clock.now()
    return next(
        call
        for provider in ("exotel", "vobiz", "zudu")
        for call in simulator.population.live(provider)
        if call.state_at(now) in ("ringing", "early_media")
    )


def _upstream(simulator: Simulator) -> int:
    return sum(simulator.requests.values())


class Updates:
    """Collects ``notifications/resources/updated`` that a legacy client receives."""

    def __init__(self) -> None:
        self.uris: list[str] = []
        self._changed = anyio.Event()

    async def __call__(self, message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            self.uris.append(str(message.params.uri))
            self._changed.set()
            self._changed = anyio.Event()

    async def wait_for(self, count: int) -> None:
        while len(self.uris) < count:
            changed = self._changed
            await changed.wait()


@asynccontextmanager
async def _legacy(server: MCPServer[Any], updates: Updates) -> AsyncIterator[Client]:
    async with Client(server, mode="legacy", message_handler=updates) as client:
        yield client


async def _subscribe(client: Client, uri: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resources/subscribe is deprecated in 2026-07-28
        await client.subscribe_resource(uri)


async def _unsubscribe(client: Client, uri: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        await client.unsubscribe_resource(uri)


async def test_a_subscriber_hears_of_a_state_change_at_the_next_poll_and_not_before(
    watching: Client, simulator: Simulator, clock: ManualClock, fake_time: FakeTime
) -> None:
    call = _ringing_call(simulator)
    uri = f"livecalls://calls/{call.provider}/{call.id}"
    events: list[Any] = []

    async with watching.listen(resource_subscriptions=[uri]) as subscription:
        with anyio.fail_after(WAIT_S):
            await fake_time.until(lambda: fake_time.sleeping == 1)  # the first poll is done
            await fake_time.next_poll()  # nothing changed: nothing is sent
            clock.set(_next_change(call, clock.now()))
            fake_time.tick()  # the next poll sees the change
            async for event in subscription:
                events.append(event)
                break

    assert [getattr(event, "uri", None) for event in events] == [uri]


async def test_many_subscribers_share_one_upstream_poller(
    watched_server: MCPServer[Any], app: LiveCallsApp, simulator: Simulator, fake_time: FakeTime
) -> None:
    call = simulator.population.live("zudu")[0]
    uri = f"livecalls://calls/zudu/{call.id}"

    async with (
        Client(watched_server) as first,
        Client(watched_server) as second,
        first.listen(resource_subscriptions=[uri]),
        second.listen(resource_subscriptions=[uri, uri]),
    ):
        assert app.watcher.subscribers(uri) == 2
        with anyio.fail_after(WAIT_S):
            await fake_time.until(lambda: fake_time.sleeping == 1)
            before = app.watcher.upstream_polls
            for _ in range(4):
                await fake_time.next_poll()
        polls = app.watcher.upstream_polls - before

    assert polls == 4  # one poller: one poll per interval (two would make 8)
    assert fake_time.sleeping == 0
    assert app.watcher.subscribers(uri) == 0


async def test_the_end_of_a_call_is_the_final_update(
    watching: Client, simulator: Simulator, clock: ManualClock, fake_time: FakeTime
) -> None:
    call = simulator.population.live("vobiz")[0]
    uri = f"livecalls://calls/vobiz/{call.id}"

    async with watching.listen(resource_subscriptions=[uri]) as subscription:
        with anyio.fail_after(WAIT_S):
            await fake_time.until(lambda: fake_time.sleeping == 1)
            clock.set(call.ended_at)
            fake_time.tick()
            event = await subscription.__aiter__().__anext__()
            await fake_time.until(lambda: fake_time.sleeping == 0)  # the poller stopped by itself

    assert getattr(event, "uri", None) == uri
    with pytest.raises(MCPError, match="not live"):
        await watching.read_resource(uri)


async def test_legacy_resources_subscribe_gets_resource_updated_notifications(
    watched_server: MCPServer[Any], simulator: Simulator, clock: ManualClock, fake_time: FakeTime
) -> None:
    call = _ringing_call(simulator)
    uri = f"livecalls://calls/{call.provider}/{call.id}"
    updates = Updates()

    async with _legacy(watched_server, updates) as legacy:
        await _subscribe(legacy, uri)
        with anyio.fail_after(WAIT_S):
            await fake_time.until(lambda: fake_time.sleeping == 1)
            await fake_time.next_poll()
            assert updates.uris == []
            clock.set(_next_change(call, clock.now()))
            fake_time.tick()
            await updates.wait_for(1)

    assert updates.uris == [uri]


async def test_a_repeated_legacy_subscribe_gives_one_update_per_change(
    watched_server: MCPServer[Any],
    app: LiveCallsApp,
    simulator: Simulator,
    clock: ManualClock,
    fake_time: FakeTime,
) -> None:
    call = _ringing_call(simulator)
    uri = f"livecalls://calls/{call.provider}/{call.id}"
    updates = Updates()

    async with _legacy(watched_server, updates) as legacy:
        for _ in range(3):
            await _subscribe(legacy, uri)
        assert app.watcher.subscribers(uri) == 1
        with anyio.fail_after(WAIT_S):
            await fake_time.until(lambda: fake_time.sleeping == 1)
            clock.set(_next_change(call, clock.now()))
            fake_time.tick()
            await updates.wait_for(1)
        # Copies would be sent back to back by the poller, well before this round trip's answer.
        await legacy.list_tools()

    assert updates.uris == [uri]


@pytest.mark.parametrize("resource", ["call", "active"])
async def test_after_a_legacy_unsubscribe_upstream_polling_stops(
    watched_server: MCPServer[Any],
    app: LiveCallsApp,
    simulator: Simulator,
    fake_time: FakeTime,
    resource: str,
) -> None:
    call = simulator.population.live("exotel")[0]
    uri = f"livecalls://calls/exotel/{call.id}" if resource == "call" else "livecalls://calls/active"

    async with _legacy(watched_server, Updates()) as legacy:
        await _subscribe(legacy, uri)
        with anyio.fail_after(WAIT_S):
            await fake_time.until(lambda: fake_time.sleeping == 1)
            await fake_time.next_poll()
            polling = _upstream(simulator)
            await _unsubscribe(legacy, uri)
            await fake_time.until(lambda: fake_time.sleeping == 0)
            for _ in range(2):  # two poll intervals later
                fake_time.tick()
                await anyio.lowlevel.checkpoint()
        stopped = _upstream(simulator)
        assert app.watcher.watched == set()

    assert stopped == polling
    assert fake_time.cancelled == 1


async def test_a_legacy_client_that_disconnects_stops_its_polling_and_is_forgotten(
    watched_server: MCPServer[Any], app: LiveCallsApp, simulator: Simulator, fake_time: FakeTime
) -> None:
    call = simulator.population.live("vobiz")[0]
    uris = [f"livecalls://calls/vobiz/{call.id}", "livecalls://calls/active"]

    async with _legacy(watched_server, Updates()) as legacy:
        for uri in uris:
            await _subscribe(legacy, uri)
        with anyio.fail_after(WAIT_S):
            await fake_time.until(lambda: fake_time.sleeping == 2)
        assert len(app.subscriptions) == 1
    polling = _upstream(simulator)
    fake_time.tick()
    await anyio.lowlevel.checkpoint()

    assert len(app.subscriptions) == 0
    assert app.watcher.watched == set()
    assert fake_time.sleeping == 0
    assert _upstream(simulator) == polling


async def test_closing_a_listen_stream_stops_its_polling(
    watched_server: MCPServer[Any], app: LiveCallsApp, simulator: Simulator, fake_time: FakeTime
) -> None:
    async with Client(watched_server) as client:
        async with client.listen(resource_subscriptions=["livecalls://calls/active"]):
            with anyio.fail_after(WAIT_S):
                await fake_time.until(lambda: fake_time.sleeping == 1)
                await fake_time.next_poll()
        polling = _upstream(simulator)
        with anyio.fail_after(WAIT_S):
            await fake_time.until(lambda: fake_time.cancelled == 1)
        fake_time.tick()
        await anyio.lowlevel.checkpoint()

        assert app.watcher.watched == set()
        assert len(app.subscriptions) == 0
        assert _upstream(simulator) == polling


async def test_wait_for_call_state_returns_once_the_call_is_answered(
    waiting: Client, simulator: Simulator, clock: ManualClock
) -> None:
    call = next(
        c
        for provider in ("exotel", "vobiz", "zudu")
        for c in simulator.population.live(provider)
        if c.state_at(clock.now()) in ("ringing", "early_media") and c.answered_at is not None
    )
    reports: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append(message)
        if call.answered_at is not None:
            clock.set(call.answered_at)  # the callee picks up while we wait

    with anyio.fail_after(WAIT_S):
        result = await waiting.call_tool(
            "wait_for_call_state",
            {"call_id": call.id, "until": ["in_progress"], "timeout_s": 5},
            progress_callback=on_progress,
        )

    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert result.structured_content["outcome"] == "reached"
    assert result.structured_content["call"]["status"] == "in_progress"
    assert reports
    assert all(message and call.id in message for message in reports)


async def test_wait_for_call_state_never_waits_past_its_timeout(
    waiting: Client, simulator: Simulator
) -> None:
    call = simulator.population.live("zudu")[0]

    with anyio.fail_after(WAIT_S):
        result = await waiting.call_tool(
            "wait_for_call_state", {"call_id": call.id, "until": ["failed"], "timeout_s": 55}
        )

    assert result.structured_content is not None
    assert result.structured_content["outcome"] == "timeout"
    assert result.structured_content["waited_s"] == 55


async def test_wait_for_call_state_refuses_a_timeout_the_clients_would_not_wait_for(
    waiting: Client,
) -> None:
    tools = {tool.name: tool for tool in (await waiting.list_tools()).tools}
    result = await waiting.call_tool(
        "wait_for_call_state", {"call_id": "abc", "until": ["in_progress"], "timeout_s": 56}
    )

    timeout = tools["wait_for_call_state"].input_schema["properties"]["timeout_s"]
    assert timeout["maximum"] == 55
    assert timeout["default"] <= 55
    assert result.is_error
    assert "less than or equal to 55" in result.content[0].text  # type: ignore[union-attr]


async def test_prompts_guide_a_supervisor_overview_and_a_call_health_check(watching: Client) -> None:
    prompts = {prompt.name for prompt in (await watching.list_prompts()).prompts}
    health = await watching.get_prompt("call_health_check", {"call_id": "CA123"})
    overview = await watching.get_prompt("supervisor_overview", {"hold_minutes": "4"})

    assert prompts == {"supervisor_overview", "call_health_check"}
    health_text = health.messages[0].content
    overview_text = overview.messages[0].content
    assert isinstance(health_text, TextContent)
    assert isinstance(overview_text, TextContent)
    assert "get_live_call" in health_text.text
    assert "get_stream_details" in health_text.text
    assert "CA123" in health_text.text
    assert "list_active_calls" in overview_text.text
    assert "on hold longer than 4 minutes" in overview_text.text


async def test_template_arguments_complete_to_configured_providers_and_live_call_ids(
    watching: Client, simulator: Simulator
) -> None:
    template = ResourceTemplateReference(type="ref/resource", uri="livecalls://calls/{provider}/{call_id}")
    providers = await watching.complete(template, {"name": "provider", "value": "ex"})
    call = simulator.population.live("exotel")[0]
    ids = await watching.complete(template, {"name": "call_id", "value": call.id[:6]}, {"provider": "exotel"})
    prompt_ids = await watching.complete(
        PromptReference(type="ref/prompt", name="call_health_check"), {"name": "call_id", "value": ""}
    )

    assert providers.completion.values == ["exotel"]
    assert call.id in ids.completion.values
    assert all(value.startswith(call.id[:6]) for value in ids.completion.values)
    assert len(prompt_ids.completion.values) >= 3


async def test_cancelling_a_wait_stops_its_upstream_polling_at_once(
    watched_server: MCPServer[Any], simulator: Simulator, fake_time: FakeTime
) -> None:
    call = simulator.population.live("zudu")[0]
    route = ("zudu", "get_call")

    async with Client(watched_server) as client:
        with anyio.fail_after(WAIT_S):
            async with anyio.create_task_group() as group:
                group.start_soon(
                    partial(
                        client.call_tool,
                        "wait_for_call_state",
                        {"call_id": call.id, "until": ["failed"], "timeout_s": 55},
                    )
                )
                await fake_time.until(lambda: fake_time.sleeping == 1)
                await fake_time.next_poll()
                polls_when_cancelled = simulator.requests[route]
                group.cancel_scope.cancel()
            await fake_time.until(lambda: fake_time.cancelled == 1)
        fake_time.tick()
        await anyio.lowlevel.checkpoint()

        assert polls_when_cancelled >= 2  # it was polling while it waited
        assert simulator.requests[route] == polls_when_cancelled  # and stopped when cancelled
        assert fake_time.sleeping == 0


async def test_a_bug_while_polling_does_not_take_the_server_down(
    watched_server: MCPServer[Any],
    app: LiveCallsApp,
    simulator: Simulator,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    call = simulator.population.live("zudu")[0]
    uri = f"livecalls://calls/zudu/{call.id}"

    class Broken(ZuduProvider):
        async def _get_call(self, call_id: str) -> LiveCall:
            raise KeyError("a bug")

    async with Client(watched_server) as client:
        zudu = app.service.providers[ProviderName("zudu")]
        app.service.providers[ProviderName("zudu")] = Broken(zudu.http, now=app.now)
        async with client.listen(resource_subscriptions=[uri]):
            with anyio.fail_after(WAIT_S):
                await fake_time.until(lambda: fake_time.sleeping == 1)
                await fake_time.next_poll()  # failed twice, and polls on
            still_serving = await client.call_tool("list_active_calls", {"provider": "vobiz"})

    assert not still_serving.is_error
    assert "the zudu adapter failed" in caplog.text  # with its traceback, once per poll
    assert "KeyError: 'a bug'" in caplog.text


async def test_a_prompt_without_its_required_argument_is_invalid_params_without_a_traceback(
    watching: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(MCPError) as refused:
        await watching.get_prompt("call_health_check", {})

    assert refused.value.error.code == INVALID_PARAMS
    assert "call_id" in refused.value.error.message
    assert "Traceback" not in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
