"""Zudu's documented answers, served to the real adapter: every variant the documents allow.

Each fixture in ``fixtures/zudu/`` says which document it stands for. The tests pin the whole
normalized result and the requests the adapter made, including the retried filter form.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from contract.harness import Answer, Upstream, fixture, load
from pydantic import SecretStr

from mcp_livecalls.core.models import (
    Agent,
    CallEvent,
    CallStatus,
    Cost,
    Direction,
    LatencyStats,
    LiveCall,
    ProviderName,
    Recording,
    StreamDetails,
    TranscriptTurn,
)
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, BadResponse, CallNotFound
from mcp_livecalls.providers.base import Positioned, ProviderSlice
from mcp_livecalls.providers.zudu.adapter import ZuduProvider, ZuduSettings
from mcp_livecalls.upstream.policy import HttpPolicy

pytestmark = pytest.mark.anyio

KEY = "sk_contract_4e1d"
SECRET = "s3cr3t_contract_9a7b"
STARTED = datetime(2023, 12, 20, 18, 40, tzinfo=UTC)  # start_timestamp 1703097600000
NOW = STARTED + timedelta(minutes=5, seconds=12)
DOC_ID = "550e8400-e29b-41d4-a716-446655440000"
REGISTERED_ID = "6f1c2b3a-8d4e-4f5a-9b6c-7d8e9f0a1b2c"
GREETING = "Hello, thank you for calling. How can I help you today?"
CARD = "My card number is 4111 1111 1111 1111."
DOC_LATENCY = {
    "e2e": LatencyStats(p50_ms=250.5, p90_ms=380.8, p99_ms=445.1, max_ms=450.2, samples=15),
    "llm": LatencyStats(p50_ms=125.3, p90_ms=160.1, p99_ms=178.2, max_ms=180.5, samples=8),
}
DOC_METADATA = {"meta.customer_id": "cust-001", "meta.priority": "high", "meta.campaign": "summer-2024"}
LIVE_WORDS = ["ONGOING", "REGISTERED"]
LIST_PAGE_FORM = "agent_id as a string with upper-case statuses (the list page)"
OPENAPI_FORM = "agent_id as an array with lower-case statuses (the OpenAPI page)"


@asynccontextmanager
async def _adapter(upstream: Upstream) -> AsyncIterator[ZuduProvider]:
    settings = ZuduSettings(
        api_key=SecretStr(KEY), api_secret=SecretStr(SECRET), base_url="https://api.zudu.ai"
    )
    async with upstream.client() as client:
        yield ZuduProvider.create(settings, client, HttpPolicy(), lambda: NOW)


def _asked(upstream: Upstream) -> list[tuple[str, str]]:
    return [(request.method, request.url.path) for request in upstream.requests]


def _list_bodies(upstream: Upstream) -> list[dict[str, Any]]:
    return [json.loads(request.content) for request in upstream.requests if request.method == "POST"]


def _list_body(criteria: dict[str, Any], *, page: int = 0, limit: int = 20) -> dict[str, Any]:
    return {
        "page": page,
        "limit": limit,
        "sort_by": "start_timestamp",
        "sort_order": "descending",
        "filter_criteria": criteria,
    }


def _agent_id_is(kind: type) -> Callable[[Any], bool]:
    return lambda body: isinstance(body["filter_criteria"].get("agent_id"), kind)


# -- one call --------------------------------------------------------------------------------


async def test_the_documented_ongoing_call_gives_every_field_under_the_id_it_was_asked_by() -> None:
    upstream = Upstream().on("GET", "/api/calls/call-456", fixture("zudu", "get_call_ongoing"))
    async with _adapter(upstream) as adapter:
        call = await adapter.get_call("call-456")
        stream = await adapter.get_stream("call-456")

    turn = TranscriptTurn(role="assistant", text=GREETING, at=STARTED + timedelta(seconds=35))
    assert call == LiveCall(
        provider=ProviderName("zudu"),
        call_id="call-456",
        status=CallStatus.IN_PROGRESS,
        provider_status="ONGOING",
        direction=Direction.INBOUND,
        from_number="+1234567890",
        to_number="+0987654321",
        started_at=STARTED,
        duration_s=312,
        agent=Agent(id="agent-123"),
        recording=Recording(url="https://storage.azure.com/recordings/call-456.mp4"),
        latency=DOC_LATENCY,
        cost=Cost(total=0.15),
        transcript=[turn],
        extras={"record_id": DOC_ID, **DOC_METADATA},
    )
    assert stream == StreamDetails(
        provider=ProviderName("zudu"),
        call_id="call-456",
        status=CallStatus.IN_PROGRESS,
        provider_status="ONGOING",
        duration_s=312,
        recording=Recording(url="https://storage.azure.com/recordings/call-456.mp4"),
        telephony_ids={
            "call_sid": "CA1234567890abcdef1234567890abcdef",
            "conference_sid": "CF1234567890abcdef1234567890abcdef",
        },
        latency=DOC_LATENCY,
        events=[
            CallEvent(at=STARTED, name="Call created"),
            CallEvent(at=STARTED + timedelta(seconds=30), name="Call started - INBOUND"),
        ],
        transcript=[turn],
        not_offered=["legs", "bridge", "hold/mute per leg"],
    )
    assert _asked(upstream) == [("GET", "/api/calls/call-456")] * 2
    assert {(r.headers["x-api-key"], r.headers["x-api-secret"]) for r in upstream.requests} == {(KEY, SECRET)}


async def test_a_registered_call_without_start_transcript_latency_or_cost_is_queued() -> None:
    upstream = Upstream().on("GET", "/api/calls/call-789", fixture("zudu", "get_call_registered"))
    async with _adapter(upstream) as adapter:
        call = await adapter.get_call("call-789")

    assert call == LiveCall(
        provider=ProviderName("zudu"),
        call_id="call-789",
        status=CallStatus.QUEUED,
        provider_status="REGISTERED",
        direction=Direction.OUTBOUND,
        from_number="+0987654321",
        to_number="+1234567890",
        agent=Agent(id="agent-123"),
        extras={"record_id": REGISTERED_ID},
    )


async def test_lower_case_enums_read_like_upper_case_and_keep_the_raw_word() -> None:
    upstream = Upstream().on("GET", "/api/calls/call-web-1", fixture("zudu", "get_call_lower_case"))
    async with _adapter(upstream) as adapter:
        call = await adapter.get_call("call-web-1")

    assert call == LiveCall(
        provider=ProviderName("zudu"),
        call_id="call-web-1",
        status=CallStatus.IN_PROGRESS,
        provider_status="ongoing",
        direction=Direction.OUTBOUND,
        started_at=STARTED,
        duration_s=312,
        agent=Agent(id="agent-123"),
        cost=Cost(total=0.02),
        extras={"record_id": "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", "call_type": "web_call"},
    )


async def test_an_unknown_call_is_call_not_found_after_one_request() -> None:
    upstream = Upstream().on("GET", "/api/calls/call-000", fixture("zudu", "not_found"))
    async with _adapter(upstream) as adapter:
        with pytest.raises(CallNotFound) as caught:
            await adapter.get_call("call-000")

    assert str(caught.value) == (
        "Zudu has no live call 'call-000': it is not live (it may have ended) or the id is wrong."
    )
    assert _asked(upstream) == [("GET", "/api/calls/call-000")]


async def test_rejected_credentials_name_the_variables_and_neither_list_nor_lookup_retries() -> None:
    denied = fixture("zudu", "unauthorized")
    upstream = Upstream().on("POST", "/api/calls", denied).on("GET", "/api/calls/call-456", denied)
    async with _adapter(upstream) as adapter:
        with pytest.raises(AuthError) as listing:
            await adapter.list_active(ListQuery(agent_id="agent-123"), 0, 20)
        with pytest.raises(AuthError) as lookup:
            await adapter.get_call("call-456")

    for caught in (listing, lookup):
        assert (
            str(caught.value) == "Zudu rejected the credentials (401): check ZUDU_API_KEY / ZUDU_API_SECRET."
        )
    assert _asked(upstream) == [("POST", "/api/calls"), ("GET", "/api/calls/call-456")]


# -- sensitive data --------------------------------------------------------------------------


def _pii_call(call_id: str, record_id: str, **changes: Any) -> LiveCall:
    """The calls of the storage fixtures as ``everything`` shows them, with ``changes``."""
    call = LiveCall(
        provider=ProviderName("zudu"),
        call_id=call_id,
        status=CallStatus.IN_PROGRESS,
        provider_status="ONGOING",
        direction=Direction.INBOUND,
        from_number="+1234567890",
        to_number="+0987654321",
        started_at=STARTED,
        duration_s=312,
        agent=Agent(id="agent-123"),
        recording=Recording(url=f"https://storage.azure.com/recordings/{call_id}.mp4"),
        latency={"e2e": LatencyStats(p50_ms=250.5, p90_ms=380.8, p99_ms=445.1, max_ms=450.2, samples=3)},
        cost=Cost(total=0.05),
        transcript=[TranscriptTurn(role="user", text=CARD, at=STARTED + timedelta(seconds=40))],
        extras={"record_id": record_id, "meta.customer_id": "cust-001"},
    )
    return call.model_copy(update=changes)


STORAGE_CASES = {
    "get_call_storage_everything": _pii_call("call-storage-1", "22222222-3333-4444-8555-666666666661"),
    "get_call_storage_everything_except_pii": _pii_call(
        "call-storage-2",
        "22222222-3333-4444-8555-666666666662",
        transcript=[],
        sensitive_data_hidden=True,
        extras={
            "record_id": "22222222-3333-4444-8555-666666666662",
            "data_storage_setting": "everything_except_pii",
        },
    ),
    "get_call_storage_basic_attributes_only": _pii_call(
        "call-storage-3",
        "22222222-3333-4444-8555-666666666663",
        transcript=[],
        recording=None,
        sensitive_data_hidden=True,
        extras={
            "record_id": "22222222-3333-4444-8555-666666666663",
            "data_storage_setting": "basic_attributes_only",
        },
    ),
    "get_call_opt_out": _pii_call(
        "call-optout-1",
        "11111111-2222-4333-8444-555555555555",
        transcript=[],
        recording=None,
        sensitive_data_hidden=True,
        extras={"record_id": "11111111-2222-4333-8444-555555555555"},
    ),
}


@pytest.mark.parametrize("name", sorted(STORAGE_CASES))
async def test_each_storage_setting_hides_what_it_keeps_out_and_says_so(name: str) -> None:
    expected = STORAGE_CASES[name]
    path = f"/api/calls/{expected.call_id}"
    upstream = Upstream().on("GET", path, fixture("zudu", name))
    async with _adapter(upstream) as adapter:
        call = await adapter.get_call(expected.call_id)
        stream = await adapter.get_stream(expected.call_id)

    assert call == expected
    assert stream.sensitive_data_hidden == expected.sensitive_data_hidden
    assert stream.transcript == expected.transcript
    assert stream.recording == expected.recording
    if expected.sensitive_data_hidden:
        record = load("zudu", name)["body"]["data"]
        for dumped in (call.model_dump_json(), stream.model_dump_json()):
            assert "4111" not in dumped
            assert "cust-001" not in dumped
            assert record["public_log_url"] not in dumped
    assert _asked(upstream) == [("GET", path)] * 2


# -- lists -----------------------------------------------------------------------------------


LISTED_DOC_CALL = LiveCall(
    provider=ProviderName("zudu"),
    call_id=DOC_ID,
    status=CallStatus.IN_PROGRESS,
    provider_status="ONGOING",
    direction=Direction.INBOUND,
    from_number="+1234567890",
    to_number="+0987654321",
    started_at=STARTED,
    duration_s=312,
    agent=Agent(id="agent-123"),
    recording=Recording(url="https://storage.azure.com/recordings/call-456.mp4"),
    latency={"e2e": DOC_LATENCY["e2e"]},
    cost=Cost(total=0.15),
    extras={"zudu_call_id": "call-456"},
)
LISTED_REGISTERED_CALL = LiveCall(
    provider=ProviderName("zudu"),
    call_id=REGISTERED_ID,
    status=CallStatus.QUEUED,
    provider_status="REGISTERED",
    direction=Direction.OUTBOUND,
    from_number="+1234567890",
    to_number="+0987654321",
    agent=Agent(id="agent-123"),
    extras={"zudu_call_id": "call-789"},
)


async def test_a_list_page_with_total_in_the_list_page_form_is_one_request() -> None:
    upstream = Upstream().on("POST", "/api/calls", fixture("zudu", "list_total"), json_body=_agent_id_is(str))
    async with _adapter(upstream) as adapter:
        piece = await adapter.list_active(ListQuery(agent_id="agent-123"), 0, 20)

    assert piece == ProviderSlice(
        items=[Positioned(LISTED_DOC_CALL, 1), Positioned(LISTED_REGISTERED_CALL, 2)],
        exhausted=True,
        scanned_to=2,
        total=2,
    )
    assert _list_bodies(upstream) == [_list_body({"call_status": LIVE_WORDS, "agent_id": "agent-123"})]


async def test_a_400_to_the_string_form_is_retried_once_as_an_array_and_the_array_form_is_kept() -> None:
    upstream = (
        Upstream()
        .on("POST", "/api/calls", fixture("zudu", "bad_filter"), json_body=_agent_id_is(str))
        .on("POST", "/api/calls", fixture("zudu", "list_total_count"), json_body=_agent_id_is(list))
    )
    async with _adapter(upstream) as adapter:
        first = await adapter.list_active(ListQuery(agent_id="agent-123"), 0, 20)
        again = await adapter.list_active(ListQuery(agent_id="agent-123"), 0, 20)

    ongoing = LiveCall(
        provider=ProviderName("zudu"),
        call_id="7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
        status=CallStatus.IN_PROGRESS,
        provider_status="ongoing",
        direction=Direction.INBOUND,
        from_number="+1234567890",
        to_number="+0987654321",
        started_at=STARTED + timedelta(seconds=100),
        duration_s=212,
        agent=Agent(id="agent-123"),
        extras={"zudu_call_id": "call-lc-1"},
    )
    registered = LiveCall(
        provider=ProviderName("zudu"),
        call_id="8b7c6d5e-4f3a-4b2c-9d0e-1f2a3b4c5d6e",
        status=CallStatus.QUEUED,
        provider_status="registered",
        direction=Direction.OUTBOUND,
        from_number="+1234567890",
        to_number="+0987654321",
        agent=Agent(id="agent-123"),
        extras={"zudu_call_id": "call-lc-2"},
    )
    expected = ProviderSlice(
        items=[Positioned(ongoing, 1), Positioned(registered, 2)], exhausted=True, scanned_to=2, total=2
    )
    assert first == again == expected
    string_form = _list_body({"call_status": LIVE_WORDS, "agent_id": "agent-123"})
    array_form = _list_body({"call_status": ["ongoing", "registered"], "agent_id": ["agent-123"]})
    assert _list_bodies(upstream) == [string_form, array_form, array_form]


async def test_a_400_to_the_remembered_form_is_retried_in_the_other_which_is_then_kept() -> None:
    accepted: dict[str, type] = {"agent_id": list}
    listed, refused = fixture("zudu", "list_total"), fixture("zudu", "bad_filter")

    def answer(request: httpx2.Request) -> Answer:
        agent_id = json.loads(request.content)["filter_criteria"]["agent_id"]
        return listed if isinstance(agent_id, accepted["agent_id"]) else refused

    upstream = Upstream().on("POST", "/api/calls", answer)
    query = ListQuery(agent_id="agent-123")
    async with _adapter(upstream) as adapter:
        await adapter.list_active(query, 0, 20)  # string refused, array taken
        accepted["agent_id"] = str  # the upstream changes its mind
        piece = await adapter.list_active(query, 0, 20)  # array refused, string taken
        await adapter.list_active(query, 0, 20)

    assert [item.call.call_id for item in piece.items] == [DOC_ID, REGISTERED_ID]
    forms = [type(body["filter_criteria"]["agent_id"]).__name__ for body in _list_bodies(upstream)]
    assert forms == ["str", "list", "list", "str", "str"]


async def test_a_list_refused_in_both_forms_is_a_bad_response_naming_both() -> None:
    upstream = Upstream().on("POST", "/api/calls", fixture("zudu", "bad_filter"))
    async with _adapter(upstream) as adapter:
        with pytest.raises(BadResponse) as caught:
            await adapter.list_active(ListQuery(agent_id="agent-123"), 0, 20)

    assert str(caught.value) == (
        "Zudu refused the request (400) for its live-calls list in both documented filter forms: "
        f"{LIST_PAGE_FORM}, then {OPENAPI_FORM}; this server may not match Zudu's API any more. "
        "Zudu says: Invalid request"
    )
    assert caught.value.status_code == 400
    assert len(_list_bodies(upstream)) == 2


async def test_without_an_agent_filter_the_forms_differ_only_in_the_case_of_the_statuses() -> None:
    upstream = (
        Upstream()
        .on(
            "POST",
            "/api/calls",
            fixture("zudu", "list_total_count"),
            json_body=lambda body: body["filter_criteria"]["call_status"] == ["ongoing", "registered"],
        )
        .on("POST", "/api/calls", fixture("zudu", "bad_filter"))
    )
    async with _adapter(upstream) as adapter:
        piece = await adapter.list_active(ListQuery(), 0, 20)

    assert len(piece.items) == 2
    assert _list_bodies(upstream) == [
        _list_body({"call_status": LIVE_WORDS}),
        _list_body({"call_status": ["ongoing", "registered"]}),
    ]


async def test_entries_with_only_a_call_id_are_listed_under_it_and_open_by_it() -> None:
    call_id = "call_5d890516624e6ab578ae6501"
    upstream = (
        Upstream()
        .on("POST", "/api/calls", fixture("zudu", "list_call_id_only"))
        .on("GET", f"/api/calls/{call_id}", fixture("zudu", "get_call_only_call_id"))
    )
    async with _adapter(upstream) as adapter:
        piece = await adapter.list_active(ListQuery(), 0, 20)
        looked_up = await adapter.get_call(call_id)

    first = LiveCall(
        provider=ProviderName("zudu"),
        call_id=call_id,
        status=CallStatus.IN_PROGRESS,
        provider_status="ONGOING",
        direction=Direction.INBOUND,
        from_number="+1234567890",
        to_number="+0987654321",
        started_at=STARTED + timedelta(seconds=200),
        duration_s=112,
        agent=Agent(id="agent-123"),
    )
    second = first.model_copy(
        update={
            "call_id": "call_0c1d2e3f4a5b6c7d8e9f0a1b",
            "direction": Direction.OUTBOUND,
            "started_at": STARTED + timedelta(seconds=150),
            "duration_s": 162,
        }
    )
    assert piece == ProviderSlice(
        items=[Positioned(first, 1), Positioned(second, 2)], exhausted=True, scanned_to=2, total=2
    )
    assert looked_up == first
    assert _asked(upstream) == [("POST", "/api/calls"), ("GET", f"/api/calls/{call_id}")]


async def test_a_listed_record_id_the_path_refuses_opens_by_its_call_id_under_the_id_asked() -> None:
    upstream = (
        Upstream()
        .on("POST", "/api/calls", fixture("zudu", "list_total"))
        .on("GET", f"/api/calls/{DOC_ID}", fixture("zudu", "not_found"))
        .on("GET", "/api/calls/call-456", fixture("zudu", "get_call_ongoing"))
    )
    async with _adapter(upstream) as adapter:
        await adapter.list_active(ListQuery(), 0, 20)
        call = await adapter.get_call(DOC_ID)

    assert (call.call_id, call.status, call.extras) == (
        DOC_ID,
        CallStatus.IN_PROGRESS,
        {"zudu_call_id": "call-456", **DOC_METADATA},
    )
    assert _asked(upstream) == [
        ("POST", "/api/calls"),
        ("GET", f"/api/calls/{DOC_ID}"),
        ("GET", "/api/calls/call-456"),
    ]


async def test_a_record_id_the_path_refuses_opens_by_the_call_id_an_earlier_answer_showed() -> None:
    upstream = (
        Upstream()
        .on("GET", f"/api/calls/{DOC_ID}", fixture("zudu", "not_found"))
        .on("GET", "/api/calls/call-456", fixture("zudu", "get_call_ongoing"))
    )
    async with _adapter(upstream) as adapter:
        by_call_id = await adapter.get_call("call-456")
        by_record_id = await adapter.get_call(DOC_ID)

    assert by_record_id == by_call_id.model_copy(
        update={"call_id": DOC_ID, "extras": {"zudu_call_id": "call-456", **DOC_METADATA}}
    )
    assert _asked(upstream) == [
        ("GET", "/api/calls/call-456"),
        ("GET", f"/api/calls/{DOC_ID}"),
        ("GET", "/api/calls/call-456"),
    ]


async def test_a_record_id_never_seen_that_the_path_refuses_is_call_not_found() -> None:
    upstream = Upstream().on("GET", f"/api/calls/{DOC_ID}", fixture("zudu", "not_found"))
    async with _adapter(upstream) as adapter:
        with pytest.raises(CallNotFound):
            await adapter.get_call(DOC_ID)

    assert _asked(upstream) == [("GET", f"/api/calls/{DOC_ID}")]


async def test_unreadable_list_entries_are_left_out_with_a_note_and_the_rest_keep_their_offsets() -> None:
    document = load("zudu", "list_total")
    body = json.loads(json.dumps(document["body"]))
    good_first, good_second = body["data"]["calls"]
    bad = {"id": "bad-entry-1", "call_id": "call-bad", "call_status": "ONGOING", "start_timestamp": "soon"}
    body["data"]["calls"] = [good_first, bad, 42, good_second]
    body["data"]["pagination"]["total"] = 4
    upstream = Upstream().on("POST", "/api/calls", Answer(200, body, source=document["source"]))
    async with _adapter(upstream) as adapter:
        piece = await adapter.list_active(ListQuery(), 0, 20)

    assert piece == ProviderSlice(
        items=[Positioned(LISTED_DOC_CALL, 1), Positioned(LISTED_REGISTERED_CALL, 4)],
        exhausted=True,
        scanned_to=4,
        total=4,
        notes=[
            "left out 2 list entries that could not be read (e.g. bad-entry-1); the rest of the page stands"
        ],
    )


async def test_an_answer_whose_entries_are_all_unreadable_is_a_bad_response_not_an_empty_page() -> None:
    document = load("zudu", "list_total")
    body = json.loads(json.dumps(document["body"]))
    body["data"]["calls"] = [{"id": "bad-entry-1", "start_timestamp": "soon"}, 42]
    upstream = Upstream().on("POST", "/api/calls", Answer(200, body, source=document["source"]))
    async with _adapter(upstream) as adapter:
        with pytest.raises(BadResponse, match="Zudu answered with data this server does not understand"):
            await adapter.list_active(ListQuery(), 0, 20)


async def test_a_server_that_ignores_page_ends_the_list_at_the_first_repeat_with_a_note() -> None:
    # has_next_page true on every answer, but the same calls whatever ``page`` asks for.
    document = load("zudu", "list_total")
    body = json.loads(json.dumps(document["body"]))
    body["data"]["pagination"].update(has_next_page=True, total=None, total_pages=None)
    upstream = Upstream().on("POST", "/api/calls", Answer(200, body, source=document["source"]))
    async with _adapter(upstream) as adapter:
        piece = await adapter.list_active(ListQuery(), 0, 2)
        second = await adapter.list_active(ListQuery(), piece.scanned_to, 2)
        wide = await adapter.list_active(ListQuery(), 0, 20)

    ids = [record["id"] for record in body["data"]["calls"]]
    assert [item.call.call_id for item in wide.items] == ids
    assert wide.exhausted
    assert wide.notes == [
        "a page of the list repeated calls already listed (it added nothing); paging stopped there, "
        "so more live calls may exist"
    ]
    assert [item.call.call_id for item in piece.items] == ids
    assert (second.items, second.exhausted, len(second.notes)) == ([], True, 1)
