"""Zudu: the documented record, every status word, privacy, paging, and the adapter over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from mcp import Client
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
from mcp_livecalls.errors import AuthError, BadResponse, CallNotFound, InvalidArgument
from mcp_livecalls.providers.families.retell_simulated import storage_setting as zudu_storage_setting
from mcp_livecalls.providers.zudu.adapter import (
    ZuduProvider,
    ZuduSettings,
    normalize_zudu_call,
    normalize_zudu_stream,
    unwrap_zudu,
    zudu_status,
)
from mcp_livecalls.simkit.calls import SimCall
from mcp_livecalls.simkit.examples import load_fixture
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator
from mcp_livecalls.upstream.policy import HttpPolicy
from mcp_livecalls.upstream.translate import translate_errors
from providers import kit

STARTED = datetime(2023, 12, 20, 18, 40, tzinfo=UTC)  # start_timestamp 1703097600000 of the docs
NOW = STARTED + timedelta(minutes=5, seconds=12)
RECORD_ID = "550e8400-e29b-41d4-a716-446655440000"
GREETING = "Hello, thank you for calling. How can I help you today?"
RECORDING_URL = "https://storage.azure.com/recordings/call-456.mp4"
DOC_LATENCY = {
    "e2e": LatencyStats(p50_ms=250.5, p90_ms=380.8, p99_ms=445.1, max_ms=450.2, samples=15),
    "llm": LatencyStats(p50_ms=125.3, p90_ms=160.1, p99_ms=178.2, max_ms=180.5, samples=8),
}
FAKE_KEY = "sk_test"
FAKE_SECRET = "s3cr3t_test"
DOC_METADATA = {"meta.customer_id": "cust-001", "meta.priority": "high", "meta.campaign": "summer-2024"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _doc_record(**changes: Any) -> dict[str, Any]:
    """The ``data`` object of zudu-get-call.txt, with ``changes`` applied."""
    data: dict[str, Any] = unwrap_zudu(load_fixture("zudu_call.json"))
    data.update(changes)
    return data


# -- normalization ---------------------------------------------------------------------------


def test_the_documented_call_normalizes_every_field() -> None:
    call = normalize_zudu_call(_doc_record(), now=NOW)

    assert call == LiveCall(
        provider=ProviderName("zudu"),
        call_id=RECORD_ID,
        status=CallStatus.IN_PROGRESS,
        provider_status="ONGOING",
        direction=Direction.INBOUND,
        from_number="+1234567890",
        to_number="+0987654321",
        started_at=STARTED,
        duration_s=312,
        agent=Agent(id="agent-123"),
        recording=Recording(url=RECORDING_URL),
        latency=DOC_LATENCY,
        cost=Cost(total=0.15),
        transcript=[TranscriptTurn(role="assistant", text=GREETING, at=STARTED + timedelta(seconds=35))],
        extras={"zudu_call_id": "call-456", **DOC_METADATA},
    )


def test_a_call_looked_up_by_its_call_id_is_reported_under_it_with_the_record_id_in_extras() -> None:
    by_call_id = normalize_zudu_call(_doc_record(), now=NOW, requested_id="call-456")
    by_record_id = normalize_zudu_call(_doc_record(), now=NOW, requested_id=RECORD_ID)

    assert (by_call_id.call_id, by_call_id.extras) == ("call-456", {"record_id": RECORD_ID, **DOC_METADATA})
    assert (by_record_id.call_id, by_record_id.extras) == (
        RECORD_ID,
        {"zudu_call_id": "call-456", **DOC_METADATA},
    )


def test_a_record_without_a_uuid_is_reported_under_its_call_id() -> None:
    record = _doc_record()
    del record["id"]

    call = normalize_zudu_call(record, now=NOW)

    assert (call.call_id, call.extras) == ("call-456", DOC_METADATA)


def test_the_documented_call_gives_stream_details_with_telephony_ids_and_events() -> None:
    details = normalize_zudu_stream(_doc_record(), now=NOW)

    assert details == StreamDetails(
        provider=ProviderName("zudu"),
        call_id=RECORD_ID,
        status=CallStatus.IN_PROGRESS,
        provider_status="ONGOING",
        duration_s=312,
        recording=Recording(url=RECORDING_URL),
        telephony_ids={
            "call_sid": "CA1234567890abcdef1234567890abcdef",
            "conference_sid": "CF1234567890abcdef1234567890abcdef",
        },
        latency=DOC_LATENCY,
        events=[
            CallEvent(at=STARTED, name="Call created"),
            CallEvent(at=STARTED + timedelta(seconds=30), name="Call started - INBOUND"),
        ],
        transcript=[TranscriptTurn(role="assistant", text=GREETING, at=STARTED + timedelta(seconds=35))],
        not_offered=["legs", "bridge", "hold/mute per leg"],
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("REGISTERED", CallStatus.QUEUED),
        ("registered", CallStatus.QUEUED),
        ("SCHEDULED", CallStatus.QUEUED),
        ("scheduled", CallStatus.QUEUED),
        ("ONGOING", CallStatus.IN_PROGRESS),
        ("ongoing", CallStatus.IN_PROGRESS),
        ("Ongoing", CallStatus.IN_PROGRESS),
        ("ENDED", CallStatus.ENDED),
        ("ended", CallStatus.ENDED),
        ("ERROR", CallStatus.FAILED),
        ("error", CallStatus.FAILED),
        ("NOT_CONNECTED", CallStatus.FAILED),
        ("not_connected", CallStatus.FAILED),
        ("TELEPORTED", CallStatus.UNKNOWN),
        ("", CallStatus.UNKNOWN),
        (None, CallStatus.UNKNOWN),
    ],
)
def test_every_zudu_status_word_maps_to_the_common_vocabulary_in_either_case(
    raw: str | None, expected: CallStatus
) -> None:
    assert zudu_status(raw) is expected


def test_an_unknown_status_keeps_the_raw_word_instead_of_failing() -> None:
    call = normalize_zudu_call(_doc_record(call_status="WARP_SPEED"), now=NOW)

    assert (call.status, call.provider_status) == (CallStatus.UNKNOWN, "WARP_SPEED")


@pytest.mark.parametrize(
    ("direction", "call_type", "expected_direction", "expected_type"),
    [
        ("INBOUND", "PHONE_CALL", Direction.INBOUND, None),
        ("outbound", "phone_call", Direction.OUTBOUND, None),
        ("OUTBOUND", "WEB_CALL", Direction.OUTBOUND, "web_call"),
        ("inbound", "web_call", Direction.INBOUND, "web_call"),
        (None, "WEB_CALL", None, "web_call"),
    ],
)
def test_direction_and_web_call_type_are_read_in_either_letter_case(
    direction: str | None, call_type: str, expected_direction: Direction | None, expected_type: str | None
) -> None:
    call = normalize_zudu_call(_doc_record(direction=direction, call_type=call_type, metadata=None), now=NOW)

    assert call.direction == expected_direction
    assert call.extras.get("call_type") == expected_type


def test_opting_out_hides_transcript_recording_and_metadata_from_every_model() -> None:
    record = _doc_record(
        opt_out_sensitive_data_storage=True,
        transcript_with_tool_calls=[{"role": "user", "content": "my card is 4111 1111 1111 1111"}],
    )

    call = normalize_zudu_call(record, now=NOW)
    details = normalize_zudu_stream(record, now=NOW)

    assert call == LiveCall(
        provider=ProviderName("zudu"),
        call_id=RECORD_ID,
        status=CallStatus.IN_PROGRESS,
        provider_status="ONGOING",
        direction=Direction.INBOUND,
        from_number="+1234567890",
        to_number="+0987654321",
        started_at=STARTED,
        duration_s=312,
        agent=Agent(id="agent-123"),
        latency=DOC_LATENCY,
        cost=Cost(total=0.15),
        sensitive_data_hidden=True,
        extras={"zudu_call_id": "call-456"},
    )
    assert (details.sensitive_data_hidden, details.transcript, details.recording) == (True, [], None)
    for dumped in (call.model_dump_json(), details.model_dump_json()):
        for secret in ("Hello, thank you", "4111", "recordings/call-456", "logs/call-456", "cust-001"):
            assert secret not in dumped


def test_an_opted_out_call_still_answers_when_its_hidden_fields_are_malformed() -> None:
    record = _doc_record(opt_out_sensitive_data_storage=True, transcript_object="garbled", recording_url=7)

    call = normalize_zudu_call(record, now=NOW)

    assert (call.sensitive_data_hidden, call.transcript, call.recording) == (True, [], None)


def test_event_payloads_are_never_copied() -> None:
    record = _doc_record(
        events=[{"timestamp": 1703097630000, "event": "Tool call", "data": {"card": "4111 1111 1111 1111"}}]
    )

    details = normalize_zudu_stream(record, now=NOW)

    assert details.events == [CallEvent(at=STARTED + timedelta(seconds=30), name="Tool call")]
    assert "4111" not in details.model_dump_json()


def test_a_live_call_duration_is_counted_from_its_start_to_the_injected_now() -> None:
    record = _doc_record(call_duration=None, end_timestamp=None)

    durations = [
        normalize_zudu_call(record, now=STARTED + timedelta(seconds=s)).duration_s for s in (0, 59.9, 3600)
    ]

    assert durations == [0, 59, 3600]


def test_an_ended_call_reports_its_own_duration_and_disconnection_reason() -> None:
    record = _doc_record(
        call_status="ended",
        end_timestamp=1703097900000,
        call_duration=300_400,
        disconnection_reason="user_hangup",
        metadata={},
    )

    call = normalize_zudu_call(record, now=NOW + timedelta(hours=1))

    assert (call.status, call.duration_s) == (CallStatus.ENDED, 300)
    assert call.extras == {"zudu_call_id": "call-456", "disconnection_reason": "user_hangup"}


def test_a_registered_call_without_a_start_has_no_duration() -> None:
    call = normalize_zudu_call(_doc_record(call_status="REGISTERED", start_timestamp=None), now=NOW)

    assert (call.status, call.started_at, call.duration_s) == (CallStatus.QUEUED, None, None)


def test_a_plain_transcript_without_turns_becomes_one_turn() -> None:
    record = _doc_record(transcript="Agent: hi\nUser: hello")
    del record["transcript_object"]

    call = normalize_zudu_call(record, now=NOW)

    assert call.transcript == [TranscriptTurn(role="transcript", text="Agent: hi\nUser: hello")]


def test_latency_keeps_percentiles_and_sample_counts_but_not_raw_values() -> None:
    record = _doc_record(
        latency={"tts": {"p50": 80.0, "num": 2, "values": [70.0, 90.0]}, "asr": None, "x": {}}
    )

    call = normalize_zudu_call(record, now=NOW)

    assert call.latency == {"tts": LatencyStats(p50_ms=80.0, samples=2)}


def test_metadata_keeps_only_a_few_short_scalar_values() -> None:
    metadata = {
        "nested": {"a": 1},
        "listed": [1, 2],
        "long": "x" * 65,
        "empty": "",
        "none": None,
        "tier": 2,
        "vip": True,
        "region": "south",
        "fourth": "dropped",
    }

    call = normalize_zudu_call(_doc_record(metadata=metadata), now=NOW)

    assert call.extras == {
        "zudu_call_id": "call-456",
        "meta.tier": 2,
        "meta.vip": True,
        "meta.region": "south",
    }


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "x",
        {"message": "Call retrieved successfully", "status": "success", "error": None},
        {"message": "Call retrieved successfully", "status": "success", "data": None},
        {"status": "error", "error": "Internal failure", "data": {"id": "a"}},
        {"status": "success", "data": "not a record"},
        {"status": "success", "data": {"agent_id": "agent-123"}},
        {"status": "success", "data": {"id": "a", "call_status": 3}},
        {"status": "success", "data": {"id": "a", "latency": {"e2e": "fast"}}},
        {"status": "success", "data": {"id": "a", "transcript_object": [{"content": ["x"]}]}},
    ],
)
def test_garbage_is_a_bad_response(payload: object) -> None:
    with pytest.raises(BadResponse, match="Zudu answered"), translate_errors("zudu"):
        normalize_zudu_call(unwrap_zudu(payload), now=NOW)


def test_an_error_envelope_says_what_zudu_said() -> None:
    with pytest.raises(BadResponse, match="Zudu answered with an error: Call with ID 'x' does not exist"):
        unwrap_zudu(
            {"message": "Call not found", "status": "error", "error": "Call with ID 'x' does not exist"}
        )


# -- the adapter over HTTP, against a small in-process Zudu ----------------------------------


class FakeZudu:
    """Zudu's two endpoints over ``httpx2.MockTransport``; records every list request's body."""

    def __init__(self, records: list[dict[str, Any]], *, paging: str = "has_next_page") -> None:
        self.records = records
        self.paging = paging
        self.list_bodies: list[dict[str, Any]] = []

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        credentials = (request.headers.get("x-api-key"), request.headers.get("x-api-secret"))
        if credentials != (FAKE_KEY, FAKE_SECRET):
            return httpx2.Response(
                401, json={"message": "Unauthorized", "status": "error", "error": "bad key"}
            )
        path = request.url.path
        if request.method == "POST" and path == "/api/calls":
            return self._list(json.loads(request.content))
        if request.method == "GET" and path.startswith("/api/calls/"):
            wanted = path.removeprefix("/api/calls/")
            for record in self.records:
                if wanted in (record.get("id"), record.get("call_id")):
                    return httpx2.Response(200, json={"message": "ok", "status": "success", "data": record})
            return httpx2.Response(
                404, json={"message": "Call not found", "status": "error", "error": f"Call {wanted} missing"}
            )
        return httpx2.Response(404, json={"message": "no route", "status": "error"})

    def _list(self, body: dict[str, Any]) -> httpx2.Response:
        self.list_bodies.append(body)
        criteria = body.get("filter_criteria", {})
        statuses = {s.upper() for s in criteria.get("call_status", [])}
        matching = [
            r
            for r in self.records
            if r["call_status"].upper() in statuses and criteria.get("agent_id") in (None, r.get("agent_id"))
        ]
        page, limit = body["page"], body["limit"]
        pages = -(-len(matching) // limit)
        pagination: dict[str, Any] = {"page": page, "limit": limit, "total_pages": pages}
        if self.paging == "has_next_page":
            pagination |= {"total": len(matching), "has_next_page": page + 1 < pages}
        elif self.paging == "total_count":
            pagination |= {"total_count": len(matching)}
            del pagination["total_pages"]
        chunk = matching[page * limit : (page + 1) * limit]
        data = {"calls": chunk, "pagination": pagination, "returned_count": len(chunk)}
        return httpx2.Response(200, json={"message": "ok", "status": "success", "error": None, "data": data})


def _record(index: int, status: str = "ONGOING", **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": f"00000000-0000-4000-8000-{index:012d}",
        "call_id": f"call_{index:04d}",
        "agent_id": "agent-a" if index % 2 else "agent-b",
        "call_status": status,
        "call_type": "PHONE_CALL",
        "direction": "INBOUND" if index % 3 else "outbound",
        "from_number": f"+9198765{index:05d}",
        "to_number": "+918000000000",
        "start_timestamp": 1_703_097_600_000 - index * 1000,
        "transcript": "secret words",
    }
    record.update(changes)
    return record


def _population() -> list[dict[str, Any]]:
    """Newest first, as Zudu sorts: 10 live (one lower case, two registered), and 3 not live."""
    records = [_record(i) for i in range(13)]
    records[2]["call_status"] = "ongoing"
    records[4]["call_status"] = "REGISTERED"
    records[7]["call_status"] = "registered"
    records[5]["call_status"] = "ENDED"
    records[9]["call_status"] = "ERROR"
    records[11]["call_status"] = "SCHEDULED"
    return records


def _fake_adapter(fake: FakeZudu, client: httpx2.AsyncClient, secret: str | None = None) -> ZuduProvider:
    settings = ZuduSettings(
        api_key=SecretStr(FAKE_KEY), api_secret=SecretStr(secret or FAKE_SECRET), base_url="http://zudu.test"
    )
    return ZuduProvider.create(settings, client, HttpPolicy(retry_attempts=1), lambda: NOW)


async def _page_through(adapter: ZuduProvider, query: ListQuery, limit: int) -> list[str]:
    return [item.call.call_id for item in (await kit.read_all(adapter, query, limit, pages=50)).items]


LIVE_IDS = [f"00000000-0000-4000-8000-{i:012d}" for i in (0, 1, 2, 3, 4, 6, 7, 8, 10, 12)]


@pytest.mark.anyio
@pytest.mark.parametrize("paging", ["has_next_page", "total_pages", "total_count"])
@pytest.mark.parametrize("limit", [1, 3, 4, 7, 10, 25])
async def test_paging_with_any_limit_returns_every_live_call_exactly_once_newest_first(
    paging: str, limit: int
) -> None:
    fake = FakeZudu(_population(), paging=paging)
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handle)) as client:
        seen = await _page_through(_fake_adapter(fake, client), ListQuery(), limit)

    assert seen == LIVE_IDS


@pytest.mark.anyio
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 5, 9, 10, 11])
async def test_an_offset_inside_a_page_reads_on_into_the_next_page(offset: int) -> None:
    fake = FakeZudu(_population())
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handle)) as client:
        piece = await _fake_adapter(fake, client).list_active(ListQuery(), offset, 3)

    assert [item.call.call_id for item in piece.items] == LIVE_IDS[offset : offset + 3]
    assert [item.next_offset for item in piece.items] == list(
        range(offset + 1, offset + 1 + len(piece.items))
    )
    assert piece.exhausted == (offset + 3 >= len(LIVE_IDS))
    assert piece.total == len(LIVE_IDS)


@pytest.mark.anyio
async def test_the_list_request_asks_for_live_calls_newest_first_with_the_agent_filter_upstream() -> None:
    fake = FakeZudu(_population())
    query = ListQuery(agent_id="agent-a", direction=Direction.INBOUND)
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handle)) as client:
        adapter = _fake_adapter(fake, client)
        piece = await adapter.list_active(query, 0, 20)

    assert fake.list_bodies[0] == {
        "page": 0,
        "limit": 20,
        "sort_by": "start_timestamp",
        "sort_order": "descending",
        "filter_criteria": {"call_status": ["ONGOING", "REGISTERED"], "agent_id": "agent-a"},
    }
    assert piece.local_filters == ["direction"]
    # agent-a has the odd indexes; 3 is outbound, 5 has ended.
    assert [(item.call.call_id, item.call.extras["zudu_call_id"]) for item in piece.items] == [
        (LIVE_IDS[1], "call_0001"),
        (LIVE_IDS[6], "call_0007"),
    ]


@pytest.mark.anyio
async def test_records_an_upstream_should_have_filtered_out_are_skipped() -> None:
    fake = FakeZudu(_population())

    def ignore_filters(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        page, limit = body["page"], body["limit"]
        chunk = fake.records[page * limit : (page + 1) * limit]
        pagination = {"page": page, "limit": limit, "has_next_page": (page + 1) * limit < len(fake.records)}
        return httpx2.Response(
            200, json={"status": "success", "data": {"calls": chunk, "pagination": pagination}}
        )

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(ignore_filters)) as client:
        seen = await _page_through(_fake_adapter(fake, client), ListQuery(agent_id="agent-a"), 4)

    # agent-a has the odd indexes; 5, 9 and 11 are not live.
    assert seen == [f"00000000-0000-4000-8000-{i:012d}" for i in (1, 3, 7)]


@pytest.mark.anyio
async def test_lists_carry_the_status_and_filter_locally_by_status() -> None:
    fake = FakeZudu(_population())
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handle)) as client:
        piece = await _fake_adapter(fake, client).list_active(ListQuery(status=CallStatus.QUEUED), 0, 10)

    assert [(item.call.call_id, item.call.status) for item in piece.items] == [
        (LIVE_IDS[4], CallStatus.QUEUED),
        (LIVE_IDS[6], CallStatus.QUEUED),
    ]
    assert piece.total is None  # filtered locally: the upstream total does not apply


@pytest.mark.anyio
async def test_a_call_opens_by_either_id_and_an_unknown_one_is_call_not_found() -> None:
    fake = FakeZudu(_population())
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handle)) as client:
        adapter = _fake_adapter(fake, client)
        by_uuid = await adapter.get_call(LIVE_IDS[1])
        by_call_id = await adapter.get_call("call_0001")
        stream = await adapter.get_stream("call_0001")
        with pytest.raises(CallNotFound, match="'call_9999'"):
            await adapter.get_call("call_9999")

    assert (by_uuid.call_id, by_uuid.extras) == (LIVE_IDS[1], {"zudu_call_id": "call_0001"})
    assert (by_call_id.call_id, by_call_id.extras) == ("call_0001", {"record_id": LIVE_IDS[1]})
    assert (stream.call_id, stream.status) == ("call_0001", CallStatus.IN_PROGRESS)


@pytest.mark.anyio
async def test_rejected_credentials_name_the_variables_and_never_the_secret() -> None:
    fake = FakeZudu(_population())
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handle)) as client:
        adapter = _fake_adapter(fake, client, secret="s3cr3t_wrong_7f3a9c")
        with pytest.raises(AuthError) as caught:
            await adapter.list_active(ListQuery(), 0, 5)

    assert "ZUDU_API_KEY / ZUDU_API_SECRET" in str(caught.value)
    assert "s3cr3t_wrong_7f3a9c" not in str(caught.value)


@pytest.mark.anyio
async def test_either_id_form_is_accepted_and_path_characters_are_refused_before_any_request() -> None:
    fake = FakeZudu(_population())
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handle)) as client:
        adapter = _fake_adapter(fake, client)
        with pytest.raises(InvalidArgument, match="call_id must be"):
            await adapter.get_call("../admin")

    assert adapter.accepts_call_id(RECORD_ID)
    assert adapter.accepts_call_id("call-456")
    assert not adapter.accepts_call_id("call?x=1")
    assert fake.list_bodies == []


# -- the adapter against the provider simulator ----------------------------------------------


def _zudu_only() -> Simulator:
    """Thirty Zudu calls at mixed states, some opted out, some in lower case, some web calls."""
    return kit.simulated("zudu", live_calls=30)


@pytest.mark.anyio
@pytest.mark.parametrize("limit", [3, 7])
async def test_paging_the_simulator_returns_every_live_zudu_call_exactly_once(limit: int) -> None:
    simulator = _zudu_only()
    async with kit.adapter_on(simulator, ZuduProvider) as adapter:
        seen = await _page_through(adapter, ListQuery(), limit)

    assert len(seen) == len(set(seen)) > 3 * limit
    assert set(seen) == kit.alive(simulator, "zudu")
    assert simulator.requests[("zudu", "list_calls")] == -(-len(seen) // limit)  # one request a page


@pytest.mark.anyio
async def test_a_simulated_call_opens_by_its_record_id_and_by_its_call_id() -> None:
    simulator = _zudu_only()
    target = next(c for c in simulator.population.live("zudu") if c.alt_ids)
    async with kit.loopback(simulator) as served:
        adapter = served.adapter(ZuduProvider)
        by_id = await adapter.get_call(target.id)
        by_call_id = await adapter.get_call(target.alt_ids[0])
        stream = await adapter.get_stream(target.alt_ids[0])

    assert (by_id.call_id, by_id.extras["zudu_call_id"]) == (target.id, target.alt_ids[0])
    assert (by_call_id.call_id, by_call_id.extras["record_id"]) == (target.alt_ids[0], target.id)
    assert by_id.model_copy(update={"call_id": "", "extras": {}}) == by_call_id.model_copy(
        update={"call_id": "", "extras": {}}
    )
    assert by_id.status in (CallStatus.QUEUED, CallStatus.IN_PROGRESS)
    assert stream.call_id == target.alt_ids[0]
    assert stream.events[0].name == "Call created"


@pytest.mark.anyio
async def test_the_simulator_in_fixture_mode_gives_exactly_the_documented_call() -> None:
    simulator = Simulator(fixtures=True)
    async with kit.loopback(simulator) as served:
        adapter = served.adapter(ZuduProvider)
        adapter = ZuduProvider(adapter.http, now=lambda: NOW)
        call = await adapter.get_call(RECORD_ID)

    assert call == normalize_zudu_call(_doc_record(), now=NOW)


@pytest.mark.anyio
async def test_opted_out_simulated_calls_never_show_their_transcript_or_recording() -> None:
    simulator = _zudu_only()
    opted_out = [
        c
        for c in simulator.population.live("zudu")
        if c.opt_out_sensitive_data_storage and c.answer_s is not None
    ]
    headers = {"X-API-KEY": DEMO_CREDENTIALS.zudu_api_key, "X-API-SECRET": DEMO_CREDENTIALS.zudu_api_secret}
    checked = 0
    async with kit.loopback(simulator) as served:
        adapter = served.adapter(ZuduProvider)
        for sim_call in opted_out:
            answer = await served.http.get(f"{served.url}/api/calls/{sim_call.id}", headers=headers)
            raw = answer.json()["data"]
            said = [turn["content"] for turn in raw["transcript_object"]]
            if not said:
                continue
            checked += 1
            call = await adapter.get_call(sim_call.id)
            details = await adapter.get_stream(sim_call.id)
            assert call.sensitive_data_hidden is details.sensitive_data_hidden is True
            for dumped in (call.model_dump_json(), details.model_dump_json()):
                for text in [*said, raw["recording_url"] or "never", raw["public_log_url"]]:
                    assert text not in dumped

    assert checked > 0  # the simulator did send transcripts for opted-out calls


@pytest.mark.anyio
async def test_an_unknown_simulated_call_is_call_not_found() -> None:
    simulator = _zudu_only()
    async with kit.loopback(simulator) as served:
        adapter = served.adapter(ZuduProvider)
        with pytest.raises(CallNotFound, match="not live \\(it may have ended\\)"):
            await adapter.get_call("call_000000000000000000000000")


@pytest.mark.anyio
async def test_a_wrong_secret_names_the_variables_and_never_the_secret() -> None:
    simulator = _zudu_only()
    wrong = DEMO_CREDENTIALS.replace(zudu_api_secret="s3cr3t_wrong_1b2c3d")
    async with kit.adapter_on(simulator, ZuduProvider, wrong) as adapter:
        with pytest.raises(AuthError) as caught:
            await adapter.get_call(RECORD_ID)

    assert "ZUDU_API_KEY / ZUDU_API_SECRET" in str(caught.value)
    assert "s3cr3t_wrong_1b2c3d" not in str(caught.value)


# -- truth of state in every documented flavour -----------------------------------------------

ZUDU_FLAVOUR_SETS = [
    (),
    ("zudu.lower_case",),
    ("zudu.agent_id_array",),
    ("zudu.agent_id_string",),
    ("zudu.call_id_only",),
    ("zudu.data_storage_setting",),
    ("zudu.lower_case", "zudu.agent_id_array", "zudu.call_id_only", "zudu.data_storage_setting"),
]


def _flavoured(flavours: tuple[str, ...], live_calls: int = 30) -> Simulator:
    """Zudu calls a minute and a half in: some have ended, and stay retrievable."""
    simulator = kit.simulated("zudu", seed=11, live_calls=live_calls, flavours=flavours)
    clock = simulator.clock
    assert isinstance(clock, ManualClock)
    clock.advance(90)
    return simulator


def _listed_id(call: SimCall, flavours: tuple[str, ...]) -> str:
    """The id a list shows for ``call``: the record id, or ``call_id`` when entries carry no ``id``."""
    return call.alt_ids[0] if "zudu.call_id_only" in flavours else call.id


def _truth(simulator: Simulator, flavours: tuple[str, ...]) -> tuple[dict[str, SimCall], set[str]]:
    """Every live Zudu call by its listed id, and the listed ids of the ended ones still retrievable."""
    population = simulator.population
    live = {_listed_id(c, flavours): c for c in [*population.live("zudu"), *population.queued("zudu")]}
    ended = {_listed_id(c, flavours) for c in population.visible("zudu")} - set(live)
    return live, ended


@pytest.mark.anyio
@pytest.mark.parametrize("flavours", ZUDU_FLAVOUR_SETS, ids=lambda f: "+".join(f) or "plain")
async def test_in_every_flavour_paging_lists_each_live_call_once_and_every_listed_call_opens(
    flavours: tuple[str, ...],
) -> None:
    simulator = _flavoured(flavours)
    live, ended = _truth(simulator, flavours)
    agent = kit.busiest_agent(list(live.values()))
    async with kit.loopback(simulator) as served:
        adapter = served.adapter(ZuduProvider)
        everyone = await _page_through(adapter, ListQuery(), 4)
        by_agent = await _page_through(adapter, ListQuery(agent_id=agent), 3)
        opened = [await adapter.get_call(call_id) for call_id in everyone]

    assert ended, "the scenario must have ended calls for the last check to mean something"
    assert len(everyone) == len(set(everyone))
    assert set(everyone) == set(live)
    assert sorted(by_agent) == sorted(
        i for i, c in live.items() if c.agent is not None and c.agent.id == agent
    )
    assert len(by_agent) > 1
    assert [call.call_id for call in opened] == everyone
    assert all(call.status in (CallStatus.QUEUED, CallStatus.IN_PROGRESS) for call in opened)
    assert not ended & (set(everyone) | set(by_agent))


@pytest.mark.anyio
async def test_the_array_only_flavour_costs_one_refused_request_then_the_array_form_is_kept() -> None:
    simulator = _flavoured(("zudu.agent_id_array",))
    live, _ = _truth(simulator, ("zudu.agent_id_array",))
    agent = kit.busiest_agent(list(live.values()))
    async with kit.loopback(simulator) as served:
        adapter = served.adapter(ZuduProvider)
        for _ in range(3):
            await adapter.list_active(ListQuery(agent_id=agent), 0, 50)

    assert simulator.requests[("zudu", "list_calls")] == 4  # string refused once, then the array


@pytest.mark.anyio
async def test_every_storage_setting_of_the_flavour_hides_what_it_keeps_out() -> None:
    flavours = ("zudu.data_storage_setting",)
    simulator = kit.simulated("zudu", live_calls=40, flavours=flavours)
    talking = [c for c in simulator.population.live("zudu") if c.answer_s is not None]
    headers = {"X-API-KEY": DEMO_CREDENTIALS.zudu_api_key, "X-API-SECRET": DEMO_CREDENTIALS.zudu_api_secret}
    settings_seen: set[str] = set()
    async with kit.loopback(simulator) as served:
        adapter = served.adapter(ZuduProvider)
        for sim_call in talking:
            raw = (await served.http.get(f"{served.url}/api/calls/{sim_call.id}", headers=headers)).json()[
                "data"
            ]
            assert "opt_out_sensitive_data_storage" not in raw
            setting = raw["data_storage_setting"]
            assert setting == zudu_storage_setting(sim_call)
            settings_seen.add(setting)
            call = await adapter.get_call(sim_call.id)
            dumped = call.model_dump_json()
            said = [turn["content"] for turn in raw["transcript_object"]]
            if setting == "everything":
                assert call.sensitive_data_hidden is None
                assert [turn.text for turn in call.transcript] == said
            else:
                assert call.sensitive_data_hidden is True
                assert call.extras["data_storage_setting"] == setting
                assert call.transcript == []
                assert all(text not in dumped for text in said)
                assert raw["public_log_url"] not in dumped
            kept_recording = setting != "basic_attributes_only" and raw["recording_url"] is not None
            assert (call.recording is not None) == kept_recording

    assert settings_seen == {"everything", "everything_except_pii", "basic_attributes_only"}


@pytest.mark.anyio
@pytest.mark.parametrize("flavours", ZUDU_FLAVOUR_SETS[:-1], ids=lambda f: "+".join(f) or "plain")
async def test_through_the_mcp_client_every_flavour_lists_each_live_call_once_and_opens_it(
    flavours: tuple[str, ...],
) -> None:
    simulator = _flavoured(flavours, live_calls=10)
    live, ended = _truth(simulator, flavours)
    agent = kit.busiest_agent(list(live.values()))
    async with kit.client_on(simulator) as client:
        everyone = await _mcp_page_through(client, {"provider": "zudu", "limit": 5})
        by_agent = await _mcp_page_through(client, {"agent_id": agent, "limit": 3})
        statuses: list[str] = []
        for call_id in everyone:
            result = await client.call_tool("get_live_call", {"call_id": call_id, "provider": "zudu"})
            assert not result.is_error, result.content
            found = result.structured_content or {}
            assert (found.get("provider"), found.get("call_id")) == ("zudu", call_id)
            statuses.append(str(found.get("status")))

    assert ended
    assert len(everyone) == len(set(everyone))
    assert set(everyone) == set(live)
    assert sorted(by_agent) == sorted(
        i for i, c in live.items() if c.agent is not None and c.agent.id == agent
    )
    assert set(statuses) <= {"queued", "in_progress"}
    assert not ended & (set(everyone) | set(by_agent))


async def _mcp_page_through(client: Client, arguments: dict[str, Any]) -> list[str]:
    return [call["call_id"] for call in kit.calls_listed(await kit.list_pages(client, arguments), "zudu")]
