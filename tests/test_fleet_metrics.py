"""``GET /metrics``: Prometheus text, behind the bearer token unless public, with no ids in labels."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from mcp_livecalls.config import Settings
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import Simulator, serve_asgi
from mcp_livecalls.web.front import http_app

pytestmark = pytest.mark.anyio

TOKEN = "metrics-test-token-7c1f"


def _serve(settings: Settings, simulator: Simulator) -> Iterator[str]:
    server = create_server(settings, now=simulator.clock.now)
    with serve_asgi(http_app(server, settings, host="127.0.0.1"), name="mcp-http") as url:
        yield url


@pytest.fixture
def secured_url(settings: Settings, simulator: Simulator) -> Iterator[str]:
    yield from _serve(settings.with_changes(http_token=SecretStr(TOKEN)), simulator)


@pytest.fixture
def public_url(settings: Settings, simulator: Simulator) -> Iterator[str]:
    yield from _serve(settings.with_changes(http_token=SecretStr(TOKEN), metrics_public=True), simulator)


async def test_metrics_count_upstream_requests_by_provider_and_outcome_without_ids_in_labels(
    secured_url: str, simulator: Simulator
) -> None:
    call = simulator.population.live("zudu")[0]
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        Client(streamable_http_client(f"{secured_url}/mcp", http_client=http)) as client,
    ):
        assert not (await client.call_tool("get_live_call", {"call_id": call.id})).is_error
        response = await http.get(f"{secured_url}/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'livecalls_upstream_requests_total{outcome="2xx",provider="zudu"}' in text
    assert "livecalls_cache_lookups_total" in text
    assert "livecalls_redis_configured 0.0" in text
    assert "livecalls_open_sessions" in text
    assert call.id not in text
    assert TOKEN not in text


async def test_metrics_need_the_bearer_token_unless_made_public(secured_url: str, public_url: str) -> None:
    async with httpx2.AsyncClient() as http:
        refused = await http.get(f"{secured_url}/metrics")
        wrong = await http.get(f"{secured_url}/metrics", headers={"Authorization": "Bearer nope"})
        public = await http.get(f"{public_url}/metrics")

    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert public.status_code == 200
    assert "livecalls_pollers" in public.text


def test_metrics_public_is_read_from_the_environment() -> None:
    assert Settings.from_env({"LIVECALLS_METRICS_PUBLIC": "1"}).metrics_public
    assert not Settings.from_env({}).metrics_public
