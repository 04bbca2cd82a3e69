"""Phone numbers in one vocabulary (E.164) and the ``number`` filter of ``list_active_calls``.

Unit tests pin every written form the provider notes name (Vobiz's bare digits, ``+91…``, Exotel
v1's national ``0…``, formatting, SIP URIs, ``anonymous``, garbage); the rest goes through the
real MCP client against the simulator, whose Vobiz answers carry bare digits (the flat shape)
while Exotel and Zudu write ``+``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.server import MCPServer
from mcp_types import CallToolResult, TextContent

from mcp_livecalls.config import Settings
from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.core.models import CallLeg, CallStatus, LegStatus, LiveCall, ProviderName, StreamDetails
from mcp_livecalls.core.phone import NumberFilter, NumberStyle
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import ConfigError, InvalidArgument
from mcp_livecalls.providers.base import UpstreamPage, scan
from mcp_livecalls.providers.registry import PROVIDERS as ADAPTERS
from mcp_livecalls.server.build import create_server
from mcp_livecalls.server.policy import mask_number
from mcp_livecalls.simulator import ManualClock, SimCall, Simulator

PROVIDERS = NAMES
NUMBERED = tuple(cls.name.value for cls in ADAPTERS if "from_number" in cls.capabilities.fields)
"""The providers whose calls carry numbers (Telnyx's active calls carry ids and a duration only)."""


def _unnumbered(call: SimCall) -> bool:
    """A call no number is shown for: a web call, or a call of a provider that writes none."""
    return call.web_call or call.provider not in NUMBERED


def _shown_numbers(listed: dict[str, Any], call: SimCall) -> dict[str, str]:
    """The simulated call's numbers its listing shows, by field: both, or, where the provider
    names the business's own number by an id only (Vapi's ``phoneNumberId``), the customer's."""
    numbers = {"from_number": call.from_number, "to_number": call.to_number}
    return {key: number for key, number in numbers.items() if key in listed}


E164 = re.compile(r"\+[1-9][0-9]{6,14}")
VOBIZ = NumberStyle("IN", bare_digits_international=True)
PLUS = NumberStyle("IN")

# -- normalization -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "style", "e164"),
    [
        ("919262171438", VOBIZ, "+919262171438"),  # Vobiz / Plivo: E.164 digits without "+"
        ("14156667777", VOBIZ, "+14156667777"),
        ("971567342709", VOBIZ, "+971567342709"),  # not an Indian number with 91 missing
        ("447911123456", VOBIZ, "+447911123456"),
        ("+917436225642", PLUS, "+917436225642"),  # Exotel v3, Zudu, Retell, Twilio
        ("+919262171438", VOBIZ, "+919262171438"),
        ("09262171438", PLUS, "+919262171438"),  # Exotel v1's national form, region IN
        ("09262171438", VOBIZ, "+919262171438"),  # a trunk 0 is never a country code
        ("919262171438", PLUS, "+919262171438"),  # a leading country code without "+"
        ("971567342709", PLUS, "+971567342709"),  # no valid Indian reading: international
        ("0091 92621 71438", PLUS, "+919262171438"),  # international dialling prefix
        ("+91 92621 71438", PLUS, "+919262171438"),
        ("+91-926-217-1438", PLUS, "+919262171438"),
        ("+91.926.217.1438", PLUS, "+919262171438"),
        ("(+91) 92621 71438", PLUS, "+919262171438"),
        ("+91 (0) 92621-71438", PLUS, "+919262171438"),
        ("(080) 4711 2345", PLUS, "+918047112345"),
        (" 098765 43210 ", PLUS, "+919876543210"),
        ("(415) 666-7777", NumberStyle("US"), "+14156667777"),
        ("tel:+919262171438", PLUS, "+919262171438"),
    ],
)
def test_every_written_form_of_a_number_becomes_e164(raw: str, style: NumberStyle, e164: str) -> None:
    assert style.e164(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "sip:agent.priya42@simulator1.sip.exotel.example",
        "sip:+919262171438@gw.example",
        "webrtc:priya42",
        "client:alice",
        "anonymous",
        "Restricted",
        "",
        "   ",
        "12",
        "43000",  # an extension or a short code, not +43 000
        "+0987654321",  # no country code starts with 0
        "+1234567890",  # +1 with 9 digits: no such number
        "1-800-FLOWERS",  # letters: not ours to spell out
        "91 92621 71438 ext 5",
        "9+1",
        "+",
        "()",
    ],
)
@pytest.mark.parametrize("style", [VOBIZ, PLUS], ids=["bare-international", "plus"])
def test_what_is_not_a_phone_number_is_kept_exactly_as_written(raw: str, style: NumberStyle) -> None:
    assert style.e164(raw) == raw


def test_a_bare_number_the_provider_calls_international_stays_international_when_possible() -> None:
    # The hint decides between two possible readings; without it a valid national reading wins.
    assert VOBIZ.e164("18600430132") == "+18600430132"
    assert PLUS.e164("18600430132") == "+9118600430132"  # 1860 numbers are Indian toll-free


def test_the_default_region_reads_national_forms() -> None:
    assert NumberStyle("GB").e164("07911 123456") == "+447911123456"
    assert NumberStyle("US").e164("4156667777") == "+14156667777"


@settings(max_examples=300, deadline=None)
@given(raw=st.text(alphabet="0123456789 +-().:@abs", max_size=24), hint=st.booleans())
def test_normalizing_never_fails_and_a_second_time_changes_nothing(raw: str, hint: bool) -> None:
    style = NumberStyle("IN", bare_digits_international=hint)
    once = style.e164(raw)
    assert once is not None
    assert once == raw or E164.fullmatch(once)
    assert style.e164(once) == once


def test_a_call_and_its_legs_are_normalized_and_a_sip_contact_is_left_alone() -> None:
    call = LiveCall(
        provider=ProviderName("vobiz"),
        call_id="c1",
        status=CallStatus.IN_PROGRESS,
        from_number="919262171438",
        to_number="anonymous",
        legs=[
            CallLeg(contact="919148227303", status=LegStatus.CONNECTED),
            CallLeg(contact="sip:agent@pbx.example", status=LegStatus.CONNECTED),
            CallLeg(status=LegStatus.CONNECTING),
        ],
    )

    normalized = VOBIZ.call(call)

    assert (normalized.from_number, normalized.to_number) == ("+919262171438", "anonymous")
    assert [leg.contact for leg in normalized.legs] == ["+919148227303", "sip:agent@pbx.example", None]
    stream = StreamDetails(provider=ProviderName("exotel"), call_id="c1", legs=call.legs)
    assert [leg.contact for leg in PLUS.stream(stream).legs] == [
        "+919148227303",
        "sip:agent@pbx.example",
        None,
    ]


def test_the_default_region_is_india_and_comes_from_livecalls_default_region() -> None:
    assert Settings.from_env({}).default_region == "IN"
    assert Settings.from_env({"LIVECALLS_DEFAULT_REGION": " us "}).default_region == "US"


@pytest.mark.parametrize("value", ["India", "XX", "I", "91"])
def test_a_region_that_is_not_an_iso_code_is_a_config_error_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="LIVECALLS_DEFAULT_REGION"):
        Settings.from_env({"LIVECALLS_DEFAULT_REGION": value})


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+919148227303", "…7303"),
        ("sip:+919148227303@10.0.0.5", "…7303"),  # the user part, not the gateway's digits
        ("sip:agent@10.0.0.5", "sip:agent@10.0.0.5"),
    ],
)
def test_masking_shows_the_last_four_digits_of_the_number_itself(number: str, masked: str) -> None:
    assert mask_number(number) == masked


# -- the number filter ---------------------------------------------------------------------


def _call(*numbers: str | None, leg: str | None = None) -> LiveCall:
    from_number, to_number = (*numbers, None, None)[:2]
    legs = [CallLeg(contact=leg, status=LegStatus.CONNECTED)] if leg else []
    return LiveCall(
        provider=ProviderName("exotel"),
        call_id="c1",
        status=CallStatus.IN_PROGRESS,
        from_number=from_number,
        to_number=to_number,
        legs=legs,
    )


@pytest.mark.parametrize(
    "written",
    [
        "+919262171438",
        "+91 92621 71438",
        "(+91) 92621-71438",
        "919262171438",
        "09262171438",
        "0091 9262171438",
    ],
)
def test_a_whole_number_in_any_written_form_matches_its_e164_form(written: str) -> None:
    number = NumberFilter.parse(written, region="IN")

    assert number.matches(_call("+919262171438", "+918047112345"))
    assert number.matches(_call(None, "+919262171438"))
    assert number.matches(_call(leg="sip:+919262171438@gw.example"))
    assert not number.matches(_call("+919262171439", "+918047112345"))


@pytest.mark.parametrize("tail", ["1438", "71438", "92621 71438", "9262171438"])
def test_the_last_four_or_more_digits_match_every_number_ending_with_them(tail: str) -> None:
    number = NumberFilter.parse(tail, region="IN")

    assert number.matches(_call("+918047112345", "+919262171438"))
    assert number.matches(_call(leg="+919262171438"))
    assert not number.matches(_call("+918047112345", "+919262171439"))
    assert not number.matches(_call("anonymous"))


def test_a_whole_international_number_does_not_match_a_longer_number_ending_with_it() -> None:
    number = NumberFilter.parse("+1 415 666 7777", region="IN")

    assert number.matches(_call("+14156667777"))
    assert not number.matches(_call("+4414156667777"))


@pytest.mark.parametrize("written", ["", "  ", "123", "+9 1", "(12)"])
def test_a_number_with_fewer_than_four_digits_is_refused_with_the_reason(written: str) -> None:
    with pytest.raises(InvalidArgument, match="at least 4 digits"):
        NumberFilter.parse(written, region="IN")


@pytest.mark.parametrize("written", ["sip:1234@pbx", "anonymous", "1-800-FLOWERS", "12+34", "1" * 80])
def test_a_number_that_is_not_written_like_one_is_refused(written: str) -> None:
    with pytest.raises(InvalidArgument, match="number must be a phone number"):
        NumberFilter.parse(written, region="IN")


@pytest.mark.anyio
async def test_scan_normalizes_each_call_before_the_number_filter_sees_it() -> None:
    raw = LiveCall(
        provider=ProviderName("vobiz"),
        call_id="c1",
        status=CallStatus.IN_PROGRESS,
        from_number="919262171438",
        to_number="919148227303",
    )
    other = raw.model_copy(update={"call_id": "c2", "from_number": "14156667777"})

    calls: list[LiveCall | None] = [raw, other]

    async def fetch(position: int, count: int) -> UpstreamPage:
        return UpstreamPage(calls[position : position + count], exhausted=True, total=2)

    query = ListQuery(number="+91 92621 71438", style=VOBIZ)
    page = await scan(fetch, query=query, local_filters=["number"], offset=0, limit=10)

    assert [item.call.call_id for item in page.items] == ["c1"]
    assert page.items[0].call.from_number == "+919262171438"
    assert page.local_filters == ["number"]


# -- through the MCP client, against the simulator ----------------------------------------


@pytest.fixture
def simulator(clock: ManualClock) -> Simulator:
    """Overrides conftest's: five live calls a provider however many there are (so a business number
    some calls share, and a few US, UK and UAE numbers among them)."""
    return Simulator(seed=7, live_calls=5 * len(PROVIDERS), arrival_every_s=None, clock=clock)


def _live(simulator: Simulator, provider: str) -> list[SimCall]:
    population = simulator.population
    return population.live(provider) + population.queued(provider)


def _sim_call(simulator: Simulator, provider: str, call_id: str) -> SimCall:
    found = simulator.population.find(provider, call_id)
    assert found is not None, call_id
    return found


def _numbers(call: SimCall, *, legs: bool = False) -> list[str]:
    """A call's from and to (a list shows these); with ``legs`` also an Exotel agent's contact."""
    if _unnumbered(call):
        return []
    numbers = [call.from_number, call.to_number]
    if legs and call.provider == "exotel" and call.agent is not None:
        numbers.append(call.agent.contact_uri)
    return numbers


def _text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def _list(client: Client, **arguments: Any) -> tuple[str, dict[str, Any]]:
    result = await client.call_tool("list_active_calls", {"limit": 100, **arguments})
    assert not result.is_error, _text(result)
    assert result.structured_content is not None
    return _text(result), result.structured_content


def _found(simulator: Simulator, page: dict[str, Any]) -> list[SimCall]:
    return [_sim_call(simulator, call["provider"], call["call_id"]) for call in page.get("calls", [])]


async def _listed(client: Client, simulator: Simulator) -> dict[str, list[SimCall]]:
    """What each provider lists with no filter: the calls a number filter chooses among (a
    provider's list leaves out what its API does not list, such as Retell's registered calls)."""
    _, page = await _list(client)
    assert "next_cursor" not in page
    found: dict[str, list[SimCall]] = {p: [] for p in PROVIDERS}
    for call in _found(simulator, page):
        found[call.provider].append(call)
    return found


@pytest.mark.anyio
async def test_listed_numbers_are_e164_for_every_provider_in_text_and_structured_content(
    client: Client, simulator: Simulator
) -> None:
    text, page = await _list(client)

    listed = {(call["provider"], call["call_id"]) for call in page["calls"]}
    ringing_or_later = {(p, call.id) for p in PROVIDERS for call in simulator.population.live(p)}
    queued = {(p, call.id) for p in PROVIDERS for call in simulator.population.queued(p)}
    # Listed calls exist (a provider may leave out queued or not-yet-started calls it does not list).
    assert listed <= ringing_or_later | queued
    assert len(listed) >= len(ringing_or_later) * 3 // 4
    assert len(page["calls"]) == len(listed)
    for listed in page["calls"]:
        call = _sim_call(simulator, listed["provider"], listed["call_id"])
        if _unnumbered(call):  # a Zudu web call has no numbers at all, nor has a Telnyx call
            assert "from_number" not in listed
            continue
        shown = _shown_numbers(listed, call)
        assert shown, listed
        for key, number in shown.items():
            assert listed[key] == number
            assert E164.fullmatch(listed[key])
        pair = (shown.get("from_number", "?"), shown.get("to_number", "?"))  # ?: named by an id only
        assert f"{pair[0]}→{pair[1]}" in text.split()
    vobiz_wire = simulator.population.live("vobiz")[0]
    assert vobiz_wire.from_number.removeprefix("+") not in text.replace(vobiz_wire.from_number, "")


@pytest.mark.anyio
async def test_single_call_tools_show_numbers_and_leg_contacts_in_e164(
    client: Client, simulator: Simulator
) -> None:
    for provider in PROVIDERS:
        for call in _live(simulator, provider)[:5]:
            arguments = {"call_id": call.id, "provider": provider, "detail": "full"}
            got = await client.call_tool("get_live_call", arguments)
            stream = await client.call_tool("get_stream_details", arguments)
            assert not got.is_error, _text(got)
            assert not stream.is_error, _text(stream)
            live, details = got.structured_content or {}, stream.structured_content or {}
            shown = {key: live[key] for key in ("from_number", "to_number") if key in live}
            assert bool(shown) is not _unnumbered(call)  # Exotel's single call knows only the customer's side
            for key, number in shown.items():
                assert number == getattr(call, key)
                assert number in _text(got)
            contacts = [leg.get("contact") for leg in [*live.get("legs", []), *details.get("legs", [])]]
            for contact in filter(None, contacts):
                assert E164.fullmatch(contact) or contact.startswith(("sip:", "webrtc:")), contact
                assert contact in _numbers(call, legs=True)
                assert contact in _text(stream)


def _expected(listed: dict[str, list[SimCall]], matches: Any) -> set[int]:
    return {id(call) for calls in listed.values() for call in calls if any(map(matches, _numbers(call)))}


@pytest.mark.anyio
async def test_the_last_four_digits_find_exactly_the_calls_with_a_number_ending_so(
    client: Client, simulator: Simulator
) -> None:
    listed = await _listed(client, simulator)
    for provider in NUMBERED:
        target = next(call for call in listed[provider] if _numbers(call))
        tail = target.from_number[-4:]

        text, page = await _list(client, number=tail)

        found = _found(simulator, page)
        assert target in found
        assert {id(call) for call in found} == _expected(listed, lambda n, tail=tail: n.endswith(tail))
        for name in PROVIDERS:
            assert f"{name}: number filtered locally (not supported upstream)" in page["notes"]
            assert f"note: {name}: number filtered locally (not supported upstream)" in text


def _written_forms(e164: str) -> list[str]:
    parsed = phonenumbers.parse(e164)
    forms = [phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)]
    if parsed.country_code == 91:
        forms.append(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))
    return forms


@pytest.mark.anyio
async def test_a_whole_number_written_like_plus_91_97_finds_exactly_its_calls(
    client: Client, simulator: Simulator
) -> None:
    listed = await _listed(client, simulator)
    for provider in NUMBERED:
        target = next(call for call in listed[provider] if _numbers(call))
        customer = target.from_number if target.direction == "inbound" else target.to_number

        for written in _written_forms(customer):
            assert written != customer  # spaces, and for Indian numbers also the national 0… form
            _, page = await _list(client, number=written, provider=provider)

            found = _found(simulator, page)
            assert target in found
            assert {id(call) for call in found} == {
                id(call) for call in listed[provider] if customer in _numbers(call)
            }


@pytest.mark.anyio
async def test_a_number_filter_pages_without_repeats_and_its_cursor_belongs_to_that_number(
    client: Client, simulator: Simulator
) -> None:
    listed = await _listed(client, simulator)
    shared = Counter(n for calls in listed.values() for call in calls for n in _numbers(call))
    number, count = shared.most_common(1)[0]
    assert count >= 3  # a business number (DID) many calls share

    seen: list[SimCall] = []
    cursor = first_cursor = None
    for _ in range(count + 1):
        arguments: dict[str, Any] = {"number": number, "limit": 2}
        if cursor:
            arguments["cursor"] = cursor
        _, page = await _list(client, **arguments)
        seen += _found(simulator, page)
        cursor = page.get("next_cursor")
        if cursor is None:
            break
        first_cursor = first_cursor or cursor

    assert len(seen) == len({id(call) for call in seen}) == count
    assert first_cursor is not None
    replay = await client.call_tool("list_active_calls", {"number": number[-4:], "cursor": first_cursor})
    assert replay.is_error
    assert "cursor is not valid for this query" in _text(replay)


@pytest.mark.anyio
async def test_a_number_filter_that_is_too_short_or_not_a_number_is_a_tool_error(
    client: Client, simulator: Simulator
) -> None:
    before = sum(simulator.requests.values())

    refusals = [("123", "at least 4 digits"), ("", "at least 4 digits"), ("call me", "phone number")]
    for number, reason in refusals:
        result = await client.call_tool("list_active_calls", {"number": number})

        assert result.is_error
        assert reason in _text(result)
    assert sum(simulator.requests.values()) == before  # refused before any upstream request


@pytest.fixture
async def masked_client(settings: Settings, simulator: Simulator) -> AsyncIterator[Client]:
    server: MCPServer[object] = create_server(
        settings.with_changes(mask_numbers=True), now=simulator.clock.now
    )
    async with Client(server) as connected:
        yield connected


@pytest.mark.anyio
async def test_masking_shows_the_last_four_digits_of_the_e164_number_for_every_provider(
    masked_client: Client, simulator: Simulator
) -> None:
    text, page = await _list(masked_client)

    for listed in page["calls"]:
        call = _sim_call(simulator, listed["provider"], listed["call_id"])
        if _unnumbered(call):
            continue
        shown = _shown_numbers(listed, call)
        masked = {key: "…" + number[-4:] for key, number in shown.items()}
        assert {key: listed[key] for key in shown} == masked
        if len(shown) == 2:
            assert f"…{call.from_number[-4:]}→…{call.to_number[-4:]}" in text.split()
        assert call.from_number.removeprefix("+") not in text
