"""Vapi against its OpenAPI file: each answer, typed in a fixture, through the real adapter.

The fixtures are typed from the ``Call`` schema of Vapi's OpenAPI file (it has no examples of
its own; each fixture names its operation). The official SDK, ``vapi_server_sdk``, is the oracle
for their shape: its ``Call`` model reads every fixture, and what the adapter reads agrees with it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from contract.harness import Upstream, fixture, load
from pydantic import SecretStr
from vapi.types import Call as SdkCall

from mcp_livecalls.core.models import (
    Agent,
    CallStatus,
    Cost,
    Direction,
    LiveCall,
    ProviderName,
    TranscriptTurn,
)
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, BadResponse, CallNotFound
from mcp_livecalls.providers.vapi.adapter import VapiProvider, VapiSettings
from mcp_livecalls.upstream.policy import HttpPolicy
from providers.kit import documented

pytestmark = pytest.mark.anyio

NOW = datetime(2025, 6, 2, 14, 6, 14, tzinfo=UTC)
KEY = "0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"
LIVE = "b1d2c3e4-5f60-4a7b-8c9d-0e1f2a3b4c5d"
RINGING = "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70"
WEB = "a0b1c2d3-e4f5-4a6b-8c7d-8e9f0a1b2c3d"
ENDED = "f0e1d2c3-b4a5-4968-8776-655443322110"
CALLS = ["list_page", "list_full_page", "list_second_page", "call_live", "call_ended"]


def adapter(upstream: Upstream, page_size: int = 50) -> VapiProvider:
    settings = VapiSettings(api_key=SecretStr(KEY))
    provider = documented(VapiProvider, settings, upstream, NOW, HttpPolicy(retry_attempts=1))
    provider.page_size = page_size
    return provider


def _records(name: str) -> list[dict[str, Any]]:
    body = load("vapi", name)["body"]
    return body if isinstance(body, list) else [body]


@pytest.mark.parametrize("name", CALLS)
def test_the_sdk_reads_every_fixture_as_its_call_and_agrees_on_what_the_adapter_reads(name: str) -> None:
    for record in _records(name):
        sdk = SdkCall.model_validate(record)
        assert (sdk.id, sdk.status, sdk.type) == (record["id"], record["status"], record["type"])
        assert sdk.created_at == datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00"))
        if sdk.customer is not None:
            assert sdk.customer.number == record["customer"]["number"]


async def test_the_live_list_reads_the_bare_array_and_keeps_only_live_calls() -> None:
    upstream = Upstream().on("GET", "/call", fixture("vapi", "list_page"))

    found = await adapter(upstream).list_active(ListQuery(), 0, 10)

    assert [item.call.call_id for item in found.items] == [RINGING, LIVE, WEB]
    assert found.items[1].call == LiveCall(
        provider=ProviderName("vapi"),
        call_id=LIVE,
        status=CallStatus.IN_PROGRESS,
        provider_status="in-progress",
        direction=Direction.OUTBOUND,
        from_number="+14155550100",
        to_number="+442079460000",
        started_at=datetime(2025, 6, 2, 14, 5, 14, tzinfo=UTC),
        duration_s=60,
        agent=Agent(id="c9e8d7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f"),
        cost=Cost(total=0.0215, currency="USD"),
        transcript=[
            TranscriptTurn(
                role="assistant",
                text="Hi, this is the courier about your parcel.",
                at=datetime(2025, 6, 2, 14, 5, 14, 600000, tzinfo=UTC),
            ),
            TranscriptTurn(
                role="user",
                text="Yes, can you leave it next door?",
                at=datetime(2025, 6, 2, 14, 5, 18, 200000, tzinfo=UTC),
            ),
        ],
    )
    ringing, web = found.items[0].call, found.items[2].call
    assert (ringing.status, ringing.direction, ringing.from_number, ringing.to_number) == (
        CallStatus.RINGING,
        Direction.INBOUND,
        "+14155550199",
        None,  # a persistent number is only its phoneNumberId
    )
    assert (web.direction, web.from_number, web.agent, web.extras) == (
        None,
        None,
        Agent(name="Support widget"),
        {"call_type": "webCall"},
    )
    [request] = upstream.requests
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert dict(request.url.params) == {"limit": "50", "createdAtGt": "2025-06-02T02:06:14.000Z"}


async def test_a_full_page_is_followed_by_the_page_up_to_its_oldest_call_listed_once() -> None:
    upstream = (
        Upstream()
        .on(
            "GET",
            "/call",
            fixture("vapi", "list_second_page"),
            params={"createdAtLe": "2025-06-02T14:03:00.000Z"},
        )
        .on("GET", "/call", fixture("vapi", "list_full_page"))
    )

    found = await adapter(upstream, page_size=3).list_active(
        ListQuery(agent_id="c9e8d7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f"), 0, 10
    )

    assert [item.call.call_id for item in found.items] == [RINGING, LIVE, WEB]
    assert found.notes == []
    assert [r.url.params.get("assistantId") for r in upstream.requests] == [
        "c9e8d7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f"
    ] * 2
    assert upstream.requests[1].url.params["createdAtGt"] == "2025-06-02T02:06:14.000Z"


async def test_one_call_is_read_and_an_ended_one_is_not_live() -> None:
    upstream = (
        Upstream()
        .on("GET", f"/call/{LIVE}", fixture("vapi", "call_live"))
        .on("GET", f"/call/{ENDED}", fixture("vapi", "call_ended"))
    )
    provider = adapter(upstream)

    call = await provider.get_call(LIVE)
    stream = await provider.get_stream(LIVE)
    with pytest.raises(CallNotFound):
        await provider.get_call(ENDED)

    assert (call.status, call.duration_s, len(call.transcript)) == (CallStatus.IN_PROGRESS, 60, 2)
    assert stream.telephony_ids == {
        "phone_call_provider": "twilio",
        "phone_call_provider_id": "CA0123456789abcdef0123456789abcdef",
    }
    assert stream.transcript == call.transcript
    shown = call.model_dump_json() + stream.model_dump_json()
    for secret in ("listen", "control", "twilio-auth-token-in-fixture", "AC00000000000000000000000000000001"):
        assert secret not in shown


async def test_a_wrong_key_names_the_variable_and_a_bad_query_quotes_every_message() -> None:
    upstream = (
        Upstream()
        .on("GET", f"/call/{LIVE}", fixture("vapi", "error_401"))
        .on("GET", "/call", fixture("vapi", "error_400"))
    )
    provider = adapter(upstream)

    with pytest.raises(AuthError) as denied:
        await provider.get_call(LIVE)
    with pytest.raises(BadResponse) as refused:
        await provider.list_active(ListQuery(), 0, 10)

    assert "VAPI_API_KEY" in denied.value.message
    assert KEY not in denied.value.message
    assert "Vapi says: limit must not be greater than 1000" in refused.value.message


async def test_an_envelope_where_the_array_belongs_is_not_understood() -> None:
    answer = fixture("vapi", "call_live")
    upstream = Upstream().on("GET", "/call", answer)

    with pytest.raises(BadResponse) as refused:
        await adapter(upstream).list_active(ListQuery(), 0, 10)

    assert "does not understand" in refused.value.message
