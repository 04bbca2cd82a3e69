"""Simulator scale: 10,000 live calls build in under 2 s and Vobiz's live list answers in under 1 s.

Moved here from the unit tests (a timing is a benchmark, not a behaviour): the simulator must stay
usable for the soak and latency runs, which serve thousands of calls.
"""

from __future__ import annotations

import time

import httpx2

from benchmarks.common import print_table
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Simulator, serve_simulator

__all__ = ["measure", "report"]

LIVE_CALLS = 10_000
BUILD_TARGET_S = 2.0
LIST_TARGET_S = 1.0


def measure() -> tuple[float, float, int]:
    """Seconds to build the simulator, seconds to list its live calls, and how many were listed."""
    started = time.perf_counter()
    sim = Simulator(live_calls=LIVE_CALLS)
    built = time.perf_counter() - started
    creds = DEMO_CREDENTIALS
    headers = {"X-Auth-ID": creds.vobiz_auth_id, "X-Auth-Token": creds.vobiz_auth_token}
    with serve_simulator(sim) as url, httpx2.Client(base_url=url, timeout=30) as client:
        started = time.perf_counter()
        answer = client.get(
            f"/api/v1/Account/{creds.vobiz_auth_id}/Call/", params={"status": "live"}, headers=headers
        )
        listed = time.perf_counter() - started
    answer.raise_for_status()
    return built, listed, len(answer.json()["calls"])


def report(measured: tuple[float, float, int]) -> dict[str, bool]:
    built, listed, count = measured
    print_table(
        f"Simulator with {LIVE_CALLS:,} live calls",
        ["step", "seconds", "target"],
        [
            ["build", f"{built:.2f}", f"< {BUILD_TARGET_S:g}"],
            [f"list ({count} live)", f"{listed:.2f}", f"< {LIST_TARGET_S:g}"],
        ],
    )
    return {
        f"10k calls build < {BUILD_TARGET_S:g} s": built < BUILD_TARGET_S,
        f"10k calls list < {LIST_TARGET_S:g} s": listed < LIST_TARGET_S and count > LIVE_CALLS * 0.3,
    }
