"""Schema check: what a client's check of this server's structured content costs (jsonschema).

The mcp client checks the structured content of every tool result against the tool's output
schema with ``jsonschema`` (``ClientSession.validate_tool_result``: a validator compiled once per
schema, ``best_match(validator.iter_errors(content))`` per result). This part repeats exactly that
on real results (a list of 20 at Exotel, Zudu, Vobiz and across every provider, and a
``get_live_call`` at each of the three), from a simulated population like the latency
benchmark's, against three schemas of the same tool:

* **before**: the schema as this server published it before ``quick_output_schema`` (the SDK's,
  with single-use ``$defs`` inlined);
* **now**: as published (``quick_output_schema``);
* **untyped leaves**: ``now`` with every scalar field's schema replaced by ``true`` (not a correct
  description, never published): how much of the check is typing the fields one by one, which
  ``jsonschema`` does by entering one schema per value.

Figures are CPU ms per check (``time.process_time``; the check is pure Python, so CPU is what it
costs whatever the load), the median of rounds in which the three alternate, with the number of
schemas ``jsonschema`` entered for the content (its ``descend`` calls: the cost scales with them).
"""

from __future__ import annotations

import copy
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from jsonschema import exceptions as jsonschema_exceptions
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from mcp import Client
from mcp.server import MCPServer
from referencing import Registry

from benchmarks.common import print_table, quiet_logs
from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.providers.registry import PROVIDERS
from mcp_livecalls.server.build import create_server
from mcp_livecalls.server.schemas import inline_single_use_defs, quick_output_schema
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator, serve_simulator

__all__ = ["Check", "main", "measure"]

LIVE_CALLS = 25 * len(PROVIDERS)
ROUNDS = 9
REPEATS = 10
"""Checks per schema per round."""

SCHEMAS = ("before", "now", "untyped leaves")


@dataclass(frozen=True)
class Check:
    case: str
    bytes: int
    cpu_ms: dict[str, float]
    entered: dict[str, int]
    """Schemas jsonschema entered (``descend``) for the content, per schema."""


def _untyped_leaves(schema: dict[str, Any]) -> dict[str, Any]:
    floor = copy.deepcopy(schema)

    def strip(node: dict[str, Any]) -> None:
        for key in ("properties",):
            for name, sub in node.get(key, {}).items():
                if isinstance(sub, dict) and not ({"properties", "items", "additionalProperties"} & set(sub)):
                    node[key][name] = True
                elif isinstance(sub, dict):
                    strip(sub)
        for key in ("items", "additionalProperties"):
            sub = node.get(key)
            if isinstance(sub, dict):
                if {"properties", "items", "additionalProperties"} & set(sub):
                    strip(sub)
                else:
                    node[key] = True

    strip(floor)
    return floor


def _validator(schema: dict[str, Any]) -> Validator:
    """Compiled as the mcp client compiles it (``ClientSession._output_schema_validator``)."""
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator: Validator = cls(schema, registry=Registry())
    return validator


def _check(validator: Validator, content: dict[str, Any]) -> None:
    error = jsonschema_exceptions.best_match(validator.iter_errors(content))
    if error is not None:
        raise RuntimeError(f"structured content does not match: {error}")


@contextmanager
def _counting(validator: Validator) -> Iterator[list[int]]:
    """Count the schemas ``validator``'s class enters while the block runs."""
    cls: Any = type(validator)
    original: Callable[..., Any] = cls.descend
    count = [0]

    def descend(self: Any, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return original(self, *args, **kwargs)

    cls.descend = descend
    try:
        yield count
    finally:
        cls.descend = original


async def _contents() -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, dict[str, Any]]]]:
    """Each tool's SDK-derived output schema, and the real results: case → (tool, content)."""
    sim = Simulator(seed=7, live_calls=LIVE_CALLS, arrival_every_s=None, clock=ManualClock())
    cases: dict[str, tuple[str, dict[str, Any]]] = {}
    with serve_simulator(sim) as base_url:
        settings = simulator_settings(base_url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0)
        server = create_server(settings, now=sim.clock.now)
        sdk = {tool.name: tool.output_schema for tool in await MCPServer.list_tools(server)}
        async with Client(server) as client:
            for provider in ("exotel", "zudu", "vobiz", None):
                arguments: dict[str, Any] = {"limit": 20} | ({"provider": provider} if provider else {})
                result = await client.call_tool("list_active_calls", arguments)
                content = result.structured_content or {}
                label = f"list_active_calls {provider or 'every provider'} (20)"
                cases[label] = ("list_active_calls", content)
                if provider:
                    call = content["calls"][0]
                    detail = await client.call_tool(
                        "get_live_call", {"call_id": call["call_id"], "provider": provider}
                    )
                    cases[f"get_live_call {provider}"] = ("get_live_call", detail.structured_content or {})
    return {name: schema for name, schema in sdk.items() if schema is not None}, cases


async def measure() -> tuple[list[Check], tuple[float, float]]:
    sdk, cases = await _contents()
    load_before = os.getloadavg()[0]
    checks = []
    for case, (tool, content) in cases.items():
        before = inline_single_use_defs(sdk[tool])
        now = quick_output_schema(sdk[tool])
        validators = dict(zip(SCHEMAS, map(_validator, (before, now, _untyped_leaves(now))), strict=True))
        entered = {}
        for name, validator in validators.items():
            with _counting(validator) as count:
                _check(validator, content)
            entered[name] = count[0]
        rounds: dict[str, list[float]] = {name: [] for name in SCHEMAS}
        for _ in range(ROUNDS):
            for name, validator in validators.items():
                started = time.process_time()
                for _ in range(REPEATS):
                    _check(validator, content)
                rounds[name].append((time.process_time() - started) * 1000 / REPEATS)
        checks.append(
            Check(
                case,
                len(str(content).encode()),
                {name: statistics.median(times) for name, times in rounds.items()},
                entered,
            )
        )
    return checks, (load_before, os.getloadavg()[0])


TARGET_RATIO = 0.5
"""Issue #23: the client-side check of a list of 20, halved."""


def report(checks: list[Check], loads: tuple[float, float]) -> dict[str, bool]:
    print_table(
        f"The mcp client's schema check of real structured content (jsonschema), CPU ms per check, "
        f"median of {ROUNDS} rounds — {os.cpu_count()} cores, load average {loads[0]:.1f}–{loads[1]:.1f}",
        [
            "content",
            "before ms",
            "now ms",
            "now / before",
            "untyped leaves ms",
            "schemas entered before",
            "now",
            "untyped leaves",
        ],
        [
            [
                c.case,
                c.cpu_ms["before"],
                c.cpu_ms["now"],
                f"{c.cpu_ms['now'] / c.cpu_ms['before']:.2f}",
                c.cpu_ms["untyped leaves"],
                c.entered["before"],
                c.entered["now"],
                c.entered["untyped leaves"],
            ]
            for c in checks
        ],
    )
    print(
        "before = the output schema as published before quick_output_schema; now = as published;\n"
        "untyped leaves = now with every scalar field's schema `true` (never published: the share of\n"
        "the check that is typing each field, one schema entered per value)."
    )
    lists = [c for c in checks if c.case.endswith("(20)")]
    ratios = [c.cpu_ms["now"] / c.cpu_ms["before"] for c in lists]
    floors = [c.cpu_ms["untyped leaves"] / c.cpu_ms["before"] for c in lists]
    target = (
        f"client's schema check of a list of 20 ≤ {TARGET_RATIO:g}× before "
        f"(every field typed; untyped leaves would be {min(floors):.2f}–{max(floors):.2f}×)"
    )
    now = ", ".join(f"{c.cpu_ms['now']:.2f}" for c in lists)
    measured = f"{min(ratios):.2f}–{max(ratios):.2f}× ({now} ms)"
    print_table(
        "Schema check target",
        ["target", "measured", "holds"],
        [[target, measured, _yes(max(ratios) <= TARGET_RATIO)]],
    )
    return {target: max(ratios) <= TARGET_RATIO}


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


async def _main() -> None:
    started = time.perf_counter()
    report(*await measure())
    print(f"\n(schema check benchmark took {time.perf_counter() - started:.1f} s)")


def main() -> None:
    quiet_logs()
    anyio.run(_main)


if __name__ == "__main__":
    main()
