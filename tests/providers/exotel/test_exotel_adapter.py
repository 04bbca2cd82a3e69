"""Exotel: the documented payloads, every status word, the envelope, and the adapter over HTTP."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx2
import pytest
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
from mcp_livecalls.errors import AuthError, BadResponse, CallNotFound, InvalidArgument, ProviderUnavailable
from mcp_livecalls.providers.exotel.adapter import (
    ExotelProvider,
    ExotelSettings,
    exotel_call_from_stream,
    exotel_leg_status,
    exotel_status,
    normalize_exotel_active_call,
    normalize_exotel_active_page,
    normalize_exotel_call_details,
    normalize_exotel_stream,
)
from mcp_livecalls.providers.exotel.simulated import EXOTEL_FLAVOURS
from mcp_livecalls.simkit.examples import load_fixture
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator
from mcp_livecalls.upstream.policy import HttpPolicy
from mcp_livecalls.upstream.translate import envelope_failure, translate_errors
from providers.kit import adapter_on, calls_listed, client_on, flavour_sets, list_pages, read_all, simulated

NOW = datetime(2024, 6, 15, 10, 40, 0, tzinfo=UTC)
NOT_OFFERED = ["transcript", "latency", "cost", "media streams", "caller name"]

DOC_AGENT_LEG = CallLeg(
    leg_id="leg_agent_001",
    role="agent",
    contact="+911234567890",
    direction=Direction.OUTBOUND,
    status=LegStatus.CONNECTED,
    provider_status="connected",
    network="pstn",
    muted=False,
    on_hold=False,
)
DOC_CUSTOMER_LEG = DOC_AGENT_LEG.model_copy(
    update={"leg_id": "leg_customer_001", "role": "customer", "contact": "+919876543210"}
)


def _stream_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = load_fixture("exotel_stream")
    payload["response"]["stream"].update(changes)
    return payload


def _leg(sid: str, direction: str = "outbound", *, hold: bool = False, status: str = "connected") -> Any:
    return {
        "leg_sid": sid,
        "contact_uri": f"sip:{sid}@example.test",
        "direction": direction,
        "status": status,
        "network_type": "pstn",
        "audio_status": {"muted": False, "hold": hold},
    }


# -- the active list -------------------------------------------------------------------------------


def test_the_documented_active_list_normalizes_both_calls_and_its_total() -> None:
    calls, total = normalize_exotel_active_page(load_fixture("exotel_active"), now=NOW)

    assert total == 2
    assert calls == [
        LiveCall(
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
        ),
        LiveCall(
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
        ),
    ]


def test_an_item_of_the_older_doc_version_without_direction_or_agent_still_normalizes() -> None:
    item = {
        "call_sid": "call_old_001",
        "status": "in-progress",
        "from": "+911234567890",
        "to": "+919876543210",
        "start_time": "2024-06-15T10:30:00Z",
    }

    call = normalize_exotel_active_call(item, now=NOW)

    assert call == LiveCall(
        provider=ProviderName("exotel"),
        call_id="call_old_001",
        status=CallStatus.IN_PROGRESS,
        provider_status="in-progress",
        from_number="+911234567890",
        to_number="+919876543210",
        started_at=datetime(2024, 6, 15, 10, 30, tzinfo=UTC),
        duration_s=600,  # no duration given: counted from start_time to now
    )


@pytest.mark.parametrize(
    ("raw", "direction", "extras"),
    [
        ("outbound-api", Direction.OUTBOUND, {}),
        ("outbound-dial", Direction.OUTBOUND, {"exotel_direction": "outbound-dial"}),
        ("outbound", Direction.OUTBOUND, {}),
        ("inbound", Direction.INBOUND, {}),
        ("Inbound", Direction.INBOUND, {}),
        (None, None, {}),
        ("", None, {}),
        ("sideways", None, {"exotel_direction": "sideways"}),
    ],
)
def test_every_direction_word_maps_and_only_telling_ones_are_kept_raw(
    raw: str | None, direction: Direction | None, extras: dict[str, str]
) -> None:
    call = normalize_exotel_active_call({"call_sid": "c1", "direction": raw, "duration": 5}, now=NOW)

    assert (call.direction, call.extras) == (direction, extras)


@pytest.mark.parametrize(
    ("details", "agent"),
    [
        (None, None),
        ({}, None),
        ({"user_id": "u1"}, Agent(id="u1")),
        (
            {"user_id": "u1", "name": "Asha", "status": "on-call"},
            Agent(id="u1", name="Asha", status="on-call"),
        ),
    ],
)
def test_agent_details_become_the_agent_only_when_they_say_something(
    details: dict[str, str] | None, agent: Agent | None
) -> None:
    call = normalize_exotel_active_call({"call_sid": "c1", "agent_details": details}, now=NOW)

    assert call.agent == agent


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ringing", CallStatus.RINGING),
        ("in-progress", CallStatus.IN_PROGRESS),
        ("In_Progress", CallStatus.IN_PROGRESS),
        ("queued", CallStatus.QUEUED),
        ("completed", CallStatus.ENDED),
        ("failed", CallStatus.FAILED),
        ("busy", CallStatus.FAILED),
        ("no-answer", CallStatus.FAILED),
        ("canceled", CallStatus.FAILED),
        ("teleported", CallStatus.UNKNOWN),
        ("", CallStatus.UNKNOWN),
        (None, CallStatus.UNKNOWN),
    ],
)
def test_every_exotel_status_word_maps_to_the_common_vocabulary(
    raw: str | None, expected: CallStatus
) -> None:
    assert exotel_status(raw) is expected


def test_an_unknown_status_keeps_the_raw_word_instead_of_failing() -> None:
    call = normalize_exotel_active_call({"call_sid": "c1", "status": "warp-speed"}, now=NOW)

    assert (call.status, call.provider_status) == (CallStatus.UNKNOWN, "warp-speed")


def test_an_empty_or_countless_active_list_is_no_calls() -> None:
    payload = {"http_code": 200, "response": {"active_calls": None}}

    assert normalize_exotel_active_page(payload, now=NOW) == ([], None)


# -- the stream ------------------------------------------------------------------------------------


def test_the_documented_stream_normalizes_legs_bridge_and_recording() -> None:
    details = normalize_exotel_stream(load_fixture("exotel_stream"), call_id="call_active_001")

    assert details == StreamDetails(
        provider=ProviderName("exotel"),
        call_id="call_active_001",
        status=CallStatus.IN_PROGRESS,
        provider_status="in-progress",
        duration_s=180,
        legs=[DOC_AGENT_LEG, DOC_CUSTOMER_LEG],
        bridge=Bridge(
            bridge_id="bridge_001", status="active", created_at=datetime(2024, 6, 15, 10, 30, 5, tzinfo=UTC)
        ),
        recording=Recording(enabled=True, channels="dual", duration_s=175),
        not_offered=NOT_OFFERED,
    )


def test_the_documented_stream_reduces_to_a_live_call_with_the_customers_number() -> None:
    details = normalize_exotel_stream(load_fixture("exotel_stream"), call_id="call_active_001")

    assert exotel_call_from_stream(details) == LiveCall(
        provider=ProviderName("exotel"),
        call_id="call_active_001",
        status=CallStatus.IN_PROGRESS,
        provider_status="in-progress",
        to_number="+919876543210",  # the customer's leg was dialled out: it is the callee
        duration_s=180,
        legs=[DOC_AGENT_LEG, DOC_CUSTOMER_LEG],
        recording=Recording(enabled=True, channels="dual", duration_s=175),
    )


def test_a_held_leg_of_a_call_in_progress_puts_the_call_on_hold() -> None:
    payload = _stream_payload()
    payload["response"]["stream"]["legs"][1]["audio_status"]["hold"] = True

    details = normalize_exotel_stream(payload, call_id="call_active_001")

    assert (details.status, details.provider_status) == (CallStatus.ON_HOLD, "in-progress")
    assert [leg.on_hold for leg in details.legs] == [False, True]
    assert exotel_call_from_stream(details).status is CallStatus.ON_HOLD


def test_a_held_leg_does_not_change_a_call_that_is_not_in_progress() -> None:
    payload = _stream_payload(status="ringing")
    payload["response"]["stream"]["legs"][0]["audio_status"]["hold"] = True

    assert normalize_exotel_stream(payload, call_id="call_active_001").status is CallStatus.RINGING


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("connected", LegStatus.CONNECTED),
        ("ringing", LegStatus.CONNECTING),
        ("initiated", LegStatus.CONNECTING),
        ("dialing", LegStatus.CONNECTING),
        ("disconnected", LegStatus.DISCONNECTED),
        ("completed", LegStatus.DISCONNECTED),
        ("failed", LegStatus.DISCONNECTED),
        ("busy", LegStatus.DISCONNECTED),
        ("no-answer", LegStatus.DISCONNECTED),
        ("Connected", LegStatus.CONNECTED),
        ("bridging", LegStatus.UNKNOWN),
        (None, LegStatus.UNKNOWN),
    ],
)
def test_every_leg_status_word_maps_to_the_common_vocabulary(raw: str | None, expected: LegStatus) -> None:
    assert exotel_leg_status(raw) is expected


def test_an_unknown_leg_status_keeps_the_raw_word() -> None:
    payload = _stream_payload(legs=[_leg("leg_x", status="bridging")])

    (leg,) = normalize_exotel_stream(payload, call_id="c1").legs

    assert (leg.status, leg.provider_status) == (LegStatus.UNKNOWN, "bridging")


def test_a_bare_stream_without_legs_bridge_or_recording_normalizes() -> None:
    payload = {"http_code": 200, "response": {"stream": {"status": "ringing"}}}

    assert normalize_exotel_stream(payload, call_id="CAabc") == StreamDetails(
        provider=ProviderName("exotel"),
        call_id="CAabc",
        status=CallStatus.RINGING,
        provider_status="ringing",
        not_offered=NOT_OFFERED,
    )


@pytest.mark.parametrize(
    ("legs", "roles"),
    [
        # Named by their sids, in any order.
        ([_leg("leg_customer_9"), _leg("leg_agent_9")], ["customer", "agent"]),
        # One named: the other of two is the other role.
        ([_leg("leg_7f3a"), _leg("leg_customer_7")], ["agent", "customer"]),
        # Unnamed, one came in: that one is the customer (Exotel dials its agents).
        ([_leg("leg_1", "outbound"), _leg("leg_2", "inbound")], ["agent", "customer"]),
        # Unnamed, both dialled out: the docs' order, agent first.
        ([_leg("leg_1"), _leg("leg_2")], ["agent", "customer"]),
        # Unnamed and no telling shape: left unnamed.
        ([_leg("leg_1", "inbound"), _leg("leg_2", "inbound")], [None, None]),
        ([_leg("leg_1")], [None]),
        ([_leg("leg_1"), _leg("leg_2"), _leg("leg_3")], [None, None, None]),
    ],
)
def test_leg_roles_come_from_sids_then_directions_then_the_documented_order(
    legs: list[Any], roles: list[str | None]
) -> None:
    details = normalize_exotel_stream(_stream_payload(legs=legs), call_id="c1")

    assert [leg.role for leg in details.legs] == roles


def test_an_inbound_call_from_a_stream_has_the_callers_number_as_from() -> None:
    customer = _leg("leg_2", "inbound")
    payload = _stream_payload(legs=[_leg("leg_1", "outbound"), customer])

    call = exotel_call_from_stream(normalize_exotel_stream(payload, call_id="c1"))

    assert (call.from_number, call.to_number, call.direction) == (customer["contact_uri"], None, None)


def test_a_stream_whose_customer_cannot_be_told_gives_no_numbers() -> None:
    payload = _stream_payload(legs=[_leg("leg_1")])

    call = exotel_call_from_stream(normalize_exotel_stream(payload, call_id="c1"))

    assert (call.from_number, call.to_number) == (None, None)


# -- garbage and the envelope ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "x",
        {"response": {"active_calls": "nope"}},
        {"response": {"active_calls": [{"status": "ringing"}]}},  # no call_sid
        {"response": {"active_calls": [{"call_sid": ""}]}},
        {"response": {"active_calls": [{"call_sid": "c1", "duration": "long"}]}},
        {"response": {"active_calls": [{"call_sid": "c1", "start_time": "yesterday"}]}},
        {"response": {"active_calls": [], "total_active": "many"}},
        {"response": {"active_calls": [{"call_sid": "c1", "agent_details": "John"}]}},
    ],
)
def test_a_garbage_active_list_is_a_bad_response(payload: object) -> None:
    with pytest.raises(BadResponse, match="Exotel answered"), translate_errors("exotel"):
        normalize_exotel_active_page(payload, now=NOW)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {"response": {}},
        {"response": {"stream": []}},
        {"response": {"stream": {"legs": "two"}}},
        {"response": {"stream": {"legs": [{"audio_status": "loud"}]}}},
        {"response": {"stream": {"bridge": {"created_at": "soon"}}}},
    ],
)
def test_a_garbage_stream_is_a_bad_response(payload: object) -> None:
    with pytest.raises(BadResponse, match="Exotel answered"), translate_errors("exotel"):
        normalize_exotel_stream(payload, call_id="c1")


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {"response": {}},
        {"response": {"call_details": []}},
        {"response": {"call_details": {}}},  # says neither which call nor its state
        {"response": {"call_details": {"sid": "c1", "start_time": "soon"}}},
        {"response": {"call_details": {"call_sid": "c1", "duration": "long"}}},
        {"response": {"call_details": {"sid": "c1", "customer_details": "+9199"}}},
        {"response": {"call_details": {"sid": "c1", "assigned_agent_details": ["u1"]}}},
        {"response": {"call_details": {"call_sid": "c1", "recording": "yes"}}},
    ],
)
def test_garbage_call_details_are_a_bad_response(payload: object) -> None:
    with pytest.raises(BadResponse, match="Exotel"), translate_errors("exotel"):
        normalize_exotel_call_details(payload, call_id="c1", now=NOW)


@pytest.mark.parametrize(
    ("details", "status", "word"),
    [
        ({"state": "terminal", "status": "in-progress"}, CallStatus.ENDED, "terminal"),
        ({"call_state": "active", "call_status": "ringing"}, CallStatus.RINGING, "ringing"),
        ({"call_state": "active"}, CallStatus.IN_PROGRESS, "active"),
        ({"status": "completed"}, CallStatus.ENDED, "completed"),
        ({"call_status": "warm-transfer"}, CallStatus.UNKNOWN, "warm-transfer"),
    ],
)
def test_call_details_state_and_status_in_either_spelling_give_the_status_an_ended_state_winning(
    details: dict[str, str], status: CallStatus, word: str
) -> None:
    payload = {"http_code": 200, "response": {"call_details": {"sid": "c1", **details}}}

    call = normalize_exotel_call_details(payload, call_id="c1", now=NOW)

    assert (call.status, call.provider_status) == (status, word)


def test_a_customer_number_without_a_direction_is_kept_aside_not_guessed_into_from_or_to() -> None:
    payload = {"response": {"call_details": {"sid": "c1", "customer_details": {"number": "+919800000001"}}}}

    call = normalize_exotel_call_details(payload, call_id="c1", now=NOW)

    assert (call.from_number, call.to_number, call.extras) == (
        None,
        None,
        {"customer_number": "+919800000001"},
    )


def test_an_envelope_without_response_is_a_bad_response_that_says_so() -> None:
    with pytest.raises(BadResponse, match="without the 'response' object"):
        normalize_exotel_active_page({"request_id": "r", "http_code": 200}, now=NOW)


@pytest.mark.parametrize("code", [400, "500", 429])
def test_an_error_inside_a_200_envelope_is_a_bad_response_with_exotels_message(code: int | str) -> None:
    payload = {
        "http_code": code,
        "response": {"error_data": {"code": 1, "message": "Invalid   account\nsid sid123"}},
    }

    reported = ExotelProvider.envelope_error(payload)
    assert reported is not None
    failure = envelope_failure("exotel", reported, redact=lambda text: text.replace("sid123", "***"))

    assert isinstance(failure, BadResponse)
    assert re.search(r"http_code \d+\)\. Exotel says: Invalid account sid \*\*\*$", failure.message)
    with pytest.raises(BadResponse, match=r"http_code \d+\)\. Exotel says: Invalid account sid sid123"):
        normalize_exotel_active_page(payload, now=NOW)  # on its own: refused the same way, unredacted


def test_a_404_inside_the_envelope_of_a_call_lookup_is_call_not_found() -> None:
    payload = {"http_code": 404, "response": {"error": {"message": "not found"}}}

    with pytest.raises(CallNotFound) as caught:
        normalize_exotel_stream(payload, call_id="c1")

    assert caught.value.call_id == "c1"


# -- the adapter over a mock transport -------------------------------------------------------------

SID = "acct/one"
KEY = "exotel-key-123"
TOKEN = "exotel-token-456"


def _provider(handler: Callable[[httpx2.Request], httpx2.Response]) -> ExotelProvider:
    settings = ExotelSettings(
        account_sid=SecretStr(SID),
        api_key=SecretStr(KEY),
        api_token=SecretStr(TOKEN),
        base_url="https://exotel.test/",
    )
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return ExotelProvider.create(settings, client, HttpPolicy(retry_attempts=1), lambda: NOW)


def _active(calls: list[dict[str, Any]], total: int | None) -> httpx2.Response:
    response: dict[str, Any] = {"active_calls": calls}
    if total is not None:
        response["total_active"] = total
    return httpx2.Response(
        200, json={"request_id": "r", "method": "GET", "http_code": 200, "response": response}
    )


def _item(n: int, **changes: Any) -> dict[str, Any]:
    return {
        "call_sid": f"call_{n:03d}",
        "status": "in-progress",
        "direction": "inbound",
        "duration": n,
        **changes,
    }


class _Upstream:
    """A fake Exotel list of ``items`` paged by offset/limit, capping pages at ``cap``."""

    def __init__(self, items: list[dict[str, Any]], *, cap: int = 1000, total: bool = True) -> None:
        self.items = items
        self.cap = cap
        self.total = total
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        offset = int(request.url.params["offset"])
        limit = min(int(request.url.params["limit"]), self.cap)
        return _active(self.items[offset : offset + limit], len(self.items) if self.total else None)


@pytest.mark.anyio
async def test_listing_sends_basic_auth_the_quoted_sid_and_the_upstream_filters() -> None:
    upstream = _Upstream([_item(1, direction="outbound-api", agent_details={"user_id": "u1"})])
    provider = _provider(upstream)

    page = await provider.list_active(ListQuery(direction=Direction.OUTBOUND, agent_id="u1"), 0, 20)

    (request,) = upstream.requests
    assert request.url.raw_path.partition(b"?")[0] == b"/v3/accounts/acct%2Fone/calls/active"
    assert dict(request.url.params) == {
        "limit": "20",
        "offset": "0",
        "agent_id": "u1",
        "direction": "outbound",
    }
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"{KEY}:{TOKEN}".encode()).decode()
    assert [item.call.call_id for item in page.items] == ["call_001"]
    assert (page.exhausted, page.total, page.local_filters) == (True, 1, [])


@pytest.mark.anyio
async def test_listing_pages_by_offset_until_the_total_and_caps_each_request_at_100() -> None:
    upstream = _Upstream([_item(n) for n in range(250)], cap=40)
    provider = _provider(upstream)
    seen: list[str] = []
    offset = 0
    for _ in range(20):
        page = await provider.list_active(ListQuery(), offset, 150)
        seen.extend(item.call.call_id for item in page.items)
        offset = page.scanned_to
        if page.exhausted:
            break

    assert seen == [f"call_{n:03d}" for n in range(250)]
    assert max(int(r.url.params["limit"]) for r in upstream.requests) == 100
    # Exotel's own cap of 40 answered short pages: the total, not the short page, said when to stop.
    assert page.exhausted


@pytest.mark.anyio
async def test_without_a_total_a_short_page_ends_the_list() -> None:
    upstream = _Upstream([_item(n) for n in range(5)], total=False)
    provider = _provider(upstream)

    first = await provider.list_active(ListQuery(), 0, 3)
    second = await provider.list_active(ListQuery(), first.scanned_to, 3)

    assert ([i.call.call_id for i in first.items], first.exhausted) == (
        ["call_000", "call_001", "call_002"],
        False,
    )
    assert ([i.call.call_id for i in second.items], second.exhausted) == (["call_003", "call_004"], True)
    assert second.total is None


@pytest.mark.anyio
async def test_status_is_filtered_locally_keeping_upstream_offsets() -> None:
    items = [_item(n, status="ringing" if n % 3 == 0 else "in-progress") for n in range(10)]
    provider = _provider(_Upstream(items))

    page = await provider.list_active(ListQuery(status=CallStatus.RINGING), 0, 2)

    assert [(i.call.call_id, i.next_offset) for i in page.items] == [("call_000", 1), ("call_003", 4)]
    assert (page.local_filters, page.total, page.exhausted) == (["status"], None, False)


@pytest.mark.anyio
async def test_calls_that_contradict_an_ignored_upstream_filter_are_dropped_but_unknowns_kept() -> None:
    items = [
        _item(0, direction="inbound"),
        _item(1, direction="outbound-api", agent_details={"user_id": "u1"}),
        _item(2, direction=None),
        _item(3, direction="outbound-dial", agent_details={"user_id": "u2"}),
    ]
    provider = _provider(_Upstream(items))

    page = await provider.list_active(ListQuery(direction=Direction.OUTBOUND, agent_id="u1"), 0, 10)

    assert [(i.call.call_id, i.next_offset) for i in page.items] == [("call_001", 2), ("call_002", 3)]


def _details_answer(**fields: Any) -> httpx2.Response:
    body = {"call_sid": "call_active_001", "status": "in-progress", "direction": "outbound-api", **fields}
    return httpx2.Response(
        200, json={"request_id": "r", "method": "GET", "http_code": 200, "response": {"call_details": body}}
    )


@pytest.mark.anyio
async def test_get_stream_asks_the_stream_alone_and_get_call_asks_details_and_stream_together() -> None:
    requests: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        if request.url.path.endswith("/stream"):
            return httpx2.Response(200, json=load_fixture("exotel_stream"))
        return _details_answer(**{"from": "+911234567890", "to": "+919876543210"})

    provider = _provider(handler)

    details = await provider.get_stream("call_active_001")
    call = await provider.get_call("call_active_001")

    base = b"/v3/accounts/acct%2Fone/calls/call_active_001"
    assert [r.url.raw_path for r in requests] == [base + b"/stream", base, base + b"/stream"]
    assert call == exotel_call_from_stream(details).model_copy(
        update={"direction": Direction.OUTBOUND, "from_number": "+911234567890"}
    )
    assert details.bridge is not None


@pytest.mark.anyio
async def test_an_unsafe_call_id_is_refused_before_any_request() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError("no request expected")

    provider = _provider(handler)

    for call_id in ("../active", "a/b", "x" * 65, ""):
        with pytest.raises(InvalidArgument):
            await provider.get_call(call_id)


@pytest.mark.anyio
async def test_a_call_that_the_stream_details_and_the_list_all_deny_is_call_not_found() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/active"):
            return _active([_item(1)], 1)
        return httpx2.Response(404, json={"http_code": 404})

    provider = _provider(handler)

    with pytest.raises(CallNotFound, match="call_gone"):
        await provider.get_stream("call_gone")
    with pytest.raises(CallNotFound, match="call_gone"):
        await provider.get_call("call_gone")


@pytest.mark.anyio
async def test_a_host_that_answers_404_everywhere_is_sent_to_the_cluster_hosts_not_the_credentials() -> None:
    provider = _provider(lambda request: httpx2.Response(404, json={"http_code": 404}))

    for lookup in (provider.get_call, provider.get_stream):
        with pytest.raises(ProviderUnavailable) as caught:
            await lookup("call_x")
        message = caught.value.message
        assert "EXOTEL_BASE_URL" in message
        assert "ccm-api.exotel.com (Singapore)" in message
        assert "ccm-api.in.exotel.com (Mumbai)" in message
        assert "credentials were not refused" in message


@pytest.mark.anyio
async def test_an_error_envelope_in_a_200_is_redacted_and_a_bad_response() -> None:
    body = {"http_code": 401, "response": {"error_data": {"message": f"key {KEY} is not valid for {SID}"}}}
    provider = _provider(lambda request: httpx2.Response(200, content=json.dumps(body).encode()))

    with pytest.raises(BadResponse) as caught:
        await provider.list_active(ListQuery(), 0, 10)

    assert KEY not in caught.value.message
    assert SID not in caught.value.message
    assert "http_code 401" in caught.value.message


# -- the adapter against the simulator -------------------------------------------------------------


async def _list_all(provider: ExotelProvider, query: ListQuery, limit: int) -> list[LiveCall]:
    return [item.call for item in (await read_all(provider, query, limit)).items]


@pytest.fixture
def busy_simulator() -> Simulator:
    return simulated("exotel", live_calls=45)


@pytest.mark.anyio
async def test_paging_the_simulator_by_offsets_lists_every_live_call_exactly_once(
    busy_simulator: Simulator,
) -> None:
    expected = sorted(call.id for call in busy_simulator.population.live("exotel"))
    async with adapter_on(busy_simulator, ExotelProvider) as provider:
        calls = await _list_all(provider, ListQuery(), 7)

    assert len(expected) > 7 * 3
    assert sorted(call.call_id for call in calls) == expected
    assert all(call.status in (CallStatus.RINGING, CallStatus.IN_PROGRESS) for call in calls)
    assert all(call.direction is not None and call.started_at is not None for call in calls)
    assert busy_simulator.requests[("exotel", "list_calls")] == -(-len(expected) // 7)


@pytest.mark.anyio
async def test_direction_is_filtered_upstream_and_status_locally_against_the_simulator(
    busy_simulator: Simulator,
) -> None:
    async with adapter_on(busy_simulator, ExotelProvider) as provider:
        everything = await _list_all(provider, ListQuery(), 100)
        outbound = await _list_all(provider, ListQuery(direction=Direction.OUTBOUND), 5)
        ringing = await _list_all(provider, ListQuery(status=CallStatus.RINGING), 5)

    assert {c.call_id for c in outbound} == {
        c.call_id for c in everything if c.direction is Direction.OUTBOUND
    }
    assert {c.call_id for c in ringing} == {c.call_id for c in everything if c.status is CallStatus.RINGING}
    assert outbound
    assert ringing
    assert len(outbound) < len(everything)
    assert len(ringing) < len(everything)


@pytest.mark.anyio
async def test_get_stream_and_get_call_on_a_listed_call_agree_with_the_list(
    busy_simulator: Simulator,
) -> None:
    async with adapter_on(busy_simulator, ExotelProvider) as provider:
        page = await provider.list_active(ListQuery(status=CallStatus.IN_PROGRESS), 0, 100)
        listed = {item.call.call_id: item.call for item in page.items}
        answers = {call_id: await provider.get_call(call_id) for call_id in listed}
        details = {call_id: await provider.get_stream(call_id) for call_id in listed}

    held = {call.id for call in busy_simulator.population.live("exotel") if call.holds}
    assert listed
    for call_id, listed_call in listed.items():
        call, stream = answers[call_id], details[call_id]
        assert [leg.role for leg in call.legs] == ["agent", "customer"]
        assert call.legs == stream.legs
        assert stream.bridge is not None
        assert call.status in (CallStatus.IN_PROGRESS, CallStatus.ON_HOLD)
        assert (call.status is CallStatus.ON_HOLD) == any(leg.on_hold for leg in call.legs)
        if call.status is CallStatus.ON_HOLD:
            assert call_id in held
        # Call details give what the list gives; the stream adds legs, hold and the recording.
        assert (call.from_number, call.to_number) == (listed_call.from_number, listed_call.to_number)
        assert (call.direction, call.agent, call.started_at) == (
            listed_call.direction,
            listed_call.agent,
            listed_call.started_at,
        )
        assert call.recording is not None
        assert stream.recording is not None
        assert call.recording.model_copy(update={"url": None}) == stream.recording  # details add the url


@pytest.mark.anyio
async def test_a_call_on_hold_in_the_simulator_is_on_hold_by_lookup_but_in_progress_in_the_list(
    busy_simulator: Simulator,
) -> None:
    now = busy_simulator.clock.now()
    on_hold = [c.id for c in busy_simulator.population.live("exotel") if c.state_at(now) == "on_hold"]
    async with adapter_on(busy_simulator, ExotelProvider) as provider:
        listed = {c.call_id: c for c in await _list_all(provider, ListQuery(), 100)}
        looked_up = [await provider.get_call(call_id) for call_id in on_hold]

    assert on_hold
    assert all(call.status is CallStatus.ON_HOLD for call in looked_up)
    assert all(listed[call_id].status is CallStatus.IN_PROGRESS for call_id in on_hold)


@pytest.mark.anyio
async def test_the_documented_examples_served_over_http_normalize_as_offline() -> None:
    simulator = Simulator(seed=7, fixtures=True)
    async with adapter_on(simulator, ExotelProvider) as provider:
        page = await provider.list_active(ListQuery(), 0, 20)
        details = await provider.get_stream("call_active_001")

    expected_calls, _ = normalize_exotel_active_page(load_fixture("exotel_active"), now=simulator.clock.now())
    assert [item.call for item in page.items] == expected_calls
    assert (page.exhausted, page.total) == (True, 2)
    assert details == normalize_exotel_stream(load_fixture("exotel_stream"), call_id="call_active_001")


@pytest.mark.anyio
async def test_a_call_the_simulator_does_not_know_is_call_not_found(simulator: Simulator) -> None:
    async with adapter_on(simulator, ExotelProvider) as provider:
        with pytest.raises(CallNotFound, match="call_nosuchcall"):
            await provider.get_call("call_nosuchcall")
        with pytest.raises(CallNotFound):
            await provider.get_stream("call_nosuchcall")


@pytest.mark.anyio
async def test_a_wrong_token_is_an_auth_error_naming_the_variables_without_the_token(
    simulator: Simulator,
) -> None:
    wrong = "wrong-exotel-token-789"
    async with adapter_on(
        simulator, ExotelProvider, DEMO_CREDENTIALS.replace(exotel_api_token=wrong)
    ) as provider:
        with pytest.raises(AuthError) as caught:
            await provider.list_active(ListQuery(), 0, 10)

    message = str(caught.value)
    assert "EXOTEL_API_KEY" in message
    assert "EXOTEL_API_TOKEN" in message
    assert wrong not in message
    assert DEMO_CREDENTIALS.exotel_api_key not in message


# -- truth of state in every flavour ---------------------------------------------------------------

FLAVOUR_SETS = flavour_sets(EXOTEL_FLAVOURS, every=True)


def _flavoured(flavours: tuple[str, ...]) -> Simulator:
    return simulated("exotel", live_calls=20, flavours=flavours)


@pytest.mark.anyio
@pytest.mark.parametrize("flavours", FLAVOUR_SETS)
async def test_in_every_flavour_every_live_call_is_listed_once_and_every_listed_call_can_be_looked_up(
    flavours: tuple[str, ...],
) -> None:
    simulator = _flavoured(flavours)
    clock = simulator.clock
    assert isinstance(clock, ManualClock)
    expected = sorted(call.id for call in simulator.population.live("exotel"))
    async with adapter_on(simulator, ExotelProvider) as provider:
        calls = await _list_all(provider, ListQuery(), 4)
        pages = simulator.requests[("exotel", "list_calls")]
        looked_up = {call.call_id: await provider.get_call(call.call_id) for call in calls}
        ringing = [call.call_id for call in calls if call.status is CallStatus.RINGING]
        streams = [await provider.get_stream(call_id) for call_id in ringing]

        # Let the first call to end do so: it is neither listed nor found any more.
        first_end = min(simulator.population.live("exotel"), key=lambda call: call.end_ts)
        clock.set(datetime.fromtimestamp(first_end.end_ts + 1, UTC))
        still = await _list_all(provider, ListQuery(), 4)
        with pytest.raises(CallNotFound):
            await provider.get_call(first_end.id)

    ids = [call.call_id for call in calls]
    assert sorted(ids) == expected
    assert len(set(ids)) == len(ids)
    assert pages == -(-len(expected) // 4)  # one request per page, in version B as well
    assert ringing
    for call in calls:
        found = looked_up[call.call_id]
        assert found.call_id == call.call_id
        assert (found.status is CallStatus.RINGING) == (call.status is CallStatus.RINGING), call.call_id
        assert (found.direction, found.from_number, found.to_number) == (
            call.direction,
            call.from_number,
            call.to_number,
        ) or "exotel.page_b" in flavours
    assert [stream.status for stream in streams] == [CallStatus.RINGING] * len(ringing)
    legs_missing = "exotel.stream_404_ringing" in flavours
    assert all((not stream.legs) == legs_missing for stream in streams)
    assert all(("missing" in looked_up[call_id].extras) == legs_missing for call_id in ringing)
    assert first_end.id in ids
    assert first_end.id not in {call.call_id for call in still}
    assert sorted(call.call_id for call in still) == sorted(c.id for c in simulator.population.live("exotel"))


CUT_HERE = "the active-calls API ignored offset and limit; pages were cut here from its answer"
NO_DIRECTION = "some calls do not say their direction (older API version); kept unfiltered"


@pytest.mark.anyio
async def test_version_b_answers_are_cut_into_pages_here_and_paging_ends_with_the_list() -> None:
    simulator = _flavoured(("exotel.page_b",))
    async with adapter_on(simulator, ExotelProvider) as provider:
        pages = [await provider.list_active(ListQuery(), 0, 5)]
        while not pages[-1].exhausted and len(pages) < 20:
            pages.append(await provider.list_active(ListQuery(), pages[-1].scanned_to, 5))
        outbound = await provider.list_active(ListQuery(direction=Direction.OUTBOUND), 0, 100)

    live = sorted(call.id for call in simulator.population.live("exotel"))
    listed = [item.call.call_id for page in pages for item in page.items]
    assert sorted(listed) == live
    assert len(pages) == -(-len(live) // 5)
    assert simulator.requests[("exotel", "list_calls")] == len(pages) + 1
    assert all(page.notes == [CUT_HERE] for page in pages)
    # Version B says no direction: a direction filter cannot drop any call, and the page says so.
    assert len(outbound.items) == len(live)
    assert outbound.notes == [CUT_HERE, NO_DIRECTION]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "flavours",
    # Each flavour alone is swept at the adapter above; through MCP, the plain reading and all at once.
    [pytest.param((), id="default"), pytest.param(tuple(sorted(EXOTEL_FLAVOURS)), id="all")],
)
async def test_through_the_mcp_client_paging_lists_each_exotel_call_once_and_each_one_is_found(
    flavours: tuple[str, ...],
) -> None:
    simulator = _flavoured(flavours)
    expected = sorted(call.id for call in simulator.population.live("exotel"))
    async with client_on(simulator) as client:
        with anyio.fail_after(30):
            listed = calls_listed(
                await list_pages(client, {"provider": "exotel", "limit": 6}, pages=20), "exotel"
            )
            found = {}
            for call in listed:
                result = await client.call_tool(
                    "get_live_call", {"call_id": call["call_id"], "provider": "exotel"}
                )
                assert not result.is_error, result
                found[call["call_id"]] = (result.structured_content or {})["status"]

    assert sorted(call["call_id"] for call in listed) == expected
    assert {call["call_id"]: call["status"] == "ringing" for call in listed} == {
        call_id: status == "ringing" for call_id, status in found.items()
    }
    assert "ringing" in found.values()
