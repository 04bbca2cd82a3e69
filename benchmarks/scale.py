"""Simulator scale: 10,000 live calls build in under 2 s and Vobiz's live list answers in under 1 s.

Moved here from the unit tests (a timing is a benchmark, not a behaviour): the simulator must stay
usable for the soak and latency runs, which serve thousands of calls. The list's time means
something only when it served the whole list: it must answer every live Vobiz call of the
population (``Simulator.population.live``, the simulator's clock standing still), however the
10,000 calls are shared among the registered providers (an eighth each with eight).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx2

from benchmarks.common import print_table
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Simulator, serve_simulator

__all__ = ["Measured", "measure", "report"]

LIVE_CALLS = 10_000
BUILD_TARGET_S = 2.0
LIST_TARGET_S = 1.0


@dataclass(frozen=True)
class Measured:
    built_s: float
    listed_s: float
    listed: int
    """Calls Vobiz's live list answered."""
    expected: int
    """Live Vobiz calls in the population: what the list must answer."""


def measure() -> Measured:
    """Seconds to build the simulator and to list Vobiz's live calls, and how many it listed."""
    started = time.perf_counter()
    sim = Simulator(live_calls=LIVE_CALLS)
    built = time.perf_counter() - started
    expected = len(sim.population.live("vobiz"))
    creds = DEMO_CREDENTIALS
    headers = {"X-Auth-ID": creds.vobiz_auth_id, "X-Auth-Token": creds.vobiz_auth_token}
    with serve_simulator(sim) as url, httpx2.Client(base_url=url, timeout=30) as client:
        started = time.perf_counter()
        answer = client.get(
            f"/api/v1/Account/{creds.vobiz_auth_id}/Call/", params={"status": "live"}, headers=headers
        )
        listed = time.perf_counter() - started
    answer.raise_for_status()
    return Measured(built, listed, len(answer.json()["calls"]), expected)


def report(measured: Measured) -> dict[str, bool]:
    whole = measured.expected > 0 and measured.listed == measured.expected
    print_table(
        f"Simulator with {LIVE_CALLS:,} live calls",
        ["step", "seconds", "target"],
        [
            ["build", f"{measured.built_s:.2f}", f"< {BUILD_TARGET_S:g}"],
            [
                f"Vobiz live list ({measured.listed:,} of its {measured.expected:,} live calls)",
                f"{measured.listed_s:.2f}",
                f"< {LIST_TARGET_S:g}, every one listed",
            ],
        ],
    )
    build = f"10k calls build < {BUILD_TARGET_S:g} s: {measured.built_s:.2f} s"
    listing = (
        f"10k calls list < {LIST_TARGET_S:g} s, all {measured.expected:,} live Vobiz calls: "
        f"{measured.listed_s:.2f} s, {measured.listed:,} listed"
    )
    return {build: measured.built_s < BUILD_TARGET_S, listing: measured.listed_s < LIST_TARGET_S and whole}
