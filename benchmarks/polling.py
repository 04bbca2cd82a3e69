"""Polling load: many assistants polling the same call and the active list.

``CLIENTS`` in-memory ``mcp.Client`` sessions on ONE server instance (they share its
``LiveCallsApp``, so its ``FreshnessCache`` coalesces their requests) each poll, for ``SECONDS``,
``get_live_call`` on one call and ``list_active_calls`` (limit 20, every provider) in a loop.
The simulator runs in its own process (``mcp-livecalls simulator``, a WallClock slowed a
hundredfold so the polled call stays live); its request counters are read over HTTP.

* **Upstream requests per second** at ``cache_ttl_s`` 1.0 and 0 (coalescing only), compared with
  what one fresh poll (one call + one list, nothing cached) costs upstream. Target: at most one
  upstream request per call per freshness window, i.e. per window no more than one fresh poll.
* **CPU per tool call** of this process (server and the 100 in-memory clients; the simulator is
  in another process), and the part of it that is the client's own schema check.
* **Peak RSS with 10,000 live calls paged through**: a fresh process runs ``mcp-livecalls serve``
  over stdio and pages ``list_active_calls`` (limit 100) to the end; ``ru_maxrss`` of that server
  process (``RUSAGE_CHILDREN`` of the fresh process, whose only child it is). Target < 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.server import MCPServer
from mcp_types import CallToolResult

from benchmarks.common import (
    print_table,
    quiet_logs,
    simulator_env,
    simulator_subprocess,
    text_of,
)
from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS

__all__ = ["main", "measure"]

CLIENTS = 100
SECONDS = 10.0
LIVE_CALLS = 90
SIMULATOR_SPEED = 0.01
TTLS = (1.0, 0.0)
RSS_LIVE_CALLS = 10_000
RSS_PAGE = 100
TARGET_RSS_MB = 200.0


async def _state(base_url: str) -> Counter[tuple[str, str]]:
    async with httpx2.AsyncClient(timeout=10) as http:
        state = (await http.get(f"{base_url}/_sim/state")).json()
    return Counter({(item["provider"], item["route"]): int(item["count"]) for item in state["requests"]})


def _checked(result: CallToolResult) -> CallToolResult:
    if result.is_error:
        raise RuntimeError(text_of(result))
    return result


async def _pick_call(server: MCPServer[Any]) -> tuple[str, str]:
    """A call in progress (Exotel: call details and stream, two upstream requests per lookup)."""
    async with Client(server) as client:
        page = _checked(await client.call_tool("list_active_calls", {"provider": "exotel", "limit": 100}))
    calls = (page.structured_content or {}).get("calls", [])
    talking = [call for call in calls if call["status"] == "in_progress"]
    return "exotel", (talking or calls)[0]["call_id"]


async def _one_poll(client: Client, provider: str, call_id: str) -> tuple[CallToolResult, CallToolResult]:
    one = _checked(await client.call_tool("get_live_call", {"call_id": call_id, "provider": provider}))
    page = _checked(await client.call_tool("list_active_calls", {"limit": 20}))
    return one, page


@dataclass(frozen=True)
class Run:
    ttl_s: float
    seconds: float
    tool_calls: int
    errors: int
    upstream: Counter[tuple[str, str]]
    cpu_s: float
    validation_cpu_s: float
    """The clients' own schema checks, estimated from timing them on the last results."""

    @property
    def requests(self) -> int:
        return sum(self.upstream.values())


async def _fresh_poll_cost(base_url: str, provider: str, call_id: str) -> int:
    """Upstream requests of one poll (one call + one list) with nothing cached."""
    settings = simulator_settings(base_url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0)
    async with Client(create_server(settings)) as client:
        await _one_poll(client, provider, call_id)  # warm up (connections, tool list)
        before = await _state(base_url)
        await _one_poll(client, provider, call_id)
        after = await _state(base_url)
    return sum((after - before).values())


async def poll(base_url: str, ttl_s: float, provider: str, call_id: str) -> Run:
    settings = simulator_settings(base_url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=ttl_s)
    server = create_server(settings)
    tool_calls = errors = 0
    last: tuple[CallToolResult, CallToolResult] | None = None
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(Client(server)) for _ in range(CLIENTS)]
        # Before the clock starts, each session polls once: it lists the tools and compiles their
        # output schemas (the mcp client does that once per session, at tens of ms each).
        async with anyio.create_task_group() as group:
            for client in clients:
                group.start_soon(_one_poll, client, provider, call_id)
        before = await _state(base_url)
        cpu = time.process_time()
        started = anyio.current_time()
        deadline = started + SECONDS

        async def loop(client: Client) -> None:
            nonlocal tool_calls, errors, last
            while anyio.current_time() < deadline:
                try:
                    last = await _one_poll(client, provider, call_id)
                except RuntimeError:
                    errors += 1
                tool_calls += 2

        async with anyio.create_task_group() as group:
            for client in clients:
                group.start_soon(loop, client)
        elapsed = anyio.current_time() - started
        cpu_s = time.process_time() - cpu
        after = await _state(base_url)
        validation = await _validation_cpu(clients[0], last) * tool_calls / 2 if last else 0.0
    return Run(ttl_s, elapsed, tool_calls, errors, after - before, cpu_s, validation)


async def _validation_cpu(client: Client, results: tuple[CallToolResult, CallToolResult]) -> float:
    """CPU seconds of the client's schema check for one poll (a call and a list), on average."""
    one, page = results
    rounds = 50
    cpu = time.process_time()
    for _ in range(rounds):
        await client.session.validate_tool_result("get_live_call", one)
        await client.session.validate_tool_result("list_active_calls", page)
    return (time.process_time() - cpu) / rounds


# -- peak RSS, in a fresh process ----------------------------------------------------------------


async def _page_through(base_url: str) -> dict[str, Any]:
    env = {**simulator_env(base_url), "LIVECALLS_LOG_LEVEL": "WARNING", "LIVECALLS_CACHE_TTL_S": "0"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_livecalls.cli", "serve"], env=env)
    calls = pages = 0
    cursor: str | None = None
    started = time.perf_counter()
    async with Client(params, read_timeout_seconds=120) as client:
        while True:
            arguments: dict[str, Any] = {"limit": RSS_PAGE}
            if cursor:
                arguments["cursor"] = cursor
            page = (_checked(await client.call_tool("list_active_calls", arguments))).structured_content or {}
            calls += len(page.get("calls", []))
            pages += 1
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return {
        "calls": calls,
        "pages": pages,
        "seconds": time.perf_counter() - started,
        # Linux reports kilobytes (macOS bytes); the server was this process's only child.
        "server_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "client_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def peak_rss() -> dict[str, Any]:
    with simulator_subprocess(live_calls=RSS_LIVE_CALLS, speed=SIMULATOR_SPEED) as base_url:
        output = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "benchmarks.polling", "--rss-child", base_url],
            cwd=Path(__file__).resolve().parent.parent,  # the repository root: ``benchmarks`` imports
            check=True,
            capture_output=True,
            text=True,
            timeout=240,
        ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


# -- the whole benchmark -------------------------------------------------------------------------


@dataclass
class Results:
    fresh_poll: int
    runs: list[Run]
    rss: dict[str, Any]


async def measure() -> Results:
    with simulator_subprocess(live_calls=LIVE_CALLS, speed=SIMULATOR_SPEED) as base_url:
        settings = simulator_settings(base_url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0)
        provider, call_id = await _pick_call(create_server(settings))
        fresh = await _fresh_poll_cost(base_url, provider, call_id)
        runs = [await poll(base_url, ttl, provider, call_id) for ttl in TTLS]
    rss = await anyio.to_thread.run_sync(peak_rss)
    return Results(fresh, runs, rss)


def report(results: Results) -> dict[str, bool]:
    fresh = results.fresh_poll
    rows = []
    verdicts: dict[str, bool] = {}
    for run in results.runs:
        per_second = run.requests / run.seconds
        if run.ttl_s > 0:
            windows = run.seconds / run.ttl_s
            per_window = run.requests / windows
            holds = per_window <= fresh * 1.1  # a window boundary may straddle the last poll
            verdicts[f"ttl {run.ttl_s:g}"] = holds
            window = f"{per_window:.1f} (fresh poll: {fresh})"
        else:
            window, holds = "coalescing only", True
        rows.append(
            [
                f"{run.ttl_s:g}",
                CLIENTS,
                f"{run.seconds:.1f}",
                run.tool_calls,
                f"{run.tool_calls / run.seconds:.0f}",
                run.errors,
                run.requests,
                f"{per_second:.1f}",
                f"{run.requests / max(1, run.tool_calls):.3f}",
                window,
                f"{run.cpu_s / max(1, run.tool_calls) * 1000:.2f}",
                f"{(run.cpu_s - run.validation_cpu_s) / max(1, run.tool_calls) * 1000:.2f}",
            ]
        )
    print_table(
        f"Polling: {CLIENTS} in-memory clients on one server, get_live_call + list_active_calls (limit 20), "
        f"{SECONDS:g} s — {os.cpu_count()} cores",
        [
            "ttl s",
            "clients",
            "s",
            "tool calls",
            "calls/s",
            "errors",
            "upstream reqs",
            "reqs/s",
            "reqs/tool call",
            "reqs per window",
            "CPU ms/call",
            "w/o client check",
        ],
        rows,
    )
    print(
        "CPU ms/call: this process (server + the in-memory clients; the simulator runs elsewhere);\n"
        "w/o client check: minus the clients' own output-schema validation (jsonschema)."
    )
    for run in results.runs:
        breakdown = ", ".join(f"{p} {r} {n}" for (p, r), n in sorted(run.upstream.items()))
        print(f"ttl {run.ttl_s:g} upstream by route: {breakdown}")

    rss = results.rss
    server_mb = rss["server_maxrss_kb"] / 1024
    verdicts["rss"] = server_mb < TARGET_RSS_MB
    print_table(
        f"Peak RSS, {RSS_LIVE_CALLS:,} live calls paged through (limit {RSS_PAGE}) over stdio",
        ["calls listed", "pages", "s", "server peak RSS MB", "client process MB", "< 200 MB"],
        [
            [
                rss["calls"],
                rss["pages"],
                f"{rss['seconds']:.1f}",
                f"{server_mb:.1f}",
                f"{rss['client_maxrss_kb'] / 1024:.1f}",
                "yes" if verdicts["rss"] else "NO",
            ]
        ],
    )
    print_table(
        "Polling targets",
        ["target", "holds"],
        [
            *(
                [f"≤ one fresh poll upstream per {key.removeprefix('ttl ')} s window", _yes(value)]
                for key, value in verdicts.items()
                if key.startswith("ttl")
            ),
            ["peak RSS < 200 MB with 10,000 live calls", _yes(verdicts["rss"])],
        ],
    )
    return verdicts


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


async def _main() -> None:
    started = time.perf_counter()
    report(await measure())
    print(f"\n(polling benchmark took {time.perf_counter() - started:.1f} s)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rss-child", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quiet_logs()
    if args.rss_child:
        print(json.dumps(anyio.run(_page_through, args.rss_child)))
        return
    anyio.run(_main)


if __name__ == "__main__":
    main()
