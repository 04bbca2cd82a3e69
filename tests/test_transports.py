"""The server as people run it: a stdio subprocess, and streamable HTTP with its safety rules."""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import METHOD_NOT_FOUND, TextContent, TextResourceContents
from pydantic import SecretStr

from mcp_livecalls.cli import quiet_sdk_noise, simulator_env
from mcp_livecalls.config import Settings
from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.errors import ConfigError
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator, serve_asgi
from mcp_livecalls.web.front import http_app


@pytest.fixture
def clock() -> ManualClock:
    """The simulator's clock, from the wall's now: the server in a subprocess keeps the wall clock."""
    return ManualClock.starting_now()


TOKEN = "http-token-4b1d9e77"


def _simulator_env(sim_url: str) -> dict[str, str]:
    return simulator_env(sim_url, DEMO_CREDENTIALS)


@pytest.mark.anyio
async def test_a_stdio_subprocess_lists_and_reads_live_calls(sim_url: str, simulator: Simulator) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "LIVECALLS_LOG_LEVEL": "WARNING", **_simulator_env(sim_url)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_livecalls.cli", "serve"], env=env)

    with anyio.fail_after(60):
        async with Client(params) as client:
            page = await client.call_tool("list_active_calls", {"limit": 100})
            call = simulator.population.live("vobiz")[0]
            one = await client.read_resource(f"livecalls://calls/vobiz/{call.id}")

    assert not page.is_error
    assert page.structured_content is not None
    assert {c["provider"] for c in page.structured_content["calls"]} == set(NAMES)
    content = one.contents[0]
    assert isinstance(content, TextResourceContents)
    assert json.loads(content.text)["call_id"] == call.id


POLL_S = 0.2


@pytest.mark.anyio
async def test_a_stdio_legacy_unsubscribe_stops_upstream_polling(sim_url: str, simulator: Simulator) -> None:
    poll_s = 0.5  # the smallest interval the environment may set
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LIVECALLS_LOG_LEVEL": "WARNING",
        "LIVECALLS_POLL_INTERVAL_S": str(poll_s),
        "LIVECALLS_CACHE_TTL_S": "0",
        **_simulator_env(sim_url),
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_livecalls.cli", "serve"], env=env)
    uri = f"livecalls://calls/vobiz/{simulator.population.live('vobiz')[0].id}"

    with anyio.fail_after(60):
        async with Client(params, mode="legacy") as client:
            for _ in range(3):
                await _subscribe(client, uri)
            await _until_polled(client, simulator, uri, 2, poll_s)
            while_subscribed = _polls(simulator, uri)
            await _unsubscribe(client, uri)
            at_unsubscribe = _polls(simulator, uri)
            await _let_intervals_pass(client, simulator, 3, poll_s)
            after = _polls(simulator, uri)

    assert while_subscribed >= 2  # it was polling
    assert after <= at_unsubscribe + 1  # three subscribes were one: one unsubscribe ends it


@pytest.fixture
def http_url(settings: Settings, simulator: Simulator) -> Iterator[str]:
    secured = settings.with_changes(http_token=SecretStr(TOKEN), poll_interval_s=POLL_S)
    server = create_server(secured, now=simulator.clock.now)
    with serve_asgi(http_app(server, secured, host="127.0.0.1"), name="mcp-http") as url:
        yield url


@asynccontextmanager
async def _http_client(url: str, *, mode: str = "auto") -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client,
    ):
        yield client


async def _subscribe(client: Client, uri: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resources/subscribe is deprecated in 2026-07-28
        await client.subscribe_resource(uri)


async def _unsubscribe(client: Client, uri: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        await client.unsubscribe_resource(uri)


async def _let_intervals_pass(
    client: Client, simulator: Simulator, intervals: int, poll_s: float = POLL_S
) -> None:
    """Let the server's own clock run ``intervals`` poll intervals: a wait that times out.

    The test never sleeps or reads a wall clock; the server does the waiting, on a Zudu call, so
    its requests are counted apart from the Vobiz and list routes the subscriptions poll.
    """
    call = simulator.population.live("zudu")[0]
    result = await client.call_tool(
        "wait_for_call_state",
        {"call_id": call.id, "provider": "zudu", "until": ["failed"], "timeout_s": intervals * poll_s},
    )
    assert (result.structured_content or {}).get("outcome") == "timeout", result.content


async def _until_polled(
    client: Client, simulator: Simulator, uri: str, at_least: int, poll_s: float = POLL_S
) -> None:
    """Let poll intervals pass until the watch of ``uri`` has polled ``at_least`` times: how many
    polls fit in a fixed number of intervals depends on how busy the machine is, so the wait is
    bounded only by the test's ``fail_after``."""
    while _polls(simulator, uri) < at_least:
        await _let_intervals_pass(client, simulator, 1, poll_s)


def _polls(simulator: Simulator, uri: str) -> int:
    """Polls the watch of ``uri`` made upstream: Vobiz call lookups, or Exotel list requests.

    One poll of the active list asks every provider (Vobiz twice: live and queued), so it is
    counted by the one request Exotel gets per poll: a poll in flight at close is one, not four.
    """
    if uri.endswith("/active"):
        return simulator.requests[("exotel", "list_calls")]
    return simulator.requests[("vobiz", "get_call")]


@pytest.mark.anyio
@pytest.mark.parametrize("resource", ["call", "active"])
async def test_http_legacy_unsubscribe_stops_upstream_polling_within_two_intervals(
    http_url: str, simulator: Simulator, resource: str
) -> None:
    call = simulator.population.live("vobiz")[0]
    uri = f"livecalls://calls/vobiz/{call.id}" if resource == "call" else "livecalls://calls/active"

    with anyio.fail_after(30):
        async with _http_client(http_url, mode="legacy") as client:
            await _subscribe(client, uri)
            await _subscribe(client, uri)  # the same session again: still one watch
            await _until_polled(client, simulator, uri, 2)
            while_subscribed = _polls(simulator, uri)
            await _unsubscribe(client, uri)
            at_unsubscribe = _polls(simulator, uri)
            await _let_intervals_pass(client, simulator, 3)
            after = _polls(simulator, uri)

    assert while_subscribed >= 2  # it was polling
    assert after <= at_unsubscribe + 1  # at most the poll already in flight


@pytest.mark.anyio
async def test_http_legacy_session_end_stops_upstream_polling(http_url: str, simulator: Simulator) -> None:
    call = simulator.population.live("vobiz")[0]
    uri = f"livecalls://calls/vobiz/{call.id}"

    with anyio.fail_after(30):
        async with _http_client(http_url, mode="legacy") as client:
            await _subscribe(client, uri)
            await _until_polled(client, simulator, uri, 1)
        at_end = _polls(simulator, uri)  # the client ended its session (DELETE) on the way out
        async with _http_client(http_url) as witness:
            await _let_intervals_pass(witness, simulator, 3)
        after = _polls(simulator, uri)

    assert at_end >= 1
    assert after <= at_end + 1


@pytest.mark.anyio
async def test_http_cancelling_a_wait_stops_its_polling_and_gets_no_answer(
    http_url: str, simulator: Simulator
) -> None:
    """Raw 2025-06-18 streamable HTTP, as the TypeScript SDK speaks it when its timeout fires."""
    call = simulator.population.live("vobiz")[0]
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json, text/event-stream"}
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        },
    }
    wait = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {
            "name": "wait_for_call_state",
            "arguments": {"call_id": call.id, "provider": "vobiz", "until": ["failed"], "timeout_s": 55},
            "_meta": {"progressToken": "p"},
        },
    }
    seen: list[dict[str, Any]] = []

    with anyio.fail_after(30):
        async with httpx2.AsyncClient(base_url=http_url, headers=headers, timeout=30) as http:
            opened = await http.post("/mcp", json=init)
            session = {
                "mcp-session-id": opened.headers["mcp-session-id"],
                "mcp-protocol-version": "2025-06-18",
            }
            await http.post(
                "/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session
            )
            async with http.stream("POST", "/mcp", json=wait, headers=session) as stream:
                async for line in stream.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    seen.append(json.loads(line[5:]))
                    if seen[-1].get("method") == "notifications/progress" and len(seen) == 1:
                        cancel = {"requestId": 2, "reason": "timeout"}
                        await http.post(
                            "/mcp",
                            json={"jsonrpc": "2.0", "method": "notifications/cancelled", "params": cancel},
                            headers=session,
                        )
            at_cancel = simulator.requests[("vobiz", "get_call")]
        async with _http_client(http_url) as witness:
            await _let_intervals_pass(witness, simulator, 3)
        after = simulator.requests[("vobiz", "get_call")]

    assert seen[0]["method"] == "notifications/progress"  # it was waiting
    assert [message for message in seen if message.get("id") == 2] == []  # and was not answered
    assert after <= at_cancel + 1  # nor kept polling


@pytest.mark.anyio
async def test_http_closing_a_listen_stream_stops_upstream_polling(
    http_url: str, simulator: Simulator
) -> None:
    uri = "livecalls://calls/active"

    with anyio.fail_after(30):
        async with _http_client(http_url) as client:
            async with client.listen(resource_subscriptions=[uri]):
                await _until_polled(client, simulator, uri, 1)
            at_close = _polls(simulator, uri)
            await _let_intervals_pass(client, simulator, 3)
            after = _polls(simulator, uri)

    assert at_close >= 1
    assert after <= at_close + 1


@pytest.mark.anyio
async def test_http_with_the_right_bearer_token_serves_the_tools(http_url: str) -> None:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        with anyio.fail_after(30):
            async with Client(streamable_http_client(f"{http_url}/mcp", http_client=http)) as client:
                result = await client.call_tool("list_active_calls", {"limit": 5})

    assert not result.is_error
    assert isinstance(result.content[0], TextContent)
    assert len((result.structured_content or {})["calls"]) == 5


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_http_without_the_right_token_is_refused_without_detail(
    http_url: str, headers: dict[str, str]
) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = httpx2.post(f"{http_url}/mcp", json=body, headers={"Accept": "application/json", **headers})

    assert response.status_code == 401
    assert TOKEN not in response.text
    assert "tools" not in response.text
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="mcp-livecalls"')


def test_a_401_without_a_token_names_the_scheme_and_with_a_wrong_one_says_invalid_token(
    http_url: str,
) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    bare = httpx2.post(f"{http_url}/mcp", json=body, headers=accept)
    wrong = httpx2.post(f"{http_url}/mcp", json=body, headers={**accept, "Authorization": "Bearer nope"})

    assert bare.headers["WWW-Authenticate"] == 'Bearer realm="mcp-livecalls"'
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert "Authorization: Bearer" in bare.json()["error_description"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Host": "evil.example"}, 421), ({"Origin": "http://evil.example"}, 403)],
)
def test_http_on_loopback_refuses_foreign_hosts_and_origins(
    http_url: str, headers: dict[str, str], status: int
) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = httpx2.post(
        f"{http_url}/mcp",
        json=body,
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Accept": "application/json, text/event-stream",
            **headers,
        },
    )

    assert response.status_code == status


def test_healthz_names_configured_providers_and_no_credentials(http_url: str) -> None:
    response = httpx2.get(f"{http_url}/healthz")

    assert response.status_code == 200
    assert response.json()["providers"] == list(NAMES)
    for secret in (DEMO_CREDENTIALS.vobiz_auth_token, DEMO_CREDENTIALS.exotel_api_token, TOKEN):
        assert secret not in response.text


@pytest.mark.anyio
async def test_stateless_http_neither_advertises_nor_accepts_legacy_subscriptions(
    settings: Settings, simulator: Simulator
) -> None:
    server = create_server(settings, now=simulator.clock.now)
    call = simulator.population.live("vobiz")[0]
    with serve_asgi(http_app(server, settings, host="127.0.0.1", stateless=True), name="mcp-http") as url:
        with anyio.fail_after(30):
            async with Client(f"{url}/mcp", mode="legacy") as client:
                capabilities = client.server_capabilities
                with pytest.raises(MCPError) as refused:
                    await _subscribe(client, f"livecalls://calls/vobiz/{call.id}")

    assert capabilities.resources is not None
    assert not capabilities.resources.subscribe
    assert refused.value.error.code == METHOD_NOT_FOUND


@pytest.mark.anyio
async def test_stateless_http_serves_each_request_on_its_own_without_logging_a_session_each_time(
    settings: Settings, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    quiet_sdk_noise()  # as `mcp-livecalls serve` does
    caplog.set_level(logging.INFO, logger="mcp.server.streamable_http")
    server = create_server(settings, now=simulator.clock.now)
    with serve_asgi(http_app(server, settings, host="127.0.0.1", stateless=True), name="mcp-http") as url:
        with anyio.fail_after(30):
            async with Client(
                f"{url}/mcp", mode="legacy"
            ) as client:  # stateless legacy: one transport per request
                first: Any = await client.call_tool("list_active_calls", {"limit": 2})
                second: Any = await client.call_tool(
                    "get_live_call", {"call_id": first.structured_content["calls"][0]["call_id"]}
                )

    assert not first.is_error
    assert not second.is_error
    assert "Terminating session: None" not in caplog.text


def test_binding_beyond_loopback_without_a_token_is_refused(settings: Settings) -> None:
    with pytest.raises(
        ConfigError, match=r"refusing to serve HTTP on 0\.0\.0\.0 without LIVECALLS_HTTP_TOKEN"
    ):
        http_app(create_server(settings), settings, host="0.0.0.0")  # noqa: S104 - the point of the test
