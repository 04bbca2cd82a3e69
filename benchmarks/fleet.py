"""A replica fleet: 3 replicas × 30 clients polling the same call and the active list, with and without Redis.

Three separate servers (``create_server`` apps, each with its own ``LiveCallsApp``) in this
process, ``CLIENTS_PER_REPLICA`` in-memory ``mcp.Client`` sessions on each, all polling for
``SECONDS`` one Exotel call (``get_live_call``: call details + stream, two upstream requests) and
``list_active_calls`` against one simulator in its own process (a WallClock slowed a hundredfold).
Run once with every replica on its own (today's behaviour) and once sharing one Redis
(``LIVECALLS_BENCH_REDIS_URL``, else a ``redis-server`` of our own on a free port).

* **Upstream fetches per second per resource** (the call; a provider's list page), HTTP requests
  per second and **Exotel requests per minute across the fleet**, for one replica alone (the
  baseline), three replicas on their own, and three sharing Redis. Target with Redis: about one
  replica's upstream requests (≤ 1.2× the baseline), not three.
* **p50/p99 tool latency** with and without Redis.
* **Poller failover**: two replicas watch one call (poll interval 0.5 s); the leader's poller
  dies without resigning; the time until the other replica polls. Target: within two intervals.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass

import anyio
from mcp import Client
from mcp_types import CallToolResult
from pydantic import SecretStr

from benchmarks.common import free_port, percentile, print_table, quiet_logs, text_of, upstream_requests
from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.config import Settings
from mcp_livecalls.server.app import LiveCallsApp
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS
from mcp_livecalls.web.metrics import registry_for

__all__ = ["main", "measure", "report"]

REPLICAS = 3
CLIENTS_PER_REPLICA = 30
SECONDS = 10.0
CLIENT_EVERY_S = 2.0
"""Each client polls (the call, then the list) every 2 s: 90 clients offer 90 tool calls/s, about
what in-process clients and servers sustain on 2 shared cores without queueing."""
LIVE_CALLS = 60
SIMULATOR_SPEED = 0.01
FAILOVER_POLL_S = 0.5


@dataclass(frozen=True)
class Run:
    label: str
    replicas: int
    seconds: float
    tool_calls: int
    errors: int
    upstream: Counter[tuple[str, str]]
    flights: Counter[str]
    """Upstream fetches by resource kind (call, stream, list page), summed over the replicas."""
    latencies_ms: list[float]
    metrics_upstream: int
    """Upstream requests the replicas' ``/metrics`` counted over the run (summed over replicas)."""

    def per_second(self, kind: str) -> float:
        return self.flights[kind] / self.seconds

    @property
    def requests_per_second(self) -> float:
        return sum(self.upstream.values()) / self.seconds

    @property
    def exotel_per_minute(self) -> float:
        exotel = sum(n for (provider, _), n in self.upstream.items() if provider == "exotel")
        return exotel / self.seconds * 60


@dataclass(frozen=True)
class Results:
    runs: list[Run]
    failover_s: float | None


@contextmanager
def _redis() -> Iterator[str]:
    url = os.environ.get("LIVECALLS_BENCH_REDIS_URL", "").strip()
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("set LIVECALLS_BENCH_REDIS_URL or install redis-server")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=port, socket_timeout=0.5).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def _checked(result: CallToolResult) -> CallToolResult:
    if result.is_error:
        raise RuntimeError(text_of(result))
    return result


async def _pick_call(settings: Settings) -> str:
    async with Client(create_server(settings)) as client:
        page = _checked(await client.call_tool("list_active_calls", {"provider": "exotel", "limit": 100}))
    calls = (page.structured_content or {}).get("calls", [])
    talking = [call for call in calls if call["status"] == "in_progress"]
    return str((talking or calls)[0]["call_id"])


async def poll(label: str, settings: Settings, base_url: str, call_id: str, replicas: int = REPLICAS) -> Run:
    apps = [LiveCallsApp(settings) for _ in range(replicas)]
    servers = [create_server(app=app) for app in apps]
    latencies: list[float] = []
    tool_calls = errors = 0
    lookup = {"call_id": call_id, "provider": "exotel"}
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(Client(server))
            for server in servers
            for _ in range(CLIENTS_PER_REPLICA)
        ]
        # Before the clock starts each session calls both tools once: the mcp client compiles a
        # tool's output schema on its first call (tens of ms of CPU each), which is not polling.
        for client in clients:
            await client.call_tool("get_live_call", lookup)
            await client.call_tool("list_active_calls", {"limit": 20})
        before = Counter(upstream_requests(base_url))
        counted_before = sum(_counted_upstream(app) for app in apps)
        flights_before = sum((app.service.cache.flights for app in apps), Counter[str]())
        started = anyio.current_time()
        deadline = started + SECONDS

        async def loop(index: int, client: Client) -> None:
            nonlocal tool_calls, errors
            await anyio.sleep(CLIENT_EVERY_S * index / len(clients))  # spread the clients out
            while anyio.current_time() < deadline:
                due = anyio.current_time() + CLIENT_EVERY_S
                for tool, arguments in (("get_live_call", lookup), ("list_active_calls", {"limit": 20})):
                    asked = time.perf_counter()
                    result = await client.call_tool(tool, arguments)
                    latencies.append((time.perf_counter() - asked) * 1000)
                    tool_calls += 1
                    errors += bool(result.is_error)
                await anyio.sleep(max(0.0, due - anyio.current_time()))

        async with anyio.create_task_group() as group:
            for index, client in enumerate(clients):
                group.start_soon(loop, index, client)
        elapsed = anyio.current_time() - started
        after = Counter(upstream_requests(base_url))
        counted = sum(_counted_upstream(app) for app in apps) - counted_before
        flights = sum((app.service.cache.flights for app in apps), Counter[str]()) - flights_before
    return Run(label, replicas, elapsed, tool_calls, errors, after - before, flights, latencies, counted)


def _counted_upstream(app: LiveCallsApp) -> int:
    """``livecalls_upstream_requests_total`` as ``GET /metrics`` would show it, over every label."""
    return int(
        sum(
            sample.value
            for family in registry_for(app).collect()
            for sample in family.samples
            if sample.name == "livecalls_upstream_requests_total"
        )
    )


async def failover(settings: Settings, call_id: str) -> float:
    """Seconds from the leading poller's death until another replica polls the call."""
    watched = settings.with_changes(poll_interval_s=FAILOVER_POLL_S)
    uri = f"livecalls://calls/exotel/{call_id}"
    apps = [LiveCallsApp(watched) for _ in range(2)]
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(Client(create_server(app=app))) for app in apps]
        for client in clients:
            await stack.enter_async_context(client.listen(resource_subscriptions=[uri]))
        with anyio.fail_after(10):
            while not any(app.watcher.leases and uri in app.watcher.leases.leading for app in apps):  # noqa: ASYNC110
                await anyio.sleep(0.01)
        leader = next(app for app in apps if app.watcher.leases and uri in app.watcher.leases.leading)
        other = next(app for app in apps if app is not leader)
        polls = other.watcher.upstream_polls

        async def crashed(uri: str) -> None:  # a dead process never resigns
            return None

        assert leader.watcher.leases is not None
        leader.watcher.leases.resign = crashed  # type: ignore[method-assign]
        leader.watcher._pollers[uri].scope.cancel()
        died = time.perf_counter()
        with anyio.fail_after(10):
            while other.watcher.upstream_polls == polls:  # noqa: ASYNC110 - a measurement, not a wait
                await anyio.sleep(0.005)
        return time.perf_counter() - died


async def measure() -> Results:
    from benchmarks.common import simulator_subprocess

    with (
        simulator_subprocess(live_calls=LIVE_CALLS, speed=SIMULATOR_SPEED) as base_url,
        _redis() as redis_url,
    ):
        settings = simulator_settings(base_url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=1.0)
        call_id = await _pick_call(settings)
        fleet = settings.with_changes(redis_url=SecretStr(redis_url), redis_prefix=f"bench{os.getpid()}:")
        runs = [
            await poll("one replica", settings, base_url, call_id, replicas=1),
            await poll("without Redis", settings, base_url, call_id),
            await poll("with Redis", fleet, base_url, call_id),
        ]
        failover_s = await failover(fleet, call_id)
    return Results(runs, failover_s)


def report(results: Results) -> dict[str, bool]:
    rows = [
        [
            run.label,
            f"{run.replicas} × {CLIENTS_PER_REPLICA}",
            f"{run.seconds:.1f}",
            run.tool_calls,
            run.errors,
            f"{run.per_second('call'):.2f}",
            f"{run.per_second('stream'):.2f}",
            f"{run.per_second('list'):.2f}",
            f"{run.requests_per_second:.1f}",
            f"{run.exotel_per_minute:.0f}",
            f"{percentile(run.latencies_ms, 50):.1f}",
            f"{percentile(run.latencies_ms, 99):.1f}",
        ]
        for run in results.runs
    ]
    print_table(
        "Fleet: upstream load and latency (cache TTL 1 s)",
        [
            "mode",
            "replicas × clients",
            "s",
            "tool calls",
            "errors",
            "call fetch/s",
            "stream fetch/s",
            "list fetch/s",
            "HTTP req/s",
            "Exotel req/min",
            "p50 ms",
            "p99 ms",
        ],
        rows,
    )
    single, _, shared = results.runs
    one_replica = single.requests_per_second
    fleet_total = shared.requests_per_second
    failover = results.failover_s
    if failover is not None:
        print(
            f"\npoller failover: {failover:.2f} s at a {FAILOVER_POLL_S:g} s poll interval "
            f"({failover / FAILOVER_POLL_S:.1f} intervals)"
        )
    for run in results.runs:
        print(
            f"{run.label}: /metrics counted {run.metrics_upstream} upstream requests, "
            f"the simulator received {sum(run.upstream.values())}"
        )
    return {
        "fleet upstream ≈ one replica's (≤ 1.1×)": fleet_total <= one_replica * 1.1,
        "/metrics counts what the providers received": all(
            run.metrics_upstream == sum(run.upstream.values()) for run in results.runs
        ),
        "no tool call failed": all(run.errors == 0 for run in results.runs),
        "Exotel under 200/min across the fleet (with Redis)": shared.exotel_per_minute <= 200,
        "failover within two poll intervals": failover is not None and failover <= 2 * FAILOVER_POLL_S,
    }


def main() -> int:
    quiet_logs()
    verdicts = report(anyio.run(measure))
    for target, holds in verdicts.items():
        print(f"{'yes' if holds else 'NO '}  {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
