"""Run every benchmark and print its tables: ``python -m benchmarks`` (or ``python -m benchmarks.run_all``).

``--only tokens,latency`` runs a subset. Prints the machine (cores, Python, platform) first and a
summary of every target at the end. Takes about six minutes on 2 cores (``pushed`` watches for
three minutes: 60 s polled, pushed, and pushed across a 2-replica fleet).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable

import anyio

from benchmarks import fleet, latency, polling, pushed, scale, schema_check, startup, tokens
from benchmarks.common import print_table, quiet_logs
from mcp_livecalls import __version__

__all__ = ["main"]

PARTS = ("startup", "tokens", "schema_check", "latency", "polling", "fleet", "scale", "pushed")


def _startup() -> dict[str, bool]:
    return startup.report(startup.measure())


def _tokens() -> dict[str, bool]:
    return tokens.report(anyio.run(tokens.measure))


def _schema_check() -> dict[str, bool]:
    return schema_check.report(*anyio.run(schema_check.measure))


def _latency() -> dict[str, bool]:
    return latency.report(anyio.run(latency.measure))


def _polling() -> dict[str, bool]:
    return polling.report(anyio.run(polling.measure))


def _fleet() -> dict[str, bool]:
    return fleet.report(anyio.run(fleet.measure))


def _scale() -> dict[str, bool]:
    return scale.report(scale.measure())


def _pushed() -> dict[str, bool]:
    return pushed.report(anyio.run(pushed.measure))


RUNNERS: dict[str, Callable[[], dict[str, bool]]] = {
    "startup": _startup,
    "tokens": _tokens,
    "schema_check": _schema_check,
    "latency": _latency,
    "polling": _polling,
    "fleet": _fleet,
    "scale": _scale,
    "pushed": _pushed,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Run the mcp-livecalls benchmarks."
    )
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated subset of {', '.join(PARTS)} (default: all)"
    )
    args = parser.parse_args(argv)
    chosen = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}")
    quiet_logs()
    machine = f"Python {platform.python_version()}, {platform.system()} {platform.machine()}"
    print(f"mcp-livecalls {__version__} benchmarks — {os.cpu_count()} cores, {machine}")
    started = time.perf_counter()
    summary: list[list[object]] = []
    for part in chosen:
        print(f"\n=== {part} ===")
        part_started = time.perf_counter()
        verdicts = RUNNERS[part]()
        elapsed = time.perf_counter() - part_started
        print(f"\n({part} took {elapsed:.1f} s)")
        summary += [[part, target, "yes" if holds else "NO"] for target, holds in verdicts.items()]
    print_table(f"Summary — {os.cpu_count()} cores", ["benchmark", "target", "holds"], summary)
    print(f"\nall benchmarks took {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
