"""What every provider's tests build the same way; ``tests/providers/<name>/`` uses it.

- On documented answers: ``documented(Provider, settings, upstream, now)``, the adapter answered
  by a ``contract.harness.Upstream``.
- On the simulator: ``simulated(name)``, a simulator of that provider alone; ``flavour_sets``, its
  flavours as test parameters; ``alive``, the ids its live lists must show; ``busiest_agent``,
  the agent a filter by agent finds most for.
- Over loopback HTTP: ``loopback(simulator)``, the simulator served with an HTTP client, from
  which ``adapter`` and ``settings`` are made; ``adapter_on``, one adapter on it; ``read_all``, an
  adapter's list paged to its end; ``listed_once``, the check that a list shows every live call
  once; ``found_until_it_ends``, that a call is found until its end and not after.
- Through a real MCP client: ``client_on``, the whole server on the simulator (``client_with``: on
  settings of the test's own); ``list_pages``, ``list_active_calls`` followed along its cursor,
  with ``gathered`` and ``calls_listed`` to read its pages; ``look_up_all``, ``get_live_call``
  for many calls at once; ``text_of``, a result's text.
- Pushed callbacks: ``with_provider``, settings with a provider's webhook secret; ``receiver``, the
  HTTP front door on loopback to post them to.

A new provider's tests are its fixtures and what is its own: none of this is written again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import anyio
import httpx2
import pytest
from _pytest.mark import ParameterSet
from contract.harness import Upstream
from mcp import Client
from mcp_types import CallToolResult, TextContent

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import CallNotFound
from mcp_livecalls.providers.base import LiveCallsProvider, ProviderSlice
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simkit.calls import SimCall
from mcp_livecalls.simulator import (
    DEMO_CREDENTIALS,
    ManualClock,
    Simulator,
    SimulatorCredentials,
    serve_asgi,
    serve_simulator,
)
from mcp_livecalls.upstream.policy import HttpPolicy
from mcp_livecalls.web.front import http_app

__all__ = [
    "Loopback",
    "adapter_on",
    "alive",
    "busiest_agent",
    "calls_listed",
    "client_on",
    "client_with",
    "documented",
    "flavour_sets",
    "found_until_it_ends",
    "gathered",
    "list_pages",
    "listed_once",
    "look_up_all",
    "loopback",
    "read_all",
    "receiver",
    "simulated",
    "text_of",
    "with_provider",
]

P = TypeVar("P", bound=LiveCallsProvider)


def documented(
    cls: type[P], settings: Any, upstream: Upstream, now: datetime, policy: HttpPolicy | None = None
) -> P:
    """The adapter ``cls`` for ``settings``, answered by ``upstream``, its clock standing at ``now``."""
    return cls.create(settings, upstream.client(), policy or HttpPolicy(), lambda: now)


def flavour_sets(
    flavours: Iterable[str], *, plain: str = "default", every: bool = False
) -> list[ParameterSet]:
    """Test parameters: no flavour (named ``plain``), each flavour alone and, with ``every``, all."""
    chosen = sorted(flavours)
    sets = [pytest.param((), id=plain)]
    sets += [pytest.param((flavour,), id=flavour.split(".", 1)[1]) for flavour in chosen]
    if every:
        sets.append(pytest.param(tuple(chosen), id="all"))
    return sets


def simulated(name: str, *, seed: int = 7, live_calls: int | None = 24, **changes: Any) -> Simulator:
    """A simulator playing only the provider ``name`` (on a clock that stands still)."""
    return Simulator(seed=seed, live_calls=live_calls, providers=(name,), **changes)


def alive(simulator: Simulator, name: str) -> set[str]:
    """The ids of the calls of ``name`` that its live lists must show: live and queued."""
    population = simulator.population
    return {call.id for call in population.live(name) + population.queued(name)}


@dataclass(frozen=True)
class Loopback:
    """A simulator served on loopback, and one HTTP client to it."""

    simulator: Simulator
    url: str
    http: httpx2.AsyncClient

    def settings(self, credentials: SimulatorCredentials = DEMO_CREDENTIALS, **changes: Any) -> Settings:
        """The server's settings for every provider on this simulator (no freshness window)."""
        return simulator_settings(self.url, credentials).with_changes(cache_ttl_s=0, **changes)

    def adapter(
        self,
        cls: type[P],
        credentials: SimulatorCredentials = DEMO_CREDENTIALS,
        policy: HttpPolicy | None = None,
    ) -> P:
        """The adapter ``cls`` configured as the server would be for this simulator."""
        configured = self.settings(credentials).provider(cls.name)
        assert configured is not None, f"the simulator's settings do not configure {cls.name.value}"
        return cls.create(configured, self.http, policy or HttpPolicy(), self.simulator.clock.now)


@asynccontextmanager
async def loopback(simulator: Simulator) -> AsyncIterator[Loopback]:
    with serve_simulator(simulator) as url:
        async with httpx2.AsyncClient() as http:
            yield Loopback(simulator, url, http)


@asynccontextmanager
async def adapter_on(
    simulator: Simulator,
    cls: type[P],
    credentials: SimulatorCredentials = DEMO_CREDENTIALS,
    policy: HttpPolicy | None = None,
) -> AsyncIterator[P]:
    """The adapter ``cls`` over loopback HTTP to ``simulator``."""
    async with loopback(simulator) as served:
        yield served.adapter(cls, credentials, policy)


@asynccontextmanager
async def client_with(simulator: Simulator, settings_at: Callable[[str], Settings]) -> AsyncIterator[Client]:
    """The whole server with the settings ``settings_at`` makes for ``simulator``'s URL, through a
    real MCP client."""
    with serve_simulator(simulator) as url:
        async with Client(create_server(settings_at(url), now=simulator.clock.now)) as connected:
            yield connected


def client_on(
    simulator: Simulator,
    credentials: SimulatorCredentials = DEMO_CREDENTIALS,
    *,
    only: str | None = None,
    **changes: Any,
) -> AbstractAsyncContextManager[Client]:
    """The whole server on ``simulator`` (settings ``changes`` applied; with ``only``, that provider
    alone configured), through a real MCP client."""

    def settings_at(url: str) -> Settings:
        settings = simulator_settings(url, credentials).with_changes(cache_ttl_s=0, **changes)
        if only is None:
            return settings
        return settings.with_changes(
            providers={name: one for name, one in settings.providers.items() if name.value == only}
        )

    return client_with(simulator, settings_at)


def text_of(result: CallToolResult) -> str:
    """The text blocks of a tool's result, joined by newlines."""
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def read_all(
    provider: LiveCallsProvider, query: ListQuery, limit: int, *, pages: int = 100
) -> ProviderSlice:
    """Every live call of ``provider`` that passes ``query``, read ``limit`` at a time from offset
    0 as the service pages on: one slice of them all, with every page's notes."""
    found = await provider.list_active(query, 0, limit)
    for _ in range(pages):
        if found.exhausted:
            return found
        later = await provider.list_active(query, found.scanned_to, limit)
        moved = later.exhausted or later.items or later.scanned_to > found.scanned_to
        assert moved, "paging must move forward"
        found = found.extended(later)
    raise AssertionError(f"{provider.name.value} paging did not end in {pages} pages")


async def list_pages(client: Client, arguments: dict[str, Any], *, pages: int = 50) -> list[CallToolResult]:
    """``list_active_calls`` with ``arguments``, followed along ``next_cursor`` to its last page."""
    results: list[CallToolResult] = []
    cursor: str | None = None
    for _ in range(pages):
        result = await client.call_tool(
            "list_active_calls", {**arguments, **({"cursor": cursor} if cursor else {})}
        )
        assert not result.is_error, text_of(result)
        results.append(result)
        cursor = (result.structured_content or {}).get("next_cursor")
        if cursor is None:
            return results
    raise AssertionError(f"paging {arguments} did not end in {pages} pages")


def gathered(results: list[CallToolResult], key: str) -> list[Any]:
    """What every page of ``results`` lists under ``key`` (``calls``, ``notes``, ``failures``), in order."""
    return [item for result in results for item in (result.structured_content or {}).get(key, [])]


def calls_listed(results: list[CallToolResult], provider: str) -> list[dict[str, Any]]:
    """The calls of ``provider`` on every page of ``results``, in order."""
    return [call for call in gathered(results, "calls") if call["provider"] == provider]


def busiest_agent(calls: Iterable[SimCall]) -> str:
    """The id of the agent on most of ``calls`` (the first by id among equals)."""
    counts = Counter(call.agent.id for call in calls if call.agent is not None)
    return max(sorted(counts), key=lambda agent: counts[agent])


async def look_up_all(client: Client, provider: str, call_ids: Iterable[str]) -> dict[str, Any]:
    """``get_live_call`` for each of ``call_ids`` at once: the call id each answer names, by id."""
    found: dict[str, Any] = {}

    async def look_up(call_id: str) -> None:
        result = await client.call_tool("get_live_call", {"call_id": call_id, "provider": provider})
        assert not result.is_error, text_of(result)
        found[call_id] = (result.structured_content or {})["call_id"]

    async with anyio.create_task_group() as group:
        for call_id in call_ids:
            group.start_soon(look_up, call_id)
    return found


def listed_once(found: ProviderSlice, simulator: Simulator, name: str) -> list[str]:
    """The ids ``found`` lists, checked: each live and queued call of ``name`` once, no other, no note."""
    ids = [item.call.call_id for item in found.items]
    assert len(ids) == len(set(ids)), "a call was listed twice"
    assert set(ids) == alive(simulator, name)
    assert found.notes == []
    return ids


def with_provider(settings: Settings, name: str, **changes: Any) -> Settings:
    """``settings`` with the provider ``name``'s own settings changed (a webhook secret …)."""
    one = settings.provider(ProviderName(name))
    assert one is not None, f"{name} is not configured"
    return settings.with_changes(
        providers={**settings.providers, ProviderName(name): replace(one, **changes)}
    )


@asynccontextmanager
async def receiver(
    settings: Settings, simulator: Simulator, provider: str | None = None, **changes: Any
) -> AsyncIterator[tuple[str, httpx2.AsyncClient]]:
    """The server's HTTP front door on loopback (its ``/webhooks/*`` and ``/mcp``) and an HTTP client:
    the base URL and the client. With ``provider``, that provider's settings get ``changes`` (its
    webhook secret) and the public URL is ``https://hooks.example``."""
    if provider is not None:
        settings = with_provider(settings, provider, **changes).with_changes(
            public_url="https://hooks.example"
        )
    server = create_server(settings, now=simulator.clock.now)
    with serve_asgi(http_app(server, settings, host="127.0.0.1"), name="mcp-http") as url:
        async with httpx2.AsyncClient() as http:
            yield url, http


async def found_until_it_ends(provider: LiveCallsProvider, clock: ManualClock, call: SimCall) -> None:
    """``call`` is found live, then, once ``clock`` passes its end, not found."""
    assert (await provider.get_call(call.id)).call_id == call.id
    clock.advance(call.end_ts - clock.now().timestamp() + 1)
    with pytest.raises(CallNotFound):
        await provider.get_call(call.id)
