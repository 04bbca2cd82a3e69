"""Agent frameworks as clients (issue #25): the OpenAI Agents SDK in strict mode, PydanticAI, and
google-genai's converters, on the real ``tools/list`` of ``mcp-livecalls serve`` over stdio.

No model API is called: the OpenAI Agents SDK's tools are converted as an agent with
``convert_schemas_to_strict=True`` converts them and called directly, PydanticAI's agent runs a
``FunctionModel``, and google-genai's bridge and typed ``Schema`` convert the listed schemas
offline. ``client_frameworks.py`` runs once (in the frameworks' cached virtualenv) and reports;
each test checks one part of the report.
"""

from __future__ import annotations

from typing import Any

import pytest

from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.simulator import ManualClock, Simulator, serve_simulator

from .harness import HERE, SERVE, ClientRunFailed, ForeignClient, run_client, server_env, unavailable
from .install import FRAMEWORK_REQUIREMENTS, ClientUnavailable, frameworks_client

TOOLS = ["get_live_call", "get_stream_details", "list_active_calls", "wait_for_call_state"]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    try:
        python = frameworks_client()
    except ClientUnavailable as exc:
        unavailable(str(exc))
    client = ForeignClient("frameworks", [str(python), str(HERE / "client_frameworks.py")])
    with serve_simulator(Simulator(seed=7, clock=ManualClock.starting_now())) as sim_url:
        config = {"server": {"command": SERVE[0], "args": SERVE[1:], "env": server_env(sim_url)}}
        try:
            return run_client(client, config)
        except ClientRunFailed as exc:
            pytest.fail(f"the frameworks' run gave no report: {exc}")


def part(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = report[name]
    assert "error" not in found, f"{name}: {found['error']}\n{found.get('traceback', '')}"
    return found


def test_openai_agents_converts_every_tool_to_strict_mode(report: dict[str, Any]) -> None:
    agents = part(report, "openai_agents")

    assert agents["tools"] == TOOLS
    # The SDK falls back to a non-strict tool, silently, when conversion fails.
    assert agents["strict"] == dict.fromkeys(TOOLS, True)
    for name, schema in agents["strict_schemas"].items():
        assert schema["additionalProperties"] is False, name
        assert sorted(schema["required"]) == sorted(schema["properties"]), name  # strict: all required


def test_a_strict_call_with_every_optional_argument_null_lists_all_calls(report: dict[str, Any]) -> None:
    calls = part(report, "openai_agents")["calls"]
    nulls, plain = calls["list_active_calls"], calls["list_active_calls_limit_100"]

    assert nulls["is_error"] is False, nulls["text"]
    listed = nulls["structured"]["calls"]
    everything = plain["structured"]["calls"]
    assert len(listed) == 20  # the default limit: null is "not given"
    # Which 20: the newest, though a list that counts durations from now (Telnyx's) may move a
    # call by a place between the two asks while the server's clock runs on.
    assert {call["call_id"] for call in listed} <= {call["call_id"] for call in everything}
    assert {call["provider"] for call in everything} == set(NAMES)  # no provider named, none filtered
    assert nulls["text"].startswith(f"20 live calls of {len(everything)}")


def test_every_other_tool_answers_a_strict_call_with_nulls(report: dict[str, Any]) -> None:
    calls = part(report, "openai_agents")["calls"]

    for name in ("get_live_call", "get_stream_details", "wait_for_call_state"):
        assert calls[name]["is_error"] is False, (name, calls[name]["text"])
    assert calls["wait_for_call_state"]["structured"]["outcome"] == "reached"


def test_the_default_wait_fits_the_openai_agents_sdks_default_request_timeout(report: dict[str, Any]) -> None:
    agents = part(report, "openai_agents")

    assert agents["default_session_timeout_s"] == 5
    assert agents["wait_timeout_default"] < agents["default_session_timeout_s"]


def test_google_genais_mcp_bridge_converts_every_tool(report: dict[str, Any]) -> None:
    bridge = part(report, "gemini")["bridge"]

    assert "error" not in bridge, bridge
    assert sorted(bridge) == TOOLS
    listing = bridge["list_active_calls"]["properties"]
    assert listing["provider"]["nullable"] is True
    assert listing["provider"]["enum"] == list(NAMES)
    assert bridge["wait_for_call_state"]["properties"]["timeout_s"]["minimum"] == 0.1
    assert bridge["get_live_call"]["required"] == ["call_id"]


def test_google_genais_typed_schema_takes_every_tool_for_gemini_and_vertex(report: dict[str, Any]) -> None:
    typed = part(report, "gemini")["typed"]

    assert typed == {f"{tool} {api}": "ok" for tool in TOOLS for api in ("GEMINI_API", "VERTEX_AI")}


def test_pydantic_ai_with_a_function_model_calls_every_tool(report: dict[str, Any]) -> None:
    run = part(report, "pydantic_ai")

    assert run["tools"] == TOOLS
    assert run["output"] == "done"
    returns = run["returns"]
    assert sorted(returns) == TOOLS
    first = returns["list_active_calls"]["calls"][0]
    assert returns["get_live_call"]["call_id"] == first["call_id"]
    assert returns["get_stream_details"]["call_id"] == first["call_id"]
    assert returns["wait_for_call_state"]["outcome"] == "reached"


def test_the_frameworks_are_the_pinned_versions(report: dict[str, Any]) -> None:
    pinned = dict(requirement.replace("[mcp]", "").split("==") for requirement in FRAMEWORK_REQUIREMENTS)
    assert {name: report["versions"][name] for name in pinned} == pinned
