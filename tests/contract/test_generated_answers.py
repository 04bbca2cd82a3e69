"""Generated schema-valid answers (issue #24): any body the documents allow lists and opens cleanly.

The strategies below are written from the documented types of the fields the adapters read:

* Twilio's call (twilio-oai ``twilio_api_v2010.json``, ``api.v2010.account.call``): every field is
  a nullable string — ``start_time``/``date_created`` RFC 2822 dates, ``duration``/``queue_time``
  seconds/ms written as strings, ``status`` one of eight words, ``direction`` ``inbound``,
  ``outbound-api`` or ``outbound-dial``; the list envelope is ``calls`` plus paging URIs.
* Retell AI's call (retell-python-sdk's ``call_response`` types, the v3 list-calls page): ms epoch
  ``start_timestamp``/``end_timestamp``, ``latency.<name>.{p50,p90,p95,p99,max,min,num}`` typed
  ``number`` (fractions included, ``num`` too), ``call_cost`` in cents, the five ``call_status``
  words, optional ``transcript_object``/``call_analysis``/``metadata``; the list is
  ``{items, has_more, pagination_key, total}``.

Each body also gets unknown fields and loses some optional ones. The bodies are served over
loopback HTTP (``contract.harness.serve``) to the whole server, asked through a real MCP client:
no answer may be a tool error, every call whose id and status are readable and live is listed
exactly once, and ``get_live_call`` on one of them answers with its id.
"""

from __future__ import annotations

import string
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp_types import CallToolResult, TextContent

from contract.harness import Answer, Upstream, serve
from mcp_livecalls.config import Settings
from mcp_livecalls.server.build import create_server

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
ACCOUNT = "AC0123456789abcdef0123456789abcdef"
GENERATED = settings(
    derandomize=True,
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Shared pieces -----------------------------------------------------------------------------------

HEX = "0123456789abcdef"
TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
"""Any string JSON carries (no lone surrogates: UTF-8 cannot encode them)."""
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
E164 = st.integers(10**10, 10**14 - 1).map(lambda digits: f"+{digits}")


def hex_id(size: int, prefix: str = "") -> st.SearchStrategy[str]:
    return st.text(HEX, min_size=size, max_size=size).map(lambda tail: prefix + tail)


def nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@st.composite
def shaped(
    draw: st.DrawFn, required: dict[str, Any], optional: dict[str, st.SearchStrategy[Any]]
) -> dict[str, Any]:
    """An object with ``required``, a drawn subset of ``optional`` and a few unknown fields."""
    body = dict(required)
    for name, strategy in optional.items():
        if draw(st.booleans()):
            body[name] = draw(strategy)
    unknown = draw(
        st.dictionaries(st.text(string.ascii_lowercase, min_size=1, max_size=8), JSON_VALUES, max_size=3)
    )
    return {**{f"x_{name}": value for name, value in unknown.items()}, **body}


# Twilio ------------------------------------------------------------------------------------------

TWILIO_STATUSES = ("queued", "ringing", "in-progress", "canceled", "completed", "failed", "busy", "no-answer")
TWILIO_LIVE = ("in-progress", "ringing", "queued")
RFC2822 = st.datetimes(datetime(2020, 1, 1), datetime(2026, 6, 1), timezones=st.just(UTC)).map(
    format_datetime
)
TWILIO_PARTY = E164 | st.text(string.ascii_lowercase, min_size=1, max_size=10).flatmap(
    lambda name: st.sampled_from([f"client:{name}", f"sip:{name}@example.com"])
)
DIGITS = st.integers(0, 100_000).map(str)


@st.composite
def twilio_call(draw: st.DrawFn, sid: str) -> dict[str, Any]:
    status = draw(nullable(st.sampled_from(TWILIO_STATUSES)))
    return draw(
        shaped(
            {"sid": sid, "status": status},
            {
                "account_sid": st.just(ACCOUNT),
                "parent_call_sid": nullable(hex_id(32, "CA")),
                "from": nullable(TWILIO_PARTY),
                "to": nullable(TWILIO_PARTY),
                "from_formatted": nullable(TEXT),
                "to_formatted": nullable(TEXT),
                "direction": nullable(st.sampled_from(["inbound", "outbound-api", "outbound-dial"])),
                "start_time": nullable(RFC2822),
                "end_time": nullable(RFC2822),
                "date_created": nullable(RFC2822),
                "date_updated": nullable(RFC2822),
                "duration": nullable(DIGITS),
                "queue_time": nullable(DIGITS),
                "price": nullable(st.decimals(-10, 0, places=5).map(str)),
                "price_unit": nullable(st.just("USD")),
                "answered_by": nullable(st.sampled_from(["human", "machine_start", "fax", "unknown"])),
                "caller_name": nullable(TEXT),
                "forwarded_from": nullable(E164),
                "api_version": st.just("2010-04-01"),
                "uri": st.just(f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}.json"),
                "subresource_uris": st.dictionaries(st.sampled_from(["events", "recordings"]), TEXT),
            },
        )
    )


@st.composite
def twilio_lists(draw: st.DrawFn) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The three status lists' pages (a call in the list of its status; one that ended, in any;
    perhaps a live call again in another list, as when it moved on between the requests), and
    every call generated."""
    sids = draw(st.lists(hex_id(32, "CA"), max_size=8, unique=True))
    calls = [draw(twilio_call(sid)) for sid in sids]
    lists: dict[str, list[dict[str, Any]]] = {status: [] for status in TWILIO_LIVE}
    for call in calls:
        listed_in = call["status"] if call["status"] in TWILIO_LIVE else draw(st.sampled_from(TWILIO_LIVE))
        lists[listed_in].append(call)
    moved: list[dict[str, Any]] = [call for call in calls if call["status"] in TWILIO_LIVE]
    again: bool = draw(st.booleans())
    if moved and again:
        twice: dict[str, Any] = draw(st.sampled_from(moved))
        status: str = draw(st.sampled_from([word for word in TWILIO_LIVE if word != twice["status"]]))
        lists[status].append({**twice, "status": status})
    return {status: draw(twilio_page(status, listed)) for status, listed in lists.items()}, calls


def twilio_page(status: str, calls: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    uri = f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json?Status={status}&PageSize=200"
    return shaped(
        {"calls": calls, "next_page_uri": None},
        {
            "page": st.just(0),
            "page_size": st.just(200),
            "start": st.just(0),
            "end": st.just(max(0, len(calls) - 1)),
            "first_page_uri": st.just(f"{uri}&Page=0"),
            "previous_page_uri": st.none(),
            "uri": st.just(uri),
        },
    )


def twilio_upstream(pages: dict[str, dict[str, Any]]) -> Upstream:
    upstream = Upstream()
    calls_json = f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    for status, page in pages.items():
        upstream.on("GET", calls_json, Answer(200, page), params={"Status": status})
        for call in page["calls"]:
            upstream.on("GET", f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{call['sid']}.json", Answer(200, call))
    return upstream


# Retell AI ---------------------------------------------------------------------------------------

RETELL_STATUSES = ("registered", "not_connected", "ongoing", "ended", "error")
RETELL_LIVE = ("registered", "ongoing")
MS_EPOCH = st.integers(1_600_000_000_000, 1_800_000_000_000)
NUMBER = st.integers(0, 100_000) | st.floats(0, 100_000, allow_nan=False, allow_infinity=False)
LATENCY = st.dictionaries(
    st.sampled_from(["e2e", "llm", "llm_websocket_network_rtt", "tts", "knowledge_base", "s2s", "asr"]),
    shaped({}, dict.fromkeys(("p50", "p90", "p95", "p99", "max", "min", "num"), NUMBER)),
    max_size=4,
)
TURN = shaped(
    {"role": "agent", "content": ""},
    {"words": st.lists(st.fixed_dictionaries({"word": TEXT, "start": NUMBER, "end": NUMBER}), max_size=2)},
).flatmap(
    lambda turn: st.fixed_dictionaries({"role": st.sampled_from(["agent", "user"]), "content": TEXT}).map(
        lambda drawn: {**turn, **drawn}
    )
)


@st.composite
def retell_call(draw: st.DrawFn, call_id: str) -> dict[str, Any]:
    phone = draw(st.booleans())
    optional: dict[str, st.SearchStrategy[Any]] = {
        "agent_name": TEXT,
        "agent_version": st.integers(0, 50),
        "start_timestamp": MS_EPOCH,
        "end_timestamp": MS_EPOCH,
        "duration_ms": st.integers(0, 10**7),
        "transcript": TEXT,
        "transcript_object": st.lists(TURN, max_size=3),
        "latency": LATENCY,
        "call_cost": shaped(
            {"combined_cost": draw(NUMBER)},
            {
                "total_duration_seconds": NUMBER,
                "total_duration_unit_price": NUMBER,
                "product_costs": st.just([]),
            },
        ),
        "metadata": st.dictionaries(TEXT, JSON_VALUES, max_size=4),
        "retell_llm_dynamic_variables": st.dictionaries(TEXT, TEXT, max_size=2),
        "opt_out_sensitive_data_storage": st.booleans(),
        "data_storage_setting": st.sampled_from(
            ["everything", "everything_except_pii", "basic_attributes_only"]
        ),
        "disconnection_reason": st.sampled_from(
            ["user_hangup", "agent_hangup", "call_transfer", "dial_no_answer"]
        ),
        "call_analysis": shaped(
            {},
            {
                "call_summary": TEXT,
                "in_voicemail": st.booleans(),
                "user_sentiment": st.sampled_from(["Negative", "Positive", "Neutral", "Unknown"]),
                "call_successful": st.booleans(),
                "custom_analysis_data": st.dictionaries(TEXT, JSON_VALUES, max_size=2),
            },
        ),
        "recording_url": st.just(f"https://dxc03zgurdly9.cloudfront.net/{call_id}/recording.wav"),
        "public_log_url": st.just(f"https://dxc03zgurdly9.cloudfront.net/{call_id}/public.log"),
    }
    if phone:
        optional |= {
            "direction": st.sampled_from(["inbound", "outbound"]),
            "from_number": E164,
            "to_number": E164,
            "telephony_identifier": shaped({}, {"twilio_call_sid": hex_id(32, "CA")}),
        }
    required = {
        "call_id": call_id,
        "call_type": "phone_call" if phone else "web_call",
        "agent_id": draw(hex_id(28, "agent_")),
        "call_status": draw(st.sampled_from(RETELL_STATUSES)),
    }
    return draw(shaped(required, optional))


@st.composite
def retell_list(draw: st.DrawFn) -> dict[str, Any]:
    """A v3 list-calls answer of one page (``has_more`` false or left out, ``total`` optional)."""
    ids = draw(st.lists(hex_id(32), max_size=8, unique=True))
    calls = [draw(retell_call(call_id)) for call_id in ids]
    optional = {"has_more": st.just(False), "total": st.just(len(calls)), "pagination_key": st.none()}
    return draw(shaped({"items": calls}, optional))


def retell_upstream(page: dict[str, Any]) -> Upstream:
    upstream = Upstream().on("POST", "/v3/list-calls", Answer(200, page))
    for call in page["items"]:
        upstream.on("GET", f"/v2/get-call/{call['call_id']}", Answer(200, call))
    return upstream


# Through the server ------------------------------------------------------------------------------


class Serving:
    """A loopback upstream whose answers each example replaces."""

    def __init__(self) -> None:
        self.upstream = Upstream()
        self.url = ""


@pytest.fixture
def serving() -> Iterator[Serving]:
    holder = Serving()
    with serve(lambda: holder.upstream) as url:
        holder.url = url
        yield holder


def text_of(result: CallToolResult) -> str:
    return " ".join(block.text for block in result.content if isinstance(block, TextContent))


def through_server(env: dict[str, str], check: Callable[[Client], Awaitable[None]]) -> None:
    """``check`` with a real MCP client of a fresh server configured by ``env`` (nothing carries
    over between examples: no cache, no remembered paging keys)."""
    configured = Settings.from_env(env).with_changes(cache_ttl_s=0)

    async def run() -> None:
        with anyio.fail_after(30):
            async with Client(create_server(configured, now=lambda: NOW)) as client:
                await check(client)

    anyio.run(run)


async def listed_ids(client: Client) -> list[str]:
    result = await client.call_tool("list_active_calls", {"limit": 100})
    assert not result.is_error, text_of(result)
    page = result.structured_content or {}
    assert [page.get(key) for key in ("next_cursor", "notes", "failures")] == [None] * 3, page
    return [call["call_id"] for call in page.get("calls", [])]


async def opens_with_its_id(client: Client, provider: str, call_id: str) -> None:
    result = await client.call_tool("get_live_call", {"call_id": call_id, "provider": provider})
    assert not result.is_error, text_of(result)
    assert (result.structured_content or {}).get("call_id") == call_id


# The properties ----------------------------------------------------------------------------------


@GENERATED
@given(generated=twilio_lists(), pick=st.integers(0, 100))
def test_any_documented_twilio_list_lists_each_live_call_once_and_opens_it(
    serving: Serving, generated: tuple[dict[str, dict[str, Any]], list[dict[str, Any]]], pick: int
) -> None:
    pages, calls = generated
    serving.upstream = twilio_upstream(pages)
    live = [call["sid"] for call in calls if call["status"] in TWILIO_LIVE]
    unread = [call["sid"] for call in calls if call["status"] is None]  # listed as unknown, or not
    env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": "generated-token",
        "TWILIO_BASE_URL": serving.url,
    }

    async def check(client: Client) -> None:
        ids = await listed_ids(client)
        assert len(ids) == len(set(ids))
        assert set(live) <= set(ids) <= {*live, *unread}
        if live:
            await opens_with_its_id(client, "twilio", live[pick % len(live)])

    through_server(env, check)
    assert serving.upstream.unmatched == []


@GENERATED
@given(page=retell_list(), pick=st.integers(0, 100))
def test_any_documented_retell_list_lists_each_live_call_once_and_opens_it(
    serving: Serving, page: dict[str, Any], pick: int
) -> None:
    serving.upstream = retell_upstream(page)
    live = [call["call_id"] for call in page["items"] if call["call_status"] in RETELL_LIVE]
    env = {"RETELL_API_KEY": "key_generated_0000", "RETELL_BASE_URL": serving.url}

    async def check(client: Client) -> None:
        ids = await listed_ids(client)
        assert len(ids) == len(set(ids))
        assert set(ids) == set(live)
        if live:
            await opens_with_its_id(client, "retell", live[pick % len(live)])

    through_server(env, check)
    assert serving.upstream.unmatched == []
