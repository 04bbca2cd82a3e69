"""Start-up: from process start to the first ``initialize`` answer of ``mcp-livecalls serve`` over stdio.

Each run starts ``python -m mcp_livecalls.cli serve`` pointed at every provider (the simulator's
environment; nothing listens there, and ``initialize`` asks no provider anything), writes one
``initialize`` request to its stdin and waits for the answer line. Measured per run: the wall
time (load-dependent: the machine is shared) and the CPU time the process had used when it
answered (user + system from ``/proc/<pid>/stat``: what the start-up costs, whatever the load).
The floor is the same measure for a bare ``MCPServer`` with no tools: what the SDK costs alone.
Target: ≤ 0.5 s wall, p50.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.common import cpu_seconds, print_table, simulator_env

__all__ = ["Startup", "measure", "report"]

RUNS = 7
TARGET_S = 0.5

_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "startup-bench", "version": "1"},
    },
}

_BARE_SERVER = "from mcp.server import MCPServer\nMCPServer('bare').run('stdio')\n"


@dataclass(frozen=True)
class Startup:
    label: str
    wall_s: list[float]
    cpu_s: list[float]

    @property
    def wall_p50(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def cpu_p50(self) -> float:
        return statistics.median(self.cpu_s) if self.cpu_s else float("nan")


def _one_run(args: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter
        list(args), env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(json.dumps(_INITIALIZE).encode() + b"\n")
        process.stdin.flush()
        line = process.stdout.readline()
        wall = time.perf_counter() - started
        cpu = cpu_seconds(process.pid)
        answer = json.loads(line)
        if "result" not in answer:
            raise RuntimeError(f"initialize failed: {answer}")
        return wall, cpu
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _series(label: str, args: Sequence[str], env: dict[str, str]) -> Startup:
    walls: list[float] = []
    cpus: list[float] = []
    _one_run(args, env)  # warm the file cache and the bytecode
    for _ in range(RUNS):
        wall, cpu = _one_run(args, env)
        walls.append(wall)
        if not math.isnan(cpu):
            cpus.append(cpu)
    return Startup(label, walls, cpus)


def measure() -> list[Startup]:
    base = {**os.environ, "LIVECALLS_LOG_LEVEL": "WARNING"}
    served = {**base, **simulator_env("http://127.0.0.1:9")}
    return [
        _series(
            "mcp-livecalls serve (every provider)",
            [sys.executable, "-m", "mcp_livecalls.cli", "serve"],
            served,
        ),
        _series("bare MCPServer, no tools (the SDK's floor)", [sys.executable, "-c", _BARE_SERVER], base),
    ]


def report(results: list[Startup]) -> dict[str, bool]:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print_table(
        f"Process start → first initialize answer over stdio, {RUNS} runs — {os.cpu_count()} cores, "
        f"load average {load:.1f} (s)",
        ["process", "wall p50", "wall min", "CPU p50", "CPU min"],
        [
            [r.label, r.wall_p50, min(r.wall_s), r.cpu_p50, min(r.cpu_s, default=float("nan"))]
            for r in results
        ],
    )
    ours = results[0]
    print(
        f"ours above the SDK's floor: {ours.cpu_p50 - results[1].cpu_p50:.2f} s CPU "
        "(CPU is what start-up costs; wall time also waits for the other processes on the machine)"
    )
    return {f"start-up to initialize ≤ {TARGET_S:g} s (p50 wall)": ours.wall_p50 <= TARGET_S}


def main() -> None:
    report(measure())


if __name__ == "__main__":
    main()
