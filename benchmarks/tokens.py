"""Tokens: the text each tool returns vs the raw provider JSON it was made from.

For every tool × provider, on the documentation's example payloads (``Simulator(fixtures=True)``)
and on simulator populations of 10, 100 and 1,000 live calls, the tool's text block (through the
real ``mcp.Client``, in memory) is compared with the minified bodies of the upstream answers the
tool was made from, as the simulator recorded them (``Simulator.recording``) — whatever requests
the provider's adapter makes, so every registered provider is measured the same way:

* ``list_active_calls``: every page (``limit=100``) until ``next_cursor`` runs out;
* ``get_live_call`` / ``get_stream_details``: up to ``SAMPLE`` calls per provider.

Only successful bodies count as raw (a Vobiz queued call's ``404`` for ``status=live`` is a
request, not information). The ``reqs`` column checks that the simulator recorded an answer for
every request it counted. Tokens are o200k_base (``bpe_openai``, offline).

Targets: the whole suite ≤ 30 % of raw; every provider's single-call tools (``get_live_call`` and
``get_stream_details``) ≤ 30 % of its raw JSON over the populations; a Zudu single call ≤ 25 %;
``list_active_calls`` ≤ 40 tokens per call on average (a line's verbatim call id, numbers and
agent alone are ~34). Each target is one row of ``report``'s verdicts, named with its target and
what was measured, so ``python -m benchmarks``' summary shows both.

The ``tools/list`` result is measured too (``tools_list_figures``): bytes and tokens of the whole
result, output schemas included (frameworks that open a session per call, or hand output schemas
to the model, pay it every time), and of what a model is shown for each tool (name, description
and input schema). Targets: ≤ 4,000 tokens in all, ≤ 1,200 model-facing; ``tests/test_tool_schemas.py``
holds both.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from mcp import Client
from mcp_types import ListToolsResult

from benchmarks.common import (
    FIXTURE_CLOCK_START,
    RawResult,
    count_tokens,
    minified,
    print_table,
    quiet_logs,
    text_of,
)
from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.core.catalog import NAMES, title_of
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator, serve_simulator

__all__ = ["Case", "Measured", "ToolFigures", "ToolsListFigures", "main", "measure", "tools_list_figures"]

POPULATIONS = (10, 100, 1000)
SAMPLE = 10
"""Single-call tools are measured on up to this many calls per provider of a population."""
PAGE = 100
PROVIDERS = NAMES

SEED_CALLS: tuple[tuple[str, str, str], ...] = (
    ("vobiz", "vobiz (plivo)", "97ceeb52-58b6-11e1-86da-77300b68f8bb"),
    ("vobiz", "vobiz (flat)", "2ded13fe-4f9b-4958-9bfb-093ea2f29f91"),
    ("exotel", "exotel", "call_active_001"),
    ("zudu", "zudu", "550e8400-e29b-41d4-a716-446655440000"),
)

TARGET_SUITE = 0.30
TARGET_SINGLE_CALL = 0.30
TARGET_ZUDU_CALL = 0.25
TARGET_LIST_TOKENS_PER_CALL = 40.0
"""Issue #23's target: the verbatim id, numbers and agent alone are ~34 tokens a call."""
TARGET_TOOLS_LIST_TOKENS = 4000
TARGET_TOOLS_MODEL_TOKENS = 1200


@dataclass(frozen=True)
class Case:
    dataset: str
    tool: str
    provider: str
    calls: int
    ours: int
    raw: int
    tool_requests: int
    raw_requests: int
    floor: int = 0
    """Lists: tokens of the values a line must carry exactly (call id, numbers, agent)."""

    @property
    def ratio(self) -> float:
        return self.ours / self.raw if self.raw else float("nan")


@dataclass(frozen=True)
class ToolFigures:
    """One tool's entry in ``tools/list``: in all, what a model is shown, its output schema."""

    name: str
    bytes: int
    tokens: int
    model_bytes: int
    model_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class ToolsListFigures:
    """The ``tools/list`` result as sent (minified JSON), and the part a model is shown."""

    bytes: int
    tokens: int
    tools: tuple[ToolFigures, ...]

    @property
    def model_bytes(self) -> int:
        return sum(tool.model_bytes for tool in self.tools)

    @property
    def model_tokens(self) -> int:
        return sum(tool.model_tokens for tool in self.tools)

    @property
    def output_tokens(self) -> int:
        return sum(tool.output_tokens for tool in self.tools)


def tools_list_figures(result: ListToolsResult) -> ToolsListFigures:
    """Bytes and o200k tokens of a ``tools/list`` result: whole, model-facing, per tool.

    The model-facing part of a tool is what a client turns into a function definition for the
    model: its name, description and input schema (the title and annotations are for people
    and hosts; the output schema is counted in the whole, not here).
    """
    wire = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    whole = minified(wire)
    tools = []
    for tool in wire["tools"]:
        shown = minified({key: tool[key] for key in ("name", "description", "inputSchema") if key in tool})
        entry = minified(tool)
        tools.append(
            ToolFigures(
                name=tool["name"],
                bytes=len(entry.encode()),
                tokens=count_tokens(entry),
                model_bytes=len(shown.encode()),
                model_tokens=count_tokens(shown),
                output_tokens=count_tokens(minified(tool["outputSchema"])) if "outputSchema" in tool else 0,
            )
        )
    return ToolsListFigures(bytes=len(whole.encode()), tokens=count_tokens(whole), tools=tuple(tools))


@dataclass(frozen=True)
class Measured:
    """What ``measure`` found: the per-tool text cases and the ``tools/list`` figures."""

    cases: list[Case]
    tools_list: ToolsListFigures


class _Bench:
    def __init__(self, sim: Simulator, client: Client, dataset: str) -> None:
        self.sim, self.client, self.dataset = sim, client, dataset

    def _requests(self) -> int:
        return sum(self.sim.requests.values())

    async def tool(self, name: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any], int, RawResult]:
        """The tool's text and structured content, the upstream requests it made, and what
        upstream answered them (the simulator's recording of that call)."""
        before = self._requests()
        with self.sim.recording() as tape:
            result = await self.client.call_tool(name, arguments)
        used = self._requests() - before
        text = text_of(result)
        if result.is_error:
            raise RuntimeError(f"{name} {arguments} failed: {text}")
        raw = RawResult(bodies=[served.body for served in tape if served.status == 200], requests=len(tape))
        return text, result.structured_content or {}, used, raw

    async def single(self, tool: str, provider: str, label: str, call_ids: list[str]) -> Case:
        ours = tool_requests = 0
        raw = RawResult()
        for call_id in call_ids:
            text, _, used, answered = await self.tool(tool, {"call_id": call_id, "provider": provider})
            ours += count_tokens(text)
            tool_requests += used
            raw.add(answered)
        return Case(self.dataset, tool, label, len(call_ids), ours, raw.tokens(), tool_requests, raw.requests)

    async def listing(self, provider: str) -> tuple[Case, list[str]]:
        """Every page of ``list_active_calls`` for ``provider``; also answers the ids it listed."""
        ours = tool_requests = 0
        raw = RawResult()
        ids: list[str] = []
        floor = 0
        cursor: str | None = None
        while True:
            arguments: dict[str, Any] = {"provider": provider, "limit": PAGE}
            if cursor:
                arguments["cursor"] = cursor
            text, page, used, answered = await self.tool("list_active_calls", arguments)
            page_ids = [call["call_id"] for call in page.get("calls", [])]
            floor += sum(count_tokens(_exact_values(call)) for call in page.get("calls", []))
            ours += count_tokens(text)
            tool_requests += used
            raw.add(answered)
            ids += page_ids
            cursor = page.get("next_cursor")
            if not cursor:
                break
        case = Case(
            self.dataset,
            "list_active_calls",
            provider,
            len(ids),
            ours,
            raw.tokens(),
            tool_requests,
            raw.requests,
            floor,
        )
        return case, ids


def _exact_values(call: dict[str, Any]) -> str:
    agent = call.get("agent") or {}
    values = [
        call["call_id"],
        call.get("from_number"),
        call.get("to_number"),
        agent.get("name") or agent.get("id"),
    ]
    return " ".join(value for value in values if value)


@asynccontextmanager
async def _bench(sim: Simulator, dataset: str) -> AsyncIterator[_Bench]:
    with serve_simulator(sim) as base_url:
        settings = simulator_settings(base_url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0)
        async with Client(create_server(settings, now=sim.clock.now)) as client:
            yield _Bench(sim, client, dataset)


async def tools_list() -> ToolsListFigures:
    """``tools/list`` of a server configured for every provider (listing makes no upstream request)."""
    sim = Simulator(fixtures=True, clock=ManualClock(FIXTURE_CLOCK_START))
    async with _bench(sim, "tools/list") as bench:
        return tools_list_figures(await bench.client.list_tools())


async def seed_cases() -> list[Case]:
    """The documentation's example payloads, served verbatim by ``Simulator(fixtures=True)``."""
    sim = Simulator(fixtures=True, vobiz_shape="plivo", clock=ManualClock(FIXTURE_CLOCK_START))
    cases: list[Case] = []
    async with _bench(sim, "seed") as bench:
        for tool in ("get_live_call", "get_stream_details"):
            for provider, label, call_id in SEED_CALLS:
                cases.append(await bench.single(tool, provider, label, [call_id]))
        for provider in PROVIDERS:
            cases.append((await bench.listing(provider))[0])
    return cases


async def population_cases(live_calls: int, seed: int = 7) -> list[Case]:
    sim = Simulator(seed=seed, live_calls=live_calls, arrival_every_s=None, clock=ManualClock())
    cases: list[Case] = []
    async with _bench(sim, f"pop {live_calls}") as bench:
        listed: dict[str, list[str]] = {}
        for provider in PROVIDERS:
            case, ids = await bench.listing(provider)
            cases.append(case)
            listed[provider] = ids
        for tool in ("get_live_call", "get_stream_details"):
            for provider in PROVIDERS:
                cases.append(await bench.single(tool, provider, provider, _spread(listed[provider])))
    return cases


def _spread(ids: list[str]) -> list[str]:
    """Up to ``SAMPLE`` ids spread evenly over the list (newest first), so every state is seen."""
    if len(ids) <= SAMPLE:
        return ids
    return [ids[i * len(ids) // SAMPLE] for i in range(SAMPLE)]


async def measure(populations: tuple[int, ...] = POPULATIONS) -> Measured:
    cases = await seed_cases()
    for size in populations:
        cases += await population_cases(size)
    return Measured(cases, await tools_list())


def report(measured: Measured) -> dict[str, bool]:
    verdicts = _report_cases(measured.cases)
    verdicts |= _report_tools_list(measured.tools_list)
    return verdicts


def _report_tools_list(figures: ToolsListFigures) -> dict[str, bool]:
    rows: list[list[object]] = [
        [tool.name, tool.bytes, tool.tokens, tool.model_bytes, tool.model_tokens, tool.output_tokens]
        for tool in figures.tools
    ]
    rows.append(
        [
            "tools/list result",
            figures.bytes,
            figures.tokens,
            figures.model_bytes,
            figures.model_tokens,
            figures.output_tokens,
        ]
    )
    print_table(
        "tools/list (o200k_base; minified JSON as sent)",
        ["tool", "bytes", "tokens", "model bytes", "model tokens", "output schema tokens"],
        rows,
    )
    print(
        "model: what a model is shown for a tool (name, description, input schema); the result's\n"
        "tokens also hold titles, annotations, output schemas and the server's _meta."
    )
    targets = [
        (
            f"tools/list ≤ {TARGET_TOOLS_LIST_TOKENS:,} tokens",
            f"{figures.tokens:,} ({figures.bytes:,} bytes)",
            figures.tokens <= TARGET_TOOLS_LIST_TOKENS,
        ),
        (
            f"descriptions + input schemas ≤ {TARGET_TOOLS_MODEL_TOKENS:,} tokens",
            f"{figures.model_tokens:,}",
            figures.model_tokens <= TARGET_TOOLS_MODEL_TOKENS,
        ),
    ]
    return _targets("tools/list targets", targets)


def _report_cases(cases: list[Case]) -> dict[str, bool]:
    rows = []
    for case in cases:
        listing = case.tool == "list_active_calls" and case.calls > 0
        check = "ok" if case.tool_requests == case.raw_requests else f"≠{case.raw_requests}"
        rows.append(
            [
                case.dataset,
                case.tool,
                case.provider,
                case.calls,
                case.ours,
                case.raw,
                f"{case.ratio:.1%}",
                f"{case.ours / case.calls:.1f}" if listing else "",
                f"{case.floor / case.calls:.1f}" if listing else "",
                f"{case.tool_requests} {check}",
            ]
        )
    print_table(
        f"Tokens (o200k_base): tool text vs minified raw provider JSON — {os.cpu_count()} cores",
        [
            "dataset",
            "tool",
            "provider",
            "calls",
            "ours",
            "raw",
            "ours/raw",
            "tok/call",
            "exact/call",
            "upstream reqs",
        ],
        rows,
    )
    print(
        "exact/call: tokens of the values a list line must carry verbatim (call id, both numbers, agent);\n"
        "upstream reqs: requests the tool made, 'ok' when the simulator recorded as many answers."
    )

    by_dataset: dict[str, list[Case]] = {}
    for case in cases:
        by_dataset.setdefault(case.dataset, []).append(case)
    summary = []
    for dataset, group in by_dataset.items():
        ours, raw = sum(c.ours for c in group), sum(c.raw for c in group)
        summary.append([dataset, ours, raw, f"{ours / raw:.1%}"])
    total_ours, total_raw = sum(c.ours for c in cases), sum(c.raw for c in cases)
    summary.append(["suite", total_ours, total_raw, f"{total_ours / total_raw:.1%}"])
    print_table("Tokens per dataset", ["dataset", "ours", "raw", "ours/raw"], summary)

    lists = [c for c in cases if c.tool == "list_active_calls"]
    listed = max(1, sum(c.calls for c in lists))
    list_tokens = sum(c.ours for c in lists) / listed
    list_floor = sum(c.floor for c in lists) / listed
    seed_zudu = next(c for c in cases if (c.dataset, c.tool, c.provider) == ("seed", "get_live_call", "zudu"))
    zudu_single = [c for c in cases if c.provider == "zudu" and c.tool != "list_active_calls"]
    worst_zudu = max(zudu_single, key=lambda c: c.ratio)
    suite = total_ours / total_raw
    single: dict[str, tuple[float, float]] = {}
    """Per provider: the single-call tools' ratio over the populations, and ``get_live_call``'s alone."""
    for provider in PROVIDERS:
        mine = [c for c in cases if c.provider == provider and c.dataset != "seed"]
        tools = [c for c in mine if c.tool != "list_active_calls"]
        looked_up = [c for c in mine if c.tool == "get_live_call"]
        single[provider] = (_ratio(tools), _ratio(looked_up))
    targets = [
        ("whole suite ≤ 30 % of raw", f"{suite:.1%}", suite <= TARGET_SUITE),
        (
            "Zudu get_live_call, documented example ≤ 25 % of raw",
            f"{seed_zudu.ratio:.1%}",
            seed_zudu.ratio <= TARGET_ZUDU_CALL,
        ),
        (
            "Zudu worst single call ≤ 25 % of raw",
            f"{worst_zudu.ratio:.1%} ({worst_zudu.dataset} {worst_zudu.tool})",
            worst_zudu.ratio <= TARGET_ZUDU_CALL,
        ),
        (
            f"list line tokens per call ≤ {TARGET_LIST_TOKENS_PER_CALL:g}",
            f"{list_tokens:.1f} (the verbatim id, numbers and agent alone: {list_floor:.1f})",
            list_tokens <= TARGET_LIST_TOKENS_PER_CALL,
        ),
        (
            "every request recorded with its answer",
            "",
            all(c.tool_requests == c.raw_requests for c in cases),
        ),
        *(
            (
                f"{title_of(p)} single-call tools ≤ {TARGET_SINGLE_CALL:.0%} of raw",
                f"{ratio:.1%} (get_live_call alone {live:.1%})",
                ratio <= TARGET_SINGLE_CALL,
            )
            for p, (ratio, live) in single.items()
        ),
    ]
    return _targets("Token targets", targets)


def _targets(title: str, rows: list[tuple[str, str, bool]]) -> dict[str, bool]:
    """Print the targets as a table; the verdicts name each target with what was measured."""
    print_table(title, ["target", "measured", "holds"], [[t, m, _yes(h)] for t, m, h in rows])
    return {f"{target}: {measured}" if measured else target: holds for target, measured, holds in rows}


def _ratio(cases: list[Case]) -> float:
    return sum(c.ours for c in cases) / max(1, sum(c.raw for c in cases))


def _yes(value: bool) -> str:
    return "yes" if value else "NO"


async def _main() -> None:
    started = time.perf_counter()
    report(await measure())
    print(f"\n(tokens benchmark took {time.perf_counter() - started:.1f} s)")


def main() -> None:
    quiet_logs()
    anyio.run(_main)


if __name__ == "__main__":
    main()
