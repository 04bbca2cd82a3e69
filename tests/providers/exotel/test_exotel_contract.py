"""Exotel against its documents: each documented answer, typed in a fixture, through the real adapter.

The fixtures (``fixtures/exotel/*.json``) stand for the active-streams page (versions A and B), the
stream-details example, the call-details spellings of Exotel's sibling endpoints and the error bodies
NOTES.md lists; each says which in its ``source``. Every test pins the normalized result by
whole-object equality and the requests the adapter made.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import httpx2
import pytest
from contract.harness import Answer, Upstream, fixture, load
from pydantic import SecretStr

from mcp_livecalls.core.models import (
    Agent,
    Bridge,
    CallLeg,
    CallStatus,
    Direction,
    LegStatus,
    LiveCall,
    ProviderName,
    Recording,
    StreamDetails,
)
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, BadResponse, CallNotFound, ProviderUnavailable, RateLimited
from mcp_livecalls.providers.base import ProviderSlice
from mcp_livecalls.providers.exotel.adapter import ExotelProvider, ExotelSettings
from providers.kit import documented

pytestmark = pytest.mark.anyio

NOW = datetime(2024, 6, 15, 10, 40, tzinfo=UTC)
SID = "acme1"
CALLS = f"/v3/accounts/{SID}/calls"
ACTIVE = f"{CALLS}/active"
NOT_OFFERED = ["transcript", "latency", "cost", "media streams", "caller name"]
MISSING_404 = "legs: Exotel's stream endpoint answered 404 for this call (it describes active calls only)"


def exotel(name: str) -> Answer:
    return fixture("exotel", name)


def adapter(upstream: Upstream, base_url: str = "https://api.exotel.com") -> ExotelProvider:
    settings = ExotelSettings(
        account_sid=SecretStr(SID),
        api_key=SecretStr("contract-key"),
        api_token=SecretStr("contract-token"),
        base_url=base_url,
    )
    return documented(ExotelProvider, settings, upstream, NOW)


def asked(upstream: Upstream) -> list[str]:
    """The requests made, as ``path?query`` (query as sent)."""
    return [
        request.url.path + (f"?{request.url.query.decode()}" if request.url.query else "")
        for request in upstream.requests
    ]


def listed(page: ProviderSlice) -> list[str]:
    return [item.call.call_id for item in page.items]


# The documented calls, normalized -----------------------------------------------------------------

DOC_CALL_1 = LiveCall(
    provider=ProviderName("exotel"),
    call_id="call_active_001",
    status=CallStatus.IN_PROGRESS,
    provider_status="in-progress",
    direction=Direction.OUTBOUND,
    from_number="+911234567890",
    to_number="+919876543210",
    started_at=datetime(2024, 6, 15, 10, 30, tzinfo=UTC),
    duration_s=120,
    agent=Agent(id="agent_uuid_001", name="John Agent", status="on-call"),
    recording=Recording(enabled=True),
)
DOC_CALL_2 = LiveCall(
    provider=ProviderName("exotel"),
    call_id="call_active_002",
    status=CallStatus.RINGING,
    provider_status="ringing",
    direction=Direction.INBOUND,
    from_number="+919876543211",
    to_number="+911234567890",
    started_at=datetime(2024, 6, 15, 10, 35, tzinfo=UTC),
    duration_s=0,
    recording=Recording(enabled=False),
)
DOC_LEGS = [
    CallLeg(
        leg_id="leg_agent_001",
        role="agent",
        contact="+911234567890",
        direction=Direction.OUTBOUND,
        status=LegStatus.CONNECTED,
        provider_status="connected",
        network="pstn",
        muted=False,
        on_hold=False,
    ),
    CallLeg(
        leg_id="leg_customer_001",
        role="customer",
        contact="+919876543210",
        direction=Direction.OUTBOUND,
        status=LegStatus.CONNECTED,
        provider_status="connected",
        network="pstn",
        muted=False,
        on_hold=False,
    ),
]
DOC_STREAM = StreamDetails(
    provider=ProviderName("exotel"),
    call_id="call_active_001",
    status=CallStatus.IN_PROGRESS,
    provider_status="in-progress",
    duration_s=180,
    legs=DOC_LEGS,
    bridge=Bridge(
        bridge_id="bridge_001", status="active", created_at=datetime(2024, 6, 15, 10, 30, 5, tzinfo=UTC)
    ),
    recording=Recording(enabled=True, channels="dual", duration_s=175),
    not_offered=NOT_OFFERED,
)
RECORDING_URL = "https://recordings.example/call_active_001.mp3"


# The active list ------------------------------------------------------------------------------------


async def test_version_a_of_the_active_list_normalizes_both_documented_calls() -> None:
    upstream = Upstream().on("GET", ACTIVE, exotel("active_version_a"))

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert [item.call for item in page.items] == [DOC_CALL_1, DOC_CALL_2]
    assert (page.exhausted, page.total, page.notes) == (True, 2, [])
    assert asked(upstream) == [f"{ACTIVE}?limit=20&offset=0"]


async def test_version_b_items_without_direction_or_agent_normalize_without_them() -> None:
    upstream = Upstream().on("GET", ACTIVE, exotel("active_version_b"))

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert [item.call for item in page.items] == [
        DOC_CALL_1.model_copy(update={"direction": None, "agent": None}),
        DOC_CALL_2.model_copy(update={"direction": None}),
    ]
    assert asked(upstream) == [f"{ACTIVE}?limit=20&offset=0"]


async def test_version_b_ignoring_offset_is_detected_by_the_repeated_page_and_no_call_is_listed_twice() -> (
    None
):
    upstream = Upstream().on("GET", ACTIVE, exotel("active_version_b"))
    provider = adapter(upstream)

    first = await provider.list_active(ListQuery(), 0, 1)
    second = await provider.list_active(ListQuery(), first.scanned_to, 1)
    third = await provider.list_active(ListQuery(), second.scanned_to, 1)

    # Upstream answered both calls to a request for one (it honours no limit): the second call is
    # cut from that same answer, and then the list ends.
    assert (listed(first), first.exhausted) == (["call_active_001"], False)
    assert (listed(second), second.exhausted) == (["call_active_002"], True)
    assert (listed(third), third.exhausted) == ([], True)
    assert second.notes == [
        "the active-calls API ignored offset and limit; pages were cut here from its answer"
    ]
    assert asked(upstream) == [
        f"{ACTIVE}?limit=1&offset=0",
        f"{ACTIVE}?limit=1&offset=1",
        f"{ACTIVE}?limit=1&offset=2",
    ]


async def test_a_page_whose_calls_were_all_listed_already_ends_the_list_with_a_note() -> None:
    # Exotel's own paging runs in a loop: the page at offset 6 repeats calls of earlier pages.
    record = load("exotel", "active_version_a")["body"]["response"]["active_calls"][0]
    pages = {"0": ["c1", "c2", "c3"], "3": ["c4", "c5", "c6"], "6": ["c2", "c4", "c5"]}

    def looping(request: httpx2.Request) -> Answer:
        sids = pages.get(request.url.params["offset"], [])
        calls = [{**record, "call_sid": sid} for sid in sids]
        return Answer(200, {"http_code": 200, "response": {"active_calls": calls, "total_active": 9}})

    upstream = Upstream().on("GET", ACTIVE, looping)

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert listed(page) == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert page.exhausted
    assert page.notes == [
        "a page of the list repeated calls already listed (it added nothing); paging stopped there, so "
        "more live calls may exist"
    ]
    assert asked(upstream) == [f"{ACTIVE}?limit=20&offset={offset}" for offset in (0, 3, 6)]


async def test_a_page_that_starts_over_at_the_first_call_is_cut_here_and_paging_stops() -> None:
    # A version that honours limit but not offset: every request answers the first page.
    def first_page_only(request: httpx2.Request) -> Answer:
        answer = exotel("active_version_a")
        body = answer.body
        limit = int(request.url.params["limit"])
        response = {**body["response"], "active_calls": body["response"]["active_calls"][:limit]}
        return Answer(answer.status, {**body, "response": response})

    upstream = Upstream().on("GET", ACTIVE, first_page_only)

    provider = adapter(upstream)

    page = await provider.list_active(ListQuery(), 0, 1)
    rest = await provider.list_active(ListQuery(), page.scanned_to, 5)

    # The answer for offset 1 began again with call_active_001: only what lies past offset 1 is
    # taken from it, and nothing further is asked.
    assert (listed(page), listed(rest), rest.exhausted) == (["call_active_001"], ["call_active_002"], True)
    assert asked(upstream) == [f"{ACTIVE}?limit=1&offset=0", f"{ACTIVE}?limit=5&offset=1"]


async def test_filters_the_answer_ignores_are_applied_here_and_the_page_says_so() -> None:
    upstream = Upstream().on("GET", ACTIVE, exotel("active_version_a"))

    page = await adapter(upstream).list_active(ListQuery(direction=Direction.INBOUND), 0, 20)

    assert [item.call for item in page.items] == [DOC_CALL_2]
    assert (page.total, page.notes) == (
        None,
        ["Exotel's answer ignored the direction/agent_id filter; filtered here"],
    )
    assert asked(upstream) == [f"{ACTIVE}?limit=20&offset=0&direction=inbound"]


async def test_version_b_items_cannot_be_filtered_by_direction_and_the_page_says_so() -> None:
    upstream = Upstream().on("GET", ACTIVE, exotel("active_version_b"))

    page = await adapter(upstream).list_active(
        ListQuery(direction=Direction.OUTBOUND, agent_id="agent_uuid_001"), 0, 20
    )

    assert listed(page) == ["call_active_001", "call_active_002"]
    assert page.notes == [
        "some calls do not say their direction/agent_id (older API version); kept unfiltered"
    ]
    assert asked(upstream) == [f"{ACTIVE}?limit=20&offset=0&agent_id=agent_uuid_001&direction=outbound"]


async def test_an_outbound_dial_call_is_outbound_and_keeps_exotels_word() -> None:
    upstream = Upstream().on("GET", ACTIVE, exotel("active_outbound_dial"))

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert [item.call for item in page.items] == [
        LiveCall(
            provider=ProviderName("exotel"),
            call_id="c8f2a41e0b9d4c7fa3e15b62d09e7a41",
            status=CallStatus.IN_PROGRESS,
            provider_status="in-progress",
            direction=Direction.OUTBOUND,
            from_number="+918047112233",
            to_number="+919812345678",
            started_at=datetime(2024, 6, 15, 10, 32, 10, tzinfo=UTC),
            duration_s=95,
            agent=Agent(id="agent_uuid_007", name="Meera", status="on-call"),
            recording=Recording(enabled=True),
            extras={"exotel_direction": "outbound-dial"},
        )
    ]


async def test_a_call_whose_agent_details_are_null_has_no_agent() -> None:
    upstream = Upstream().on("GET", ACTIVE, exotel("active_agent_null"))

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert [item.call for item in page.items] == [
        LiveCall(
            provider=ProviderName("exotel"),
            call_id="call_active_003",
            status=CallStatus.IN_PROGRESS,
            provider_status="in-progress",
            direction=Direction.OUTBOUND,
            from_number="+911234567890",
            to_number="+919876543212",
            started_at=datetime(2024, 6, 15, 10, 38, tzinfo=UTC),
            duration_s=60,
            recording=Recording(enabled=False),
        )
    ]


# One call -------------------------------------------------------------------------------------------


async def test_a_call_in_progress_is_its_details_with_the_streams_legs_bridge_and_recording() -> None:
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/call_active_001/stream", exotel("stream"))
        .on("GET", f"{CALLS}/call_active_001", exotel("details_call_sid_family"))
    )
    provider = adapter(upstream)

    call = await provider.get_call("call_active_001")
    stream = await provider.get_stream("call_active_001")

    assert call == DOC_CALL_1.model_copy(
        update={
            "duration_s": 180,
            "legs": DOC_LEGS,
            "recording": Recording(enabled=True, channels="dual", duration_s=175, url=RECORDING_URL),
        }
    )
    assert stream == DOC_STREAM
    assert asked(upstream) == [
        f"{CALLS}/call_active_001",
        f"{CALLS}/call_active_001/stream",
        f"{CALLS}/call_active_001/stream",
    ]


async def test_call_details_in_the_sibling_spelling_give_the_same_call() -> None:
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/call_active_001/stream", exotel("stream_404_ringing"))
        .on("GET", f"{CALLS}/call_active_001", exotel("details_sid_family"))
    )

    call = await adapter(upstream).get_call("call_active_001")

    assert call == LiveCall(
        provider=ProviderName("exotel"),
        call_id="call_active_001",
        status=CallStatus.IN_PROGRESS,
        provider_status="in-progress",
        direction=Direction.OUTBOUND,
        from_number="+918047112233",  # the virtual number dialled the customer
        to_number="+919876543210",
        started_at=datetime(2024, 6, 15, 10, 30, tzinfo=UTC),  # 16:00 +05:30
        duration_s=600,
        agent=Agent(id="agent_uuid_001"),
        recording=Recording(enabled=True, url=RECORDING_URL),
        extras={"agent_contact": "+911234567890", "missing": MISSING_404},
    )
    assert asked(upstream) == [f"{CALLS}/call_active_001", f"{CALLS}/call_active_001/stream"]


V3_SID = "4f0d2c9b7a1e4e6b9c3d5a7f8e2b1c60"
V3_RECORDING = f"https://recordings.example/{V3_SID}.mp3"


def v3_details(name: str, **changes: object) -> Answer:
    """The v3 call-details page's example ``name``, with ``call_details`` fields changed."""
    document = load("exotel", name)
    body = copy.deepcopy(document["body"])
    body["response"]["call_details"].update(changes)
    return Answer(document["status"], body, source=document["source"])


async def test_the_v3_pages_active_call_is_live_keeps_its_virtual_number_and_ignores_the_1970_end() -> None:
    """Exotel's v3 Call Details page: an active call has ``status`` null, only a
    ``virtual_number`` (no from/to) and the placeholder ``end_time`` 1970-01-01."""
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/{V3_SID}/stream", exotel("stream_404_ringing"))
        .on("GET", f"{CALLS}/{V3_SID}", exotel("details_v3_active"))
    )

    call = await adapter(upstream).get_call(V3_SID)

    # state "active" with status null; no from/to; the 1970 end_time is not an end.
    started = datetime(2024, 6, 15, 10, 35, tzinfo=UTC)  # 16:05:00 +05:30
    extras = {"virtual_number": "+918047115500", "missing": MISSING_404}
    assert call == LiveCall.model_validate(
        {"provider": "exotel", "call_id": V3_SID, "status": "in_progress", "provider_status": "active"}
        | {"direction": "outbound", "started_at": started, "duration_s": 300, "extras": extras}
    )


async def test_the_v3_pages_recordings_array_gives_the_calls_recording() -> None:
    """The page's field table: ``recordings`` is an array of objects with ``url``; live calls may
    carry it (it is 'null or incomplete' while active)."""
    answer = v3_details("details_v3_active", recordings=[{"url": V3_RECORDING}, {"url": None}, "odd"])
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/{V3_SID}/stream", exotel("stream_404_ringing"))
        .on("GET", f"{CALLS}/{V3_SID}", answer)
    )

    call = await adapter(upstream).get_call(V3_SID)

    assert call.recording == Recording(enabled=True, url=V3_RECORDING)


async def test_the_v3_pages_completed_call_is_not_live() -> None:
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/{V3_SID}/stream", exotel("error_response_error_404"))
        .on("GET", f"{CALLS}/{V3_SID}", exotel("details_v3_completed"))
    )

    with pytest.raises(CallNotFound):
        await adapter(upstream).get_call(V3_SID)

    assert asked(upstream) == [f"{CALLS}/{V3_SID}", f"{CALLS}/{V3_SID}/stream"]


async def test_a_ringing_call_whose_stream_answers_404_is_found_ringing_from_its_details() -> None:
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/call_active_002/stream", exotel("stream_404_ringing"))
        .on("GET", f"{CALLS}/call_active_002", exotel("details_ringing"))
    )
    provider = adapter(upstream)

    call = await provider.get_call("call_active_002")
    stream = await provider.get_stream("call_active_002")

    assert call == DOC_CALL_2.model_copy(update={"extras": {"missing": MISSING_404}})
    assert stream == StreamDetails(
        provider=ProviderName("exotel"),
        call_id="call_active_002",
        status=CallStatus.RINGING,
        provider_status="ringing",
        duration_s=0,
        recording=Recording(enabled=False),
        not_offered=[*NOT_OFFERED, MISSING_404],
    )
    assert asked(upstream) == [
        f"{CALLS}/call_active_002",
        f"{CALLS}/call_active_002/stream",
        f"{CALLS}/call_active_002/stream",
        f"{CALLS}/call_active_002",
    ]


async def test_a_stream_that_fails_with_5xx_loses_only_the_legs() -> None:
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/call_active_001/stream", exotel("error_data_500"))
        .on("GET", f"{CALLS}/call_active_001", exotel("details_call_sid_family"))
    )

    call = await adapter(upstream).get_call("call_active_001")

    assert call == DOC_CALL_1.model_copy(
        update={
            "duration_s": 170,
            "recording": Recording(enabled=True, url=RECORDING_URL),
            "extras": {"missing": "legs: Exotel's stream endpoint failed (500)"},
        }
    )
    assert asked(upstream) == [f"{CALLS}/call_active_001", f"{CALLS}/call_active_001/stream"]


async def test_details_that_say_terminal_and_a_404_stream_make_the_call_not_live() -> None:
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/call_active_009/stream", exotel("error_response_error_404"))
        .on("GET", f"{CALLS}/call_active_009", exotel("details_terminal"))
    )

    with pytest.raises(CallNotFound) as caught:
        await adapter(upstream).get_call("call_active_009")

    assert caught.value.call_id == "call_active_009"
    assert asked(upstream) == [f"{CALLS}/call_active_009", f"{CALLS}/call_active_009/stream"]


async def test_without_a_call_details_endpoint_the_call_is_found_in_the_active_list_and_remembered() -> None:
    upstream = (
        Upstream()
        .on("GET", ACTIVE, exotel("active_version_a"))
        .on("GET", f"{CALLS}/call_active_002/stream", exotel("stream_404_ringing"))
        .on("GET", f"{CALLS}/call_active_002", exotel("error_response_error_404"))
    )
    provider = adapter(upstream)

    first = await provider.get_call("call_active_002")
    again = await provider.get_call("call_active_002")

    assert first == again == DOC_CALL_2.model_copy(update={"extras": {"missing": MISSING_404}})
    # Details answered 404 for a call the list shows: later lookups ask the list and the stream.
    assert asked(upstream) == [
        f"{CALLS}/call_active_002",
        f"{CALLS}/call_active_002/stream",
        f"{ACTIVE}?limit=100&offset=0",
        f"{ACTIVE}?limit=100&offset=0",
        f"{CALLS}/call_active_002/stream",
    ]


async def test_call_details_of_an_unknown_shape_fall_back_to_the_active_list() -> None:
    upstream = (
        Upstream()
        .on("GET", ACTIVE, exotel("active_version_b"))
        .on("GET", f"{CALLS}/call_active_001/stream", exotel("stream"))
        .on("GET", f"{CALLS}/call_active_001", exotel("details_unknown_shape"))
    )

    call = await adapter(upstream).get_call("call_active_001")

    assert call == DOC_CALL_1.model_copy(
        update={
            "direction": None,
            "agent": None,
            "duration_s": 180,
            "legs": DOC_LEGS,
            "recording": Recording(enabled=True, channels="dual", duration_s=175),
        }
    )
    assert asked(upstream) == [
        f"{CALLS}/call_active_001",
        f"{CALLS}/call_active_001/stream",
        f"{ACTIVE}?limit=100&offset=0",
    ]


async def test_a_call_no_source_shows_is_call_not_found() -> None:
    upstream = (
        Upstream()
        .on("GET", ACTIVE, exotel("active_version_a"))
        .on("GET", f"{CALLS}/call_gone/stream", exotel("error_response_error_404"))
        .on("GET", f"{CALLS}/call_gone", exotel("error_response_error_404"))
    )

    with pytest.raises(CallNotFound):
        await adapter(upstream).get_call("call_gone")

    assert asked(upstream) == [
        f"{CALLS}/call_gone",
        f"{CALLS}/call_gone/stream",
        f"{ACTIVE}?limit=100&offset=0",
    ]


# Errors ---------------------------------------------------------------------------------------------


async def test_a_404_on_the_list_from_the_default_host_sends_the_user_to_the_cluster_hosts() -> None:
    upstream = Upstream().on("GET", ACTIVE, exotel("error_response_error_404"))

    with pytest.raises(ProviderUnavailable) as caught:
        await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert caught.value.message == (
        "Exotel answered 404 for its live-calls endpoint: check EXOTEL_BASE_URL. Exotel's v3 API may "
        "live on your account's cluster: point EXOTEL_BASE_URL at host ccm-api.exotel.com (Singapore) "
        "or ccm-api.in.exotel.com (Mumbai); the credentials were not refused."
    )
    assert asked(upstream) == [f"{ACTIVE}?limit=20&offset=0"]


async def test_a_404_on_the_list_from_a_cluster_host_names_the_other_hosts() -> None:
    upstream = Upstream().on("GET", ACTIVE, exotel("error_response_error_404"))

    with pytest.raises(ProviderUnavailable) as caught:
        await adapter(upstream, "https://ccm-api.exotel.com").list_active(ListQuery(), 0, 20)

    assert "host api.exotel.com (the docs' example) or ccm-api.in.exotel.com (Mumbai)" in caught.value.message


async def test_a_rest_exception_429_is_rate_limited_with_its_retry_after() -> None:
    upstream = Upstream().on("GET", ACTIVE, exotel("rate_limited_rest_exception"))

    with pytest.raises(RateLimited) as caught:
        await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert (caught.value.retry_after, caught.value.status_code) == (30.0, 429)
    assert asked(upstream) == [f"{ACTIVE}?limit=20&offset=0"]  # 30 s is beyond the wait cap: not retried


async def test_an_error_inside_a_200_envelope_is_a_bad_response_with_exotels_message() -> None:
    upstream = Upstream().on("GET", ACTIVE, exotel("error_inside_200"))

    with pytest.raises(BadResponse) as caught:
        await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert caught.value.message == (
        "Exotel answered 200 with an error inside (http_code 429). "
        "Exotel says: Rate limit exceeded for account"
    )


async def test_an_error_data_400_is_a_refused_request_with_exotels_description() -> None:
    upstream = Upstream().on("GET", ACTIVE, exotel("error_data_400"))

    with pytest.raises(BadResponse) as caught:
        await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert caught.value.status_code == 400
    assert caught.value.message.endswith("Exotel says: Bad Request")


async def test_a_401_on_the_list_names_the_credential_variables() -> None:
    upstream = Upstream().on(
        "GET", ACTIVE, Answer(401, {"http_code": 401, "response": {"error": {"message": "Unauthorized"}}})
    )

    with pytest.raises(AuthError) as caught:
        await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert "EXOTEL_API_KEY" in caught.value.message
    assert "contract-token" not in caught.value.message


async def test_call_details_that_fail_with_5xx_fall_back_to_the_active_list() -> None:
    upstream = (
        Upstream()
        .on("GET", ACTIVE, exotel("active_version_a"))
        .on("GET", f"{CALLS}/call_active_001/stream", exotel("stream"))
        .on("GET", f"{CALLS}/call_active_001", exotel("error_data_500"))
    )
    provider = adapter(upstream)

    call = await provider.get_call("call_active_001")

    assert call == DOC_CALL_1.model_copy(
        update={
            "duration_s": 180,
            "legs": DOC_LEGS,
            "recording": Recording(enabled=True, channels="dual", duration_s=175),
        }
    )
    assert not provider.details_absent  # a 5xx says nothing about whether the endpoint exists
    assert asked(upstream) == [
        f"{CALLS}/call_active_001",
        f"{CALLS}/call_active_001/stream",
        f"{ACTIVE}?limit=100&offset=0",
    ]


async def test_stream_details_whose_stream_fails_with_5xx_answer_from_call_details_without_legs() -> None:
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/call_active_001/stream", exotel("error_data_500"))
        .on("GET", f"{CALLS}/call_active_001", exotel("details_sid_family"))
    )

    stream = await adapter(upstream).get_stream("call_active_001")

    assert stream == StreamDetails(
        provider=ProviderName("exotel"),
        call_id="call_active_001",
        status=CallStatus.IN_PROGRESS,
        provider_status="in-progress",
        duration_s=600,
        recording=Recording(enabled=True, url=RECORDING_URL),
        not_offered=[*NOT_OFFERED, "legs: Exotel's stream endpoint failed (500)"],
    )
    assert asked(upstream) == [f"{CALLS}/call_active_001/stream", f"{CALLS}/call_active_001"]


async def test_a_call_whose_details_and_list_fail_reports_that_failure_not_not_live() -> None:
    upstream = (
        Upstream()
        .on("GET", ACTIVE, exotel("error_data_500"))
        .on("GET", f"{CALLS}/call_active_001/stream", exotel("stream_404_ringing"))
        .on("GET", f"{CALLS}/call_active_001", exotel("error_data_500"))
    )

    with pytest.raises(ProviderUnavailable) as caught:
        await adapter(upstream).get_call("call_active_001")

    assert caught.value.status_code == 500
