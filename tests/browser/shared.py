"""One simulator, one server and one client for a whole test file whose tests only read them.

A file imports these fixtures by name (they shadow the per-test ones of ``tests/conftest.py``):
its tests then share what the per-test fixtures would build again for each (the simulator's
population, its loopback server, the MCP server and its client), and each still gets its own
browser context and page. Time stands still for them: a test that moves the simulator's clock
fails here (it needs the per-test fixtures); the faults a test injects are cleared after it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from mcp import Client
from mcp.server import MCPServer

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.config import Settings
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator, serve_simulator

__all__ = ["client", "clock", "server", "settings", "sim_url", "simulator", "unchanged_simulator"]


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def simulator(clock: ManualClock) -> Simulator:
    return Simulator(seed=7, clock=clock)


@pytest.fixture(scope="module")
def sim_url(simulator: Simulator) -> Iterator[str]:
    with serve_simulator(simulator) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def settings(sim_url: str) -> Settings:
    return simulator_settings(sim_url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0)


@pytest.fixture(scope="module")
def server(settings: Settings, simulator: Simulator) -> MCPServer[object]:
    return create_server(settings, now=simulator.clock.now)


@pytest.fixture(scope="module")
async def client(server: MCPServer[object]) -> AsyncIterator[Client]:
    async with Client(server) as connected:
        yield connected


@pytest.fixture(autouse=True)
def unchanged_simulator(simulator: Simulator, clock: ManualClock) -> Iterator[None]:
    """Each test finds the simulator as the first one did: no fault left, the clock where it was."""
    started = clock.now()
    yield
    simulator.faults.clear()
    assert clock.now() == started, "this test moves the shared simulator's clock: give it its own"
