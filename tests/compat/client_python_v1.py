# mypy: ignore-errors
# This script runs in its own virtualenv with the official Python SDK 1.x (``mcp<2``); the
# project's type checker sees mcp 2.x instead, so it cannot check these imports.
"""A compatibility run of the official MCP Python SDK 1.x client against mcp-livecalls.

Usage: ``python client_python_v1.py CONFIG_JSON``. CONFIG is ``{"transport": "stdio"|"http",
"mode": "full"|"initialize", "versions": [...]|null, "server": {"command", "args", "env"}``
(stdio) or ``"url", "token"`` (http), ``"sim_url"``}. The script records what it observes, step
by step, and writes one JSON report to stdout; a failing step records ``{"error": ...}`` and the
run goes on. The pytest side (``test_clients.py``) makes the assertions, so a failure names the
step. Every wait is bounded.
"""

from __future__ import annotations

import json
import sys
import traceback
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import anyio
import httpx
import mcp.types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS
from pydantic import AnyUrl

STEP_TIMEOUT_S = 60.0
"""Bounds each step far above what it takes (a server process starting on a busy machine)."""
UPDATE_WAIT_S = 10.0
ACTIVE = "livecalls://calls/active"


def _error(exc: BaseException) -> dict[str, Any]:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return {"error": f"{type(exc).__name__}: {exc}"[:500]}


class Updates:
    """``notifications/resources/updated`` as they arrive, and a bounded wait for the next one."""

    def __init__(self) -> None:
        self.uris: list[str] = []
        self._arrived = anyio.Event()

    async def handler(self, message: Any) -> None:
        if isinstance(message, types.ServerNotification) and isinstance(
            message.root, types.ResourceUpdatedNotification
        ):
            self.uris.append(str(message.root.params.uri))
            self._arrived.set()
            self._arrived = anyio.Event()

    def count(self, uri: str) -> int:
        return self.uris.count(uri)

    async def wait_for(self, uri: str, more_than: int, timeout_s: float) -> bool:
        with anyio.move_on_after(timeout_s):
            while self.count(uri) <= more_than:
                await self._arrived.wait()
            return True
        return False


class Simulator:
    """The provider simulator's control routes: request counters and the manual clock."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=30.0)

    async def counters(self) -> dict[str, int]:
        state = (await self._http.get("/_sim/state")).raise_for_status().json()
        return {f"{r['provider']}/{r['route']}": r["count"] for r in state["requests"]}

    async def advance(self, seconds: float) -> None:
        (await self._http.post("/_sim/advance", params={"seconds": seconds})).raise_for_status()

    async def wait_until(self, key: str, at_least: int, timeout_s: float) -> int:
        """Poll the counters (bounded) until ``key`` reaches ``at_least``."""
        with anyio.fail_after(timeout_s):
            while True:  # another process's counters: nothing to wait on but polling
                current = (await self.counters()).get(key, 0)
                if current >= at_least:
                    return current
                await anyio.sleep(0.05)


@asynccontextmanager
async def connect(config: dict[str, Any], updates: Updates | None = None, token: str | None = None):
    handler = updates.handler if updates is not None else None
    if config["transport"] == "stdio":
        server = config["server"]
        params = StdioServerParameters(command=server["command"], args=server["args"], env=server["env"])
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, write, message_handler=handler) as session,
        ):
            yield session
    else:
        headers = {"Authorization": f"Bearer {token if token is not None else config['token']}"}
        async with (
            httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30.0, read=300.0)) as http,
            streamable_http_client(config["url"], http_client=http) as (read, write, _),
            ClientSession(read, write, message_handler=handler) as session,
        ):
            yield session


def _text(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def _tool(result: types.CallToolResult) -> dict[str, Any]:
    return {"is_error": bool(result.isError), "structured": result.structuredContent, "text": _text(result)}


async def initialize_as(config: dict[str, Any], protocol_version: str) -> dict[str, Any]:
    """Initialize offering only ``protocol_version``, then list tools and call each one once."""
    offered = types.LATEST_PROTOCOL_VERSION
    types.LATEST_PROTOCOL_VERSION = protocol_version  # what ClientSession.initialize() offers
    try:
        with anyio.fail_after(STEP_TIMEOUT_S):
            async with connect(config) as session:
                init = await session.initialize()
                record: dict[str, Any] = {
                    "negotiated": init.protocolVersion,
                    "server_name": init.serverInfo.name,
                    "subscribe": bool(init.capabilities.resources and init.capabilities.resources.subscribe),
                }
                record["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
                page = await session.call_tool("list_active_calls", {"limit": 1})
                calls = (page.structuredContent or {}).get("calls", [])
                record["tool_errors"] = {"list_active_calls": bool(page.isError)}
                if calls:
                    call = calls[0]
                    args = {"call_id": call["call_id"], "provider": call["provider"]}
                    for name, extra in (
                        ("get_live_call", {}),
                        ("get_stream_details", {}),
                        ("wait_for_call_state", {"until": [call["status"]], "timeout_s": 5}),
                    ):
                        result = await session.call_tool(name, {**args, **extra})
                        record["tool_errors"][name] = bool(result.isError)
                return record
    except Exception as exc:  # noqa: BLE001 - recorded for the test to report
        return _error(exc)
    finally:
        types.LATEST_PROTOCOL_VERSION = offered


async def step(report: dict[str, Any], name: str, body: Any) -> Any:
    try:
        with anyio.fail_after(STEP_TIMEOUT_S):
            report[name] = await body()
    except Exception as exc:  # noqa: BLE001 - recorded for the test to report
        report[name] = _error(exc)
    return report[name]


async def walkthrough(config: dict[str, Any], steps: dict[str, Any]) -> None:
    updates = Updates()
    sim = Simulator(config["sim_url"])
    async with connect(config, updates) as session:
        with anyio.fail_after(STEP_TIMEOUT_S):
            init = await session.initialize()
        steps["initialize"] = {"negotiated": init.protocolVersion}
        found: dict[str, Any] = {}

        async def tools_list() -> dict[str, Any]:
            tools = (await session.list_tools()).tools
            wait = next(t for t in tools if t.name == "wait_for_call_state")
            timeout = wait.inputSchema.get("properties", {}).get("timeout_s", {})
            return {"names": sorted(t.name for t in tools), "wait_timeout_max": timeout.get("maximum")}

        async def list_active_calls() -> dict[str, Any]:
            result = _tool(await session.call_tool("list_active_calls", {"limit": 100}))
            calls = (result["structured"] or {}).get("calls", [])
            found["call"] = next((c for c in calls if c["status"] == "in_progress"), calls[0])
            return result

        def call_args() -> dict[str, str]:
            return {"call_id": found["call"]["call_id"], "provider": found["call"]["provider"]}

        async def get_live_call() -> dict[str, Any]:
            return _tool(await session.call_tool("get_live_call", call_args()))

        async def get_stream_details() -> dict[str, Any]:
            return _tool(await session.call_tool("get_stream_details", call_args()))

        async def wait_for_call_state() -> dict[str, Any]:
            # The simulator's clock stands still: the call cannot end, so this times out.
            arguments = {**call_args(), "until": ["ended"], "timeout_s": 0.6}
            progress: list[float] = []

            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                progress.append(done)

            result = await session.call_tool("wait_for_call_state", arguments, progress_callback=on_progress)
            return {**_tool(result), "progress_notifications": len(progress)}

        async def unknown_call_id() -> dict[str, Any]:
            return _tool(await session.call_tool("get_live_call", {"call_id": "no-such-call-000"}))

        async def malformed_call_id() -> dict[str, Any]:
            return _tool(await session.call_tool("get_live_call", {"call_id": "../Account/x?status=queued"}))

        async def resources() -> dict[str, Any]:
            listed = await session.list_resources()
            templates = await session.list_resource_templates()
            providers = await session.read_resource(AnyUrl("livecalls://providers"))
            active = await session.read_resource(AnyUrl(ACTIVE))
            call = found["call"]
            one = await session.read_resource(
                AnyUrl(f"livecalls://calls/{call['provider']}/{call['call_id']}")
            )
            return {
                "uris": sorted(str(r.uri) for r in listed.resources),
                "templates": sorted(t.uriTemplate for t in templates.resourceTemplates),
                "providers": json.loads(providers.contents[0].text),
                "active_calls": len(json.loads(active.contents[0].text).get("calls", [])),
                "call": json.loads(one.contents[0].text),
                "mime_type": one.contents[0].mimeType,
            }

        async def prompts() -> dict[str, Any]:
            listed = await session.list_prompts()
            health = await session.get_prompt("call_health_check", {"call_id": found["call"]["call_id"]})
            overview = await session.get_prompt("supervisor_overview", {"hold_minutes": "5"})
            return {
                "names": sorted(p.name for p in listed.prompts),
                "health_check": health.messages[0].content.text,
                "overview": overview.messages[0].content.text,
            }

        async def completion() -> dict[str, Any]:
            template = types.ResourceTemplateReference(
                type="ref/resource", uri="livecalls://calls/{provider}/{call_id}"
            )
            providers = await session.complete(template, {"name": "provider", "value": ""})
            call = found["call"]
            prefix = call["call_id"][:4]
            ids = await session.complete(
                types.PromptReference(type="ref/prompt", name="call_health_check"),
                {"name": "call_id", "value": prefix},
            )
            scoped = await session.complete(
                template,
                {"name": "call_id", "value": prefix},
                context_arguments={"provider": call["provider"]},
            )
            return {
                "providers": providers.completion.values,
                "prefix": prefix,
                "call_ids": ids.completion.values,
                "scoped_call_ids": scoped.completion.values,
            }

        for name, body in (
            ("tools_list", tools_list),
            ("list_active_calls", list_active_calls),
            ("get_live_call", get_live_call),
            ("get_stream_details", get_stream_details),
            ("wait_for_call_state", wait_for_call_state),
            ("unknown_call_id", unknown_call_id),
            ("malformed_call_id", malformed_call_id),
            ("resources", resources),
            ("prompts", prompts),
            ("completion", completion),
        ):
            await step(steps, name, body)

        async def subscribe() -> dict[str, Any]:
            await session.subscribe_resource(AnyUrl(ACTIVE))
            advances = 0
            arrived = False
            while not arrived and advances < 4:  # the first advance may land in the poller's first read
                await sim.advance(30)
                advances += 1
                arrived = await updates.wait_for(ACTIVE, 0, UPDATE_WAIT_S)
            return {"update_arrived": arrived, "advances": advances, "uri": ACTIVE}

        async def unsubscribe() -> dict[str, Any]:
            before = await session.read_resource(AnyUrl(ACTIVE))
            await session.unsubscribe_resource(AnyUrl(ACTIVE))
            updates_at_unsubscribe = updates.count(ACTIVE)
            await sim.advance(30)  # the active list changes while nobody is subscribed
            # A control subscription proves time passed on the server: its poller must run twice
            # while the unsubscribed resource's poller (if it still ran) would poll too.
            # Any live call will do: with the clock standing still it neither changes nor ends.
            page = await session.call_tool("list_active_calls", {"provider": "zudu", "limit": 1})
            control_call = (page.structuredContent or {})["calls"][0]["call_id"]
            control = f"livecalls://calls/zudu/{control_call}"
            key = "zudu/get_call"
            start = (await sim.counters()).get(key, 0)
            await session.subscribe_resource(AnyUrl(control))
            first = await sim.wait_until(key, start + 1, 30)
            counters_before = await sim.counters()
            await sim.wait_until(key, counters_before.get(key, 0) + 2, 30)
            counters_after = await sim.counters()
            await session.unsubscribe_resource(AnyUrl(control))
            after = await session.read_resource(AnyUrl(ACTIVE))
            return {
                "control_uri": control,
                "control_polls_seen": counters_after.get(key, 0) - first,
                "counters_before": {k: v for k, v in counters_before.items() if k != key},
                "counters_after": {k: v for k, v in counters_after.items() if k != key},
                "updates_after_unsubscribe": updates.count(ACTIVE) - updates_at_unsubscribe,
                "active_changed_meanwhile": _statuses(before) != _statuses(after),
            }

        if await step(steps, "subscribe", subscribe) and "error" not in steps["subscribe"]:
            await step(steps, "unsubscribe", unsubscribe)


def _statuses(result: types.ReadResourceResult) -> list[tuple[str, str]]:
    calls = json.loads(result.contents[0].text).get("calls", [])
    return sorted((c["call_id"], c["status"]) for c in calls)


async def unauthorized(config: dict[str, Any]) -> dict[str, Any]:
    """A client with the wrong token is refused; what the raw 401 says."""
    record: dict[str, Any] = {}
    try:
        with anyio.fail_after(STEP_TIMEOUT_S):
            async with connect(config, token="wrong-token") as session:
                await session.initialize()
                record["connected"] = True
    except Exception as exc:  # noqa: BLE001 - the refusal is what is observed
        record["connected"] = False
        record["client_error"] = _error(exc)["error"]
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": types.LATEST_PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "0"},
        },
    }
    async with httpx.AsyncClient(timeout=30.0) as http:
        raw = await http.post(
            config["url"],
            json=body,
            headers={"Authorization": "Bearer wrong-token", "Accept": "application/json, text/event-stream"},
        )
    record["status"] = raw.status_code
    record["www_authenticate"] = raw.headers.get("www-authenticate")
    return record


async def main(config: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = {
        "client": {
            "name": "python-sdk",
            "version": version("mcp"),
            "offers": list(SUPPORTED_PROTOCOL_VERSIONS),
        },
        "transport": config["transport"],
        "initialize": {},
        "steps": {},
    }
    for protocol_version in config.get("versions") or SUPPORTED_PROTOCOL_VERSIONS:
        report["initialize"][protocol_version] = await initialize_as(config, protocol_version)
    if config["mode"] == "full":
        try:
            await walkthrough(config, report["steps"])
        except Exception as exc:  # noqa: BLE001 - recorded for the test to report
            report["steps"]["connection"] = _error(exc)
            report["steps"]["traceback"] = traceback.format_exc()[-2000:]
        if config["transport"] == "http":
            report["steps"]["unauthorized"] = await unauthorized(config)
    return report


if __name__ == "__main__":
    sys.stdout.write(json.dumps(anyio.run(main, json.loads(sys.argv[1]))) + "\n")
