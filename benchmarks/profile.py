"""Profile: where a tool call's CPU goes in this process, by kind of work (pyinstrument).

``python -m benchmarks.profile`` serves each provider from its own simulator process (no
injected delay), calls each profiled tool through the in-memory MCP client many times under
pyinstrument's sampling profiler, and sorts every sample by the innermost frame that says what
the work is: JSON, validation (pydantic, and the client's jsonschema check), redaction, text
cleaning, rendering, the output policy, the service, the adapters, upstream HTTP, the SDK's
dispatch (and its in-memory transport), the event loop. Idle time (waiting on the simulators) is
left out: the table is this process's CPU per call, client included (its schema check is shown
apart, as in ``benchmarks.latency``). ``--tree`` prints pyinstrument's own call tree as well.

pyinstrument is in the dev extra (a kept sampling profiler that follows async code; it is never
imported at run time).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
from mcp import Client

from benchmarks.common import print_table, quiet_logs, simulator_processes
from benchmarks.floor import Answers, floor_server
from mcp_livecalls.config import Settings, provider_env
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.core.views import caller_view
from mcp_livecalls.providers.registry import PROVIDERS
from mcp_livecalls.server.app import LiveCallsApp
from mcp_livecalls.server.build import app_of, create_server
from mcp_livecalls.server.render import render_call, render_page
from mcp_livecalls.server.tools import result as tool_result
from mcp_livecalls.simulator import DEMO_CREDENTIALS

__all__ = ["CATEGORIES", "main"]

CALLS = 60

Profiled = tuple[dict[str, float], float]
LIVE_CALLS = 25 * len(PROVIDERS)

CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # (category, path fragments of the innermost frame that decide it), checked in this order.
    ("JSON", ("/json/", "pydantic_core/", "to_json", "dump_json")),
    ("client schema check (jsonschema)", ("/jsonschema/", "/referencing/", "/rpds")),
    ("validation (pydantic)", ("/pydantic/",)),
    ("redaction", ("mcp_livecalls/upstream/redact.py",)),
    ("text cleaning", ("mcp_livecalls/core/safety.py",)),
    ("rendering", ("mcp_livecalls/server/render",)),
    ("output policy (masking, trimming)", ("mcp_livecalls/server/policy.py",)),
    ("models (normalized)", ("mcp_livecalls/core/",)),
    ("service (fan-out, merge, cache)", ("mcp_livecalls/service/",)),
    ("adapters (reading answers)", ("mcp_livecalls/providers/", "mcp_livecalls/simkit/")),
    ("upstream HTTP (this server's pipeline)", ("mcp_livecalls/upstream/",)),
    ("HTTP client (httpx2, h11)", ("/httpx2/", "/httpcore", "/h11/", "/ssl", "/socket", "/stamina")),
    ("server glue (app, tools)", ("mcp_livecalls/server/", "mcp_livecalls/")),
    ("SDK dispatch and transport", ("/mcp/", "/mcp_types/", "/anyio/", "/sniffio/")),
    ("event loop", ("/asyncio/", "selectors")),
)


def _category(stack: Sequence[str]) -> str | None:
    """The kind of work of one sample, by its innermost telling frame; ``None`` for idle."""
    for frame in reversed(stack):
        if frame.startswith(("[await]", "[out-of-context]")) or "select" in frame.split("\x00")[0]:
            return None
        path = frame.split("\x00")[1] if "\x00" in frame else frame
        for name, fragments in CATEGORIES:
            if any(fragment in path for fragment in fragments):
                return name
    return "other (Python, stdlib)"


def _settings(urls: dict[str, str]) -> Settings:
    env: dict[str, str] = {}
    for cls in PROVIDERS:
        name = cls.name.value
        env.update(provider_env(cls, urls[name], DEMO_CREDENTIALS.settings_for(name)))
    return Settings().with_changes(providers=Settings.from_env(env).providers, cache_ttl_s=0)


async def _calls(client: Client) -> dict[str, tuple[str, dict[str, Any]]]:
    page = await client.call_tool("list_active_calls", {"provider": "exotel", "limit": 1})
    assert page.structured_content is not None
    exotel = page.structured_content["calls"][0]["call_id"]
    return {
        "get_live_call exotel": ("get_live_call", {"call_id": exotel, "provider": "exotel"}),
        "list_active_calls exotel (20)": ("list_active_calls", {"provider": "exotel", "limit": 20}),
        "list_active_calls all (20)": ("list_active_calls", {"limit": 20}),
    }


async def _profiled(client: Client, tool: str, arguments: dict[str, Any], *, tree: bool) -> Profiled:
    """CPU ms per call by kind of work (sampled), and CPU ms per call (``process_time``)."""
    from pyinstrument import Profiler

    for _ in range(5):
        await client.call_tool(tool, arguments)
    profiler = Profiler(interval=0.0002, async_mode="enabled")
    started = time.process_time()
    profiler.start()
    for _ in range(CALLS):
        result = await client.call_tool(tool, arguments)
        assert not result.is_error, result.content
    session = profiler.stop()
    cpu_ms = (time.process_time() - started) * 1000 / CALLS
    counted: defaultdict[str, float] = defaultdict(float)
    for stack, seconds in session.frame_records:
        if (category := _category(stack)) is not None:
            counted[category] += seconds * 1000 / CALLS
    if tree:
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    return dict(counted), cpu_ms


STEP_ROUNDS = 40
Step = Callable[[], Awaitable[object]]


async def _cpu_ms(step: Step) -> float:
    started = time.process_time()
    await step()
    return (time.process_time() - started) * 1000


async def _steps(
    app: LiveCallsApp, client: Client, floor: Client, tool: str, arguments: dict[str, Any]
) -> dict[str, float]:
    """CPU ms of each step of one tool call done by hand, in turn for ``STEP_ROUNDS`` rounds (medians).

    The steps are this server's work between the adapter's answer and the SDK: the service (its
    cache, fan-out and merge) over the adapter call, the output policy, the text, the structured
    content, the redaction of the result as the SDK hands it over; then the whole tool call, and
    the same result from the SDK floor.
    """
    view = caller_view()
    provider = ProviderName(arguments["provider"])
    adapter = app.service.visible_to(view)[provider]
    upstream: Step
    service: Step
    shape: Callable[[], object]
    text: Callable[[], str]
    if tool == "list_active_calls":
        page = app.shape_page(
            await app.service.list_active_calls(ListQuery(), provider=provider, limit=20, view=view), view
        )
        upstream = functools.partial(adapter.list_active, ListQuery(), 0, 20)
        service = functools.partial(
            app.service.list_active_calls, ListQuery(), provider=provider, limit=20, view=view
        )
        shape, text, structured = (
            functools.partial(app.shape_page, page, view),
            functools.partial(render_page, page),
            page.structured,
        )
    else:
        call = app.shape_call(
            await app.service.get_live_call(arguments["call_id"], provider, view=view), "brief", view
        )
        upstream = functools.partial(adapter.get_call, arguments["call_id"])
        service = functools.partial(app.service.get_live_call, arguments["call_id"], provider, view=view)
        shape, text, structured = (
            functools.partial(app.shape_call, call, "brief", view),
            functools.partial(render_call, call),
            call.structured,
        )
    handed = tool_result(text(), structured()).model_dump(mode="json", by_alias=True, exclude_none=True)
    steps: dict[str, Step] = {
        "upstream (the adapter call)": upstream,
        "service": service,
        "output policy (shape)": _now(shape),
        "rendering (text)": _now(text),
        "structured content (dump)": _now(structured),
        "redaction of the result": _now(functools.partial(app.redact.scrub, handed)),
        "tool call (client's check included)": functools.partial(client.call_tool, tool, arguments),
        "SDK floor call (same result)": functools.partial(floor.call_tool, tool, arguments),
    }
    rounds: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(STEP_ROUNDS):
        for name, step in steps.items():
            rounds[name].append(await _cpu_ms(step))
    return {name: statistics.median(times) for name, times in rounds.items()}


def _now(work: Callable[[], object]) -> Step:
    async def step() -> object:
        return work()

    return step


async def profile(*, tree: bool) -> tuple[dict[str, Profiled], dict[str, dict[str, float]]]:
    """Each profiled call through this server, then the same results from the SDK floor
    (``benchmarks.floor``: a bare SDK server answering them, same output schemas); and the
    steps of each call timed one by one (``_steps``)."""
    names = [cls.name.value for cls in PROVIDERS]
    found: dict[str, Profiled] = {}
    steps: dict[str, dict[str, float]] = {}
    with simulator_processes(names, live_calls=LIVE_CALLS, speed=0.01) as sims:
        settings = _settings({name: sim.url for name, sim in sims.items()})
        server = create_server(settings)
        app = app_of(server)
        assert app is not None
        async with Client(server) as client:
            calls = await _calls(client)
            for label, (tool, arguments) in calls.items():
                found[label] = await _profiled(client, tool, arguments, tree=tree)
            schemas = {tool.name: tool.output_schema for tool in (await client.list_tools()).tools}
            answers = Answers(
                results={
                    (tool, arguments.get("provider", "")): await client.call_tool(tool, arguments)
                    for tool, arguments in calls.values()
                },
                output_schemas={tool: schema for tool, schema in schemas.items() if schema is not None},
            )
            async with Client(floor_server(answers)) as floor:
                for label, (tool, arguments) in calls.items():
                    found[f"{label}, SDK floor"] = await _profiled(floor, tool, arguments, tree=tree)
                for label, (tool, arguments) in calls.items():
                    if "provider" in arguments:
                        steps[label] = await _steps(app, client, floor, tool, arguments)
    return found, steps


def report(found: dict[str, Profiled], steps: dict[str, dict[str, float]]) -> None:
    labels = list(found)
    rows = []
    for name, _ in (*CATEGORIES, ("other (Python, stdlib)", ())):
        values = [found[label][0].get(name, 0.0) for label in labels]
        if any(value >= 0.005 for value in values):
            rows.append([name, *values])
    rows.append(["sampled, not idle", *(sum(found[label][0].values()) for label in labels)])
    rows.append(["CPU per call (process_time)", *(found[label][1] for label in labels)])
    print_table(
        f"Where a tool call's CPU goes, this process (server + in-memory client), ms per call of {CALLS}"
        f" — load average {os.getloadavg()[0]:.1f}",
        ["kind of work", *labels],
        rows,
    )
    cases = list(steps)
    names = list(next(iter(steps.values()))) if steps else []
    step_rows: list[list[object]] = [[name, *(steps[case][name] for case in cases)] for name in names]
    step_rows.append(
        [
            "service over the adapter",
            *(s["service"] - s["upstream (the adapter call)"] for s in steps.values()),
        ]
    )
    step_rows.append(
        [
            "this server's steps after the service",
            *(sum(s[name] for name in _AFTER_SERVICE) for s in steps.values()),
        ]
    )
    print_table(
        f"This server's steps, one by one, CPU ms (this process, median of {STEP_ROUNDS} rounds in turn)"
        f" — load average {os.getloadavg()[0]:.1f}",
        ["step", *cases],
        step_rows,
    )
    print(
        "The tool call minus the SDK floor call is this server's whole part of it (upstream and\n"
        "service included); the steps above are where it goes."
    )


_AFTER_SERVICE = (
    "output policy (shape)",
    "rendering (text)",
    "structured content (dump)",
    "redaction of the result",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="store_true", help="print pyinstrument's call tree of each tool too")
    args = parser.parse_args(argv)
    quiet_logs()
    report(*anyio.run(lambda: profile(tree=args.tree)))


if __name__ == "__main__":
    main()
