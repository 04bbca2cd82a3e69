"""The simulated Exotel v3 payloads: an active-calls entry, call details (either documented
form) and stream details, at a given time."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

from mcp_livecalls.simkit.calls import CallState, SimCall
from mcp_livecalls.simkit.render import iso_time_ms, sid

__all__ = ["exotel_active_item", "exotel_agent_details", "exotel_call_details", "exotel_stream"]


def _exotel_status(state: CallState) -> str:
    return "ringing" if state in ("queued", "ringing", "early_media") else "in-progress"


def exotel_agent_details(call: SimCall, state: CallState) -> dict[str, Any] | None:
    if call.agent is None:
        return None
    if call.native_direction == "inbound" and state not in ("in_progress", "on_hold"):
        return None  # an inbound call gets its agent when it is answered (as the docs' example)
    # Undocumented: the only documented agent status is "on-call"; we use it throughout.
    return {"user_id": call.agent.id, "name": call.agent.name, "status": "on-call"}


def exotel_active_item(call: SimCall, ts: float) -> dict[str, Any]:
    """One element of ``response.active_calls``."""
    state = call.state_at_ts(ts)
    return {
        "call_sid": call.id,
        "direction": call.native_direction,
        "status": _exotel_status(state),
        "from": call.from_number,
        "to": call.to_number,
        # Undocumented: start_time is when the call was placed, duration counts from the answer
        # (the docs' ringing call has duration 0).
        "start_time": iso_time_ms(call.created_ts),
        "duration": math.floor(call.talk_s(ts)),
        "agent_details": exotel_agent_details(call, state),
        "recording_enabled": call.recording,
    }


IST = timezone(timedelta(hours=5, minutes=30))


def ist_time(ts: float) -> str:
    """ISO 8601 in India's zone: ``2024-06-15T16:00:00+05:30`` (the sibling call-details spelling)."""
    return datetime.fromtimestamp(ts, IST).isoformat(timespec="seconds")


def exotel_call_details(call: SimCall, ts: float, *, alternative: bool = False) -> dict[str, Any]:
    """``response.call_details`` of ``GET /v3/accounts/{sid}/calls/{call_sid}``.

    Undocumented: the v3 page shows no body. The default spelling is the active-list item's
    (``call_sid``, ``status``, ``from``/``to``, ``duration``, ``agent_details``, ``recording``);
    ``alternative`` is the one of Exotel's sibling call-details endpoints (``sid``,
    ``call_state``/``call_status``, ``customer_details``/``virtual_number``, ``total_duration``,
    ``assigned_agent_details``, ``recording_url``, times in +05:30).
    """
    state = call.state_at_ts(ts)
    ended = state not in ("queued", "ringing", "early_media", "in_progress", "on_hold")
    status = "completed" if ended else _exotel_status(state)
    inbound = call.native_direction == "inbound"
    customer, virtual = (call.from_number, call.to_number) if inbound else (call.to_number, call.from_number)
    agent = exotel_agent_details(call, state)
    recording_url = f"https://recordings.exotel.example/{call.id}.mp3" if call.recording else None
    if not alternative:
        return {
            "call_sid": call.id,
            "status": status,
            "direction": call.native_direction,
            "from": call.from_number,
            "to": call.to_number,
            "virtual_number": virtual,
            "start_time": iso_time_ms(call.created_ts),
            "duration": math.floor(call.talk_s(ts)),
            "agent_details": agent,
            "recording": {"available": call.recording, "url": recording_url},
        }
    return {
        "sid": call.id,
        "call_state": "terminal" if ended else "active",
        "call_status": status,
        "direction": call.native_direction,
        "customer_details": {"number": customer},
        "virtual_number": virtual,
        "start_time": ist_time(call.created_ts),
        "total_duration": math.floor(call.elapsed_s(min(ts, call.end_ts))),
        "assigned_agent_details": None
        if agent is None or call.agent is None
        else {"user_id": call.agent.id, "contact_uri": call.agent.contact_uri},
        "recording_url": recording_url,
    }


def exotel_stream(call: SimCall, ts: float) -> dict[str, Any]:
    """``response.stream`` of the stream-details endpoint: an agent leg and a customer leg."""
    state = call.state_at_ts(ts)
    talking = state in ("in_progress", "on_hold")
    agent_muted, customer_muted = call.muted_at_ts(ts)
    inbound = call.native_direction == "inbound"
    if call.agent is not None:
        agent_uri, agent_net = call.agent.contact_uri, call.agent.network_type
    else:
        agent_uri, agent_net = (call.to_number if inbound else call.from_number), "pstn"
    customer_uri = call.from_number if inbound else call.to_number
    # Who is connected while ringing: the side that placed the call.
    agent_status = "connected" if talking or not inbound else "ringing"
    customer_status = "connected" if talking or inbound else "ringing"
    legs = [
        {
            "leg_sid": sid("leg_", call.id, "agent"),
            "contact_uri": agent_uri,
            "direction": "outbound",
            "status": agent_status,
            "network_type": agent_net,
            "audio_status": {"muted": agent_muted, "hold": False},
        },
        {
            "leg_sid": sid("leg_", call.id, "customer"),
            "contact_uri": customer_uri,
            "direction": "inbound" if inbound else "outbound",
            "status": customer_status,
            "network_type": "pstn",
            # The agent puts the customer on hold: the customer's leg carries the flag.
            "audio_status": {"muted": customer_muted, "hold": state == "on_hold"},
        },
    ]
    bridge = None
    recording_s = 0
    if talking and call.answer_s is not None:
        bridged = call.created_ts + call.answer_s + 1.0
        bridge = {
            "bridge_sid": sid("bridge_", call.id),
            "status": "active",
            "created_at": iso_time_ms(bridged),
        }
        if call.recording:
            recording_s = max(0, math.floor(ts - bridged))
    return {
        "call_sid": call.id,
        "status": _exotel_status(state),
        "duration": math.floor(call.talk_s(ts)),
        "legs": legs,
        "bridge": bridge,
        "recording": {
            "enabled": call.recording,
            "channels": call.recording_channels,
            "duration": recording_s,
        },
    }
