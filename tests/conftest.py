"""Shared fixtures: a real simulator on loopback, settings pointing at it, the server, a client."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import stamina
from mcp import Client
from mcp.client.session import ClientSession
from mcp.server import MCPServer

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.config import Settings
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator, serve_simulator


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True, scope="session")
def _no_backoff() -> Iterator[None]:
    """Retries still happen (up to each policy's own count) but without waiting."""
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


@pytest.fixture(autouse=True, scope="session")
def _one_compiled_output_schema_per_process() -> Iterator[None]:
    """Each client session checks a tool's output schema against the JSON Schema metaschema and
    compiles it the first time the tool answers (the SDK caches it per session). The check is a
    pure function of the schema, yet it was most of the time of a test that opens fresh clients
    (the fault matrix: two sessions per test). Here a schema checked once serves every session of
    the process; every result is still validated against it, and a schema that fails the check
    is never kept, so it fails each time as before."""
    compile_once = ClientSession._output_schema_validator
    compiled: dict[str, Any] = {}

    def shared(session: ClientSession, name: str, output_schema: dict[str, Any]) -> Any:
        key = json.dumps(output_schema, sort_keys=True)
        if (validator := compiled.get(key)) is None:
            validator = compiled[key] = compile_once(session, name, output_schema)
        session._tool_output_validators[name] = validator
        return validator

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ClientSession, "_output_schema_validator", shared)
        yield


@pytest.fixture
def clock() -> ManualClock:
    """The simulator's clock: time moves only when a test says so."""
    return ManualClock()


@pytest.fixture
def simulator(clock: ManualClock) -> Simulator:
    return Simulator(seed=7, clock=clock)


@pytest.fixture
def sim_url(simulator: Simulator) -> Iterator[str]:
    with serve_simulator(simulator) as base_url:
        yield base_url


@pytest.fixture
def settings(sim_url: str) -> Settings:
    # No freshness window: tests move the simulator clock and must see the change at once.
    return simulator_settings(sim_url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0)


@pytest.fixture
def server(settings: Settings, simulator: Simulator) -> MCPServer[object]:
    return create_server(settings, now=simulator.clock.now)


@pytest.fixture
async def client(server: MCPServer[object]) -> AsyncIterator[Client]:
    async with Client(server) as connected:
        yield connected


# -- a real Redis, for the fleet tests -------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """The developer's Redis (``LIVECALLS_TEST_REDIS_URL``) or one of our own; in CI never a skip."""
    from fleet_support import DEFAULT_TEST_REDIS_URL, RedisProcess, answers, missing_redis, redis_binary

    url = os.environ.get("LIVECALLS_TEST_REDIS_URL", "").strip() or DEFAULT_TEST_REDIS_URL
    if answers(url):
        yield url
        return
    binary = redis_binary()
    if binary is None:
        missing_redis(f"no Redis answers at {url} and no redis-server binary is installed")
        return
    with RedisProcess(binary) as own:
        yield own.url


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """That Redis, emptied for this test."""
    from fleet_support import flush

    flush(redis_server_url)
    return redis_server_url
