"""Twilio against its documents: each documented answer, typed in a fixture, through the real adapter.

The fixtures (``fixtures/twilio/*.json``) stand for the call, call-list, conference and participant
bodies of twilio-oai's ``twilio_api_v2010.json`` and twilio-python's integration tests, and for
Twilio's error body; each says which in its ``source``. Every test pins the normalized result by
whole-object equality and the requests the adapter made.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from contract.harness import Answer, Upstream, fixture, load
from pydantic import SecretStr

from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import (
    CallLeg,
    CallStatus,
    Direction,
    LegStatus,
    LiveCall,
    ProviderName,
    StreamDetails,
)
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import (
    AuthError,
    BadResponse,
    CallNotFound,
    ConfigError,
    ProviderUnavailable,
    RateLimited,
)
from mcp_livecalls.providers.base import ProviderSlice
from mcp_livecalls.providers.twilio.adapter import TwilioProvider, TwilioSettings
from mcp_livecalls.service.calls import LiveCallsService
from mcp_livecalls.upstream.policy import HttpPolicy
from providers.kit import documented

pytestmark = pytest.mark.anyio

NOW = datetime(2024, 6, 15, 10, 40, tzinfo=UTC)
ACCOUNT = "AC5f1c0e2b9a8d7c6b5a4f3e2d1c0b9a8d"
TOKEN = "contract-auth-token-5d1e"
API_KEY = "SK0d1c2b3a495867f8e9d0c1b2a3948576"
API_SECRET = "contract-api-secret-77ab"
ROOT = f"/2010-04-01/Accounts/{ACCOUNT}"
CALLS = f"{ROOT}/Calls.json"
CONFERENCES = f"{ROOT}/Conferences.json"
CA1 = "CA1f0e2d3c4b5a69788796a5b4c3d2e1f0"
CA2 = "CA2a3b4c5d6e7f80918273645546372819"
CA3 = "CA3c4d5e6f708192a3b4c5d6e7f8091a2b"
CA4 = "CA4e5f60718293a4b5c6d7e8f90a1b2c3d"
CA5 = "CA5061728394a5b6c7d8e9f00112233445"
CF1 = "CF6a7b8c9d0e1f20314253647586970819"
CF2 = "CF7b8c9d0e1f2031425364758697a8b9c0"
NOT_OFFERED = ["agent", "recording state", "bridge", "transcript", "latency", "cost", "media streams"]


def twilio(name: str) -> Answer:
    return fixture("twilio", name)


def adapter(upstream: Upstream, *, api_key: bool = False) -> TwilioProvider:
    settings = TwilioSettings(
        account_sid=SecretStr(ACCOUNT),
        auth_token=None if api_key else SecretStr(TOKEN),
        api_key=SecretStr(API_KEY) if api_key else None,
        api_secret=SecretStr(API_SECRET) if api_key else None,
    )
    return documented(TwilioProvider, settings, upstream, NOW)


def asked(upstream: Upstream) -> list[str]:
    return [
        request.url.path + (f"?{request.url.query.decode()}" if request.url.query else "")
        for request in upstream.requests
    ]


def listed(page: ProviderSlice) -> list[str]:
    return [item.call.call_id for item in page.items]


def lists(upstream: Upstream, *, in_progress: str, ringing: str, queued: str) -> Upstream:
    return (
        upstream.on("GET", CALLS, twilio(in_progress), params={"Status": "in-progress"})
        .on("GET", CALLS, twilio(ringing), params={"Status": "ringing"})
        .on("GET", CALLS, twilio(queued), params={"Status": "queued"})
    )


def call_path(sid: str) -> str:
    return f"{ROOT}/Calls/{sid}.json"


# The documented calls, normalized -----------------------------------------------------------------

LIVE = LiveCall(
    provider=ProviderName("twilio"),
    call_id=CA1,
    status=CallStatus.IN_PROGRESS,
    provider_status="in-progress",
    direction=Direction.INBOUND,
    from_number="+14155550143",
    to_number="+14155550199",
    started_at=datetime(2024, 6, 15, 10, 38, 20, tzinfo=UTC),
    duration_s=100,
)
CHILD = LiveCall(
    provider=ProviderName("twilio"),
    call_id=CA2,
    status=CallStatus.IN_PROGRESS,
    provider_status="in-progress",
    direction=Direction.OUTBOUND,
    from_number="+14155550199",
    to_number="+442071838750",
    caller_name="ALICE SMITH",
    started_at=datetime(2024, 6, 15, 10, 39, tzinfo=UTC),
    duration_s=60,
    extras={
        "twilio_direction": "outbound-dial",
        "parent_call_sid": CA1,
        "answered_by": "human",
        "forwarded_from": "+14155550100",
        "queue_time_ms": 1000,
    },
)
RINGING = LiveCall(
    provider=ProviderName("twilio"),
    call_id=CA3,
    status=CallStatus.RINGING,
    provider_status="ringing",
    direction=Direction.OUTBOUND,
    from_number="client:kevin",
    to_number="sip:kevin@example.com",
    started_at=datetime(2024, 6, 15, 10, 39, 50, tzinfo=UTC),
    duration_s=10,
)
QUEUED = LiveCall(
    provider=ProviderName("twilio"),
    call_id=CA4,
    status=CallStatus.QUEUED,
    provider_status="queued",
    direction=Direction.OUTBOUND,
    from_number="+15017122661",
    to_number="+15558675310",
    started_at=datetime(2024, 6, 15, 10, 39, 55, tzinfo=UTC),
    duration_s=5,
    extras={"queue_time_ms": 1000},
)
OLDER = LiveCall(
    provider=ProviderName("twilio"),
    call_id=CA5,
    status=CallStatus.IN_PROGRESS,
    provider_status="in-progress",
    direction=Direction.INBOUND,
    from_number="+14155550111",
    to_number="+14155550199",
    started_at=datetime(2024, 6, 15, 10, 30, tzinfo=UTC),
    duration_s=600,
)


# One call ----------------------------------------------------------------------------------------


async def test_a_call_in_progress_reads_its_rfc2822_start_and_counts_its_duration_from_it() -> None:
    upstream = Upstream().on("GET", call_path(CA1), twilio("call_in_progress"))

    call = await adapter(upstream).get_call(CA1)

    assert call == LIVE
    assert asked(upstream) == [call_path(CA1)]


async def test_requests_carry_basic_auth_with_the_account_sid_and_auth_token() -> None:
    upstream = Upstream().on("GET", call_path(CA1), twilio("call_in_progress"))

    await adapter(upstream).get_call(CA1)

    expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert [request.headers["authorization"] for request in upstream.requests] == [f"Basic {expected}"]


async def test_an_api_key_authenticates_with_the_account_sid_still_in_the_path() -> None:
    upstream = Upstream().on("GET", call_path(CA1), twilio("call_in_progress"))

    assert await adapter(upstream, api_key=True).get_call(CA1) == LIVE

    expected = base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
    assert [request.headers["authorization"] for request in upstream.requests] == [f"Basic {expected}"]
    assert asked(upstream) == [call_path(CA1)]


async def test_a_child_leg_keeps_its_parent_answered_by_forwarded_from_and_queue_time_in_extras() -> None:
    upstream = Upstream().on("GET", call_path(CA2), twilio("call_child_leg"))

    assert await adapter(upstream).get_call(CA2) == CHILD


async def test_a_ringing_call_keeps_client_and_sip_identities_and_starts_at_its_creation() -> None:
    upstream = Upstream().on("GET", call_path(CA3), twilio("call_ringing_client"))

    assert await adapter(upstream).get_call(CA3) == RINGING


@pytest.mark.parametrize("status", ["completed", "busy", "failed", "no-answer", "canceled"])
async def test_a_call_that_ended_is_not_live(status: str) -> None:
    answer = twilio("call_completed")
    upstream = Upstream().on("GET", call_path(CA1), Answer(200, {**answer.body, "status": status}))

    with pytest.raises(CallNotFound, match=f"Twilio has no live call '{CA1}'"):
        await adapter(upstream).get_call(CA1)
    assert asked(upstream) == [call_path(CA1)]


async def test_a_404_in_twilios_error_shape_is_call_not_found() -> None:
    upstream = Upstream().on("GET", call_path(CA1), twilio("error_20404"))

    with pytest.raises(CallNotFound):
        await adapter(upstream).get_call(CA1)


async def test_an_id_that_is_not_a_call_sid_is_not_live_without_asking_twilio() -> None:
    upstream = Upstream()

    with pytest.raises(CallNotFound):
        await adapter(upstream).get_call("call_21948ce7bdafdb8565868d9b9348be98")
    assert upstream.requests == []


async def test_an_unsafe_id_is_refused_before_any_request() -> None:
    upstream = Upstream()

    with pytest.raises(Exception, match="call_id must be"):
        await adapter(upstream).get_call("CA1f0e2d3c4b5a69788796a5b4c3d2e1f0/../x")
    assert upstream.requests == []


# Errors ------------------------------------------------------------------------------------------


async def test_a_401_names_the_auth_token_variables_with_twilios_code() -> None:
    upstream = Upstream().on("GET", call_path(CA1), twilio("error_20003"))

    with pytest.raises(AuthError) as raised:
        await adapter(upstream).get_call(CA1)
    assert str(raised.value) == (
        "Twilio rejected the credentials (401): check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN."
    )


async def test_a_401_with_an_api_key_names_the_api_key_variables() -> None:
    upstream = Upstream().on("GET", call_path(CA1), twilio("error_20003"))

    with pytest.raises(AuthError, match="check TWILIO_API_KEY / TWILIO_API_SECRET / TWILIO_ACCOUNT_SID"):
        await adapter(upstream, api_key=True).get_call(CA1)


async def test_a_429_is_retried_after_its_retry_after_and_then_answers() -> None:
    answers = iter([twilio("error_20429"), twilio("call_in_progress")])
    upstream = Upstream().on("GET", call_path(CA1), lambda _request: next(answers))

    assert await adapter(upstream).get_call(CA1) == LIVE
    assert asked(upstream) == [call_path(CA1), call_path(CA1)]


async def test_a_429_with_a_retry_after_beyond_the_cap_goes_to_the_caller_with_the_wait() -> None:
    answer = twilio("error_20429")
    upstream = Upstream().on("GET", call_path(CA1), Answer(429, answer.body, {"Retry-After": "120"}))

    with pytest.raises(RateLimited) as raised:
        await adapter(upstream).get_call(CA1)
    assert raised.value.retry_after == 120.0
    assert asked(upstream) == [call_path(CA1)]


async def test_a_500_is_unavailable_with_twilios_message_and_code() -> None:
    upstream = Upstream().on("GET", call_path(CA1), twilio("error_20500"))

    with pytest.raises(ProviderUnavailable) as raised:
        await adapter(upstream).get_call(CA1)
    assert str(raised.value) == (
        "Twilio had an internal error (500); try again later. Twilio says: An internal server error has "
        "occurred (code 20500)"
    )
    assert asked(upstream) == [call_path(CA1)]  # a 500 is not retried


async def test_a_503_is_retried_then_reported_unavailable() -> None:
    upstream = Upstream().on("GET", call_path(CA1), twilio("error_503"))

    with pytest.raises(ProviderUnavailable, match=r"unavailable right now \(503\)"):
        await adapter(upstream).get_call(CA1)
    assert len(upstream.requests) == HttpPolicy().retry_attempts


async def test_twilios_error_body_inside_a_200_is_call_not_found_for_a_lookup() -> None:
    upstream = Upstream().on("GET", call_path(CA1), twilio("error_inside_200"))

    with pytest.raises(CallNotFound):
        await adapter(upstream).get_call(CA1)


async def test_twilios_error_body_inside_a_200_on_a_list_is_a_bad_response() -> None:
    upstream = Upstream().on("GET", CALLS, twilio("error_inside_200"))

    with pytest.raises(BadResponse, match="Twilio answered 200 with an error inside"):
        await adapter(upstream).list_active(ListQuery(), 0, 20)


async def test_a_credential_echoed_in_an_error_body_is_redacted() -> None:
    body = {"code": 20500, "message": f"token {TOKEN} for {API_KEY} refused", "status": 500}
    upstream = Upstream().on("GET", call_path(CA1), Answer(500, body))

    with pytest.raises(ProviderUnavailable) as raised:
        await adapter(upstream).get_call(CA1)
    assert TOKEN not in str(raised.value)
    assert "***" in str(raised.value)


# The live lists ----------------------------------------------------------------------------------


async def test_the_three_status_lists_are_asked_and_joined_in_progress_ringing_queued() -> None:
    upstream = Upstream().on(
        "GET", CALLS, twilio("list_in_progress_page1"), params={"Status": "in-progress", "Page": "1"}
    )
    lists(upstream, in_progress="list_in_progress_page0", ringing="list_ringing", queued="list_queued")

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert [item.call for item in page.items] == [LIVE, OLDER, RINGING, QUEUED]
    assert (page.exhausted, page.total, page.notes) == (True, 4, [])
    assert sorted(asked(upstream)) == sorted(
        [
            f"{CALLS}?Status=in-progress&PageSize=200",
            f"{CALLS}?Status=ringing&PageSize=200",
            f"{CALLS}?Status=queued&PageSize=200",
            f"{CALLS}?Status=in-progress&PageSize=200&Page=1&PageToken=PACA5f00aa11",
        ]
    )


async def test_offsets_page_through_the_joined_lists_each_call_exactly_once() -> None:
    upstream = Upstream().on(
        "GET", CALLS, twilio("list_in_progress_page1"), params={"Status": "in-progress", "Page": "1"}
    )
    lists(upstream, in_progress="list_in_progress_page0", ringing="list_ringing", queued="list_queued")
    provider = adapter(upstream)

    first = await provider.list_active(ListQuery(), 0, 3)
    second = await provider.list_active(ListQuery(), first.scanned_to, 3)

    assert (listed(first), first.exhausted, first.scanned_to) == ([CA1, CA5, CA3], False, 3)
    assert (listed(second), second.exhausted) == ([CA4], True)


async def test_a_call_that_moved_between_lists_is_listed_once_where_it_was_first_seen() -> None:
    # CA1 was ringing when the ringing list was read and in progress when the in-progress one was.
    whole = {**load("twilio", "list_in_progress_page0")["body"], "next_page_uri": None}
    upstream = Upstream().on("GET", CALLS, Answer(200, whole), params={"Status": "in-progress"})
    lists(upstream, in_progress="list_queued_empty", ringing="list_ringing_moved", queued="list_queued_empty")

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert [item.call for item in page.items] == [LIVE, RINGING]
    assert (page.total, page.notes) == (2, [])


async def test_an_empty_account_lists_nothing() -> None:
    upstream = lists(
        Upstream(), in_progress="list_queued_empty", ringing="list_queued_empty", queued="list_queued_empty"
    )

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert (page.items, page.exhausted, page.total) == ([], True, 0)


async def test_older_list_bodies_with_total_and_num_pages_are_read_the_same() -> None:
    upstream = lists(
        Upstream(), in_progress="list_queued_empty", ringing="list_queued_empty", queued="list_older_total"
    )

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert [item.call for item in page.items] == [QUEUED]


async def test_one_list_failing_leaves_the_others_calls_and_says_what_is_missing() -> None:
    upstream = Upstream().on("GET", CALLS, twilio("error_20500"), params={"Status": "ringing"})
    lists(upstream, in_progress="list_in_progress_page1", ringing="list_ringing", queued="list_queued")

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert listed(page) == [CA5, CA4]
    assert page.total is None
    assert page.notes == [
        "the ringing list could not be read, so ringing calls are missing: Twilio had an internal "
        "error (500); try again later. Twilio says: An internal server error has occurred (code 20500)"
    ]


async def test_every_list_failing_is_the_providers_failure() -> None:
    upstream = Upstream().on("GET", CALLS, twilio("error_20003"))

    with pytest.raises(AuthError):
        await adapter(upstream).list_active(ListQuery(), 0, 20)


async def test_a_later_page_failing_keeps_the_calls_already_read() -> None:
    upstream = Upstream().on(
        "GET", CALLS, twilio("error_20500"), params={"Status": "in-progress", "Page": "1"}
    )
    lists(
        upstream,
        in_progress="list_in_progress_page0",
        ringing="list_queued_empty",
        queued="list_queued_empty",
    )

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert listed(page) == [CA1]
    assert len(page.notes) == 1
    assert page.notes[0].startswith(
        "the in-progress list could be read only to its first 1 calls, so more in-progress calls "
        "may be missing"
    )


def _leaving_next_page() -> Upstream:
    """An in-progress list whose ``next_page_uri`` points off the account's ``Calls.json``."""
    document = load("twilio", "list_in_progress_page0")
    body = {
        **document["body"],
        "next_page_uri": "https://elsewhere.example/2010-04-01/Accounts/ACx/Calls.json?Page=1",
    }
    upstream = Upstream().on("GET", CALLS, Answer(200, body), params={"Status": "in-progress"})
    return lists(
        upstream, in_progress="list_queued_empty", ringing="list_queued_empty", queued="list_queued_empty"
    )


async def test_a_next_page_uri_that_leaves_the_accounts_calls_is_not_followed() -> None:
    upstream = _leaving_next_page()

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert listed(page) == [CA1]
    assert page.notes == [
        "the in-progress list's next_page_uri could not be followed (it leaves the account's "
        "Calls.json); more in-progress calls may exist"
    ]
    assert len(upstream.requests) == 3


async def test_the_service_names_the_provider_once_in_each_note() -> None:
    upstream = _leaving_next_page()
    service = LiveCallsService({ProviderName("twilio"): adapter(upstream)}, tool_budget_s=60.0)

    page = await service.list_active_calls(ListQuery())

    assert [call.call_id for call in page.calls] == [CA1]
    assert page.notes == [
        "twilio: the in-progress list's next_page_uri could not be followed (it leaves the account's "
        "Calls.json); more in-progress calls may exist"
    ]


async def test_a_next_page_uri_that_repeats_a_page_stops_the_paging() -> None:
    document = load("twilio", "list_in_progress_page0")
    body = {**document["body"], "next_page_uri": f"{CALLS}?Status=in-progress&PageSize=200"}
    upstream = Upstream().on("GET", CALLS, Answer(200, body), params={"Status": "in-progress"})
    lists(upstream, in_progress="list_queued_empty", ringing="list_queued_empty", queued="list_queued_empty")

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert listed(page) == [CA1]
    assert len(upstream.requests) == 3


async def test_an_unreadable_entry_is_left_out_with_a_note_and_the_rest_listed() -> None:
    upstream = lists(
        Upstream(),
        in_progress="list_queued_empty",
        ringing="list_queued_empty",
        queued="list_unreadable_entry",
    )

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert [item.call for item in page.items] == [QUEUED]
    assert page.notes == ["1 queued call left out: Twilio's entry could not be read"]


async def test_a_list_page_none_of_whose_entries_can_be_read_is_a_bad_response() -> None:
    document = load("twilio", "list_unreadable_entry")
    body = {**document["body"], "calls": document["body"]["calls"][:1]}
    upstream = Upstream().on("GET", CALLS, Answer(200, body))

    with pytest.raises(BadResponse, match="Twilio answered with data this server does not understand"):
        await adapter(upstream).list_active(ListQuery(), 0, 20)


async def test_filters_are_applied_here_since_twilio_has_none_of_them() -> None:
    upstream = Upstream().on(
        "GET", CALLS, twilio("list_in_progress_page1"), params={"Status": "in-progress", "Page": "1"}
    )
    lists(upstream, in_progress="list_in_progress_page0", ringing="list_ringing", queued="list_queued")

    page = await adapter(upstream).list_active(ListQuery(direction=Direction.OUTBOUND), 0, 20)

    assert listed(page) == [CA3, CA4]
    assert page.local_filters == ["direction"]
    assert all("Direction" not in request.url.params for request in upstream.requests)


async def test_a_status_filter_asks_only_that_status_list() -> None:
    upstream = lists(
        Upstream(), in_progress="list_in_progress_page1", ringing="list_ringing", queued="list_queued"
    )

    page = await adapter(upstream).list_active(ListQuery(status=CallStatus.RINGING), 0, 20)

    assert [item.call for item in page.items] == [RINGING]
    assert asked(upstream) == [f"{CALLS}?Status=ringing&PageSize=200"]


@pytest.mark.parametrize("query", [ListQuery(status=CallStatus.ON_HOLD), ListQuery(agent_id="agent_7")])
async def test_a_filter_no_twilio_call_can_pass_asks_nothing(query: ListQuery) -> None:
    upstream = Upstream()

    page = await adapter(upstream).list_active(query, 0, 20)

    assert (page.items, page.exhausted) == ([], True)
    assert upstream.requests == []


# Legs, from conferences --------------------------------------------------------------------------

LEGS = [
    CallLeg(
        leg_id=CA1,
        role="customer",
        status=LegStatus.CONNECTED,
        provider_status="connected",
        muted=False,
        on_hold=True,
    ),
    CallLeg(
        leg_id=CA2,
        role="agent",
        status=LegStatus.CONNECTED,
        provider_status="connected",
        muted=False,
        on_hold=False,
    ),
    CallLeg(
        leg_id=CA3,
        role="coach",
        status=LegStatus.CONNECTED,
        provider_status="connected",
        muted=True,
        on_hold=False,
    ),
]


def conferences(
    upstream: Upstream, first: str = "participants_other", second: str = "participants_customer_on_hold"
) -> Upstream:
    return (
        upstream.on("GET", CONFERENCES, twilio("conferences_in_progress"))
        .on("GET", f"{ROOT}/Conferences/{CF1}/Participants.json", twilio(second))
        .on("GET", f"{ROOT}/Conferences/{CF2}/Participants.json", twilio(first))
    )


async def test_the_stream_has_the_legs_of_the_conference_holding_the_call_and_its_hold() -> None:
    upstream = conferences(Upstream().on("GET", call_path(CA1), twilio("call_in_progress")))

    stream = await adapter(upstream).get_stream(CA1)

    assert stream == StreamDetails(
        provider=ProviderName("twilio"),
        call_id=CA1,
        status=CallStatus.ON_HOLD,
        provider_status="in-progress",
        duration_s=100,
        legs=LEGS,
        telephony_ids={"call_sid": CA1, "conference_sid": CF1},
        not_offered=NOT_OFFERED,
    )
    assert sorted(asked(upstream)) == sorted(
        [
            call_path(CA1),
            f"{CONFERENCES}?Status=in-progress&PageSize=20",
            f"{ROOT}/Conferences/{CF1}/Participants.json?PageSize=250",
            f"{ROOT}/Conferences/{CF2}/Participants.json?PageSize=250",
        ]
    )


async def test_the_agent_leg_of_the_same_conference_is_in_progress_not_on_hold() -> None:
    upstream = conferences(Upstream().on("GET", call_path(CA2), twilio("call_child_leg")))

    stream = await adapter(upstream).get_stream(CA2)

    assert (stream.status, stream.legs) == (CallStatus.IN_PROGRESS, LEGS)
    assert stream.telephony_ids == {"call_sid": CA2, "conference_sid": CF1, "parent_call_sid": CA1}


async def test_a_call_in_no_conference_answers_without_legs_and_says_so() -> None:
    upstream = conferences(
        Upstream().on("GET", call_path(CA1), twilio("call_in_progress")), second="participants_empty"
    )

    stream = await adapter(upstream).get_stream(CA1)

    assert (stream.status, stream.legs) == (CallStatus.IN_PROGRESS, [])
    assert stream.not_offered == [*NOT_OFFERED, "legs: the call is in no in-progress conference"]


MISSING_CONFERENCE = (
    "legs: the participants of 1 in-progress conference could not be read, so the call's conference may "
    "be missing"
)


@pytest.mark.parametrize(
    ("failing", "status", "legs", "missing"),
    [
        # Another conference failing loses nothing: the call's own conference was read.
        pytest.param(CF2, CallStatus.ON_HOLD, LEGS, [], id="another_conference"),
        # The call's own conference failing loses its legs only, and says so.
        pytest.param(CF1, CallStatus.IN_PROGRESS, [], [MISSING_CONFERENCE], id="its_conference"),
    ],
)
async def test_a_failed_participants_request_loses_only_that_conferences_part(
    failing: str, status: CallStatus, legs: list[CallLeg], missing: list[str]
) -> None:
    upstream = Upstream().on("GET", call_path(CA1), twilio("call_in_progress"))
    upstream.on("GET", f"{ROOT}/Conferences/{failing}/Participants.json", twilio("error_20500"))
    conferences(upstream)

    stream = await adapter(upstream).get_stream(CA1)

    assert (stream.call_id, stream.status, stream.legs) == (CA1, status, legs)
    assert stream.not_offered == [*NOT_OFFERED, *missing]


async def test_a_failed_conference_list_answers_the_call_without_legs() -> None:
    upstream = Upstream().on("GET", call_path(CA1), twilio("call_in_progress"))
    upstream.on("GET", CONFERENCES, twilio("error_20500"))

    stream = await adapter(upstream).get_stream(CA1)

    assert (stream.call_id, stream.status, stream.legs) == (CA1, CallStatus.IN_PROGRESS, [])
    assert stream.not_offered == [*NOT_OFFERED, "legs: Twilio's conference list failed (500)"]


async def test_the_stream_of_an_ended_call_is_not_live() -> None:
    upstream = conferences(Upstream().on("GET", call_path(CA1), twilio("call_completed")))

    with pytest.raises(CallNotFound):
        await adapter(upstream).get_stream(CA1)
    assert asked(upstream) == [call_path(CA1)]  # no conference is asked for a call that ended


async def test_more_conferences_than_are_searched_are_said_when_the_call_is_not_found() -> None:
    document = load("twilio", "conferences_in_progress")
    more = {**document["body"], "next_page_uri": f"{CONFERENCES}?Status=in-progress&PageSize=20&Page=1"}
    upstream = Upstream().on("GET", call_path(CA1), twilio("call_in_progress"))
    upstream.on("GET", CONFERENCES, Answer(200, more))
    conferences(upstream, second="participants_empty")

    stream = await adapter(upstream).get_stream(CA1)

    assert stream.legs == []
    assert stream.not_offered == [
        *NOT_OFFERED,
        "legs: the call is in none of the newest 20 in-progress conferences (more exist; they were not "
        "searched)",
    ]


# Settings ----------------------------------------------------------------------------------------


def test_the_account_sid_with_an_auth_token_enables_twilio() -> None:
    settings = Settings.from_env({"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN})

    twilio_settings = settings.provider(ProviderName("twilio"))
    assert twilio_settings == TwilioSettings(account_sid=SecretStr(ACCOUNT), auth_token=SecretStr(TOKEN))
    assert twilio_settings.base_url == "https://api.twilio.com"
    assert settings.redaction_pairs() == [(ACCOUNT, TOKEN)]


def test_the_account_sid_with_an_api_key_and_secret_enables_twilio() -> None:
    settings = Settings.from_env(
        {"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_API_KEY": API_KEY, "TWILIO_API_SECRET": API_SECRET}
    )

    configured = settings.provider(ProviderName("twilio"))
    assert configured is not None
    assert configured.basic_auth() == (API_KEY, API_SECRET)
    assert {ACCOUNT, API_KEY, API_SECRET} <= set(settings.secrets())
    assert settings.redaction_pairs() == [(API_KEY, API_SECRET)]


def test_with_both_credential_forms_the_api_key_is_used_and_both_are_redacted() -> None:
    settings = Settings.from_env(
        {
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_API_KEY": API_KEY,
            "TWILIO_API_SECRET": API_SECRET,
        }
    )

    configured = settings.provider(ProviderName("twilio"))
    assert configured is not None
    assert configured.basic_auth() == (API_KEY, API_SECRET)
    assert settings.redaction_pairs() == [(ACCOUNT, TOKEN), (API_KEY, API_SECRET)]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"TWILIO_ACCOUNT_SID": ACCOUNT},
            "TWILIO_AUTH_TOKEN or TWILIO_API_KEY and TWILIO_API_SECRET are not set, but "
            "TWILIO_ACCOUNT_SID is: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN or TWILIO_ACCOUNT_SID, "
            "TWILIO_API_KEY, TWILIO_API_SECRET to enable this provider, or none to disable it.",
        ),
        (
            {"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_API_KEY": API_KEY},
            "TWILIO_API_SECRET is not set, but TWILIO_ACCOUNT_SID, TWILIO_API_KEY are",
        ),
        (
            {"TWILIO_AUTH_TOKEN": TOKEN},
            "TWILIO_ACCOUNT_SID is not set, but TWILIO_AUTH_TOKEN is",
        ),
        (
            {"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_API_SECRET": API_SECRET},
            "TWILIO_API_KEY is not set, but TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_API_SECRET are",
        ),
    ],
)
def test_half_set_twilio_credentials_name_what_is_missing(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    assert str(raised.value).startswith(message)


async def test_a_next_page_that_repeats_the_calls_already_listed_ends_the_list_with_a_note() -> None:
    # A fresh next_page_uri (PageToken moves on) but the same calls: the page adds nothing.
    document = load("twilio", "list_in_progress_page0")
    tokens = iter(range(1000))

    def answer(_request: object) -> Answer:
        uri = f"{CALLS}?Status=in-progress&PageSize=200&Page=1&PageToken=PA{next(tokens)}"
        return Answer(200, {**document["body"], "next_page_uri": uri})

    upstream = Upstream().on("GET", CALLS, answer, params={"Status": "in-progress"})
    lists(upstream, in_progress="list_queued_empty", ringing="list_queued_empty", queued="list_queued_empty")

    page = await adapter(upstream).list_active(ListQuery(), 0, 20)

    assert listed(page) == [CA1]
    assert page.notes == [
        "a page of the in-progress list repeated calls already listed (it added nothing); paging "
        "stopped there, so more in-progress calls may exist"
    ]
    assert len(upstream.requests) == 4
