"""The compact text: pinned whole strings, so a regression in compactness shows in review."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mcp_livecalls.core.models import (
    ActiveCallsPage,
    Agent,
    CallEvent,
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
    [
        (0, "0s"),
        (59, "59s"),
        (60, "60s"),
        (192, "192s"),
        (3725, "3725s"),
        (59.9, "59s"),
        (-3, "0s"),
        (None, ""),
    ],
)
def test_durations_are_whole_seconds(seconds: float | None, text: str) -> None:
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


def test_a_list_is_one_line_per_call_under_its_provider_status_and_direction() -> None:
    ringing = _exotel_call().model_copy(
        update={"call_id": "call_2", "status": CallStatus.RINGING, "duration_s": 3, "agent": None}
    )
    inbound = ringing.model_copy(
        update={"call_id": "call_3", "direction": Direction.INBOUND, "recording": None}
    )
    vobiz = inbound.model_copy(
        update={"provider": ProviderName("vobiz"), "call_id": "v1", "duration_s": None}
    )
    page = ActiveCallsPage(
        calls=[ringing, _exotel_call(), inbound, vobiz, ringing.model_copy(update={"call_id": "call_4"})]
    )

    assert render_page(page) == (
        "5 live calls\n"
        "exotel ringing outbound:\n"
        "3s call_2 +911234567890→+919876543210 rec\n"
        "3s call_4 +911234567890→+919876543210 rec\n"
        "exotel in_progress outbound:\n"
        "120s call_active_001 +911234567890→+919876543210 agent John Agent (on-call) rec\n"
        "exotel ringing inbound:\n"
        "3s call_3 +911234567890→+919876543210\n"
        "vobiz ringing inbound:\n"
        "? v1 +911234567890→+919876543210"
    )


def test_a_list_says_the_count_cursor_notes_and_failures() -> None:
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
        "exotel in_progress outbound:\n"
        "120s call_active_001 +911234567890→+919876543210 agent John Agent (on-call) rec\n"
        "note: vobiz: status filtered locally (not supported upstream)\n"
        "failed zudu: Zudu did not answer in time (ReadTimeout)."
    )


def test_one_call_is_a_few_short_lines_without_empty_fields() -> None:
    assert render_call(_exotel_call()) == (
        "exotel call_active_001 in_progress outbound +911234567890→+919876543210 120s "
        "agent John Agent (on-call) rec"
    )


def test_full_detail_adds_when_the_call_started_which_brief_leaves_to_the_duration() -> None:
    assert render_call(_exotel_call(), detail="full") == (
        "exotel call_active_001 in_progress outbound +911234567890→+919876543210 120s "
        "agent John Agent (on-call) rec\n"
        "started 2024-06-15T10:30:00Z"
    )
    undated = _exotel_call().model_copy(update={"duration_s": None})
    assert render_call(undated).endswith("\nstarted 2024-06-15T10:30:00Z")


def test_an_unknown_status_shows_the_providers_own_word() -> None:
    call = _exotel_call().model_copy(update={"status": CallStatus.UNKNOWN, "provider_status": "parked"})

    assert render_call(call).startswith("exotel call_active_001 unknown(parked) outbound")
    page = render_page(ActiveCallsPage(calls=[call]))
    assert page.splitlines()[1:] == [
        "exotel unknown outbound:",
        "120s call_active_001 unknown(parked) +911234567890→+919876543210 agent John Agent (on-call) rec",
    ]


def test_brief_detail_keeps_the_recent_turns_and_counts_the_rest() -> None:
    turns = [TranscriptTurn(role="user" if i % 2 else "agent", text=f"turn {i}") for i in range(10)]
    call = _exotel_call().model_copy(update={"transcript": turns, "agent": None, "recording": None})

    brief = prepare_call(call, detail="brief", turns=3)
    full = prepare_call(call, detail="full", turns=3)

    assert [t.text for t in brief.transcript] == ["turn 7", "turn 8", "turn 9"]
    assert brief.transcript_turns_omitted == 7
    assert full == call
    assert render_call(brief) == (
        "exotel call_active_001 in_progress outbound +911234567890→+919876543210 120s\n"
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
        "exotel call_active_001 on_hold 180s\n"
        "agent leg_agent_001 +911234567890 connected pstn\n"
        "customer leg_customer_001 +919876543210 connected pstn muted hold\n"
        "rec dual 175s\n"
        "not offered: transcript, latency"
    )


def _legs() -> list[CallLeg]:
    rows = [
        ("leg_a1", "agent", "webrtc:asha", LegStatus.CONNECTING, "webrtc"),
        ("leg_c1", "customer", "+919876543210", LegStatus.CONNECTED, "pstn"),
        ("leg_x9", None, None, LegStatus.CONNECTED, None),
    ]
    return [CallLeg(leg_id=i, role=r, contact=c, status=s, network=n) for i, r, c, s, n in rows]


def test_a_call_names_its_legs_by_who_and_where_and_leaves_their_ids_to_full_detail() -> None:
    call = _exotel_call().model_copy(update={"legs": _legs(), "agent": None, "recording": None})

    assert render_call(call).splitlines()[1:] == [
        "leg agent webrtc:asha connecting",  # the contact says the network
        "leg customer +919876543210 connected pstn",
        "leg_x9 connected",  # nothing else tells this leg apart: its id stays
    ]
    assert render_call(call, detail="full").splitlines()[2:] == [
        "agent leg_a1 webrtc:asha connecting",
        "customer leg_c1 +919876543210 connected pstn",
        "leg_x9 connected",
    ]
    assert [leg["leg_id"] for leg in call.structured()["legs"]] == ["leg_a1", "leg_c1", "leg_x9"]


def test_stream_details_keep_leg_ids_and_say_only_the_media_side_of_what_is_not_offered() -> None:
    details = StreamDetails(
        provider=ProviderName("exotel"),
        call_id="call_active_001",
        status=CallStatus.IN_PROGRESS,
        legs=_legs()[:1],
        not_offered=["transcript", "cost", "caller name", "agent", "media streams"],
    )

    assert render_stream(details).splitlines()[1:] == [
        "agent leg_a1 webrtc:asha connecting",
        "not offered: transcript, media streams",
    ]
    assert details.structured()["not_offered"] == [
        "transcript",
        "cost",
        "caller name",
        "agent",
        "media streams",
    ]


def test_events_of_the_same_day_as_the_one_above_show_only_their_time() -> None:
    details = StreamDetails(
        provider=ProviderName("zudu"),
        call_id="z1",
        events=[
            CallEvent(at=datetime(2023, 12, 20, 23, 59, 50, tzinfo=UTC), name="Call created"),
            CallEvent(at=datetime(2023, 12, 20, 23, 59, 58, tzinfo=UTC), name="Call started"),
            CallEvent(name="Agent joined"),
            CallEvent(at=datetime(2023, 12, 21, 0, 0, 3, tzinfo=UTC), name="Transfer"),
        ],
    )

    assert render_stream(details).splitlines()[1:] == [
        "events:",
        " 2023-12-20T23:59:50Z Call created",
        " 23:59:58Z Call started",
        " Agent joined",
        " 2023-12-21T00:00:03Z Transfer",
    ]


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
