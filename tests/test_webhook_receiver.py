"""``POST /webhooks/<provider>`` on the HTTP transport: outside the bearer gate, verified, bounded."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import TextResourceContents
from pydantic import SecretStr
from retell.lib.webhook_auth import symmetric

from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.providers.hooks import MAX_WEBHOOK_BODY
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import Simulator, serve_asgi
from mcp_livecalls.web.front import http_app
from mcp_livecalls.web.hooks import FLOOD_BURST, WebhookReceiver

pytestmark = pytest.mark.anyio

PUBLIC = "https://hooks.example"
PROVIDER = ProviderName("retell")


TOKEN = "receiver-test-token-1b2c"


@pytest.fixture
def url(settings: Settings, simulator: Simulator) -> Iterator[str]:
    gated = settings.with_changes(http_token=SecretStr(TOKEN), public_url=PUBLIC)
    server = create_server(gated, now=simulator.clock.now)
    with serve_asgi(http_app(server, gated, host="127.0.0.1"), name="mcp-http") as served:
        yield served


def _signed(settings: Settings, simulator: Simulator, body: str, key: str | None = None) -> dict[str, str]:
    configured = settings.provider(PROVIDER)
    assert configured is not None
    secret = key or configured.api_key.get_secret_value()
    stamp = int(simulator.clock.now().timestamp() * 1000)
    return {"content-type": "application/json", "x-retell-signature": symmetric["sign"](body, secret, stamp)}


BODY = json.dumps({"event": "call_ended", "call": {"call_id": "call_x1", "call_status": "ended"}})


async def test_a_signed_webhook_is_taken_without_the_mcp_bearer_token(
    url: str, settings: Settings, simulator: Simulator
) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{url}/webhooks/retell", content=BODY, headers=_signed(settings, simulator, BODY)
        )

    assert response.status_code == 204


@pytest.mark.parametrize("case", ["wrong secret", "tampered", "unsigned"])
async def test_a_webhook_not_signed_right_is_refused_with_no_detail(
    url: str, settings: Settings, simulator: Simulator, case: str
) -> None:
    headers = _signed(settings, simulator, BODY, "the-wrong-key" if case == "wrong secret" else None)
    if case == "unsigned":
        del headers["x-retell-signature"]
    body = BODY.replace("ended", "ongoing") if case == "tampered" else BODY

    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{url}/webhooks/retell", content=body, headers=headers)

    assert (response.status_code, response.content) == (403, b"")


async def test_unknown_providers_oversized_and_malformed_bodies_get_their_status(
    url: str, settings: Settings, simulator: Simulator
) -> None:
    big = "x" * (MAX_WEBHOOK_BODY + 1)
    async with httpx2.AsyncClient() as http:
        unknown = await http.post(f"{url}/webhooks/nobody", content=BODY)
        not_pushing = await http.post(f"{url}/webhooks/zudu", content=BODY)
        too_big = await http.post(
            f"{url}/webhooks/retell", content=big, headers=_signed(settings, simulator, big)
        )
        malformed = await http.post(
            f"{url}/webhooks/retell", content="{nope", headers={"content-type": "application/json"}
        )

    assert [r.status_code for r in (unknown, not_pushing, too_big, malformed)] == [404, 404, 413, 400]


def test_a_flood_from_one_address_is_refused_before_any_work_and_recovers_with_time() -> None:
    now = [0.0]
    receiver = WebhookReceiver({}, lambda: None, PUBLIC, now=lambda: None, clock=lambda: now[0])  # type: ignore[arg-type,return-value]

    allowed = [not receiver._flooding("198.51.100.9") for _ in range(int(FLOOD_BURST) + 5)]
    now[0] += 1.0

    assert allowed.count(True) == int(FLOOD_BURST)
    assert not receiver._flooding("198.51.100.9")
    assert not receiver._flooding("203.0.113.1")  # another address has its own allowance


async def test_the_providers_resource_says_which_providers_push_and_which_are_polled(
    url: str, settings: Settings, simulator: Simulator
) -> None:
    async def updates() -> dict[str, tuple[str | None, str | None]]:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            read = await client.read_resource("livecalls://providers")
        contents = read.contents[0]
        assert isinstance(contents, TextResourceContents)
        listed = json.loads(contents.text)["providers"]
        return {p["name"]: (p.get("updates"), p.get("webhook")) for p in listed if p["configured"]}

    before = await updates()
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{url}/webhooks/retell", content=BODY, headers=_signed(settings, simulator, BODY)
        )
    after = await updates()

    assert response.status_code == 204
    assert before["retell"] == ("pushed", "/webhooks/retell")  # received: pushed from the start
    assert after["retell"] == ("pushed", "/webhooks/retell")
    assert after["zudu"] == ("polled", None)  # Zudu has no live webhooks
    assert after["exotel"][0] == "polled"
