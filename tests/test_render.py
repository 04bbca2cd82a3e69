"""The compact text: pinned whole strings, so a regression in compactness shows in review."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mcp_livecalls.core.models import (
    ActiveCallsPage,
    Agent,
    CallLeg,
    CallStatus,
    Direction,
    LegStatus,
    LiveCall,
    ProviderFailure,
    ProviderName,
    Recording,
    StreamDetails,
    TranscriptTurn,
)
from mcp_livecalls.server.policy import mask_number, prepare_call
from mcp_livecalls.server.render import (
    format_duration,
    render_call,
    render_page,
    render_stream,
)

STARTED = datetime(2024, 6, 15, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (60, "1m00s"), (192, "3m12s"), (3725, "1h02m05s"), (None, "")],
)
def test_durations_read_like_3m12s(seconds: int | None, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+919148227303", "…7303"), ("919262171438", "…1438"), ("1234", "1234"), (None, None)],
)
def test_masking_keeps_only_the_last_four_digits(number: str | None, masked: str | None) -> None:
    assert mask_number(number) == masked


def _exotel_call() -> LiveCall:
    return LiveCall(
        provider=ProviderName("exotel"),
        call_id="call_active_001",
        status=CallStatus.IN_PROGRESS,
        provider_status="in-progress",
        direction=Direction.OUTBOUND,
        from_number="+911234567890",
        to_number="+919876543210",
        started_at=STARTED,
        duration_s=120,
        agent=Agent(id="agent_uuid_001", name="John Agent", status="on-call"),
        recording=Recording(enabled=True),
    )


def test_a_list_is_one_line_per_call_with_the_count_cursor_notes_and_failures() -> None:
    page = ActiveCallsPage(
        calls=[_exotel_call()],
        total=7,
        next_cursor="abc",
        notes=["vobiz: status filtered locally (not supported upstream)"],
        failures=[
            ProviderFailure(
                provider=ProviderName("zudu"), reason="Zudu did not answer in time (ReadTimeout)."
            )
        ],
    )

    assert render_page(page) == (
        "1 live call of 7; more with cursor=abc\n"
        "[exotel] call_active_001 in_progress outbound +911234567890→+919876543210 2m00s "
        "agent John Agent (on-call) rec\n"
        "note: vobiz: status filtered locally (not supported upstream)\n"
        "failed zudu: Zudu did not answer in time (ReadTimeout)."
    )


def test_one_call_is_a_few_short_lines_without_empty_fields() -> None:
    assert render_call(_exotel_call()) == (
        "[exotel] call_active_001 in_progress outbound +911234567890→+919876543210 2m00s "
        "agent John Agent (on-call) rec"
    )


def test_full_detail_adds_when_the_call_started_which_brief_leaves_to_the_duration() -> None:
    assert render_call(_exotel_call(), detail="full") == (
        "[exotel] call_active_001 in_progress outbound +911234567890→+919876543210 2m00s "
        "agent John Agent (on-call) rec\n"
        "started 2024-06-15T10:30:00Z"
    )
    undated = _exotel_call().model_copy(update={"duration_s": None})
    assert render_call(undated).endswith("\nstarted 2024-06-15T10:30:00Z")


def test_an_unknown_status_shows_the_providers_own_word() -> None:
    call = _exotel_call().model_copy(update={"status": CallStatus.UNKNOWN, "provider_status": "parked"})

    assert render_call(call).startswith("[exotel] call_active_001 unknown(parked) outbound")


def test_brief_detail_keeps_the_recent_turns_and_counts_the_rest() -> None:
    turns = [TranscriptTurn(role="user" if i % 2 else "agent", text=f"turn {i}") for i in range(10)]
    call = _exotel_call().model_copy(update={"transcript": turns, "agent": None, "recording": None})

    brief = prepare_call(call, detail="brief", turns=3)
    full = prepare_call(call, detail="full", turns=3)

    assert [t.text for t in brief.transcript] == ["turn 7", "turn 8", "turn 9"]
    assert brief.transcript_turns_omitted == 7
    assert full == call
    assert render_call(brief) == (
        "[exotel] call_active_001 in_progress outbound +911234567890→+919876543210 2m00s\n"
        "transcript (last 3, 7 earlier omitted):\n"
        " user: turn 7\n"
        " agent: turn 8\n"
        " user: turn 9"
    )


def test_masking_applies_to_structured_content_and_text_alike() -> None:
    call = prepare_call(_exotel_call(), mask=True)

    assert (call.from_number, call.to_number) == ("…7890", "…3210")
    assert "+911234567890" not in render_call(call)


def test_stream_details_show_each_leg_and_what_the_provider_does_not_offer() -> None:
    details = StreamDetails(
        provider=ProviderName("exotel"),
        call_id="call_active_001",
        status=CallStatus.ON_HOLD,
        duration_s=180,
        legs=[
            CallLeg(
                leg_id="leg_agent_001",
                role="agent",
                contact="+911234567890",
                status=LegStatus.CONNECTED,
                network="pstn",
                muted=False,
                on_hold=False,
            ),
            CallLeg(
                leg_id="leg_customer_001",
                role="customer",
                contact="+919876543210",
                status=LegStatus.CONNECTED,
                network="pstn",
                muted=True,
                on_hold=True,
            ),
        ],
        recording=Recording(enabled=True, channels="dual", duration_s=175),
        not_offered=["transcript", "latency"],
    )

    assert render_stream(details) == (
        "[exotel] call_active_001 on_hold 3m00s\n"
        "agent leg_agent_001 +911234567890 connected pstn\n"
        "customer leg_customer_001 +919876543210 connected pstn muted hold\n"
        "rec dual 2m55s\n"
        "not offered: transcript, latency"
    )


def test_structured_output_leaves_out_nulls_and_empty_containers() -> None:
    assert _exotel_call().structured() == {
        "provider": "exotel",
        "call_id": "call_active_001",
        "status": "in_progress",
        "provider_status": "in-progress",
        "direction": "outbound",
        "from_number": "+911234567890",
        "to_number": "+919876543210",
        "started_at": "2024-06-15T10:30:00Z",
        "duration_s": 120,
        "agent": {"id": "agent_uuid_001", "name": "John Agent", "status": "on-call"},
        "recording": {"enabled": True},
    }
