"""One deadline per tool call, fair shares of the providers under abuse, and small hardening items.

A hanging provider (simulator fault ``hang``) holds no tool call past ``LIVECALLS_TOOL_BUDGET_S``
however many providers, retries and fallbacks the call involves, and the answer names the
provider that did not answer instead of calling the call "not found". A client watching thousands
of resources is refused past the watch limits, and its pollers, which queue at a provider's pacer
behind tool calls and use at most their share of it, never starve another client's lookup.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, cast

import anyio
import pytest
from anyio import wait_all_tasks_blocked
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.config import Settings
from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.core.models import CallStatus, LiveCall, ProviderName, StreamDetails
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import ConfigError, RateLimited, TooManyWatches
from mcp_livecalls.providers.base import Capabilities, LiveCallsProvider, ProviderSlice, call_id_error
from mcp_livecalls.server.app import LiveCallsApp
from mcp_livecalls.server.build import create_server
from mcp_livecalls.service.calls import LiveCallsService
from mcp_livecalls.service.watch import Subscriptions, Watcher
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Fault, ManualClock, Simulator, serve_simulator
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.pacing import RequestPacer, background_requests, is_background
from mcp_livecalls.upstream.policy import HttpPolicy

pytestmark = pytest.mark.anyio

BUDGET_S = 3.0
SLOW = HttpPolicy(connect_timeout_s=10, read_timeout_s=10, request_timeout_s=10, tool_budget_s=BUDGET_S)
"""Each request alone could wait 10 s, three attempts 30 s: only the tool's deadline ends a hang
(the simulator's ``hang`` never answers). The budget leaves the providers that do answer seconds
for what takes milliseconds on loopback, so a busy machine changes no verdict."""
WAIT_S = 30.0
"""How far above the expected time a wait is bounded (a deadline that never fires fails the test)."""


@pytest.fixture(scope="module")
def shared_simulator() -> Iterator[tuple[Simulator, str]]:
    simulator = Simulator(seed=23, clock=ManualClock())
    with serve_simulator(simulator) as base_url:
        yield simulator, base_url


@pytest.fixture
def sim(shared_simulator: tuple[Simulator, str]) -> Iterator[Simulator]:
    simulator, _ = shared_simulator
    simulator.faults.clear()
    yield simulator
    simulator.faults.clear()


@pytest.fixture
def base_url(shared_simulator: tuple[Simulator, str]) -> str:
    return shared_simulator[1]


def _settings(base_url: str, **changes: Any) -> Settings:
    return simulator_settings(base_url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0, http=SLOW, **changes)


@asynccontextmanager
async def _client(base_url: str, sim: Simulator, **changes: Any) -> AsyncIterator[Client]:
    async with Client(create_server(_settings(base_url, **changes), now=sim.clock.now)) as client:
        yield client


def _text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def _hang(provider: str) -> Fault:
    return Fault.model_validate({"kind": "hang", "provider": provider})


# -- one deadline per tool call ----------------------------------------------------------------


@pytest.mark.parametrize("tool", ["get_live_call", "get_stream_details", "wait_for_call_state"])
async def test_a_lookup_without_provider_answers_within_the_budget_and_names_the_provider_that_hung(
    base_url: str, sim: Simulator, tool: str
) -> None:
    call = sim.population.live("exotel")[0]
    sim.faults.inject(_hang("exotel"))
    arguments: dict[str, Any] = {"call_id": call.id}
    if tool == "wait_for_call_state":
        arguments |= {"until": ["ended"], "timeout_s": 5}
    async with _client(base_url, sim) as client:
        with anyio.fail_after(BUDGET_S + WAIT_S):
            result = await client.call_tool(tool, arguments)

    text = _text(result)
    assert result.is_error
    assert f"exotel did not answer within {BUDGET_S:g}s" in text
    assert "It may be live at exotel" in text
    assert "not live at exotel" not in text
    assert "It is not live at vobiz, zudu" in text  # the providers that answered said so


async def test_a_remembered_provider_that_hangs_spends_the_one_budget_not_one_per_attempt(
    base_url: str, sim: Simulator
) -> None:
    call = sim.population.live("exotel")[0]
    async with _client(base_url, sim) as client:
        first = await client.call_tool("get_live_call", {"call_id": call.id})  # Exotel is remembered
        assert not first.is_error, _text(first)
        sim.faults.inject(_hang("exotel"))
        with anyio.fail_after(BUDGET_S + WAIT_S):
            again = await client.call_tool("get_live_call", {"call_id": call.id})

    assert again.is_error
    assert f"Exotel did not answer within {BUDGET_S:g}s (the time budget of one call" in _text(again)
    assert "not found" not in _text(again)


@pytest.mark.parametrize("tool", ["get_live_call", "get_stream_details", "list_active_calls"])
async def test_a_call_to_a_named_provider_that_hangs_answers_within_the_budget(
    base_url: str, sim: Simulator, tool: str
) -> None:
    sim.faults.inject(_hang("zudu"))
    arguments: dict[str, Any] = {"provider": "zudu"}
    if tool != "list_active_calls":
        arguments["call_id"] = sim.population.live("zudu")[0].id
    async with _client(base_url, sim) as client:
        with anyio.fail_after(BUDGET_S + WAIT_S):
            result = await client.call_tool(tool, arguments)

    reasons = [f["reason"] for f in (result.structured_content or {}).get("failures", [])]
    assert any(f"Zudu did not answer within {BUDGET_S:g}s" in text for text in [_text(result), *reasons])


async def test_a_list_with_a_hanging_provider_answers_within_the_budget_with_the_others_calls(
    base_url: str, sim: Simulator
) -> None:
    sim.faults.inject(_hang("vobiz"))
    async with _client(base_url, sim) as client:
        with anyio.fail_after(BUDGET_S + WAIT_S):
            result = await client.call_tool("list_active_calls", {"limit": 100})

    content = result.structured_content or {}
    assert not result.is_error, _text(result)
    assert {call["provider"] for call in content["calls"]} == set(NAMES) - {"vobiz"}
    assert [f["provider"] for f in content["failures"]] == ["vobiz"]
    assert f"Vobiz did not answer within {BUDGET_S:g}s" in content["failures"][0]["reason"]


# -- fair shares: watch limits -------------------------------------------------------------------


class _NeverPolls(Watcher):
    """A watcher without a running server: subscriptions are counted, nothing is polled."""

    def __init__(self) -> None:
        super().__init__(_no_service, _no_publish, interval_s=1.0)


def _no_service() -> Any:
    raise AssertionError("nothing is polled here")


async def _no_publish(uri: str) -> None:
    raise AssertionError("nothing is published here")


def _uris(count: int, provider: str = "exotel", start: int = 0) -> list[str]:
    return [f"livecalls://calls/{provider}/CA{i:05d}" for i in range(start, start + count)]


async def test_a_session_past_its_watch_limit_is_refused_and_watches_none_of_the_batch() -> None:
    watcher = _NeverPolls()
    subscriptions = Subscriptions(watcher, max_per_session=50, max_total=500)
    subscriptions.open("a")
    subscriptions.subscribe_all("a", _uris(40))

    with pytest.raises(TooManyWatches) as refused:
        subscriptions.subscribe_all("a", _uris(20, start=40))

    assert refused.value.setting == "LIVECALLS_MAX_WATCHES_PER_SESSION"
    assert "at most 50 resources" in str(refused.value)
    assert len(subscriptions.watches("a")) == 40
    assert len(watcher.watched) == 40
    assert subscriptions.subscribe_all("a", _uris(45)) == 5  # repeats are free; ten new fit


async def test_the_process_watch_limit_counts_distinct_resources_across_sessions() -> None:
    watcher = _NeverPolls()
    subscriptions = Subscriptions(watcher, max_per_session=50, max_total=60)
    for key in ("a", "b"):
        subscriptions.open(key)
    subscriptions.subscribe_all("a", _uris(50))

    assert subscriptions.subscribe_all("b", _uris(30)) == 30  # thirty of a's fifty: no new poller
    with pytest.raises(TooManyWatches) as refused:
        subscriptions.subscribe_all("b", _uris(11, provider="vobiz"))
    assert subscriptions.subscribe_all("b", _uris(10, provider="vobiz")) == 10  # exactly 60
    subscriptions.close("a")

    assert refused.value.setting == "LIVECALLS_MAX_WATCHES"
    assert refused.value.limit == 60
    assert len(watcher.watched) == 40  # b's forty remain after a left


def test_the_watch_limits_and_the_pollers_share_come_from_the_environment() -> None:
    env = {
        "LIVECALLS_MAX_WATCHES_PER_SESSION": "10",
        "LIVECALLS_MAX_WATCHES": "100",
        "LIVECALLS_WATCH_SHARE": "0.25",
    }

    settings = Settings.from_env(env)
    defaults = Settings.from_env({})

    assert (settings.max_watches_per_session, settings.max_watches, settings.http.background_share) == (
        10,
        100,
        0.25,
    )
    assert (defaults.max_watches_per_session, defaults.max_watches, defaults.http.background_share) == (
        50,
        500,
        0.5,
    )
    with pytest.raises(ConfigError, match="LIVECALLS_WATCH_SHARE must be at most 1"):
        Settings.from_env({"LIVECALLS_WATCH_SHARE": "2"})


async def _sleep_forever(seconds: float) -> None:
    await anyio.sleep_forever()


async def test_a_listen_of_2000_resources_is_refused_and_a_full_share_of_watches_starves_no_lookup(
    base_url: str, sim: Simulator
) -> None:
    settings = _settings(base_url, max_watches_per_session=50, max_watches=100)
    exotel = settings.provider(ProviderName("exotel"))
    assert exotel is not None
    # One request a second: 100 pollers' first reads alone would hold the pacer for minutes.
    slower = replace(exotel, requests_per_minute=60)
    settings = settings.with_changes(providers={**settings.providers, ProviderName("exotel"): slower})
    app = LiveCallsApp(settings, now=sim.clock.now, sleep=_sleep_forever)  # each watch polls once
    server = create_server(app=app)
    live = sim.population.live("exotel")[0]
    uris = _uris(2000)

    async with Client(server) as attacker, Client(server) as other:
        with pytest.raises(MCPError) as refused:
            async with attacker.listen(resource_subscriptions=uris):
                pass  # pragma: no cover - refused before the stream opens
        async with (
            attacker.listen(resource_subscriptions=uris[:50]),
            attacker.listen(resource_subscriptions=uris[50:100]),
        ):
            with pytest.raises(MCPError) as over_the_top:
                async with attacker.listen(resource_subscriptions=uris[100:101]):
                    pass  # pragma: no cover
            await wait_all_tasks_blocked()  # the pollers are at the pacer (or past it)
            with anyio.fail_after(WAIT_S):
                result = await other.call_tool("get_live_call", {"call_id": live.id, "provider": "exotel"})
            assert len(app.watcher.watched) == 100

    assert refused.value.error.code == INVALID_PARAMS
    assert "LIVECALLS_MAX_WATCHES_PER_SESSION" in refused.value.error.message
    assert refused.value.error.data == {"limit": 50, "setting": "LIVECALLS_MAX_WATCHES_PER_SESSION"}
    assert "LIVECALLS_MAX_WATCHES)" in over_the_top.value.error.message
    assert not result.is_error, _text(result)
    assert app.watcher.watched == set()


async def test_a_legacy_subscribe_past_the_session_limit_is_an_error_naming_the_limit(
    base_url: str, sim: Simulator
) -> None:
    app = LiveCallsApp(
        _settings(base_url, max_watches_per_session=2), now=sim.clock.now, sleep=_sleep_forever
    )
    async with Client(create_server(app=app), mode="legacy") as client:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resources/subscribe is deprecated in 2026-07-28
            for uri in _uris(2):
                await client.subscribe_resource(uri)
            with pytest.raises(MCPError) as refused:
                await client.subscribe_resource(_uris(1, start=2)[0])

    assert refused.value.error.code == INVALID_PARAMS
    assert "at most 2 resources (LIVECALLS_MAX_WATCHES_PER_SESSION)" in refused.value.error.message


# -- fair shares: the pacer's two classes ----------------------------------------------------------


class SteppedTime:
    """A clock that moves only when ``step`` wakes the earliest sleeper (ties in sleep order)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = anyio.Event()
        self._order += 1
        self._sleepers.append((self.now + max(0.0, seconds), self._order, wake))
        await wake.wait()

    async def step(self) -> None:
        await wait_all_tasks_blocked()
        self._sleepers.sort(key=lambda sleeper: sleeper[:2])
        when, _, wake = self._sleepers.pop(0)
        self.now = max(self.now, when)
        wake.set()
        await wait_all_tasks_blocked()


async def _drain(pacer: RequestPacer, count: int) -> None:
    for _ in range(count):
        await pacer.acquire()


async def test_a_waiting_tool_call_gets_the_next_token_before_a_poller_that_waited_longer() -> None:
    time = SteppedTime()
    pacer = RequestPacer(60, clock=time.clock, sleep=time.sleep)  # one token a second
    await _drain(pacer, 30)
    with background_requests():
        await _drain(pacer, 30)  # the pollers' share of the burst is spent; the bucket is empty
    served: list[str] = []

    async def poller() -> None:
        with background_requests():
            await pacer.acquire()
        served.append(f"poller@{time.now:g}")

    async def tool_call() -> None:
        await pacer.acquire()
        served.append(f"tool@{time.now:g}")

    async with anyio.create_task_group() as group:
        group.start_soon(poller)
        await wait_all_tasks_blocked()
        group.start_soon(tool_call)
        while len(served) < 2:
            await time.step()

    # The poller waits for a token the tool call does not need, and for its own share to refill.
    assert served == ["tool@1", "poller@2"]


async def test_pollers_use_at_most_their_share_and_tool_calls_keep_the_rest() -> None:
    time = SteppedTime()
    pacer = RequestPacer(60, background_share=0.25, clock=time.clock, sleep=time.sleep)
    granted = 0

    async def pollers() -> None:
        nonlocal granted
        with background_requests():
            while True:
                await pacer.acquire()
                granted += 1

    async with anyio.create_task_group() as group:
        group.start_soon(pollers)
        await wait_all_tasks_blocked()
        assert granted == 15  # a quarter of the minute's allowance at once, then it waits
        await _drain(pacer, 45)  # the rest is there for tool calls, without waiting
        assert time.now == 0
        for _ in range(10):
            await time.step()
        assert (granted, time.now) == (25, 40)  # a quarter of the 40 tokens 40 s brought
        await _drain(pacer, 30)  # and the other three quarters are the tool calls', at once
        assert time.now == 40
        group.cancel_scope.cancel()


async def test_a_pacer_used_only_by_tool_calls_paces_as_before() -> None:
    time = SteppedTime()
    pacer = RequestPacer(120, clock=time.clock, sleep=time.sleep)

    async with anyio.create_task_group() as group:
        group.start_soon(_drain, pacer, 122)
        await time.step()
        await time.step()

    assert time.now == pytest.approx(1.0)  # 120 at once, then one every half second


# -- smaller items -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "said"),
    [
        ("inf", "Retry after more than a day"),
        ("1e999", "Retry after more than a day"),
        ("30", "Retry after 30s"),
    ],
)
async def test_an_absurd_retry_after_reads_as_more_than_a_day_never_infs(
    base_url: str, sim: Simulator, retry_after: str, said: str
) -> None:
    fault = Fault.model_validate(
        {"kind": "status", "status_code": 429, "retry_after": float(retry_after), "provider": "zudu"}
    )
    sim.faults.inject(fault)
    call = sim.population.live("zudu")[0]
    async with _client(base_url, sim) as client:
        result = await client.call_tool("get_live_call", {"call_id": call.id, "provider": "zudu"})

    assert result.is_error
    assert said in _text(result)
    assert "inf" not in _text(result)


def test_a_rate_limit_message_never_spells_infinity_or_nan() -> None:
    assert "more than a day" in str(RateLimited("exotel", float("inf")))
    assert "Retry in a few seconds" in str(RateLimited("exotel", float("nan")))
    assert str(RateLimited("exotel", 2.5)).endswith("Retry after 2.5s.")


@pytest.mark.parametrize("call_id", ["-x", "_abc", "-"])
def test_an_id_starting_with_a_dash_or_underscore_is_refused_saying_so(call_id: str) -> None:
    message = str(call_id_error(call_id))

    assert f"starting with {call_id[0]!r} (it must start with a letter or digit)" in message
    assert "characters" in message.split(";")[0]  # the rule itself is still stated first


async def test_an_unknown_prompt_is_an_invalid_params_error_naming_it(base_url: str, sim: Simulator) -> None:
    async with _client(base_url, sim) as client:
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("no_such_prompt", {})
        with pytest.raises(MCPError) as long_name:
            await client.get_prompt("x" * 5000, {})
        with pytest.raises(MCPError) as stray:
            await client.get_prompt("call_health_check", {"call_id": "CA1", "colour": "red"})

    assert (unknown.value.error.code, unknown.value.error.message) == (
        INVALID_PARAMS,
        "Unknown prompt: no_such_prompt",
    )
    assert len(long_name.value.error.message) <= 300
    assert stray.value.error.code == INVALID_PARAMS
    assert "colour: unexpected keyword argument" in stray.value.error.message


async def test_a_lookup_in_a_dead_providers_shadow_still_says_not_live_for_the_ones_that_answered(
    base_url: str, sim: Simulator
) -> None:
    """A provider failing fast (not hanging) leaves the rest of the budget to the others."""
    sim.faults.inject(Fault.model_validate({"kind": "status", "status_code": 500, "provider": "vobiz"}))
    async with _client(base_url, sim) as client:
        with anyio.fail_after(BUDGET_S + WAIT_S):
            result = await client.call_tool("get_live_call", {"call_id": "CAnowhere0001"})

    text = _text(result)
    assert result.is_error
    assert "vobiz: Vobiz had an internal error (500)" in text
    assert "It is not live at exotel, zudu" in text
    assert "did not answer" not in text


class _StuckForPollers(LiveCallsProvider):
    """Answers tool calls at once; a poller's request waits until released (a pacer's back row)."""

    name = ProviderName("zudu")
    capabilities = Capabilities(upstream_filters=(), fields=("status",))
    credential_vars = ()

    def __init__(self) -> None:
        super().__init__(cast(ProviderHTTP, object()))  # never asked: answers are made here
        self.release = anyio.Event()
        self.waiting = 0

    async def _get_call(self, call_id: str) -> LiveCall:
        if is_background():
            self.waiting += 1
            await self.release.wait()
        return LiveCall(provider=self.name, call_id=call_id, status=CallStatus.IN_PROGRESS)

    async def _get_stream(self, call_id: str) -> StreamDetails:  # pragma: no cover - not asked
        raise NotImplementedError

    async def _list_active(
        self, query: ListQuery, offset: int, limit: int
    ) -> ProviderSlice:  # pragma: no cover
        raise NotImplementedError


async def test_a_tool_call_never_joins_a_pollers_request_waiting_at_the_back_of_the_pacer() -> None:
    provider = _StuckForPollers()
    service = LiveCallsService({ProviderName("zudu"): provider}, tool_budget_s=5, cache_ttl_s=10)
    polled: list[LiveCall] = []

    async def poll() -> None:
        with background_requests():
            polled.append(await service.get_live_call("CA1", ProviderName("zudu")))

    async with anyio.create_task_group() as group:
        group.start_soon(poll)
        await wait_all_tasks_blocked()
        assert provider.waiting == 1
        with anyio.fail_after(WAIT_S):
            answered = await service.get_live_call("CA1", ProviderName("zudu"))
        assert polled == []  # the poller is still waiting; the tool call did not wait for it
        provider.release.set()

    assert answered.call_id == "CA1"
    assert [call.call_id for call in polled] == ["CA1"]
