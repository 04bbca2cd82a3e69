"""Plivo over real HTTP and the real MCP client: the loopback simulator in every Plivo flavour.

Whatever variant of Plivo's answers the upstream plays (UUIDs or call objects in the lists, its
filters applied or not, an idle list as an error body), every live call is listed once, found by
``get_live_call``, shown in E.164, and no credential shows in any output.
"""

from __future__ import annotations

import base64
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.providers.plivo.simulated import PLIVO_FLAVOURS
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator
from providers.kit import client_on, gathered, list_pages, look_up_all, loopback, simulated

pytestmark = pytest.mark.anyio

PLIVO = ProviderName("plivo")
ACCOUNT = DEMO_CREDENTIALS.settings_for("plivo")

EVERY_FLAVOUR = [
    pytest.param(frozenset[str](), id="default"),
    *(pytest.param(frozenset({name}), id=name) for name in sorted(PLIVO_FLAVOURS)),
    pytest.param(frozenset({"plivo.object_list", "plivo.filters_ignored"}), id="objects-unfiltered"),
]


def _population(flavours: frozenset[str] = frozenset(), live_calls: int = 45) -> Simulator:
    return simulated("plivo", seed=11, live_calls=live_calls, arrival_every_s=None, flavours=flavours)


def _client(sim: Simulator, *, token: str | None = None) -> AbstractAsyncContextManager[Client]:
    """The real MCP client on a server whose only provider is Plivo (with ``token`` instead of the
    account's, if given), at ``sim`` over loopback."""
    credentials = DEMO_CREDENTIALS if token is None else DEMO_CREDENTIALS.replace(plivo_auth_token=token)
    return client_on(sim, credentials, only="plivo")


def _expected(sim: Simulator, direction: str | None = None) -> list[str]:
    calls = sim.population.live("plivo") + sim.population.queued("plivo")
    return [c.id for c in calls if direction is None or c.direction == direction]


async def _every_page(client: Client, **filters: Any) -> tuple[list[dict[str, Any]], list[str], list[Any]]:
    """Calls, notes and failures of ``list_active_calls`` for Plivo, paged to the end."""
    pages = await list_pages(client, {"provider": "plivo", "limit": 20, **filters}, pages=20)
    return gathered(pages, "calls"), gathered(pages, "notes"), gathered(pages, "failures")


@pytest.mark.parametrize("flavours", EVERY_FLAVOUR)
async def test_paging_to_the_end_lists_every_plivo_call_once_in_e164_and_each_is_found(
    flavours: frozenset[str],
) -> None:
    sim = _population(flavours)
    async with _client(sim) as client:
        with anyio.fail_after(30):
            calls, notes, failures = await _every_page(client)
            found = await look_up_all(client, "plivo", [call["call_id"] for call in calls])

    ids = [call["call_id"] for call in calls]
    assert len(_expected(sim)) == 45
    assert sorted(ids) == sorted(_expected(sim))  # every call, none twice
    assert (notes, failures) == ([], [])
    assert found == {call_id: call_id for call_id in ids}
    assert all(call["from_number"].startswith("+") and call["to_number"].startswith("+") for call in calls)
    assert {call["provider"] for call in calls} == {"plivo"}


@pytest.mark.parametrize("flavours", [frozenset[str](), frozenset({"plivo.filters_ignored"})])
async def test_a_direction_filter_lists_exactly_the_calls_of_that_direction_whether_plivo_applies_it_or_not(
    flavours: frozenset[str],
) -> None:
    sim = _population(flavours)
    async with _client(sim) as client:
        with anyio.fail_after(30):
            calls, _notes, failures = await _every_page(client, direction="inbound")

    assert sorted(call["call_id"] for call in calls) == sorted(_expected(sim, "inbound"))
    assert {call["direction"] for call in calls} == {"inbound"}
    assert failures == []
    details = sim.requests[("plivo", "get_call")]
    outbound_live = [c for c in sim.population.live("plivo") if c.direction == "outbound"]
    if "plivo.filters_ignored" in flavours:
        assert details >= len(_expected(sim))  # every call's details were needed to filter
    else:
        # Upstream filtered the live list: no outbound live call's details were asked for.
        assert details <= len(_expected(sim)) - len(outbound_live)


async def test_stream_details_show_a_calls_media_stream_and_what_plivo_does_not_offer() -> None:
    sim = _population()
    with_stream = next(c for c in sim.population.live("plivo") if c.media_stream is not None)
    clock = sim.clock
    assert isinstance(clock, ManualClock)
    stream_id, start_s, track, _bidirectional = with_stream.media_stream or ("", 0.0, "", False)
    started = with_stream.created_ts + start_s
    if clock.now().timestamp() < started:
        clock.advance(started - clock.now().timestamp() + 1)
    async with _client(sim) as client:
        result = await client.call_tool(
            "get_stream_details", {"call_id": with_stream.id, "provider": "plivo", "detail": "full"}
        )

    assert not result.is_error, result.content
    details = result.structured_content or {}
    assert details["call_id"] == with_stream.id
    assert [(s["stream_id"], s["audio_track"]) for s in details["media_streams"]] == [(stream_id, track)]
    assert "legs" in details["not_offered"]


async def test_the_simulated_plivo_answers_401_in_plivos_error_body_to_wrong_basic_auth() -> None:
    sim = _population(live_calls=4)
    async with loopback(sim) as served:
        url = f"{served.url}/v1/Account/{ACCOUNT['auth_id']}/Call/"
        wrong = await served.http.get(url, params={"status": "live"}, auth=(ACCOUNT["auth_id"], "nope"))
        right = await served.http.get(
            url, params={"status": "live"}, auth=(ACCOUNT["auth_id"], ACCOUNT["auth_token"])
        )

    assert wrong.status_code == 401
    assert set(wrong.json()) == {"api_id", "error"}
    assert right.status_code == 200
    assert sorted(right.json()["calls"]) == sorted(c.id for c in sim.population.live("plivo"))


async def test_wrong_credentials_are_a_tool_error_naming_the_variables_and_never_any_secret() -> None:
    sim = _population(live_calls=4)
    wrong_token = "wrong-plivo-token-93c1"
    async with _client(sim, token=wrong_token) as client:
        listed = await client.call_tool("list_active_calls", {"provider": "plivo"})
        looked = await client.call_tool("get_live_call", {"call_id": _expected(sim)[0], "provider": "plivo"})

    for result in (listed, looked):
        text = str(result.content) + str(result.structured_content)
        assert "PLIVO_AUTH_ID / PLIVO_AUTH_TOKEN" in text
        pair = base64.b64encode(f"{ACCOUNT['auth_id']}:{wrong_token}".encode()).decode()
        assert all(secret not in text for secret in (wrong_token, ACCOUNT["auth_id"], pair))


async def test_no_output_of_any_tool_shows_the_plivo_credentials() -> None:
    sim = _population(live_calls=6)
    token, auth_id = ACCOUNT["auth_token"], ACCOUNT["auth_id"]
    pair = base64.b64encode(f"{auth_id}:{token}".encode()).decode()
    call_id = _expected(sim)[0]
    async with _client(sim) as client:
        results = [
            await client.call_tool("list_active_calls", {"provider": "plivo"}),
            await client.call_tool("get_live_call", {"call_id": call_id, "detail": "full"}),
            await client.call_tool("get_stream_details", {"call_id": call_id, "detail": "full"}),
            await client.read_resource("livecalls://providers"),
        ]

    shown = " ".join(str(result) for result in results)
    assert call_id in shown
    assert all(secret not in shown for secret in (token, auth_id, pair))
