"""The server as people run it: a stdio subprocess, and streamable HTTP with its safety rules."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import TextContent, TextResourceContents
from pydantic import SecretStr

from mcp_livecalls.config import Settings
from mcp_livecalls.errors import ConfigError
from mcp_livecalls.server import create_server, http_app
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Simulator, serve_asgi

TOKEN = "http-token-4b1d9e77"


def _simulator_env(sim_url: str) -> dict[str, str]:
    creds = DEMO_CREDENTIALS
    return {
        "VOBIZ_BASE_URL": sim_url,
        "VOBIZ_AUTH_ID": creds.vobiz_auth_id,
        "VOBIZ_AUTH_TOKEN": creds.vobiz_auth_token,
        "EXOTEL_BASE_URL": sim_url,
        "EXOTEL_ACCOUNT_SID": creds.exotel_account_sid,
        "EXOTEL_API_KEY": creds.exotel_api_key,
        "EXOTEL_API_TOKEN": creds.exotel_api_token,
        "ZUDU_BASE_URL": sim_url,
        "ZUDU_API_KEY": creds.zudu_api_key,
        "ZUDU_API_SECRET": creds.zudu_api_secret,
    }


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
    assert {c["provider"] for c in page.structured_content["calls"]} == {"vobiz", "exotel", "zudu"}
    content = one.contents[0]
    assert isinstance(content, TextResourceContents)
    assert json.loads(content.text)["call_id"] == call.id


@pytest.fixture
def http_url(settings: Settings, simulator: Simulator) -> Iterator[str]:
    server = create_server(settings.with_changes(http_token=SecretStr(TOKEN)), now=simulator.clock.now)
    with serve_asgi(http_app(server, settings, host="127.0.0.1"), name="mcp-http") as url:
        yield url


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
    assert response.json()["providers"] == ["vobiz", "exotel", "zudu"]
    for secret in (DEMO_CREDENTIALS.vobiz_auth_token, DEMO_CREDENTIALS.exotel_api_token, TOKEN):
        assert secret not in response.text


@pytest.mark.anyio
async def test_stateless_http_serves_each_request_on_its_own(
    settings: Settings, simulator: Simulator
) -> None:
    server = create_server(settings, now=simulator.clock.now)
    with serve_asgi(http_app(server, settings, host="127.0.0.1", stateless=True), name="mcp-http") as url:
        with anyio.fail_after(30):
            async with Client(f"{url}/mcp") as client:
                first: Any = await client.call_tool("list_active_calls", {"limit": 2})
                second: Any = await client.call_tool(
                    "get_live_call", {"call_id": first.structured_content["calls"][0]["call_id"]}
                )

    assert not first.is_error
    assert not second.is_error


def test_binding_beyond_loopback_without_a_token_is_refused(settings: Settings) -> None:
    with pytest.raises(
        ConfigError, match=r"refusing to serve HTTP on 0\.0\.0\.0 without LIVECALLS_HTTP_TOKEN"
    ):
        http_app(create_server(settings), settings, host="0.0.0.0")  # noqa: S104 - the point of the test
