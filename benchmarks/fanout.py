"""Fan-out: ``list_active_calls`` (limit 20) across every provider vs the slowest provider alone.

Part of ``benchmarks.latency`` (same simulators, same 50 ms upstream delay, freshness caching
off). Besides wall time it reports what the time is made of, so the ratio is the server's:

* the simulators' CPU per page (``/proc/<pid>/stat`` of each simulator process): with every
  provider served by one process, that process answers ~50 requests per page on one core;
  one process per provider (the default) spreads them;
* this process's CPU per page (in memory: the server and the MCP client);
* the upstream requests one page costs at each provider, read from the simulators' own counters,
  for the page across all providers and for each provider alone.

Target: across all ≤ 1.3× the slowest alone (p50).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp import Client

from benchmarks.common import SimulatorProcess, percentile, print_table, upstream_requests
from mcp_livecalls.providers.registry import PROVIDERS

__all__ = ["TARGET_FANOUT", "Fanout", "measure_fanout", "report_fanout"]

TARGET_FANOUT = 1.3
SAMPLES = 12
WARMUP = 3
ALL = "all"


@dataclass(frozen=True)
class Fanout:
    transport: str
    p50: dict[str, float]
    """p50 ms per variant: each provider alone, and ``all``."""
    simulator_cpu_ms: float
    """The simulators' CPU per page across all providers (every simulator process summed)."""
    own_cpu_ms: float
    """This process's CPU per page across all providers (in memory: server and client)."""
    requests: dict[str, Counter[str]]
    """Upstream requests of one page, per variant and provider."""

    @property
    def slowest(self) -> float:
        return max(self.p50[cls.name.value] for cls in PROVIDERS)

    @property
    def ratio(self) -> float:
        return self.p50[ALL] / self.slowest


def _variants() -> dict[str, dict[str, Any]]:
    return {
        **{cls.name.value: {"provider": cls.name.value, "limit": 20} for cls in PROVIDERS},
        ALL: {"limit": 20},
    }


def _distinct(sims: Mapping[str, SimulatorProcess]) -> list[SimulatorProcess]:
    """Each simulator process once (one may serve every provider)."""
    return list({sim.pid: sim for sim in sims.values()}.values())


def _requests_by_provider(sims: Mapping[str, SimulatorProcess]) -> Counter[str]:
    counted: Counter[str] = Counter()
    for sim in _distinct(sims):
        for (provider, _route), count in upstream_requests(sim.url).items():
            counted[provider] += count
    return counted


async def _page_requests(
    sims: Mapping[str, SimulatorProcess], page: Callable[[], Awaitable[object]]
) -> Counter[str]:
    before = _requests_by_provider(sims)
    await page()
    after = _requests_by_provider(sims)
    return Counter({name: after[name] - before[name] for name in after if after[name] != before[name]})


async def measure_fanout(
    transport: str,
    client: Client,
    sims: Mapping[str, SimulatorProcess],
    tool: Callable[[Client, str, dict[str, Any]], Awaitable[object]],
) -> Fanout:
    variants = _variants()
    times: dict[str, list[float]] = {name: [] for name in variants}
    simulator_cpu = 0.0
    own_cpu = 0.0
    for index in range(WARMUP + SAMPLES):
        for name, arguments in variants.items():
            cpu_before = sum(sim.cpu_s() for sim in _distinct(sims))
            own_before = time.process_time()
            started = time.perf_counter()
            await tool(client, "list_active_calls", arguments)
            elapsed = (time.perf_counter() - started) * 1000
            if index >= WARMUP:
                times[name].append(elapsed)
                if name == ALL:
                    own_cpu += time.process_time() - own_before
                    simulator_cpu += sum(sim.cpu_s() for sim in _distinct(sims)) - cpu_before
    requests = {
        name: await _page_requests(sims, lambda a=arguments: tool(client, "list_active_calls", a))  # type: ignore[misc]
        for name, arguments in variants.items()
    }
    return Fanout(
        transport,
        {name: percentile(values, 50) for name, values in times.items()},
        simulator_cpu * 1000 / SAMPLES,
        own_cpu * 1000 / SAMPLES,
        requests,
    )


def report_fanout(rows: list[Fanout], *, layout: str) -> dict[str, bool]:
    names = [cls.name.value for cls in PROVIDERS]
    print_table(
        f"list_active_calls (limit 20): every provider vs one, p50 ms of {SAMPLES}; simulators: {layout}",
        ["transport", *names, ALL, "all / slowest", "simulators' CPU/page", "this process's CPU/page"],
        [
            [
                f.transport,
                *(f.p50[name] for name in names),
                f.p50[ALL],
                f"{f.ratio:.2f}x",
                f"{f.simulator_cpu_ms:.1f} ms",
                f"{f.own_cpu_ms:.1f} ms",
            ]
            for f in rows
        ],
    )
    first = rows[0]
    print_table(
        f"Upstream requests of one page of 20 ({first.transport}), per provider",
        ["page", *names, "total"],
        [
            [variant, *(counted.get(name, 0) for name in names), sum(counted.values())]
            for variant, counted in ((ALL, first.requests[ALL]), *((n, first.requests[n]) for n in names))
        ],
    )
    print(
        "A Plivo-family provider (vobiz, plivo) lists UUIDs only: a page alone costs its lists plus\n"
        "one detail request per call; across providers only the calls that can still make the page\n"
        "are asked for (service.lists)."
    )
    return {
        f"fanout {f.transport} ≤ {TARGET_FANOUT}x the slowest alone": f.ratio <= TARGET_FANOUT for f in rows
    }
