# mypy: ignore-errors
# This script runs in the agent frameworks' own virtualenv (``install.frameworks_client``); the
# project's type checker does not have those packages, so it cannot check these imports.
"""Agent frameworks as clients of mcp-livecalls, driven without any model API.

Usage: ``python client_frameworks.py CONFIG_JSON``; CONFIG is ``{"server": {"command", "args",
"env"}}`` (stdio). Each framework spawns the server itself, as its users' code does:

* **OpenAI Agents SDK**: ``MCPServerStdio``; every tool converted the way an agent with
  ``mcp_config={"convert_schemas_to_strict": True}`` converts it (``MCPUtil.to_function_tool``),
  then called with every optional argument ``null`` — what a strict model sends when it means
  "not given".
* **google-genai**: the MCP bridge's own conversion (``mcp_to_gemini_tools``, what
  ``tools=[session]`` runs) and the typed ``Schema`` (``Schema.from_json_schema`` refusing
  unsupported fields, for the Gemini API and Vertex AI), on the tools as listed.
* **PydanticAI**: an ``Agent`` with the server as a toolset and a ``FunctionModel`` standing in
  for the model: it lists calls, then looks at the first one with every other tool.

One JSON report goes to stdout; a failing step records ``{"error": ...}`` and the run goes on.
The pytest side (``test_frameworks.py``) makes the assertions. Every wait is bounded.
"""

from __future__ import annotations

import inspect
import json
import sys
import traceback
from importlib.metadata import version
from typing import Any

import anyio

STEP_TIMEOUT_S = 60.0
SESSION_TIMEOUT_S = 60.0
"""The client's request timeout here (the SDK's default, 5 s, is reported, not relied on)."""
PACKAGES = ("openai-agents", "pydantic-ai-slim", "google-genai", "mcp")


def _error(exc: BaseException) -> dict[str, Any]:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return {"error": f"{type(exc).__name__}: {exc}"[:800]}


def _text(result: Any) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def _structured(result: Any) -> Any:
    return getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)


def _call_report(result: Any) -> dict[str, Any]:
    return {
        "is_error": bool(getattr(result, "is_error", getattr(result, "isError", False))),
        "text": _text(result)[:2000],
        "structured": _structured(result),
    }


def _schema(tool: Any) -> dict[str, Any]:
    return getattr(tool, "input_schema", None) or getattr(tool, "inputSchema", {})


async def openai_agents(server_params: dict[str, Any]) -> dict[str, Any]:
    from agents.mcp import MCPServerStdio, MCPUtil

    report: dict[str, Any] = {
        "default_session_timeout_s": inspect.signature(MCPServerStdio.__init__)
        .parameters["client_session_timeout_seconds"]
        .default
    }
    server = MCPServerStdio(params=server_params, client_session_timeout_seconds=SESSION_TIMEOUT_S)
    async with server:
        tools = await server.list_tools()
        report["tools"] = sorted(tool.name for tool in tools)
        converted = {tool.name: MCPUtil.to_function_tool(tool, server, True) for tool in tools}
        report["strict"] = {name: tool.strict_json_schema for name, tool in converted.items()}
        report["strict_schemas"] = {name: tool.params_json_schema for name, tool in converted.items()}
        report["wait_timeout_default"] = next(_schema(t) for t in tools if t.name == "wait_for_call_state")[
            "properties"
        ]["timeout_s"].get("default")

        def nulls(name: str, **given: Any) -> dict[str, Any]:
            schema = converted[name].params_json_schema
            return {key: given.get(key) for key in schema["properties"]}  # strict: every key

        calls: dict[str, Any] = {}
        with anyio.fail_after(STEP_TIMEOUT_S):
            listed = await server.call_tool("list_active_calls", nulls("list_active_calls"))
            calls["list_active_calls"] = _call_report(listed)
            plain = await server.call_tool("list_active_calls", {"limit": 100})
            calls["list_active_calls_limit_100"] = _call_report(plain)
            first = (_structured(listed) or {}).get("calls", [{}])[0]
            target = {"call_id": first.get("call_id", "missing")}
            for name in ("get_live_call", "get_stream_details"):
                calls[name] = _call_report(await server.call_tool(name, nulls(name, **target)))
            waited = await server.call_tool(
                "wait_for_call_state", nulls("wait_for_call_state", **target, until=[first.get("status")])
            )
            calls["wait_for_call_state"] = _call_report(waited)
        report["calls"] = calls
    return report


def gemini(tools: list[Any]) -> dict[str, Any]:
    from google.genai import _mcp_utils, types

    report: dict[str, Any] = {}
    try:
        converted = _mcp_utils.mcp_to_gemini_tools(tools)
        report["bridge"] = {
            declaration.name: declaration.parameters.model_dump(mode="json", exclude_none=True)
            for tool in converted
            for declaration in tool.function_declarations
        }
    except Exception as exc:  # noqa: BLE001 - the bridge's own failure is what is reported
        report["bridge"] = _error(exc)
    typed: dict[str, Any] = {}
    for tool in tools:
        for api in ("GEMINI_API", "VERTEX_AI"):
            try:
                schema = types.Schema.from_json_schema(
                    json_schema=types.JSONSchema(**_schema(tool)),
                    api_option=api,
                    raise_error_on_unsupported_field=True,
                )
                types.Schema.model_validate(schema.model_dump())  # what is sent validates again
                typed[f"{tool.name} {api}"] = "ok"
            except Exception as exc:  # noqa: BLE001 - recorded for the test to report
                typed[f"{tool.name} {api}"] = _error(exc)["error"]
    report["typed"] = typed
    return report


async def listed_tools(server_params: dict[str, Any]) -> list[Any]:
    from agents.mcp import MCPServerStdio

    async with MCPServerStdio(
        params=server_params, client_session_timeout_seconds=SESSION_TIMEOUT_S
    ) as server:
        return await server.list_tools()


async def pydantic_ai(server_params: dict[str, Any]) -> dict[str, Any]:
    from fastmcp.client.transports import StdioTransport
    from pydantic_ai import Agent
    from pydantic_ai.mcp import MCPToolset
    from pydantic_ai.messages import ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    seen: dict[str, Any] = {}

    def returns(messages: list[Any]) -> dict[str, Any]:
        found = {}
        for message in messages:
            if isinstance(message, ModelRequest):
                for part in message.parts:
                    if isinstance(part, ToolReturnPart):
                        found[part.tool_name] = part.content
                    elif getattr(part, "part_kind", "") == "retry-prompt":
                        found[getattr(part, "tool_name", None) or "retry"] = {
                            "retry": str(part.content)[:500]
                        }
        return found

    def model(messages: list[Any], info: AgentInfo) -> ModelResponse:
        seen["tools"] = sorted(tool.name for tool in info.function_tools)
        got = returns(messages)
        if "list_active_calls" not in got:
            return ModelResponse(parts=[ToolCallPart("list_active_calls", {"limit": 100})])
        if "get_live_call" not in got:
            page = got["list_active_calls"]
            first = page["calls"][0] if isinstance(page, dict) and page.get("calls") else {}
            target = {"call_id": first.get("call_id", "missing"), "provider": first.get("provider")}
            return ModelResponse(
                parts=[
                    ToolCallPart("get_live_call", {**target, "detail": "full"}),
                    ToolCallPart("get_stream_details", target),
                    ToolCallPart("wait_for_call_state", {**target, "until": [first.get("status")]}),
                ]
            )
        seen["returns"] = got
        return ModelResponse(parts=[TextPart("done")])

    transport = StdioTransport(server_params["command"], args=server_params["args"], env=server_params["env"])
    # init_timeout: PydanticAI's default (5 s) covers the server's start, slow on a loaded machine.
    server = MCPToolset(transport, init_timeout=SESSION_TIMEOUT_S, read_timeout=SESSION_TIMEOUT_S)
    agent = Agent(FunctionModel(model), toolsets=[server])
    with anyio.fail_after(STEP_TIMEOUT_S * 2):
        async with agent:
            result = await agent.run("Which calls are live, and how is the first one doing?")
    seen["output"] = result.output
    return seen


async def main(config: dict[str, Any]) -> dict[str, Any]:
    params = config["server"]
    report: dict[str, Any] = {"versions": {name: version(name) for name in PACKAGES}}
    for name, run in (("openai_agents", openai_agents), ("pydantic_ai", pydantic_ai)):
        try:
            report[name] = await run(params)
        except Exception as exc:  # noqa: BLE001 - recorded for the test to report
            report[name] = {**_error(exc), "traceback": traceback.format_exc()[-2000:]}
    try:
        report["gemini"] = gemini(await listed_tools(params))
    except Exception as exc:  # noqa: BLE001 - recorded for the test to report
        report["gemini"] = {**_error(exc), "traceback": traceback.format_exc()[-2000:]}
    return report


if __name__ == "__main__":
    sys.stdout.write(json.dumps(anyio.run(main, json.loads(sys.argv[1])), default=str) + "\n")
