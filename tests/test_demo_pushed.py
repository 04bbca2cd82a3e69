"""``mcp-livecalls serve --demo --transport http`` shows pushed updates with no configuration: the
embedded simulator posts signed callbacks to the server's own ``/webhooks/*``."""

from __future__ import annotations

import json
import os

import anyio
import pytest
from compat.harness import http_server
from mcp import Client
from mcp_types import TextResourceContents

from mcp_livecalls.simulator.registry import CALLBACKS

pytestmark = pytest.mark.anyio

ACTIVE = "livecalls://calls/active"


async def _updates_by_provider(client: Client) -> dict[str, str | None]:
    read = await client.read_resource("livecalls://providers")
    contents = read.contents[0]
    assert isinstance(contents, TextResourceContents)
    listed = json.loads(contents.text)["providers"]
    return {p["name"]: p.get("updates") for p in listed if p["configured"]}


async def test_the_http_demo_takes_its_simulators_signed_callbacks_with_no_configuration() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "LIVECALLS_LOG_LEVEL": "WARNING"}
    with http_server(env, options=("--demo",), token=None) as url:
        async with Client(url) as client:
            with anyio.fail_after(60):  # the demo's calls move on the wall clock; a busy machine is slower
                async with client.listen(resource_subscriptions=[ACTIVE]) as updates:
                    after = await _updates_by_provider(client)
                    async for _ in updates:  # the calls move; once a callback was taken, it says so
                        if "pushed" in after.values():
                            break
                        after = await _updates_by_provider(client)

    assert "pushed" in after.values()
    pushing = {maker.name for maker in CALLBACKS}  # the simulated providers that call back
    assert {name for name, updates in after.items() if updates == "pushed"} <= pushing
    assert after["zudu"] == "polled"  # Zudu has no live webhooks
