"""The tools list is cheap and strict: token budgets, schema shape, unknown arguments refused.

Token counts are deterministic (o200k_base, counted offline), so the budgets are plain tests:
``tools/list`` ≤ 4,000 tokens in all, output schemas included, and ≤ 1,200 for what a model is
shown (names, descriptions, input schemas). ``benchmarks/tokens.py`` prints the same figures.
The structured content of real calls (simulator populations and the providers' documented
examples) is validated against the published output schemas with ``jsonschema``, as the SDK's
client does.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from jsonschema.validators import validator_for
from mcp import Client
from mcp.server import MCPServer
from mcp_types import CallToolResult, TextContent
from mcp_types import Tool as MCPTool
from pydantic import BaseModel

from benchmarks.common import FIXTURE_CLOCK_START
from benchmarks.tokens import TARGET_TOOLS_LIST_TOKENS, TARGET_TOOLS_MODEL_TOKENS, tools_list_figures
from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.core import models
from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.server.build import create_server
from mcp_livecalls.server.schemas import compact_input_schema, inline_single_use_defs, quick_output_schema
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator, serve_simulator

pytestmark = pytest.mark.anyio

PROVIDERS = NAMES
REQUIRED_VALUES: dict[str, Any] = {"call_id": "no-such-call", "until": ["in_progress"]}
"""A valid value for every required argument of every tool (so only the unknown one is wrong)."""


def _text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def _schemas(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``schema`` and every schema inside it (property maps are walked, not yielded)."""
    yield schema
    for key in ("properties", "$defs", "patternProperties"):
        for sub in schema.get(key, {}).values():
            yield from _schemas(sub)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key, []):
            yield from _schemas(sub)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            yield from _schemas(schema[key])


async def _tools(client: Client) -> list[MCPTool]:
    return (await client.list_tools()).tools


# -- budgets -------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:open_binary is deprecated:DeprecationWarning")  # inside bpe_openai
async def test_tools_list_stays_within_4000_tokens_and_what_a_model_is_shown_within_1200(
    client: Client,
) -> None:
    figures = tools_list_figures(await client.list_tools())

    assert figures.tokens <= TARGET_TOOLS_LIST_TOKENS == 4000, figures
    assert figures.model_tokens <= TARGET_TOOLS_MODEL_TOKENS == 1200, figures
    assert {tool.name for tool in figures.tools} == {
        "get_live_call",
        "list_active_calls",
        "get_stream_details",
        "wait_for_call_state",
    }
    assert figures.model_tokens + figures.output_tokens < figures.tokens


# -- shape -----------------------------------------------------------------------------------------


async def test_no_output_schema_property_is_a_null_alternative_a_title_or_an_empty_default(
    client: Client,
) -> None:
    for tool in await _tools(client):
        assert tool.output_schema is not None, tool.name
        for schema in _schemas(tool.output_schema):
            assert {"type": "null"} not in schema.get("anyOf", []), (tool.name, schema)
            assert schema.get("type") != "null", (tool.name, schema)
            assert "title" not in schema, (tool.name, schema)
            assert "default" not in schema, (tool.name, schema)


async def test_output_schemas_share_what_repeats_and_inline_what_is_used_once(client: Client) -> None:
    for tool in await _tools(client):
        assert tool.output_schema is not None
        document = json.dumps(tool.output_schema)
        for name in tool.output_schema.get("$defs", {}):
            assert document.count(f'"#/$defs/{name}"') >= 2, (tool.name, name)
        objects = Counter(
            json.dumps(schema, sort_keys=True)
            for schema in _schemas(tool.output_schema)
            if "properties" in schema and schema is not tool.output_schema
        )
        assert [shape for shape, count in objects.items() if count > 1] == [], tool.name


PORTABLE_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "description",
        "default",
        "enum",
        "items",
        "anyOf",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "$defs",
        "$ref",
    }
)
"""Keywords OpenAI strict mode, google-genai's ``JSONSchema`` (3.x) and Anthropic all take."""


async def test_input_schemas_use_only_keywords_every_function_calling_dialect_takes(client: Client) -> None:
    for tool in await _tools(client):
        schema = tool.input_schema
        assert schema["type"] == "object"
        for sub in _schemas(schema):
            assert set(sub) <= PORTABLE_KEYWORDS, (tool.name, sorted(set(sub) - PORTABLE_KEYWORDS))
        assert "additionalProperties" not in schema  # google-genai's MCP bridge fails on a boolean there


async def test_every_optional_argument_accepts_null_and_nothing_is_said_twice(client: Client) -> None:
    for tool in await _tools(client):
        schema = tool.input_schema
        required = set(schema.get("required", ()))
        for sub in _schemas(schema):
            assert "title" not in sub, (tool.name, sub)
        for name, prop in schema["properties"].items():
            assert prop.get("default", "") is not None, (tool.name, name)
            nullable = "null" in prop.get("type", ()) or {"type": "null"} in prop.get("anyOf", ())
            assert nullable == (name not in required), (tool.name, name, prop)
    listed = {tool.name: tool.input_schema for tool in await _tools(client)}
    assert (
        listed["list_active_calls"]["properties"]["limit"]["default"] == 20
    )  # a default that says something
    assert listed["list_active_calls"]["properties"]["limit"]["type"] == ["integer", "null"]
    assert listed["get_live_call"]["properties"]["detail"]["default"] == "brief"
    assert listed["get_live_call"]["properties"]["detail"]["anyOf"] == [
        {"enum": ["brief", "full"], "type": "string"},
        {"type": "null"},
    ]


async def test_every_argument_says_what_it_is(client: Client) -> None:
    for tool in await _tools(client):
        for name, prop in tool.input_schema["properties"].items():
            assert prop.get("description"), (tool.name, name)  # llama-index shows it as is
    listed = {tool.name: tool.input_schema for tool in await _tools(client)}
    assert listed["list_active_calls"]["properties"]["direction"]["description"] == (
        "Only inbound or only outbound calls."
    )


async def test_descriptions_are_dedented_and_short(client: Client) -> None:
    for tool in await _tools(client):
        description = tool.description or ""
        assert description, tool.name
        assert description == description.strip()
        for line in description.splitlines():
            assert line == line.lstrip(), (tool.name, line)
        assert len(description) <= 300, tool.name


def test_every_optional_model_field_defaults_to_empty_so_structured_output_leaves_it_out() -> None:
    """The schema hook publishes optional fields as plain types; true only while they default to empty."""
    for name in models.__all__:
        model = getattr(models, name)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for field_name, field in model.model_fields.items():
            if field.is_required():
                continue
            empty = field.default is None or field.default_factory in (list, dict)
            assert empty, f"{name}.{field_name} defaults to something other than None, [] or {{}}"


def test_a_models_published_schema_has_no_null_arms_titles_or_defaults() -> None:
    schema = models.ActiveCallsPage.model_json_schema()

    for sub in _schemas(schema):
        assert {"type": "null"} not in sub.get("anyOf", []), sub
        assert "title" not in sub, sub
        assert "default" not in sub, sub
    live_call = schema["$defs"]["LiveCall"]
    assert live_call["properties"]["duration_s"] == {
        "description": "Seconds since start (or answer, where given).",
        "type": "integer",
    }
    assert live_call["properties"]["agent"] == {"$ref": "#/$defs/Agent"}
    assert live_call["required"] == ["provider", "call_id", "status"]


def test_single_use_defs_are_inlined_and_shared_ones_kept() -> None:
    schema: dict[str, Any] = {
        "$defs": {
            "Once": {"type": "object", "properties": {"x": {"$ref": "#/$defs/Twice"}}},
            "Twice": {"enum": ["a", "b"], "type": "string"},
            "Unused": {"type": "string"},
        },
        "properties": {
            "one": {"$ref": "#/$defs/Once", "description": "kept"},
            "two": {"$ref": "#/$defs/Twice"},
        },
        "type": "object",
    }

    published = inline_single_use_defs(schema)

    assert published == {
        "$defs": {"Twice": {"enum": ["a", "b"], "type": "string"}},
        "properties": {
            "one": {"description": "kept", "type": "object", "properties": {"x": {"$ref": "#/$defs/Twice"}}},
            "two": {"$ref": "#/$defs/Twice"},
        },
        "type": "object",
    }
    assert "Unused" in schema["$defs"]  # the input is not changed


def test_a_quick_output_schema_accepts_and_refuses_what_the_schema_it_was_made_from_does() -> None:
    schema: dict[str, Any] = {
        "$defs": {
            "Kind": {"enum": ["a", "b"], "type": "string"},
            "Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}},
        },
        "properties": {
            "kind": {"$ref": "#/$defs/Kind"},
            "kinds": {"items": {"$ref": "#/$defs/Kind"}, "type": "array"},
            "tree": {"$ref": "#/$defs/Node"},
            "other": {"$ref": "#/$defs/Node"},
            "facts": {
                "additionalProperties": {
                    "anyOf": [{"type": kind} for kind in ("string", "integer", "number", "boolean")]
                },
                "type": "object",
            },
        },
        "required": ["kind"],
        "type": "object",
    }

    quick = quick_output_schema(schema)

    # Shared enums written in place, a recursive definition kept, one type check per value.
    assert quick["properties"]["kind"] == {"enum": ["a", "b"]}
    assert quick["properties"]["kinds"]["items"] == {"enum": ["a", "b"]}
    assert quick["$defs"] == {"Node": schema["$defs"]["Node"]}
    assert quick["properties"]["facts"]["additionalProperties"] == {"type": ["string", "number", "boolean"]}
    accepted = [
        {"kind": "a"},
        {"kind": "b", "kinds": ["a", "b"], "tree": {"next": {"next": {}}}, "facts": {"x": 1, "y": 1.5}},
        {"kind": "a", "facts": {"x": "s", "y": True, "z": -3}},
    ]
    refused = [
        {},
        {"kind": "c"},
        {"kind": 1},
        {"kind": "a", "kinds": ["a", "z"]},
        {"kind": "a", "tree": {"next": "no"}},
        {"kind": "a", "facts": {"x": None}},
        {"kind": "a", "facts": {"x": [1]}},
        {"kind": "a", "facts": {"x": {}}},
    ]
    for made in (schema, quick):
        validator = validator_for(made)(made)
        assert [validator.is_valid(instance) for instance in accepted] == [True] * len(accepted)
        assert [validator.is_valid(instance) for instance in refused] == [False] * len(refused)


def test_an_optional_argument_is_published_nullable_without_a_null_default() -> None:
    schema = {
        "title": "fArguments",
        "type": "object",
        "properties": {
            "title": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Title"},
            "limit": {"default": 20, "title": "Limit", "type": "integer"},
            "kind": {"$ref": "#/$defs/Kind", "default": "a"},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}], "description": "d"},
            "name": {"type": "string"},
        },
        "required": ["name"],
        "$defs": {"Kind": {"enum": ["a", "b"], "type": "string", "title": "Kind"}},
    }

    assert compact_input_schema(schema) == {
        "type": "object",
        "properties": {
            "title": {"type": ["string", "null"]},
            "limit": {"default": 20, "type": ["integer", "null"]},
            "kind": {"default": "a", "anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}]},
            "either": {
                "anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}],
                "description": "d",
            },
            "name": {"type": "string"},
        },
        "required": ["name"],
    }


# -- unknown and invalid arguments ---------------------------------------------------------------


async def test_list_active_calls_with_a_guessed_phone_argument_is_refused_naming_the_accepted_ones(
    client: Client, simulator: Simulator
) -> None:
    result = await client.call_tool("list_active_calls", {"phone": "+919876543210"})

    assert result.is_error
    text = _text(result)
    assert "unknown argument phone" in text
    schema = next(tool.input_schema for tool in await _tools(client) if tool.name == "list_active_calls")
    for accepted in schema["properties"]:
        assert accepted in text
    assert "pydantic" not in text
    assert not simulator.requests  # refused before any upstream request


async def test_every_tool_refuses_an_argument_it_does_not_take(client: Client, simulator: Simulator) -> None:
    for tool in await _tools(client):
        required = tool.input_schema.get("required", [])
        assert set(required) <= set(REQUIRED_VALUES), tool.name
        arguments = {name: REQUIRED_VALUES[name] for name in required}

        result = await client.call_tool(tool.name, {**arguments, "phone": "+919876543210", "ctx": {}})

        assert result.is_error, tool.name
        text = _text(result)
        assert f"Error executing tool {tool.name}: unknown arguments ctx, phone" in text
        for accepted in tool.input_schema["properties"]:
            assert accepted in text, (tool.name, accepted)
        for name in required:
            assert f"{name} (required)" in text
        assert "errors.pydantic.dev" not in text
    assert not simulator.requests


async def test_a_tool_added_after_the_first_listing_is_published_and_enforced_the_same_way(
    client: Client, server: MCPServer[Any]
) -> None:
    await client.list_tools()

    def echo(text: str, repeat: int = 1) -> str:
        """Say it again.

        Indented continuation."""
        return text * repeat

    server.add_tool(echo)
    listed = {tool.name: tool for tool in (await client.list_tools(cache_mode="refresh")).tools}
    refused = await client.call_tool("echo", {"text": "a", "times": 2})
    server.remove_tool("echo")
    gone = await client.call_tool("echo", {"text": "a"})

    assert listed["echo"].description == "Say it again.\n\nIndented continuation."
    assert listed["echo"].input_schema == {
        "type": "object",
        "properties": {"text": {"type": "string"}, "repeat": {"default": 1, "type": ["integer", "null"]}},
        "required": ["text"],
    }
    assert refused.is_error
    assert (
        _text(refused)
        == "Error executing tool echo: unknown argument times; echo takes text (required), repeat."
    )
    assert gone.is_error
    assert "Unknown tool: echo" in _text(gone)


async def test_an_invalid_argument_is_named_without_pydantics_documentation_link(
    client: Client, simulator: Simulator
) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("list_active_calls", {"limit": 1000}, "limit"),
        ("list_active_calls", {"status": "talking"}, "status"),
        ("wait_for_call_state", {"call_id": "x", "until": ["talking"]}, "until.0"),
        ("get_live_call", {}, "call_id"),
    ]
    for tool, arguments, named in cases:
        result = await client.call_tool(tool, arguments)

        assert result.is_error, arguments
        text = _text(result)
        assert text.startswith(f"Error executing tool {tool}: invalid argument {named}: "), text
        assert "pydantic" not in text, text
        assert "http" not in text, text
    assert not simulator.requests


async def test_null_for_every_optional_argument_is_the_same_as_leaving_it_out(
    client: Client, simulator: Simulator
) -> None:
    """What a strict model sends when it means "not given": every optional argument, null."""
    listed = {tool.name: tool.input_schema for tool in await _tools(client)}
    nulls = {
        name: {key: None for key in schema["properties"] if key not in schema.get("required", ())}
        for name, schema in listed.items()
    }

    everything = await client.call_tool("list_active_calls", nulls["list_active_calls"])
    plain = await client.call_tool("list_active_calls", {})

    assert not everything.is_error, _text(everything)
    assert everything.structured_content == plain.structured_content
    assert set(nulls["list_active_calls"]) == {
        "provider",
        "direction",
        "agent_id",
        "status",
        "number",
        "limit",
        "cursor",
    }
    assert plain.structured_content is not None
    call = plain.structured_content["calls"][0]
    for tool in ("get_live_call", "get_stream_details", "wait_for_call_state"):
        arguments = {**nulls[tool], "call_id": call["call_id"]}
        if tool == "wait_for_call_state":
            arguments |= {"until": [call["status"]]}
        result = await client.call_tool(tool, arguments)
        assert not result.is_error, (tool, _text(result))
        assert result.structured_content is not None
    refused = await client.call_tool("get_live_call", {"call_id": None})
    assert refused.is_error
    assert "invalid argument call_id" in _text(refused)


# -- real structured content validates ---------------------------------------------------------


@asynccontextmanager
async def _serving(sim: Simulator) -> AsyncIterator[Client]:
    with serve_simulator(sim) as base_url:
        settings = simulator_settings(base_url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0)
        server: MCPServer[Any] = create_server(settings, now=sim.clock.now)
        async with Client(server) as client:
            yield client


class _Checker:
    """Validates each result's structured content against its tool's published output schema."""

    def __init__(self, client: Client, tools: list[MCPTool]) -> None:
        self.client = client
        self.validators = {
            tool.name: validator_for(tool.output_schema)(tool.output_schema)
            for tool in tools
            if tool.output_schema is not None
        }
        for tool in tools:
            assert tool.output_schema is not None
            validator_for(tool.output_schema).check_schema(tool.output_schema)  # a correct JSON Schema
        self.checked: Counter[str] = Counter()

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self.client.call_tool(tool, arguments)
        assert not result.is_error, (tool, arguments, _text(result))
        content: dict[str, Any] | None = result.structured_content
        assert content is not None
        errors = [error.message for error in self.validators[tool].iter_errors(content)]
        assert errors == [], (tool, arguments, errors[:3])
        self.checked[tool] += 1
        return content


async def _call_everything(client: Client, every: int) -> Counter[str]:
    """List every provider's calls page by page; look at every ``every``-th call every way."""
    checker = _Checker(client, await _tools(client))
    for provider in PROVIDERS:
        ids: list[tuple[str, str]] = []
        cursor: str | None = None
        while True:
            arguments: dict[str, Any] = {"provider": provider, "limit": 25}
            if cursor:
                arguments["cursor"] = cursor
            page = await checker.call("list_active_calls", arguments)
            ids += [(call["call_id"], call["status"]) for call in page.get("calls", [])]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        for call_id, _ in ids[::every]:
            for detail in ("brief", "full"):
                target = {"call_id": call_id, "provider": provider, "detail": detail}
                # A list can know less than a lookup (Exotel's list has no hold): wait for what the
                # lookup says.
                status = (await checker.call("get_live_call", target))["status"]
                await checker.call("get_stream_details", target)
            wait = await checker.call(
                "wait_for_call_state", {"call_id": call_id, "provider": provider, "until": [status]}
            )
            assert wait["outcome"] == "reached", (provider, call_id, status, wait)
    await checker.call("list_active_calls", {})  # every provider at once
    return checker.checked


@pytest.mark.parametrize("vobiz_shape", ["flat", "plivo"])
async def test_real_structured_content_of_a_simulated_population_validates_against_the_output_schemas(
    vobiz_shape: str,
) -> None:
    sim = Simulator(
        seed=11,
        live_calls=45,
        arrival_every_s=None,
        vobiz_shape="plivo" if vobiz_shape == "plivo" else "flat",
        clock=ManualClock(),
    )
    async with _serving(sim) as client:
        checked = await _call_everything(client, every=3)

    assert checked["get_live_call"] >= 24, checked
    assert checked["wait_for_call_state"] >= 12, checked


async def test_real_structured_content_of_the_documented_examples_validates_against_the_output_schemas() -> (
    None
):
    sim = Simulator(fixtures=True, vobiz_shape="plivo", clock=ManualClock(FIXTURE_CLOCK_START))
    async with _serving(sim) as client:
        checked = await _call_everything(client, every=1)

    assert checked["get_stream_details"] >= 6, checked
