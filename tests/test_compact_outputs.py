"""The compact text of each documented example payload, pinned whole through the real MCP client.

The simulator serves the providers' documentation examples verbatim (``fixtures=True``) at a fixed
moment, so any change in what a model reads (an extra word, a null, a second timestamp format)
shows up here in review. ``benchmarks/tokens.py`` measures the same texts against the raw JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from mcp import Client
from mcp_types import TextContent

from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.core.models import (
    ActiveCallsPage,
    CallStatus,
    LiveCall,
    ProviderName,
    StreamDetails,
    TranscriptTurn,
)
from mcp_livecalls.server.policy import prepare_page
from mcp_livecalls.server.render import render_call, render_page, render_stream
from mcp_livecalls.simulator import ManualClock, Simulator

# Five minutes into Zudu's example call (its start_timestamp is 2023-12-20T18:40:00Z).
NOW = datetime(2023, 12, 20, 18, 45, tzinfo=UTC)

VOBIZ_PLIVO = "97ceeb52-58b6-11e1-86da-77300b68f8bb"
VOBIZ_FLAT = "2ded13fe-4f9b-4958-9bfb-093ea2f29f91"
EXOTEL = "call_active_001"
ZUDU = "550e8400-e29b-41d4-a716-446655440000"

TELNYX = "v3-MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg"
SEED_CALLS = [
    ("vobiz", VOBIZ_PLIVO),
    ("vobiz", VOBIZ_FLAT),
    ("exotel", EXOTEL),
    ("zudu", ZUDU),
    ("telnyx", TELNYX),
]
FORBIDDEN = ("null", "None", "api_id", "request_id", "requestId", "req_xyz789", "req_stream_001")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def simulator(clock: ManualClock) -> Simulator:
    """Overrides conftest's: the documentation's example payloads, served verbatim."""
    return Simulator(fixtures=True, vobiz_shape="plivo", clock=clock)


async def _text(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert len(result.content) == 1
    block = result.content[0]
    assert isinstance(block, TextContent)
    assert not result.is_error, block.text
    return block.text


GET_LIVE_CALL = {
    VOBIZ_PLIVO: (
        "vobiz 97ceeb52-58b6-11e1-86da-77300b68f8bb in_progress outbound +14156667777→+14156667778 180s\n"
        "stir A verified"
    ),
    VOBIZ_FLAT: (
        # The example's start lies years after NOW: said, and no made-up "0s" duration.
        "vobiz 2ded13fe-4f9b-4958-9bfb-093ea2f29f91 in_progress outbound +919262171438→+919148227303\n"
        "started 2026-06-11T16:03:28Z\n"
        "clock_note=start 21693h18m ahead of this server's clock: Vobiz's zone-less times are read as UTC; "
        "set VOBIZ_TIMEZONE to the Vobiz Console's zone (or fix this clock)"
    ),
    EXOTEL: (
        # Brief: the legs by who and where; their ids are get_stream_details'.
        "exotel call_active_001 in_progress outbound +911234567890→+919876543210 180s "
        "agent John Agent (on-call) rec dual 175s\n"
        "leg agent +911234567890 connected pstn\n"
        "leg customer +919876543210 connected pstn"
    ),
    ZUDU: (
        "zudu 550e8400-e29b-41d4-a716-446655440000 in_progress inbound +1234567890→+0987654321 300s "
        "agent-123 rec\n"
        "latency p50/p90 e2e 250/381ms llm 125/160ms\n"
        "cost 0.15\n"
        "zudu_call_id=call-456 meta customer_id=cust-001 priority=high campaign=summer-2024\n"
        "transcript:\n"
        " assistant: Hello, thank you for calling. How can I help you today?"
    ),
    TELNYX: f"telnyx {TELNYX} in_progress 50s",
}

GET_STREAM_DETAILS = {
    VOBIZ_PLIVO: (
        "vobiz 97ceeb52-58b6-11e1-86da-77300b68f8bb in_progress 180s\n"
        "not offered: legs, bridge, recording state, hold/mute per leg, latency"
    ),
    VOBIZ_FLAT: (
        "vobiz 2ded13fe-4f9b-4958-9bfb-093ea2f29f91 in_progress\n"
        "not offered: legs, bridge, recording state, hold/mute per leg, latency"
    ),
    EXOTEL: (
        "exotel call_active_001 in_progress 180s\n"
        "agent leg_agent_001 +911234567890 connected pstn\n"
        "customer leg_customer_001 +919876543210 connected pstn\n"
        "bridge_001 active since 2024-06-15T10:30:05Z\n"
        "rec dual 175s\n"
        # cost and caller name are get_live_call's to say; the structured content lists them too
        "not offered: transcript, latency, media streams"
    ),
    ZUDU: (
        "zudu 550e8400-e29b-41d4-a716-446655440000 in_progress 300s\n"
        "rec\n"
        "call_sid=CA1234567890abcdef1234567890abcdef conference_sid=CF1234567890abcdef1234567890abcdef\n"
        "latency p50/p90 e2e 250/381ms llm 125/160ms\n"
        "events:\n"
        " 2023-12-20T18:40:00Z Call created\n"
        " 18:40:30Z Call started - INBOUND\n"
        "transcript:\n"
        " assistant: Hello, thank you for calling. How can I help you today?\n"
        "not offered: legs, bridge, hold/mute per leg"
    ),
    TELNYX: f"telnyx {TELNYX} in_progress 50s",
}

LIST_ACTIVE_CALLS = {
    "vobiz": (
        "2 live calls\n"
        "vobiz in_progress outbound:\n"
        "? 2ded13fe-4f9b-4958-9bfb-093ea2f29f91 +919262171438→+919148227303\n"
        "180s 97ceeb52-58b6-11e1-86da-77300b68f8bb +14156667777→+14156667778"
    ),
    "exotel": (
        "2 live calls\n"
        "exotel ringing inbound:\n"
        "0s call_active_002 +919876543211→+911234567890\n"
        "exotel in_progress outbound:\n"
        "120s call_active_001 +911234567890→+919876543210 agent John Agent (on-call) rec"
    ),
    "zudu": (
        "1 live call\n"
        "zudu in_progress inbound:\n"
        "300s 550e8400-e29b-41d4-a716-446655440000 +1234567890→+0987654321 agent-123 rec"
    ),
    "telnyx": f"1 live call\ntelnyx in_progress:\n50s {TELNYX}",
}


@pytest.mark.anyio
@pytest.mark.parametrize(("provider", "call_id"), SEED_CALLS)
async def test_get_live_call_renders_each_documented_example_in_a_few_short_lines(
    client: Client, provider: str, call_id: str
) -> None:
    text = await _text(client, "get_live_call", {"call_id": call_id, "provider": provider})

    assert text == GET_LIVE_CALL[call_id]


@pytest.mark.anyio
@pytest.mark.parametrize(("provider", "call_id"), SEED_CALLS)
async def test_get_stream_details_renders_each_documented_example_compactly(
    client: Client, provider: str, call_id: str
) -> None:
    text = await _text(client, "get_stream_details", {"call_id": call_id, "provider": provider})

    assert text == GET_STREAM_DETAILS[call_id]


@pytest.mark.anyio
@pytest.mark.parametrize("provider", list(LIST_ACTIVE_CALLS))
async def test_list_active_calls_renders_one_line_per_documented_example_call(
    client: Client, provider: str
) -> None:
    text = await _text(client, "list_active_calls", {"provider": provider})

    assert text == LIST_ACTIVE_CALLS[provider]


@pytest.mark.anyio
async def test_the_list_across_providers_groups_the_same_lines_newest_first_within(client: Client) -> None:
    text = await _text(client, "list_active_calls", {})

    lines = text.splitlines()
    # The examples pinned here, in order; a provider whose examples show a live call adds its lines.
    every_line = {line for listing in LIST_ACTIVE_CALLS.values() for line in listing.splitlines()[1:]}
    calls = [line for line in lines[1:] if not line.endswith(":")]
    assert lines[0] == f"{len(calls)} live calls"
    assert every_line <= set(lines[1:])
    assert len(lines[1:]) == len(set(lines[1:]))  # each heading once, though two providers list in_progress
    # Headings in the order of their newest call; within one, newest first.
    assert [line.split()[1] for line in calls if line in every_line] == [
        VOBIZ_FLAT,  # 2026-06-11
        VOBIZ_PLIVO,  # 2014-10-15, under the same heading
        "call_active_002",  # 2024-06-15T10:35
        EXOTEL,  # 2024-06-15T10:30
        TELNYX,  # 50 s before NOW (its list counts from now)
        ZUDU,  # 2023-12-20
    ]


@pytest.mark.anyio
async def test_no_text_block_carries_nulls_none_or_request_ids(client: Client) -> None:
    texts = [await _text(client, "list_active_calls", {})]
    texts += [await _text(client, "list_active_calls", {"provider": p}) for p in NAMES]
    for provider, call_id in [*SEED_CALLS, ("exotel", "call_active_002"), ("zudu", "call-456")]:
        for tool in ("get_live_call", "get_stream_details"):
            for detail in ("brief", "full"):
                arguments = {"call_id": call_id, "provider": provider, "detail": detail}
                texts.append(await _text(client, tool, arguments))

    for text in texts:
        for word in FORBIDDEN:
            assert word not in text, f"{word!r} in:\n{text}"


def test_a_status_word_nobody_documented_shows_the_raw_word_and_never_none() -> None:
    call = LiveCall(provider=ProviderName("vobiz"), call_id="c1", status=CallStatus.UNKNOWN)
    parked = call.model_copy(update={"provider_status": "parked"})
    stream = StreamDetails(provider=ProviderName("exotel"), call_id="c2", status=CallStatus.UNKNOWN)

    assert render_call(call) == "vobiz c1 unknown"
    assert render_call(parked) == "vobiz c1 unknown(parked)"
    assert (
        render_stream(stream.model_copy(update={"provider_status": "parked"})) == "exotel c2 unknown(parked)"
    )
    assert render_stream(stream) == "exotel c2 unknown"
    assert render_page(ActiveCallsPage(calls=[call, parked])) == (
        "2 live calls\nvobiz unknown:\n? c1\n? c1 unknown(parked)"
    )


def test_a_list_drops_every_transcript_turn_and_counts_none() -> None:
    turns = [TranscriptTurn(role="user", text=f"turn {i}") for i in range(3)]
    call = LiveCall(
        provider=ProviderName("zudu"), call_id="z1", status=CallStatus.IN_PROGRESS, transcript=turns
    )

    page = prepare_page(ActiveCallsPage(calls=[call]))

    assert page.calls[0].transcript == []
    assert page.calls[0].transcript_turns_omitted is None
    assert render_page(page) == "1 live call\nzudu in_progress:\n? z1"
