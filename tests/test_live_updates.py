"""Live updates, wait_for_call_state, prompts and completions, through the real MCP client."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp_types import (
    PromptReference,
    ResourceTemplateReference,
    ResourceUpdatedNotification,
    TextContent,
)

from mcp_livecalls.config import Settings
from mcp_livecalls.models import LiveCall, ProviderName
from mcp_livecalls.providers.zudu import ZuduProvider
from mcp_livecalls.server import LiveCallsApp, create_server
from mcp_livecalls.simulator import ManualClock, SimCall, Simulator

pytestmark = pytest.mark.anyio

POLL_S = 0.2


@pytest.fixture
def app(settings: Settings, simulator: Simulator) -> LiveCallsApp:
    return LiveCallsApp(settings.with_changes(poll_interval_s=POLL_S), now=simulator.clock.now)


@pytest.fixture
def watched_server(app: LiveCallsApp) -> MCPServer[Any]:
    return create_server(app=app)


@pytest.fixture
async def watching(watched_server: MCPServer[Any]) -> AsyncIterator[Client]:
    async with Client(watched_server) as connected:
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


async def test_a_subscriber_hears_of_a_state_change_within_two_poll_intervals_and_not_before(
    watching: Client, simulator: Simulator, clock: ManualClock
) -> None:
    call = _ringing_call(simulator)
    uri = f"livecalls://calls/{call.provider}/{call.id}"

    async with watching.listen(resource_subscriptions=[uri]) as subscription:
        events = subscription.__aiter__()
        with anyio.move_on_after(3 * POLL_S):
            event = await events.__anext__()
            pytest.fail(f"an update arrived while nothing changed: {event}")

        clock.set(_next_change(call, clock.now()))
        with anyio.fail_after(2 * POLL_S + 0.3):
            event = await events.__anext__()

    assert getattr(event, "uri", None) == uri


async def test_many_subscribers_share_one_upstream_poller(
    watched_server: MCPServer[Any], app: LiveCallsApp, simulator: Simulator
) -> None:
    call = simulator.population.live("zudu")[0]
    uri = f"livecalls://calls/zudu/{call.id}"

    async with (
        Client(watched_server) as first,
        Client(watched_server) as second,
        first.listen(resource_subscriptions=[uri]),
        second.listen(resource_subscriptions=[uri]),
    ):
        assert app.watcher.subscribers(uri) == 2
        before = app.watcher.upstream_polls
        with anyio.move_on_after(5 * POLL_S):
            await anyio.sleep_forever()
        polls = app.watcher.upstream_polls - before

    assert 1 <= polls <= 6  # one poller: about one poll per interval (two pollers would make ~10)
    assert app.watcher.subscribers(uri) == 0


async def test_the_end_of_a_call_is_the_final_update(
    watching: Client, simulator: Simulator, clock: ManualClock
) -> None:
    call = simulator.population.live("vobiz")[0]
    uri = f"livecalls://calls/vobiz/{call.id}"

    async with watching.listen(resource_subscriptions=[uri]) as subscription:
        events = subscription.__aiter__()
        with anyio.move_on_after(2 * POLL_S):
            await events.__anext__()
        clock.set(call.ended_at)
        with anyio.fail_after(2 * POLL_S + 0.3):
            event = await events.__anext__()

    assert getattr(event, "uri", None) == uri
    with pytest.raises(Exception, match="not live"):
        await watching.read_resource(uri)


async def test_legacy_resources_subscribe_gets_resource_updated_notifications(
    watched_server: MCPServer[Any], simulator: Simulator, clock: ManualClock
) -> None:
    call = _ringing_call(simulator)
    uri = f"livecalls://calls/{call.provider}/{call.id}"
    received: list[str] = []
    arrived = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            received.append(str(message.params.uri))
            arrived.set()

    async with Client(watched_server, mode="legacy", message_handler=on_message) as legacy:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resources/subscribe is deprecated in 2026-07-28
            await legacy.subscribe_resource(uri)
        with anyio.move_on_after(2 * POLL_S):
            await arrived.wait()
        assert received == []
        clock.set(_next_change(call, clock.now()))
        with anyio.fail_after(2 * POLL_S + 0.3):
            await arrived.wait()

    assert received == [uri]


async def test_wait_for_call_state_returns_once_the_call_is_answered(
    watching: Client, simulator: Simulator, clock: ManualClock
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

    with anyio.fail_after(10):
        result = await watching.call_tool(
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
    watching: Client, simulator: Simulator
) -> None:
    call = simulator.population.live("zudu")[0]

    with anyio.fail_after(5):
        result = await watching.call_tool(
            "wait_for_call_state", {"call_id": call.id, "until": ["failed"], "timeout_s": 0.5}
        )

    assert result.structured_content is not None
    assert result.structured_content["outcome"] == "timeout"
    assert 0.4 <= result.structured_content["waited_s"] <= 1.5


async def test_wait_for_call_state_refuses_a_timeout_over_five_minutes(watching: Client) -> None:
    result = await watching.call_tool(
        "wait_for_call_state", {"call_id": "abc", "until": ["in_progress"], "timeout_s": 301}
    )

    assert result.is_error


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


async def test_cancelling_a_wait_stops_its_upstream_polling(
    watched_server: MCPServer[Any], simulator: Simulator
) -> None:
    call = simulator.population.live("zudu")[0]
    route = ("zudu", "get_call")

    async with Client(watched_server) as client:
        with anyio.move_on_after(4 * POLL_S):
            await client.call_tool(
                "wait_for_call_state", {"call_id": call.id, "until": ["failed"], "timeout_s": 60}
            )
        polls_when_cancelled = simulator.requests[route]
        with anyio.move_on_after(4 * POLL_S):
            await anyio.sleep_forever()

        assert polls_when_cancelled >= 2  # it was polling while it waited
        assert simulator.requests[route] <= polls_when_cancelled + 1  # and stopped when cancelled


async def test_a_bug_while_polling_does_not_take_the_server_down(
    watched_server: MCPServer[Any], app: LiveCallsApp, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    call = simulator.population.live("zudu")[0]
    uri = f"livecalls://calls/zudu/{call.id}"

    class Broken(ZuduProvider):
        async def get_call(self, call_id: str) -> LiveCall:
            raise KeyError("a bug")

    async with Client(watched_server) as client:
        zudu = app.service.providers[ProviderName.ZUDU]
        app.service.providers[ProviderName.ZUDU] = Broken(zudu.http, now=app.now)
        async with client.listen(resource_subscriptions=[uri]):
            with anyio.move_on_after(3 * POLL_S):
                await anyio.sleep_forever()
            still_serving = await client.call_tool("list_active_calls", {"provider": "vobiz"})

    assert not still_serving.is_error
    assert "unexpected failure; polling on" in caplog.text
