"""Soak: many MCP clients against the simulator with faults injected, for a while.

    python -m benchmarks.soak                       # 50 clients for 60 s, 5 % of upstream requests faulty
    python -m benchmarks.soak --seconds 20 --clients 20 --fault-rate 0.1

Every client is a real ``mcp.Client`` (in memory) on one shared server, calling the three tools
in a loop, each call under ``anyio.fail_after`` (the tool budget plus a margin): a call that does
not come back in that time is *hung*. The simulator's calls move in real time and a mix of fault
kinds (HTTP errors, 429, latency, hangs, resets, HTML, truncated/empty/huge bodies, malformed JSON)
hits about ``--fault-rate`` of upstream requests. At the end it prints requests served, outcomes
by kind, latency percentiles, the faults applied, and RSS at start, middle and end; it exits 1 if
any call crashed (an exception, or a tool error with no reason) or hung. Not run in CI.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp import Client
from mcp.server import MCPServer
from mcp_types import CallToolResult, TextContent

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.providers.registry import PROVIDERS
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Fault, Simulator, WallClock, serve_simulator
from mcp_livecalls.simulator.transport import padding
from mcp_livecalls.upstream.policy import HttpPolicy

POLICY = HttpPolicy(connect_timeout_s=1.0, read_timeout_s=1.0, request_timeout_s=2.0, tool_budget_s=4.0)
"""Short limits, so hangs resolve within seconds and a soak of a minute sees many of them."""
MARGIN_S = 5.0
"""A call taking longer than the tool budget plus this is hung."""

FAULT_MIX: list[dict[str, Any]] = [
    {"kind": "status", "status_code": 503},
    {"kind": "status", "status_code": 502},
    {"kind": "status", "status_code": 500},
    {"kind": "status", "status_code": 429, "retry_after": 0.2},
    {"kind": "status", "status_code": 404},
    {"kind": "latency", "delay_s": 0.3},
    {"kind": "hang"},
    {"kind": "reset"},
    {"kind": "html"},
    {"kind": "truncated_json"},
    {"kind": "empty_body"},
    {"kind": "huge_body"},
    {"kind": "wrong_types"},
    {"kind": "missing_fields"},
    {"kind": "unknown_enum"},
    {"kind": "extra_fields"},
]

# Substrings of the server's messages, in the order they are tried.
ERROR_KINDS: list[tuple[str, str]] = [
    ("not live", "not_live"),
    ("rate limiting", "rate_limited"),
    ("did not answer", "timeout"),
    ("unavailable right now", "upstream_5xx"),
    ("internal error", "upstream_5xx"),
    ("closed the connection", "connection"),
    ("could not be reached", "connection"),
    ("HTML page", "bad_body"),
    ("not valid JSON", "bad_body"),
    ("empty body", "bad_body"),
    ("nested too deeply", "bad_body"),
    ("over ", "too_big"),
    ("does not understand", "bad_data"),
    ("answered with", "bad_data"),
    ("404 for its live-calls endpoint", "not_found_endpoint"),
    ("rejected the credentials", "auth"),
    ("refused", "refused"),
]


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    partial_reasons: Counter[str] = field(default_factory=Counter)
    crashes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    ok_latencies: list[float] = field(default_factory=list)
    hung: int = 0
    known: list[tuple[str, str]] = field(default_factory=list)
    """(provider, call_id) pairs from the latest list answers, for the lookups to ask about."""


def rss_mb() -> float:
    """Resident memory now (Linux), or the peak where /proc is not available."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1_048_576 if sys.platform == "darwin" else 1024)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def kind_of(message: str) -> str:
    for needle, kind in ERROR_KINDS:
        if needle in message:
            return kind
    return "other: " + " ".join(message.split())[:60]


def classify(tool: str, result: CallToolResult, tally: Tally) -> str:
    """Count the result under its outcome, and return that outcome."""
    text = text_of(result)
    if result.is_error:
        reason = text.removeprefix(f"Error executing tool {tool}").lstrip(": ").strip()
        if not reason:
            tally.crashes[f"{tool}: a tool error without a reason"] += 1
            return "crash"
        outcome = f"error/{kind_of(reason)}"
    else:
        outcome = "ok"
        content = result.structured_content or {}
        if tool == "list_active_calls":
            calls = content.get("calls", [])
            if calls:
                tally.known[:] = [(c["provider"], c["call_id"]) for c in calls][-200:]
            failures = content.get("failures", [])
            if failures:
                outcome = "partial (some providers failed)"
                for failure in failures:
                    tally.partial_reasons[kind_of(str(failure.get("reason", "")))] += 1
    tally.outcomes[outcome] += 1
    return outcome


def next_call(rng: random.Random, tally: Tally) -> tuple[str, dict[str, Any]]:
    roll = rng.random()
    if roll < 0.4 or not tally.known:
        arguments: dict[str, Any] = {"limit": rng.choice([5, 20, 100])}
        if rng.random() < 0.5:
            arguments["provider"] = rng.choice([cls.name.value for cls in PROVIDERS])
        return "list_active_calls", arguments
    provider, call_id = rng.choice(tally.known)
    arguments = {"call_id": call_id}
    if rng.random() < 0.7:
        arguments["provider"] = provider
    return ("get_live_call" if roll < 0.7 else "get_stream_details"), arguments


async def client_loop(server: MCPServer[Any], index: int, deadline: float, seed: int, tally: Tally) -> None:
    rng = random.Random(seed * 1000 + index)
    async with Client(server) as client:
        while time.monotonic() < deadline:
            tool, arguments = next_call(rng, tally)
            started = time.perf_counter()
            try:
                with anyio.fail_after(POLICY.tool_budget_s + MARGIN_S):
                    result = await client.call_tool(tool, arguments)
            except TimeoutError:
                tally.hung += 1
                continue
            except Exception as exc:  # noqa: BLE001 - a soak counts every way a call can fail
                tally.crashes[f"{tool}: {type(exc).__name__}: {str(exc)[:80]}"] += 1
                continue
            elapsed = time.perf_counter() - started
            tally.latencies.append(elapsed)
            if classify(tool, result, tally) == "ok":
                tally.ok_latencies.append(elapsed)


def count_faults(sim: Simulator) -> Counter[str]:
    """Wrap the simulator's fault picker to count the faults it applies, by kind."""
    applied: Counter[str] = Counter()
    pick = sim.faults.pick

    def counting(provider: str, routes: tuple[str, ...]) -> Fault | None:
        fault = pick(provider, routes)
        if fault is not None:
            applied[fault.kind if fault.kind != "status" else f"status {fault.status_code}"] += 1
        return fault

    sim.faults.pick = counting  # type: ignore[method-assign]
    return applied


async def soak(seconds: float, clients: int, fault_rate: float, seed: int, cache_ttl_s: float) -> int:
    sim = Simulator(seed=seed, clock=WallClock(), live_calls=30, arrival_every_s=5.0)
    # Each fault is tried in turn, so equal shares of the rate compound to about ``fault_rate``.
    share = 1 - (1 - fault_rate) ** (1 / len(FAULT_MIX))
    for spec in FAULT_MIX:
        sim.faults.inject(Fault.model_validate({**spec, "probability": share}))
    applied = count_faults(sim)
    padding()  # the simulator builds its 10 MB huge-body padding once; build it before measuring
    tally = Tally()
    memory: dict[str, float] = {}

    with serve_simulator(sim) as base_url:
        settings = simulator_settings(base_url, DEMO_CREDENTIALS).with_changes(
            http=POLICY, cache_ttl_s=cache_ttl_s
        )
        server = create_server(settings, now=sim.clock.now)
        print(
            f"soak: {clients} clients for {seconds:g} s, ~{fault_rate:.0%} of upstream requests faulty "
            f"({len(FAULT_MIX)} kinds), cache {cache_ttl_s:g} s, tool budget {POLICY.tool_budget_s:g} s, "
            f"read timeout {POLICY.read_timeout_s:g} s",
            flush=True,
        )
        started = time.monotonic()
        deadline = started + seconds

        async def sample_memory() -> None:
            # "start" after a short warm-up: connection pools, caches and the simulator's 10 MB
            # huge-body padding are made once, and are not growth.
            await anyio.sleep(seconds * 0.1)
            gc.collect()
            memory["start"] = rss_mb()
            await anyio.sleep(seconds * 0.4)
            gc.collect()
            memory["middle"] = rss_mb()

        async with anyio.create_task_group() as group:
            group.start_soon(sample_memory)
            for index in range(clients):
                group.start_soon(client_loop, server, index, deadline, seed, tally)
        wall = time.monotonic() - started
        gc.collect()
        memory["end"] = rss_mb()
        upstream = sum(sim.requests.values())

    report(tally, applied, memory, wall, upstream)
    return 1 if tally.crashes or tally.hung else 0


def report(tally: Tally, applied: Counter[str], memory: dict[str, float], wall: float, upstream: int) -> None:
    served = sum(tally.outcomes.values())
    print(
        f"\nrequests served   {served} in {wall:.1f} s ({served / wall:.0f}/s); upstream requests {upstream}"
    )
    print("outcomes:")
    for outcome, count in tally.outcomes.most_common():
        print(f"  {outcome:<34} {count:>7}  {count / max(served, 1):6.1%}")
    if tally.partial_reasons:
        print("failed providers inside partial lists:")
        for reason, count in tally.partial_reasons.most_common():
            print(f"  {reason:<34} {count:>7}")
    print("faults applied upstream:")
    total_faults = sum(applied.values())
    for kind, count in sorted(applied.items()):
        print(f"  {kind:<34} {count:>7}")
    print(
        f"  {'(all; share of upstream requests)':<34} {total_faults:>7}  "
        f"{total_faults / max(upstream, 1):6.1%}"
    )
    latencies = tally.latencies
    print(
        "latency ms (all calls): "
        + "  ".join(f"p{q} {percentile(latencies, q) * 1000:.0f}" for q in (50, 90, 99))
        + f"  max {max(latencies, default=0) * 1000:.0f}"
    )
    print(
        "latency ms (ok calls):  "
        + "  ".join(f"p{q} {percentile(tally.ok_latencies, q) * 1000:.0f}" for q in (50, 90, 99))
    )
    start, middle, end = memory.get("start", 0.0), memory.get("middle", 0.0), memory.get("end", 0.0)
    flat = end - middle <= max(0.1 * middle, 20.0)
    print(
        f"RSS MB: start {start:.0f}, middle {middle:.0f}, end {end:.0f} "
        f"({'flat' if flat else 'GROWING'} from middle to end: {end - middle:+.0f} MB)"
    )
    print(f"crashes {sum(tally.crashes.values())}, hung {tally.hung}")
    for crash, count in tally.crashes.most_common(10):
        print(f"  crash: {crash} x{count}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak",
        description="MCP clients against the simulator with faults injected; exits 1 on a crash or hang.",
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to run (default 60)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent MCP clients (default 50)")
    parser.add_argument("--fault-rate", type=float, default=0.05, help="share of faulty upstream requests")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache-ttl", type=float, default=1.0, help="LIVECALLS_CACHE_TTL_S (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    for name in ("httpx2", "httpcore2", "stamina", "mcp", "uvicorn", "mcp_livecalls"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return anyio.run(soak, args.seconds, args.clients, args.fault_rate, args.seed, args.cache_ttl)


if __name__ == "__main__":
    sys.exit(main())
