"""Telnyx against its documents: each documented answer, typed in a fixture, through the real adapter.

The fixtures (``fixtures/*.json``) stand for the active-calls list (its cursor meta, and the
numbered meta of the SDK's pagination), the call status and Telnyx's error body; each says which
document in its ``source``. Every test pins the normalized result and the requests made.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from contract.harness import Answer, Upstream, fixture, load
from pydantic import SecretStr

from mcp_livecalls.core.models import CallStatus, LiveCall, ProviderName, StreamDetails
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, CallNotFound, ProviderError
from mcp_livecalls.providers.telnyx.adapter import PAGE_SIZE, TelnyxProvider, TelnyxSettings
from mcp_livecalls.upstream.policy import HttpPolicy
from providers.kit import documented

pytestmark = pytest.mark.anyio

NOW = datetime(2019, 1, 23, 18, 11, 0, tzinfo=UTC)
KEY = "KEYcontract0123456789abcdef"
CONNECTION = "1234567890"
OTHER = "1234567899"
ACTIVE = f"/v2/connections/{CONNECTION}/active_calls"
CONTROL = "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg"
SHOWN = "v3-MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg"
SECOND = "v3-Qx7fN2pLwE9sT4kRb1mYc8vHd3gJz6uAo0iKe5nWt2rXyS_Gq-hUlw"
AFTER = load("telnyx", "active_calls_cursor")["body"]["meta"]["cursors"]["after"]


def telnyx(name: str) -> Answer:
    return fixture("telnyx", name)


def adapter(upstream: Upstream, connections: str = CONNECTION) -> TelnyxProvider:
    settings = TelnyxSettings(api_key=SecretStr(KEY), connection_ids=connections)
    return documented(TelnyxProvider, settings, upstream, NOW, HttpPolicy(retry_attempts=1))


def asked(upstream: Upstream) -> list[tuple[str, dict[str, str]]]:
    assert upstream.unmatched == []
    return [(request.url.path, dict(request.url.params)) for request in upstream.requests]


FIRST = LiveCall(
    provider=ProviderName("telnyx"),
    call_id=SHOWN,
    status=CallStatus.IN_PROGRESS,
    provider_status="active",
    started_at=datetime(2019, 1, 23, 18, 10, 10, tzinfo=UTC),
    duration_s=50,
    extras={"connection_id": CONNECTION},
)


async def test_the_documented_cursor_is_followed_to_the_last_page_and_every_call_listed_once() -> None:
    upstream = (
        Upstream()
        .on("GET", ACTIVE, telnyx("active_calls_last"), params={"page[after]": AFTER})
        .on("GET", ACTIVE, telnyx("active_calls_cursor"))
    )

    found = await adapter(upstream).list_active(ListQuery(), 0, 10)

    assert found.items[0].call == FIRST
    assert [item.call.call_id for item in found.items] == [SHOWN, SECOND]
    assert found.exhausted
    assert asked(upstream) == [
        (ACTIVE, {"page[size]": str(PAGE_SIZE)}),
        (ACTIVE, {"page[size]": str(PAGE_SIZE), "page[after]": AFTER}),
    ]


async def test_the_sdks_numbered_pages_are_followed_by_page_number() -> None:
    upstream = (
        Upstream()
        .on("GET", ACTIVE, telnyx("active_calls_numbered_2"), params={"page[number]": "2"})
        .on("GET", ACTIVE, telnyx("active_calls_numbered"))
    )

    found = await adapter(upstream).list_active(ListQuery(), 0, 10)

    assert [item.call.call_id for item in found.items] == [SHOWN, SECOND]
    assert asked(upstream)[1] == (ACTIVE, {"page[size]": str(PAGE_SIZE), "page[number]": "2"})


async def test_a_cursor_that_leads_back_to_the_same_page_stops_with_a_note() -> None:
    upstream = Upstream().on("GET", ACTIVE, telnyx("active_calls_cursor"))

    found = await adapter(upstream).list_active(ListQuery(), 0, 10)

    assert [item.call.call_id for item in found.items] == [SHOWN]
    assert len(upstream.requests) == 2
    assert any("repeated calls already listed" in note for note in found.notes)


async def test_one_connection_failing_leaves_the_others_calls_listed_with_a_note() -> None:
    upstream = (
        Upstream()
        .on("GET", f"/v2/connections/{OTHER}/active_calls", telnyx("error_404"))
        .on("GET", ACTIVE, telnyx("active_calls_last"))
    )

    found = await adapter(upstream, f"{CONNECTION}, {OTHER}").list_active(ListQuery(), 0, 10)

    assert [item.call.call_id for item in found.items] == [SECOND]
    assert any(note.startswith(f"connection {OTHER} could not be read") for note in found.notes)


async def test_the_documented_live_status_reads_its_start_time_and_ids() -> None:
    upstream = Upstream().on("GET", f"/v2/calls/{CONTROL}", telnyx("call_alive"))
    provider = adapter(upstream)

    call = await provider.get_call(SHOWN)
    stream = await provider.get_stream(CONTROL)  # Telnyx's own spelling of the id is taken too

    assert call == FIRST.model_copy(
        update={"started_at": datetime(2019, 1, 23, 18, 10, 2, tzinfo=UTC), "extras": {}}
    )
    assert stream == StreamDetails(
        provider=ProviderName("telnyx"),
        call_id=SHOWN,
        status=CallStatus.IN_PROGRESS,
        provider_status="active",
        duration_s=50,
    )
    assert asked(upstream) == [(f"/v2/calls/{CONTROL}", {})] * 2


@pytest.mark.parametrize("name", ["call_ended", "error_404", "error_422"])
async def test_an_ended_or_unknown_call_is_not_found(name: str) -> None:
    upstream = Upstream().on("GET", f"/v2/calls/{CONTROL}", telnyx(name))

    with pytest.raises(CallNotFound):
        await adapter(upstream).get_call(SHOWN)


async def test_a_401_names_the_api_key_variable_and_says_telnyxs_detail() -> None:
    upstream = Upstream().on("GET", ACTIVE, telnyx("error_401"))

    with pytest.raises(AuthError) as raised:
        await adapter(upstream).list_active(ListQuery(), 0, 10)

    assert "TELNYX_API_KEY" in str(raised.value)
    assert KEY not in str(raised.value)


async def test_an_errors_body_inside_a_200_is_refused() -> None:
    body = load("telnyx", "error_404")["body"]
    upstream = Upstream().on("GET", ACTIVE, Answer(200, body))

    with pytest.raises(ProviderError) as raised:
        await adapter(upstream).list_active(ListQuery(), 0, 10)

    assert "Resource not found" in str(raised.value) or "could not be found" in str(raised.value)


async def test_without_connections_the_list_is_empty_and_says_what_to_set() -> None:
    upstream = Upstream()

    found = await adapter(upstream, "").list_active(ListQuery(), 0, 10)

    assert found.items == []
    assert upstream.requests == []
    assert any("TELNYX_CONNECTION_IDS" in note for note in found.notes)
