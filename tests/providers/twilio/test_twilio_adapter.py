"""Twilio against the simulator: the adapter over loopback HTTP and every tool through a real MCP client.

The simulated Twilio serves the shared population with Twilio's ids (``CA…``, ``CF…``), its three
status lists paged by ``next_page_uri``, conferences whose participants hold and mute on the
population's schedule, and its documented variants as flavours (``twilio.*``).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest
from mcp_types import CallToolResult
from policies import PATIENT

from mcp_livecalls.core.models import CallStatus, LiveCall
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, CallNotFound
from mcp_livecalls.providers.twilio.adapter import TwilioProvider
from mcp_livecalls.providers.twilio.simulated import TWILIO_FLAVOURS
from mcp_livecalls.simkit.calls import SimCall
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Fault, ManualClock, Simulator
from providers.kit import adapter_on, alive, client_on, flavour_sets, loopback, read_all, simulated, text_of

pytestmark = pytest.mark.anyio

ACCOUNT = DEMO_CREDENTIALS.twilio_account_sid
TOKEN = DEMO_CREDENTIALS.twilio_auth_token
CALLS = f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
FLAVOUR_SETS = flavour_sets(TWILIO_FLAVOURS, every=True)
"""No fault here is a hang: timeouts far above any loopback answer, so a busy machine changes no verdict."""


def expected_ids(simulator: Simulator) -> list[str]:
    return sorted(alive(simulator, "twilio"))


async def list_all(provider: TwilioProvider, query: ListQuery, limit: int) -> list[LiveCall]:
    with anyio.fail_after(30):
        found = await read_all(provider, query, limit)
    return [item.call for item in found.items]


def held_call(simulator: Simulator) -> tuple[SimCall, float]:
    """A call in a conference and a moment of it on hold (the population holds long calls)."""
    for call in simulator.population.visible("twilio"):
        if call.conference_uuid is not None and call.holds:
            start, end = call.holds[0]
            return call, call.created_ts + (start + end) / 2
    raise AssertionError("the population holds no conference call")


# -- the adapter over loopback HTTP ----------------------------------------------------------------


@pytest.mark.parametrize("flavours", FLAVOUR_SETS)
async def test_in_every_flavour_every_live_call_is_listed_once_and_each_is_found_with_its_status(
    flavours: tuple[str, ...],
) -> None:
    simulator = simulated("twilio", flavours=flavours)
    async with adapter_on(simulator, TwilioProvider) as provider:
        calls = await list_all(provider, ListQuery(), 5)
        requests = simulator.requests[("twilio", "list_calls")]
        found = {call.call_id: await provider.get_call(call.call_id) for call in calls}
        streams = {call.call_id: await provider.get_stream(call.call_id) for call in calls}

    ids = [call.call_id for call in calls]
    assert sorted(ids) == expected_ids(simulator)
    assert len(set(ids)) == len(ids)
    assert {call.status for call in calls} >= {CallStatus.IN_PROGRESS, CallStatus.RINGING}
    # The three lists are read once per listing; small pages follow next_page_uri further.
    pages = -(-len(ids) // 5)
    if "twilio.small_pages" in flavours:
        assert requests > 3 * pages
    else:
        assert requests == 3 * pages
    for call in calls:
        assert found[call.call_id].status == call.status
        assert (found[call.call_id].from_number, found[call.call_id].to_number) == (
            call.from_number,
            call.to_number,
        )
        stream = streams[call.call_id]
        assert stream.status in (call.status, CallStatus.ON_HOLD)
        assert stream.telephony_ids["call_sid"] == call.call_id
    in_conference = [stream for stream in streams.values() if stream.legs]
    assert in_conference
    for stream in in_conference:
        assert {leg.role for leg in stream.legs} >= {"customer", "agent"}
        assert stream.telephony_ids["conference_sid"].startswith("CF")
    live_duration = "twilio.live_duration" in flavours
    talking = [call for call in calls if call.status is CallStatus.IN_PROGRESS]
    assert all(call.duration_s is not None for call in talking)
    assert live_duration or all(call.started_at is not None for call in talking)


async def test_a_held_customer_puts_the_stream_on_hold_and_its_leg_says_so() -> None:
    simulator = simulated("twilio")
    call, moment = held_call(simulator)
    clock = simulator.clock
    assert isinstance(clock, ManualClock)
    clock.set(datetime.fromtimestamp(moment, UTC))
    async with adapter_on(simulator, TwilioProvider) as provider:
        stream = await provider.get_stream(call.id)
        looked_up = await provider.get_call(call.id)

    assert stream.status is CallStatus.ON_HOLD
    customer = next(leg for leg in stream.legs if leg.leg_id == call.id)
    assert (customer.role, customer.on_hold) == ("customer", True)
    assert stream.telephony_ids["conference_sid"] == call.conference_uuid
    # Twilio's call resource has no hold word: the call alone reads in progress.
    assert looked_up.status is CallStatus.IN_PROGRESS


async def test_a_call_that_ended_is_not_live_and_leaves_the_lists() -> None:
    simulator = simulated("twilio")
    clock = simulator.clock
    assert isinstance(clock, ManualClock)
    first_end = min(simulator.population.live("twilio"), key=lambda call: call.end_ts)
    clock.set(datetime.fromtimestamp(first_end.end_ts + 1, UTC))
    async with adapter_on(simulator, TwilioProvider) as provider:
        with pytest.raises(CallNotFound):
            await provider.get_call(first_end.id)
        with pytest.raises(CallNotFound):
            await provider.get_stream(first_end.id)
        still = await list_all(provider, ListQuery(), 50)

    assert first_end.id not in {call.call_id for call in still}
    assert sorted(call.call_id for call in still) == expected_ids(simulator)


async def test_an_api_key_opens_the_simulated_account_with_the_account_sid_in_the_path() -> None:
    credentials = DEMO_CREDENTIALS.replace(
        twilio_api_key="SK00112233445566778899aabbccddeeff", twilio_api_secret="sim-api-secret-9"
    )
    simulator = simulated("twilio", credentials=credentials)
    async with adapter_on(simulator, TwilioProvider, credentials) as provider:
        calls = await list_all(provider, ListQuery(), 50)

    assert sorted(call.call_id for call in calls) == expected_ids(simulator)


async def test_wrong_credentials_are_refused_in_twilios_shape_and_named_without_the_token() -> None:
    simulator = simulated("twilio")
    wrong = DEMO_CREDENTIALS.replace(twilio_auth_token="wrong-token-4d2c")
    async with loopback(simulator) as served:
        answer = await served.http.get(served.url + CALLS, auth=(ACCOUNT, "wrong-token-4d2c"))
        with pytest.raises(AuthError) as raised:
            await served.adapter(TwilioProvider, wrong).list_active(ListQuery(), 0, 20)

    assert answer.status_code == 401
    assert answer.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert str(raised.value) == (
        "Twilio rejected the credentials (401): check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN."
    )


async def test_the_simulated_lists_page_along_next_page_uri() -> None:
    simulator = simulated("twilio", flavours=("twilio.small_pages",))
    async with loopback(simulator) as served:

        async def page(path: str, **params: Any) -> Any:
            answer = await served.http.get(served.url + path, params=params or None, auth=(ACCOUNT, TOKEN))
            return answer.json()

        pages = [await page(CALLS, Status="in-progress", PageSize=50)]
        while pages[-1]["next_page_uri"] and len(pages) < 20:
            pages.append(await page(pages[-1]["next_page_uri"]))

    sids = [call["sid"] for page in pages for call in page["calls"]]
    assert len(pages) > 1
    assert all(page["page_size"] == 2 for page in pages)
    assert len(sids) == len(set(sids))
    assert {call["status"] for page in pages for call in page["calls"]} == {"in-progress"}


# -- every tool through the MCP client -------------------------------------------------------------


@pytest.mark.parametrize(
    "flavours", [pytest.param((), id="default"), pytest.param(tuple(sorted(TWILIO_FLAVOURS)), id="all")]
)
async def test_through_the_mcp_client_every_tool_answers_for_twilio_calls(flavours: tuple[str, ...]) -> None:
    simulator = simulated("twilio", flavours=flavours)
    async with client_on(simulator) as client:
        listed: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {"provider": "twilio", "limit": 7}
        with anyio.fail_after(60):
            for _ in range(20):
                result = await client.call_tool("list_active_calls", arguments)
                assert not result.is_error, text_of(result)
                page = result.structured_content or {}
                listed.extend(page.get("calls", []))
                if not page.get("next_cursor"):
                    break
                arguments = {**arguments, "cursor": page["next_cursor"]}
            first = listed[0]["call_id"]
            lookup = await client.call_tool("get_live_call", {"call_id": first})
            stream = await client.call_tool("get_stream_details", {"call_id": first, "provider": "twilio"})
            waited = await client.call_tool(
                "get_live_call", {"call_id": "CA" + "0" * 32, "provider": "twilio"}
            )
            reached = await client.call_tool(
                "wait_for_call_state",
                {"call_id": first, "until": [listed[0]["status"]], "provider": "twilio", "timeout_s": 1},
            )

    assert sorted(call["call_id"] for call in listed) == expected_ids(simulator)
    assert all(call["provider"] == "twilio" for call in listed)
    assert (lookup.structured_content or {})["call_id"] == first
    assert (stream.structured_content or {})["call_id"] == first
    assert waited.is_error
    assert "Twilio has no live call" in text_of(waited)
    assert (reached.structured_content or {})["outcome"] == "reached"


async def test_the_providers_resource_describes_twilio() -> None:
    async with client_on(simulated("twilio")) as client:
        result = await client.read_resource("livecalls://providers")

    text = "".join(getattr(content, "text", "") for content in result.contents)
    assert '"twilio"' in text
    assert "media streams" in text


# -- faults and secrets ----------------------------------------------------------------------------

TOOLS = ["get_live_call", "list_active_calls", "get_stream_details"]
FAULTS = [
    pytest.param(Fault(kind="status", status_code=500), "internal error (500)", id="500"),
    pytest.param(Fault(kind="status", status_code=401), "rejected the credentials (401)", id="401"),
    pytest.param(Fault(kind="status", status_code=429), "rate limiting requests (429)", id="429"),
    pytest.param(Fault(kind="wrong_types"), "does not understand", id="wrong_types"),
    pytest.param(Fault(kind="html"), "HTML page instead of JSON", id="html"),
    pytest.param(Fault(kind="huge_ids"), "", id="huge_ids"),
    pytest.param(Fault(kind="missing_fields"), "does not understand", id="missing_fields"),
    pytest.param(Fault(kind="unknown_enum"), None, id="unknown_enum"),
    pytest.param(Fault(kind="extra_fields"), None, id="extra_fields"),
]


@pytest.mark.parametrize(("fault", "expected"), FAULTS)
async def test_every_fault_gets_a_clear_answer_and_the_next_request_succeeds(
    fault: Fault, expected: str | None
) -> None:
    simulator = simulated("twilio")
    call_id = simulator.population.live("twilio")[0].id
    async with client_on(simulator, http=PATIENT) as client:

        async def ask(tool: str) -> CallToolResult:
            arguments: dict[str, Any] = {"provider": "twilio"}
            if tool != "list_active_calls":
                arguments["call_id"] = call_id
            with anyio.fail_after(PATIENT.tool_budget_s + 30):
                return await client.call_tool(tool, arguments)

        simulator.faults.inject(fault.model_copy(update={"provider": "twilio"}))
        faulty = {tool: await ask(tool) for tool in TOOLS}
        simulator.faults.clear()
        recovered = {tool: await ask(tool) for tool in TOOLS}

    for tool in TOOLS:
        result = faulty[tool]
        content = result.structured_content or {}
        failure = text_of(result) if result.is_error else None
        if tool == "list_active_calls" and content.get("failures"):
            failure = content["failures"][0]["reason"]
        if expected is None:
            assert failure is None, failure
        elif fault.kind == "huge_ids":
            # An id beyond the rule is refused: a lookup fails, a list leaves the calls out.
            assert failure is not None or not content.get("calls"), (tool, content)
        else:
            assert failure is not None, tool
            assert expected in failure, (tool, failure)
            assert "Twilio" in failure
            assert "http://" not in failure
            assert "Traceback" not in failure
        assert not recovered[tool].is_error, text_of(recovered[tool])
    if fault.kind == "unknown_enum":
        assert (faulty["get_live_call"].structured_content or {})["status"] == "unknown"


@pytest.mark.parametrize("echo", ["raw", "base64", "upper"])
async def test_a_twilio_echoing_the_credentials_leaks_them_nowhere(echo: str) -> None:
    simulator = simulated("twilio")
    call_id = simulator.population.live("twilio")[0].id
    secrets = [TOKEN, ACCOUNT, f"{ACCOUNT}:{TOKEN}"]
    forms = {form.lower() for value in secrets for form in (value, base64.b64encode(value.encode()).decode())}
    async with client_on(simulator, http=PATIENT) as client:
        simulator.faults.inject(Fault(kind="credential_echo", provider="twilio", echo=echo, status_code=503))
        results = [
            await client.call_tool("list_active_calls", {"provider": "twilio"}),
            await client.call_tool("get_live_call", {"call_id": call_id, "provider": "twilio"}),
            await client.call_tool("get_stream_details", {"call_id": call_id, "provider": "twilio"}),
        ]

    texts = [text_of(result) + str(result.structured_content) for result in results]
    assert [text for text in texts if any(form in text.lower() for form in forms)] == []
    assert all("Twilio is unavailable right now (503)" in text for text in texts)
    if echo != "base64":  # base64 echoes the basic-auth header encoded again: cut before any mask
        assert all("says: denied for ***" in text for text in texts)
