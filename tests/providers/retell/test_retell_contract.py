"""Retell AI's documented answers, served to the real adapter: every variant the sources allow.

Each fixture in ``fixtures/retell/`` says which document it stands for (the SDK's types, the
OpenAPI pages' error responses). The tests pin the whole normalized result and the requests the
adapter made: paths, bodies, the bearer header, the endpoint fallback and the paging keys.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from contract.harness import Answer, Upstream, fixture, load
from pydantic import SecretStr

from mcp_livecalls.core.models import (
    Agent,
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
from mcp_livecalls.errors import AuthError, BadResponse, CallNotFound, ProviderUnavailable, RateLimited
from mcp_livecalls.providers.base import Positioned, ProviderSlice
from mcp_livecalls.providers.retell.adapter import RetellProvider, RetellSettings
from mcp_livecalls.upstream.policy import HttpPolicy

pytestmark = pytest.mark.anyio

KEY = "key_contract_5b8e0c2f7a91d4"
STARTED = datetime(2026, 1, 1, tzinfo=UTC)  # start_timestamp 1767225600000 of the fixtures
NOW = STARTED + timedelta(minutes=2, seconds=5)
AGENT = "agent_7f3e2d1c0b9a8877665544332211"
PHONE_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
WEB_ID = "b2c3d4e5f60718293a4b5c6d7e8f90a1"
LATENCY = {
    "e2e": LatencyStats(p50_ms=820.0, p90_ms=1100.0, p99_ms=1240.0, max_ms=1250.0, samples=4),
    "llm": LatencyStats(p50_ms=410.5, p90_ms=520.0, p99_ms=590.0, max_ms=600.0, samples=4),
    "tts": LatencyStats(p50_ms=120.0, p90_ms=150.0, p99_ms=160.0, max_ms=161.0, samples=4),
}
TURNS = [
    TranscriptTurn(role="agent", text="Thanks for calling, how can I help?"),
    TranscriptTurn(role="user", text="I need to move my appointment."),
]
PHONE_CALL = LiveCall(
    provider=ProviderName("retell"),
    call_id=PHONE_ID,
    status=CallStatus.IN_PROGRESS,
    provider_status="ongoing",
    direction=Direction.INBOUND,
    from_number="+14155550123",
    to_number="+14155550199",
    started_at=STARTED,
    duration_s=125,
    agent=Agent(id=AGENT, name="Front desk"),
    latency=LATENCY,
    cost=Cost(total=0.035, currency="USD"),
    transcript=TURNS,
    extras={"meta.crm_id": "acct-42"},
)
WEB_CALL = LiveCall(
    provider=ProviderName("retell"),
    call_id=WEB_ID,
    status=CallStatus.IN_PROGRESS,
    provider_status="ongoing",
    started_at=STARTED + timedelta(seconds=30),
    duration_s=95,
    agent=Agent(id=AGENT),
    extras={"call_type": "web_call"},
)
LIVE_FILTER = {"type": "enum", "op": "in", "value": ["ongoing"]}


@asynccontextmanager
async def _adapter(upstream: Upstream) -> AsyncIterator[RetellProvider]:
    settings = RetellSettings(api_key=SecretStr(KEY), base_url="https://api.retellai.com")
    async with upstream.client() as client:
        yield RetellProvider.create(
            settings, client, HttpPolicy(retry_wait_initial_s=0, retry_wait_max_s=0), lambda: NOW
        )


def _asked(upstream: Upstream) -> list[tuple[str, str]]:
    return [(request.method, request.url.path) for request in upstream.requests]


def _bodies(upstream: Upstream) -> list[dict[str, Any]]:
    return [json.loads(request.content) for request in upstream.requests if request.method == "POST"]


def _v3_body(criteria: dict[str, Any] | None = None, *, limit: int = 20, **more: Any) -> dict[str, Any]:
    return {
        "filter_criteria": {"call_status": LIVE_FILTER, **(criteria or {})},
        "limit": limit,
        "sort_order": "descending",
        "include_total": True,
        **more,
    }


# -- one call --------------------------------------------------------------------------------


async def test_an_ongoing_phone_call_gives_every_field_and_the_bearer_key_is_sent() -> None:
    upstream = Upstream().on("GET", f"/v2/get-call/{PHONE_ID}", fixture("retell", "get_call_phone_ongoing"))
    async with _adapter(upstream) as adapter:
        call = await adapter.get_call(PHONE_ID)
        stream = await adapter.get_stream(PHONE_ID)

    assert call == PHONE_CALL
    assert stream == StreamDetails(
        provider=ProviderName("retell"),
        call_id=PHONE_ID,
        status=CallStatus.IN_PROGRESS,
        provider_status="ongoing",
        duration_s=125,
        telephony_ids={"twilio_call_sid": "CA0123456789abcdef0123456789abcdef"},
        latency=LATENCY,
        transcript=TURNS,
        not_offered=["legs", "bridge", "hold/mute per leg"],
    )
    assert _asked(upstream) == [("GET", f"/v2/get-call/{PHONE_ID}")] * 2
    assert {request.headers["authorization"] for request in upstream.requests} == {f"Bearer {KEY}"}


async def test_a_web_call_has_no_numbers_says_web_call_and_never_shows_its_access_token() -> None:
    upstream = Upstream().on("GET", f"/v2/get-call/{WEB_ID}", fixture("retell", "get_call_web_ongoing"))
    async with _adapter(upstream) as adapter:
        call = await adapter.get_call(WEB_ID)
        stream = await adapter.get_stream(WEB_ID)

    assert call == WEB_CALL
    token = load("retell", "get_call_web_ongoing")["body"]["access_token"]
    assert token not in call.model_dump_json()
    assert token not in stream.model_dump_json()


async def test_a_registered_call_is_queued_without_a_start() -> None:
    call_id = "c3d4e5f60718293a4b5c6d7e8f90a1b2"
    upstream = Upstream().on("GET", f"/v2/get-call/{call_id}", fixture("retell", "get_call_registered"))
    async with _adapter(upstream) as adapter:
        call = await adapter.get_call(call_id)

    assert call == LiveCall(
        provider=ProviderName("retell"),
        call_id=call_id,
        status=CallStatus.QUEUED,
        provider_status="registered",
        direction=Direction.OUTBOUND,
        from_number="+14155550199",
        to_number="+442071838750",
        agent=Agent(id=AGENT),
    )


async def test_an_ended_call_says_how_it_ended_with_its_duration_and_the_analysis_verdicts_only() -> None:
    call_id = "d4e5f60718293a4b5c6d7e8f90a1b2c3"
    upstream = Upstream().on("GET", f"/v2/get-call/{call_id}", fixture("retell", "get_call_ended"))
    async with _adapter(upstream) as adapter:
        call = await adapter.get_call(call_id)

    assert call == PHONE_CALL.model_copy(
        update={
            "call_id": call_id,
            "status": CallStatus.ENDED,
            "provider_status": "ended",
            "duration_s": 95,
            "recording": Recording(url="https://dxc03zgurdly9.cloudfront.net/d4e5f607/recording.wav"),
            "extras": {
                "disconnection_reason": "user_hangup",
                "meta.crm_id": "acct-42",
                "call_successful": True,
                "user_sentiment": "Positive",
                "in_voicemail": False,
            },
        }
    )
    dumped = call.model_dump_json()
    assert "Friday" not in dumped  # neither the summary nor the custom analysis data
    assert "public.log" not in dumped


STORAGE_CASES = {
    "get_call_storage_everything_except_pii": ("e5f60718293a4b5c6d7e8f90a1b2c3d4", True),
    "get_call_storage_basic_attributes_only": ("f60718293a4b5c6d7e8f90a1b2c3d4e5", False),
}


@pytest.mark.parametrize("name", sorted(STORAGE_CASES))
async def test_each_data_storage_setting_hides_what_it_keeps_out_and_says_so(name: str) -> None:
    call_id, keeps_recording = STORAGE_CASES[name]
    setting = name.removeprefix("get_call_storage_")
    upstream = Upstream().on("GET", f"/v2/get-call/{call_id}", fixture("retell", name))
    async with _adapter(upstream) as adapter:
        call = await adapter.get_call(call_id)
        stream = await adapter.get_stream(call_id)

    recording = Recording(url=f"https://dxc03zgurdly9.cloudfront.net/{call_id[:8]}/recording.wav")
    assert call == PHONE_CALL.model_copy(
        update={
            "call_id": call_id,
            "recording": recording if keeps_recording else None,
            "transcript": [],
            "sensitive_data_hidden": True,
            "extras": {"data_storage_setting": setting},
        }
    )
    assert (stream.sensitive_data_hidden, stream.transcript, stream.recording) == (
        True,
        [],
        call.recording,
    )
    for dumped in (call.model_dump_json(), stream.model_dump_json()):
        assert "4111" not in dumped
        assert "acct-42" not in dumped
        assert "public.log" not in dumped


@pytest.mark.parametrize("name", ["not_found_422", "not_found_404"])
async def test_an_unknown_call_id_is_call_not_found_after_one_request(name: str) -> None:
    upstream = Upstream().on("GET", "/v2/get-call/nosuchcall0000", fixture("retell", name))
    async with _adapter(upstream) as adapter:
        with pytest.raises(CallNotFound) as caught:
            await adapter.get_call("nosuchcall0000")
        with pytest.raises(CallNotFound):
            await adapter.get_stream("nosuchcall0000")

    assert caught.value.call_id == "nosuchcall0000"
    assert _asked(upstream) == [("GET", "/v2/get-call/nosuchcall0000")] * 2


async def test_rejected_key_names_the_variable_and_neither_list_nor_lookup_retries_or_shows_the_key() -> None:
    denied = fixture("retell", "unauthorized")
    upstream = Upstream().on("POST", "/v3/list-calls", denied).on("GET", f"/v2/get-call/{PHONE_ID}", denied)
    async with _adapter(upstream) as adapter:
        with pytest.raises(AuthError) as listing:
            await adapter.list_active(ListQuery(), 0, 20)
        with pytest.raises(AuthError) as lookup:
            await adapter.get_call(PHONE_ID)

    for caught in (listing, lookup):
        assert str(caught.value) == "Retell AI rejected the credentials (401): check RETELL_API_KEY."
        assert KEY not in str(caught.value)
    assert _asked(upstream) == [("POST", "/v3/list-calls"), ("GET", f"/v2/get-call/{PHONE_ID}")]


async def test_a_429_with_a_long_retry_after_is_rate_limited_with_the_wait_and_not_retried() -> None:
    upstream = Upstream().on("POST", "/v3/list-calls", fixture("retell", "rate_limited"))
    async with _adapter(upstream) as adapter:
        with pytest.raises(RateLimited) as caught:
            await adapter.list_active(ListQuery(), 0, 20)

    assert caught.value.retry_after == 30.0
    assert len(upstream.requests) == 1


async def test_a_500_is_provider_unavailable_with_retells_own_words() -> None:
    upstream = Upstream().on("GET", f"/v2/get-call/{PHONE_ID}", fixture("retell", "server_error"))
    async with _adapter(upstream) as adapter:
        with pytest.raises(ProviderUnavailable) as caught:
            await adapter.get_call(PHONE_ID)

    assert str(caught.value) == (
        "Retell AI had an internal error (500); try again later. "
        "Retell AI says: An unexpected server error occurred."
    )


async def test_a_400_to_the_list_is_a_bad_response_that_quotes_retell() -> None:
    upstream = Upstream().on("POST", "/v3/list-calls", fixture("retell", "bad_request"))
    async with _adapter(upstream) as adapter:
        with pytest.raises(BadResponse) as caught:
            await adapter.list_active(ListQuery(), 0, 20)

    assert caught.value.status_code == 400
    assert str(caught.value).endswith("Retell AI says: Invalid request format, please check API reference.")


async def test_an_error_shape_in_a_200_answer_is_a_bad_response_with_its_message() -> None:
    document = load("retell", "server_error")
    upstream = Upstream().on(
        "GET", f"/v2/get-call/{PHONE_ID}", Answer(200, document["body"], source=document["source"])
    )
    async with _adapter(upstream) as adapter:
        with pytest.raises(BadResponse) as caught:
            await adapter.get_call(PHONE_ID)

    assert str(caught.value) == "Retell AI answered with an error: An unexpected server error occurred."


# -- lists -----------------------------------------------------------------------------------


async def test_a_v3_page_lists_phone_and_web_calls_with_the_typed_live_filter() -> None:
    upstream = Upstream().on("POST", "/v3/list-calls", fixture("retell", "list_v3_one_page"))
    async with _adapter(upstream) as adapter:
        piece = await adapter.list_active(ListQuery(), 0, 20)

    listed_phone = PHONE_CALL.model_copy(update={"transcript": []})  # v3 items carry no transcript
    assert piece == ProviderSlice(
        items=[Positioned(listed_phone, 1), Positioned(WEB_CALL, 2)], exhausted=True, scanned_to=2, total=2
    )
    assert _bodies(upstream) == [_v3_body()]
    assert upstream.requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_agent_and_direction_filters_are_sent_in_v3_form_and_checked_again_locally() -> None:
    upstream = Upstream().on("POST", "/v3/list-calls", fixture("retell", "list_v3_one_page"))
    query = ListQuery(agent_id=AGENT, direction=Direction.OUTBOUND)
    async with _adapter(upstream) as adapter:
        piece = await adapter.list_active(query, 0, 20)

    # The inbound phone call is left out (its slot kept); the web call has no direction to refute.
    assert piece == ProviderSlice(items=[Positioned(WEB_CALL, 2)], exhausted=True, scanned_to=2, total=2)
    assert _bodies(upstream) == [
        _v3_body(
            {"agent": [{"agent_id": AGENT}], "direction": {"type": "enum", "op": "in", "value": ["outbound"]}}
        )
    ]


async def test_the_next_page_is_asked_with_the_pagination_key_so_each_call_comes_once() -> None:
    def answer(request: httpx2.Request) -> Answer:
        body = json.loads(request.content)
        return fixture("retell", "list_v3_page_2" if "pagination_key" in body else "list_v3_page_1")

    upstream = Upstream().on("POST", "/v3/list-calls", answer)
    async with _adapter(upstream) as adapter:
        first = await adapter.list_active(ListQuery(), 0, 2)
        second = await adapter.list_active(ListQuery(), first.scanned_to, 2)

    ids = [item.call.call_id for item in [*first.items, *second.items]]
    page_1 = [item["call_id"] for item in load("retell", "list_v3_page_1")["body"]["items"]]
    page_2 = [item["call_id"] for item in load("retell", "list_v3_page_2")["body"]["items"]]
    assert ids == page_1 + page_2
    assert [item.next_offset for item in second.items] == [3, 4]
    assert (first.exhausted, first.total, second.exhausted, second.total) == (False, 4, True, 4)
    assert _bodies(upstream) == [
        _v3_body(limit=2),
        _v3_body(limit=2, pagination_key="eyJwayI6InBhZ2UtMiJ9"),
    ]


async def test_an_offset_without_a_remembered_key_is_asked_with_skip() -> None:
    upstream = Upstream().on("POST", "/v3/list-calls", fixture("retell", "list_v3_page_2"))
    async with _adapter(upstream) as adapter:
        piece = await adapter.list_active(ListQuery(), 2, 2)

    assert [item.next_offset for item in piece.items] == [3, 4]
    assert _bodies(upstream) == [_v3_body(limit=2, skip=2)]


async def test_a_404_from_the_v3_list_is_the_answer_and_no_retired_v2_list_is_asked() -> None:
    # Retell retired POST /v2/list-calls (SDK on v3 since 2026-05-11; deprecation notice of
    # 06/15/2026; the deprecated List Calls page: "There is no v2/list-calls").
    upstream = Upstream().on("POST", "/v3/list-calls", fixture("retell", "not_found_404"))
    async with _adapter(upstream) as adapter:
        with pytest.raises(ProviderUnavailable) as caught:
            await adapter.list_active(ListQuery(agent_id=AGENT), 0, 20)

    assert caught.value.status_code == 404
    assert _asked(upstream) == [("POST", "/v3/list-calls")]


async def test_unreadable_items_are_left_out_with_a_note_and_the_rest_keep_their_offsets() -> None:
    document = load("retell", "list_v3_one_page")
    body = json.loads(json.dumps(document["body"]))
    phone, web = body["items"]
    body["items"] = [phone, {"call_id": "bad0item0001", "start_timestamp": "soon"}, 7, web]
    body["total"] = 4
    upstream = Upstream().on("POST", "/v3/list-calls", Answer(200, body, source=document["source"]))
    async with _adapter(upstream) as adapter:
        piece = await adapter.list_active(ListQuery(), 0, 20)

    assert piece == ProviderSlice(
        items=[Positioned(PHONE_CALL.model_copy(update={"transcript": []}), 1), Positioned(WEB_CALL, 4)],
        exhausted=True,
        scanned_to=4,
        total=4,
        notes=[
            "left out 2 list entries that could not be read (e.g. bad0item0001); the rest of the page stands"
        ],
    )


async def test_listed_items_whose_known_status_is_not_live_are_dropped_and_unknown_words_kept() -> None:
    document = load("retell", "list_v3_one_page")
    body = json.loads(json.dumps(document["body"]))
    phone, web = body["items"]
    body["items"] = [dict(phone, call_status="ended"), dict(web, call_status="transferring")]
    upstream = Upstream().on("POST", "/v3/list-calls", Answer(200, body, source=document["source"]))
    async with _adapter(upstream) as adapter:
        piece = await adapter.list_active(ListQuery(), 0, 20)

    assert piece.items == [
        Positioned(
            WEB_CALL.model_copy(update={"status": CallStatus.UNKNOWN, "provider_status": "transferring"}), 2
        )
    ]


async def test_a_key_echoed_in_an_error_body_is_redacted_from_the_error() -> None:
    echoed = Answer(
        400, {"status": "error", "message": f"Bearer {KEY} is not allowed here"}, source="bad_request"
    )
    upstream = Upstream().on("POST", "/v3/list-calls", echoed)
    async with _adapter(upstream) as adapter:
        with pytest.raises(BadResponse) as caught:
            await adapter.list_active(ListQuery(), 0, 20)

    assert KEY not in str(caught.value)
    assert str(caught.value).endswith("Retell AI says: Bearer *** is not allowed here")


async def test_an_analysis_that_cannot_be_read_costs_only_the_analysis() -> None:
    call_id = "d4e5f60718293a4b5c6d7e8f90a1b2c3"
    document = load("retell", "get_call_ended")
    body = dict(document["body"], call_analysis={"call_successful": {"maybe": 1}, "user_sentiment": ["?"]})
    upstream = Upstream().on("GET", f"/v2/get-call/{call_id}", Answer(200, body, source=document["source"]))
    async with _adapter(upstream) as adapter:
        call = await adapter.get_call(call_id)

    assert call.status is CallStatus.ENDED
    assert call.extras == {"disconnection_reason": "user_hangup", "meta.crm_id": "acct-42"}


def _with_latency_count(item: dict[str, Any], count: Any) -> dict[str, Any]:
    latency = {name: dict(stats, num=count) for name, stats in item["latency"].items()}
    return dict(item, latency=latency)


@pytest.mark.parametrize("count", [4.5, -1, "many", None])
async def test_a_latency_count_retell_types_as_number_costs_only_the_count_never_the_call(count: Any) -> None:
    # Retell's call object types latency.<name>.num as ``number`` (not integer): 4.5 is schema-valid.
    document = load("retell", "list_v3_one_page")
    body = json.loads(json.dumps(document["body"]))
    body["items"] = [_with_latency_count(body["items"][0], count), body["items"][1]]
    single = _with_latency_count(load("retell", "get_call_phone_ongoing")["body"], count)
    upstream = (
        Upstream()
        .on("POST", "/v3/list-calls", Answer(200, body, source=document["source"]))
        .on("GET", f"/v2/get-call/{PHONE_ID}", Answer(200, single, source=document["source"]))
    )
    async with _adapter(upstream) as adapter:
        piece = await adapter.list_active(ListQuery(), 0, 20)
        call = await adapter.get_call(PHONE_ID)
        stream = await adapter.get_stream(PHONE_ID)

    uncounted = {name: stats.model_copy(update={"samples": None}) for name, stats in LATENCY.items()}
    listed_phone = PHONE_CALL.model_copy(update={"transcript": [], "latency": uncounted})
    assert piece == ProviderSlice(
        items=[Positioned(listed_phone, 1), Positioned(WEB_CALL, 2)], exhausted=True, scanned_to=2, total=2
    )
    assert call == PHONE_CALL.model_copy(update={"latency": uncounted})
    assert stream.latency == uncounted


async def test_a_whole_number_latency_count_written_as_a_float_is_read_as_the_count() -> None:
    single = _with_latency_count(load("retell", "get_call_phone_ongoing")["body"], 4.0)
    upstream = Upstream().on(
        "GET", f"/v2/get-call/{PHONE_ID}", Answer(200, single, source="retell call object")
    )
    async with _adapter(upstream) as adapter:
        call = await adapter.get_call(PHONE_ID)

    assert call == PHONE_CALL


# -- paging that does not advance -------------------------------------------------------------


def _listed_record(call_id: str) -> dict[str, Any]:
    item = load("retell", "list_v3_one_page")["body"]["items"][0]
    return dict(item, call_id=call_id)


async def _every_page(adapter: RetellProvider, limit: int) -> tuple[list[str], list[str], int]:
    """Ids and notes of every page a caller reads on with the cursor's offsets, and the pages."""
    ids: list[str] = []
    notes: list[str] = []
    offset = 0
    for pages in range(1, 100):
        piece = await adapter.list_active(ListQuery(), offset, limit)
        ids += [item.call.call_id for item in piece.items]
        notes += piece.notes
        if piece.exhausted:
            return ids, notes, pages
        offset = piece.scanned_to
    raise AssertionError("paging did not end")


async def test_a_pagination_key_answered_again_stops_the_paging_with_a_note() -> None:
    # The finding: has_more true with the same pagination_key on every page, one call on each.
    one = _listed_record("a1a1a1a1b2b2b2b2c3c3c3c3d4d4d4d4")
    page = {"items": [one] * 10, "has_more": True, "pagination_key": "eyJzYW1lIjoxfQ", "total": 600}
    upstream = Upstream().on("POST", "/v3/list-calls", Answer(200, page, source="call_list_response"))
    async with _adapter(upstream) as adapter:
        ids, notes, pages = await _every_page(adapter, 10)

    assert ids == [one["call_id"]]
    assert pages == 1
    assert len(upstream.requests) == 2
    assert notes == [
        "a page of the list repeated calls already listed (it added nothing); paging stopped "
        "there, so more live calls may exist"
    ]


async def test_keys_that_lead_back_to_an_earlier_page_stop_the_paging_and_each_call_comes_once() -> None:
    ids_by_key = {None: ["0a" * 16, "0b" * 16], "key-2": ["0c" * 16, "0d" * 16], "key-3": ["0e" * 16]}
    next_key = {None: "key-2", "key-2": "key-3", "key-3": "key-2"}  # key-3's page points back

    def answer(request: httpx2.Request) -> Answer:
        key = json.loads(request.content).get("pagination_key")
        items = [_listed_record(call_id) for call_id in ids_by_key[key]]
        return Answer(200, {"items": items, "has_more": True, "pagination_key": next_key[key]}, source="v3")

    upstream = Upstream().on("POST", "/v3/list-calls", answer)
    async with _adapter(upstream) as adapter:
        ids, notes, pages = await _every_page(adapter, 2)

    assert ids == [call_id for key in (None, "key-2", "key-3") for call_id in ids_by_key[key]]
    assert pages == 3
    assert [json.loads(r.content).get("pagination_key") for r in upstream.requests] == [
        None,
        "key-2",
        "key-3",
    ]
    assert notes == [
        "the list gave a next-page cursor it had given before (a repeated cursor); paging "
        "stopped there, so more live calls may exist"
    ]


async def test_a_page_that_repeats_the_calls_of_the_last_one_adds_nothing_and_ends_the_list() -> None:
    # An upstream that ignores the key: a fresh key on each answer, the same two calls every time.
    counter = iter(range(1000))
    items = [_listed_record("0a" * 16), _listed_record("0b" * 16)]

    def answer(_request: httpx2.Request) -> Answer:
        return Answer(
            200, {"items": items, "has_more": True, "pagination_key": f"k{next(counter)}"}, source="v3"
        )

    upstream = Upstream().on("POST", "/v3/list-calls", answer)
    async with _adapter(upstream) as adapter:
        piece = await adapter.list_active(ListQuery(), 0, 20)
        asked = len(upstream.requests)
    async with _adapter(upstream) as adapter:
        paged, paged_notes, pages = await _every_page(adapter, 2)  # a page per request

    assert [item.call.call_id for item in piece.items] == ["0a" * 16, "0b" * 16]
    assert piece.exhausted
    assert asked == 2
    assert (paged, pages, len(paged_notes)) == (["0a" * 16, "0b" * 16], 2, 1)
    assert len(piece.notes) == 1
    assert "added nothing" in piece.notes[0]
