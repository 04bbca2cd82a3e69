"""The server through the real MCP client: tools, resources, errors, paging across providers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from mcp import Client
from mcp.server import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, TextContent, TextResourceContents
from pydantic import SecretStr

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.config import Settings
from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.core.models import LiveCall, ProviderName
from mcp_livecalls.providers.base import MAX_CALL_ID_LENGTH
from mcp_livecalls.providers.vobiz.adapter import VobizProvider
from mcp_livecalls.server.app import LiveCallsApp
from mcp_livecalls.server.build import RESOURCE_NOT_FOUND, create_server
from mcp_livecalls.service.watch import Watcher
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Fault, ManualClock, Simulator

pytestmark = pytest.mark.anyio


def _text(result: Any) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def _live_ids(simulator: Simulator) -> set[tuple[str, str]]:
    ids: set[tuple[str, str]] = set()
    for provider in NAMES:
        for call in [*simulator.population.live(provider), *simulator.population.queued(provider)]:
            ids.add((provider, call.id))
    return ids


async def test_the_tools_are_read_only_with_typed_inputs_and_output_schemas(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}

    assert set(tools) == {"get_live_call", "list_active_calls", "get_stream_details", "wait_for_call_state"}
    for tool in tools.values():
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True
        assert tool.output_schema is not None
    list_props = tools["list_active_calls"].input_schema["properties"]
    assert set(list_props) == {"provider", "direction", "agent_id", "status", "number", "limit", "cursor"}
    assert tools["get_live_call"].input_schema["required"] == ["call_id"]
    assert set(tools["get_live_call"].output_schema["properties"]) >= {"call_id", "provider", "status"}  # type: ignore[index]


async def test_paging_to_the_end_returns_every_live_call_exactly_once(
    client: Client, simulator: Simulator
) -> None:
    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    for _ in range(50):
        arguments: dict[str, Any] = {"limit": 4}
        if cursor:
            arguments["cursor"] = cursor
        result = await client.call_tool("list_active_calls", arguments)
        assert not result.is_error, _text(result)
        page = result.structured_content
        assert page is not None
        seen += [(call["provider"], call["call_id"]) for call in page.get("calls", [])]
        assert len(page.get("calls", [])) <= 4
        cursor = page.get("next_cursor")
        if cursor is None:
            break

    assert len(seen) == len(set(seen))
    assert set(seen) == _live_ids(simulator)
    assert {provider for provider, _ in seen} == set(NAMES)


def _heading(call: dict[str, Any]) -> str:
    return " ".join(w for w in (call["provider"], call["status"], call.get("direction")) if w) + ":"


def _heading_order(calls: list[dict[str, Any]]) -> Callable[[dict[str, Any]], int]:
    """Calls grouped under their headings, the headings in the order of their first call."""
    first: dict[str, int] = {}
    for call in calls:
        first.setdefault(_heading(call), len(first))
    return lambda call: first[_heading(call)]


async def test_a_list_line_and_the_structured_call_agree(client: Client) -> None:
    result = await client.call_tool("list_active_calls", {"limit": 3})

    calls = (result.structured_content or {})["calls"]
    heading, listed = "", []
    for line in _text(result).splitlines()[1:]:
        if line.endswith(":"):
            heading = line
            continue
        duration, call_id, *_ = line.split()
        listed.append((heading, duration, call_id))
    assert listed == [
        (_heading(call), f"{call['duration_s']}s" if "duration_s" in call else "?", call["call_id"])
        for call in sorted(calls, key=_heading_order(calls))
    ]
    assert "null" not in _text(result)
    assert "api_id" not in _text(result)


async def test_get_live_call_without_provider_finds_the_call_at_its_provider(
    client: Client, simulator: Simulator
) -> None:
    for provider in NAMES:
        call = simulator.population.live(provider)[0]

        result = await client.call_tool("get_live_call", {"call_id": call.id})

        assert not result.is_error, _text(result)
        assert result.structured_content is not None
        assert result.structured_content["provider"] == provider
        assert result.structured_content["call_id"] == call.id
        assert _text(result).startswith(f"{provider} {call.id} ")


async def test_a_call_that_is_not_live_is_a_clear_tool_error(client: Client) -> None:
    result = await client.call_tool("get_live_call", {"call_id": "0f0e0d0c-dead-4000-8000-000000000000"})

    assert result.is_error
    assert "not live (it may have ended)" in _text(result)


UNSAFE_IDS = ["../../Account/x", "abc?status=queued", "a#b", "a%2Fb", "a b", "x" * 65, "\x00"]


@pytest.mark.parametrize("call_id", UNSAFE_IDS)
async def test_unsafe_call_ids_are_refused_before_any_request(
    client: Client, simulator: Simulator, call_id: str
) -> None:
    before = sum(simulator.requests.values())

    result = await client.call_tool("get_live_call", {"call_id": call_id})

    assert result.is_error
    assert "call_id must be" in _text(result) or "at most 64 characters" in _text(result)
    assert "errors.pydantic.dev" not in _text(result)
    assert sum(simulator.requests.values()) == before


async def test_an_unsafe_call_id_without_provider_names_no_provider(client: Client) -> None:
    result = await client.call_tool("get_live_call", {"call_id": "../x"})

    assert result.is_error
    assert "call_id must be 1-64 characters" in _text(result)
    assert not any(name in _text(result) for name in NAMES)


async def test_tools_resource_templates_and_subscriptions_share_one_call_id_limit(
    client: Client, simulator: Simulator
) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    too_long = "a" * 65

    with pytest.raises(MCPError) as refused:
        await client.read_resource(f"livecalls://calls/vobiz/{too_long}")

    assert (
        tools["get_live_call"].input_schema["properties"]["call_id"]["maxLength"] == MAX_CALL_ID_LENGTH == 64
    )
    assert refused.value.error.code == INVALID_PARAMS
    assert "call_id must be 1-64 characters" in refused.value.error.message
    assert Watcher.watchable(f"livecalls://calls/vobiz/{'a' * 64}")
    assert not Watcher.watchable(f"livecalls://calls/vobiz/{too_long}")


@pytest.mark.parametrize(("mode", "code"), [("auto", INVALID_PARAMS), ("legacy", RESOURCE_NOT_FOUND)])
async def test_reading_a_call_that_ended_is_the_negotiated_protocols_not_found_error(
    server: MCPServer[object], simulator: Simulator, clock: ManualClock, mode: str, code: int
) -> None:
    call = simulator.population.live("vobiz")[0]
    clock.set(call.ended_at)

    async with Client(server, mode=mode) as client:
        with pytest.raises(MCPError) as refused:
            await client.read_resource(f"livecalls://calls/vobiz/{call.id}")

    assert refused.value.error.code == code
    assert "not live" in refused.value.error.message


async def test_call_times_are_whole_seconds(client: Client, simulator: Simulator) -> None:
    result = await client.call_tool("list_active_calls", {"limit": 100})

    started = [
        call["started_at"] for call in (result.structured_content or {})["calls"] if "started_at" in call
    ]
    assert started
    assert all("." not in value for value in started)


async def test_an_unknown_provider_or_out_of_range_limit_is_a_tool_error(client: Client) -> None:
    bad_provider = await client.call_tool("list_active_calls", {"provider": "bandwidth"})
    bad_limit = await client.call_tool("list_active_calls", {"limit": 1000})

    assert bad_provider.is_error
    assert bad_limit.is_error


async def test_a_forged_cursor_is_a_clear_error(client: Client) -> None:
    forged = "eyJ2IjoxLCJvIjp7InZvYml6Ijo5OTk5OTk5OTk5fX0"
    result = await client.call_tool("list_active_calls", {"cursor": forged})

    assert result.is_error
    assert "cursor is not valid" in _text(result)


async def test_one_failing_provider_does_not_fail_the_others(client: Client, simulator: Simulator) -> None:
    simulator.faults.inject(Fault(kind="status", status_code=500, provider="exotel"))

    result = await client.call_tool("list_active_calls", {"limit": 100})

    assert not result.is_error
    page = result.structured_content or {}
    assert {call["provider"] for call in page["calls"]} == set(NAMES) - {"exotel"}
    assert page["failures"] == [{"provider": "exotel", "reason": "Exotel had an internal error (500)."}] or (
        page["failures"][0]["provider"] == "exotel"
    )
    assert "failed exotel:" in _text(result)


async def test_rejected_credentials_are_a_tool_error_without_the_token(
    sim_url: str, simulator: Simulator
) -> None:
    settings = simulator_settings(sim_url, DEMO_CREDENTIALS)
    vobiz = settings.provider(ProviderName("vobiz"))
    assert vobiz is not None
    settings = Settings(
        providers={ProviderName("vobiz"): replace(vobiz, auth_token=SecretStr("leaky-token-5531"))}
    )
    async with Client(create_server(settings, now=simulator.clock.now)) as client:
        result = await client.call_tool("list_active_calls", {})

    assert not result.is_error  # a list reports the failed provider instead of failing
    page = result.structured_content or {}
    assert page["failures"][0]["reason"].startswith("Vobiz rejected the credentials (401)")
    assert "leaky-token-5531" not in json.dumps(page) + _text(result)


async def test_time_moves_a_ringing_call_forward(
    client: Client, simulator: Simulator, clock: ManualClock
) -> None:
    ringing = next(
        call
        for provider in ("exotel", "zudu", "vobiz")
        for call in simulator.population.live(provider)
        if call.state_at(simulator.clock.now()) in ("ringing", "early_media", "queued")
    )
    before = await client.call_tool("get_live_call", {"call_id": ringing.id, "provider": ringing.provider})

    clock.advance(600)
    after = await client.call_tool("get_live_call", {"call_id": ringing.id, "provider": ringing.provider})

    assert before.structured_content is not None
    assert before.structured_content["status"] in ("queued", "ringing", "early_media")
    after_status = None if after.is_error else (after.structured_content or {}).get("status")
    assert after_status != before.structured_content["status"]


async def test_resources_serve_providers_active_calls_and_single_calls(
    client: Client, simulator: Simulator
) -> None:
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert templates == {
        "livecalls://calls/{provider}/{call_id}",
        "livecalls://calls/{provider}/{call_id}/stream",
    }

    def body(result: Any) -> Any:
        content = result.contents[0]
        assert isinstance(content, TextResourceContents)
        return json.loads(content.text)

    providers = body(await client.read_resource("livecalls://providers"))
    assert [(p["name"], p["configured"]) for p in providers["providers"]] == [(name, True) for name in NAMES]
    active = body(await client.read_resource("livecalls://calls/active"))
    assert {(c["provider"], c["call_id"]) for c in active["calls"]} == _live_ids(simulator)

    call = simulator.population.live("exotel")[0]
    one = body(await client.read_resource(f"livecalls://calls/exotel/{call.id}"))
    stream = body(await client.read_resource(f"livecalls://calls/exotel/{call.id}/stream"))
    assert (one["call_id"], stream["call_id"]) == (call.id, call.id)
    assert stream["legs"]


@pytest.mark.parametrize(
    "forge",
    [
        "99999999.{rest}",
        "{small}.{rest}",
        "-1.{rest}",
        "a.{rest}",
        "²{rest}",
        "{offsets}.0000000000ab",
        "{offsets}",
    ],
)
async def test_a_cursor_with_forged_offsets_or_tag_is_refused(
    client: Client, simulator: Simulator, forge: str
) -> None:
    first = await client.call_tool("list_active_calls", {"limit": 2})
    cursor = (first.structured_content or {})["next_cursor"]
    offsets, _, _tag = cursor.rpartition(".")
    rest = cursor.partition(".")[2]
    before = sum(simulator.requests.values())

    small = "2" if cursor.startswith("1.") else "1"  # a plausible offset that is not the real one
    forged = forge.format(rest=rest, offsets=offsets, small=small)
    result = await client.call_tool("list_active_calls", {"cursor": forged})

    assert result.is_error
    assert "cursor is not valid" in _text(result)
    assert sum(simulator.requests.values()) == before


async def test_a_cursor_is_only_valid_with_the_filters_it_was_made_for(client: Client) -> None:
    first = await client.call_tool("list_active_calls", {"limit": 2})
    cursor = (first.structured_content or {})["next_cursor"]

    arguments = {"limit": 2, "direction": "inbound", "cursor": cursor}
    other = await client.call_tool("list_active_calls", arguments)

    assert other.is_error


async def test_a_bug_in_an_adapter_is_a_clear_tool_error_and_a_logged_traceback(
    settings: Settings, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    app = LiveCallsApp(settings, now=simulator.clock.now)

    class Broken(VobizProvider):
        async def _get_call(self, call_id: str) -> LiveCall:
            raise KeyError("a bug")

    async with Client(create_server(app=app)) as client:
        vobiz = app.service.providers[ProviderName("vobiz")]
        app.service.providers[ProviderName("vobiz")] = Broken(
            vobiz.http, auth_id="MA_SIMULATOR0001", now=app.now
        )
        result = await client.call_tool("get_live_call", {"call_id": "abc", "provider": "vobiz"})

    assert result.is_error
    assert _text(result).endswith("Vobiz could not be asked: mcp-livecalls hit an internal error (KeyError).")
    assert "Traceback" not in _text(result)
    assert "KeyError: 'a bug'" in caplog.text
