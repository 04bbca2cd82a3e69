"""What the benchmarks share: token counting, tables, simulators, raw upstream fetches."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import httpx2
from mcp_types import CallToolResult, TextContent

from mcp_livecalls.cli import simulator_env as cli_simulator_env
from mcp_livecalls.simulator import DEMO_CREDENTIALS, SimulatorCredentials

__all__ = [
    "FIXTURE_CLOCK_START",
    "RawResult",
    "SimulatorProcess",
    "count_tokens",
    "cpu_seconds",
    "free_port",
    "minified",
    "percentile",
    "print_table",
    "quiet_logs",
    "simulator_env",
    "simulator_processes",
    "simulator_subprocess",
    "text_of",
]

FIXTURE_CLOCK_START = datetime(2023, 12, 20, 18, 45, tzinfo=UTC)
"""The simulated "now" for the documentation fixtures: five minutes into Zudu's example call."""


def quiet_logs() -> None:
    """Keep request logs (httpx2 logs every URL at INFO) and the SDK's chatter off the tables."""
    for name in ("httpx2", "httpx", "mcp", "uvicorn", "mcp_livecalls"):
        logging.getLogger(name).setLevel(logging.WARNING)


@cache
def _encoding() -> Any:
    import bpe_openai

    return bpe_openai.get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    """Tokens of ``text`` in o200k_base (GPT-4o's encoding), counted offline.

    The tokenizer refuses inputs of a million characters; longer texts are counted in pieces
    split at commas (a split costs at most a token or so per piece).
    """
    if len(text) <= _PIECE:
        return len(_encoding().encode(text))
    cut = text.rfind(",", 0, _PIECE) + 1 or _PIECE
    return count_tokens(text[:cut]) + count_tokens(text[cut:])


_PIECE = 500_000


def minified(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def text_of(result: CallToolResult) -> str:
    """The text block of a tool result."""
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, by linear interpolation."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    if q <= 0:
        return min(values)
    if q >= 100:
        return max(values)
    return cuts[round(q) - 1]


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain text table; numbers right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if num else cell.ljust(width)
            for cell, width, num in zip(row, widths, numeric, strict=True)
        ).rstrip()

    print(f"\n{title}")
    print(line(cells[0]))
    print("  ".join("-" * width for width in widths))
    for row in cells[1:]:
        print(line(row))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- simulators ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def simulator_env(base_url: str, credentials: SimulatorCredentials = DEMO_CREDENTIALS) -> dict[str, str]:
    """The environment that points ``mcp-livecalls serve`` at a simulator (see the README)."""
    return cli_simulator_env(base_url, credentials)


@dataclass(frozen=True)
class SimulatorProcess:
    """One ``mcp-livecalls simulator`` process: its base URL and its process id."""

    url: str
    pid: int

    def cpu_s(self) -> float:
        """User + system CPU seconds it has used so far (Linux; ``nan`` elsewhere)."""
        return cpu_seconds(self.pid)


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux, ``/proc/<pid>/stat``), else ``nan``."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / TICKS


@contextlib.contextmanager
def simulator_subprocess(*, live_calls: int, seed: int = 7, speed: float = 1.0) -> Iterator[str]:
    """``mcp-livecalls simulator`` in its own process (a WallClock); yields its base URL.

    ``speed`` is simulated seconds per real second: well below 1 the calls barely move, so a
    call picked at the start is still live at the end of a benchmark.
    """
    with simulator_processes(["all"], live_calls=live_calls, seed=seed, speed=speed) as started:
        yield started["all"].url


@contextlib.contextmanager
def simulator_processes(
    names: Sequence[str], *, live_calls: int, seed: int = 7, speed: float = 1.0
) -> Iterator[dict[str, SimulatorProcess]]:
    """One simulator process per name in ``names`` (each a whole simulator, same seed), started
    at once; yields them by name. One per provider keeps the simulator's own CPU off the
    server's path: a single process answering every provider's requests serializes them on one
    core."""
    args = [sys.executable, "-m", "mcp_livecalls.cli", "simulator"]
    args += ["--live-calls", str(live_calls), "--seed", str(seed), "--speed", str(speed)]
    env = {**os.environ, "LIVECALLS_LOG_LEVEL": "WARNING"}
    processes: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        for name in names:
            port = free_port()
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [*args, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            processes[name] = (process, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 180
        for process, base_url in processes.values():
            _wait_until_serving(process, base_url, deadline)
        yield {name: SimulatorProcess(url, process.pid) for name, (process, url) in processes.items()}
    finally:
        for process, _ in processes.values():
            process.terminate()
        for process, _ in processes.values():
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _wait_until_serving(process: subprocess.Popen[bytes], base_url: str, deadline: float) -> None:
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the simulator subprocess exited with {process.returncode}")
        try:
            if httpx2.get(f"{base_url}/_sim/state", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the simulator subprocess did not start within 180 s")
        time.sleep(0.05)


def upstream_requests(base_url: str) -> dict[tuple[str, str], int]:
    """The simulator's request counters, read over HTTP (for a simulator in another process)."""
    state = httpx2.get(f"{base_url}/_sim/state", timeout=10).json()
    return {(item["provider"], item["route"]): int(item["count"]) for item in state["requests"]}


# -- raw upstream bodies -----------------------------------------------------------------------


@dataclass
class RawResult:
    """The bodies of the upstream requests one tool call needs (successful answers only)."""

    bodies: list[Any] = field(default_factory=list)
    requests: int = 0
    """Every request made, including ``404`` answers that carry no call (Vobiz live → queued)."""

    def add(self, other: RawResult) -> None:
        self.bodies += other.bodies
        self.requests += other.requests

    def tokens(self) -> int:
        """Tokens of every body, minified, counted body by body."""
        return sum(count_tokens(minified(body)) for body in self.bodies)
