"""Turn a :class:`~mcp_livecalls.simulator.population.SimCall` at a moment into provider payloads.

Each function takes the call and ``ts`` (POSIX seconds) and answers the provider's documented shape.
Choices where the documents are silent are marked ``# Undocumented:``.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from mcp_livecalls.simulator.population import CallState, SimCall

__all__ = [
    "exotel_active_item",
    "exotel_agent_details",
    "exotel_call_details",
    "exotel_stream",
    "exotel_time",
    "vobiz_flat",
    "vobiz_plivo_call",
    "vobiz_streams",
    "vobiz_time",
    "vobiz_time_us",
    "zudu_enum",
    "zudu_record",
    "zudu_status",
    "zudu_storage_setting",
]


def vobiz_time(ts: float, zone: tzinfo = UTC, *, offset: bool = False) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in the account's zone, no zone written (as Vobiz writes call times);
    with ``offset`` the zone's offset follows (``+05:30``), as in Vobiz's stream objects."""
    local = datetime.fromtimestamp(ts, zone)
    text = local.strftime("%Y-%m-%d %H:%M:%S")
    return text + local.isoformat()[19:] if offset else text


def vobiz_time_us(ts: float, zone: tzinfo = UTC) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` in the account's zone, no zone written."""
    return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M:%S.%f")


def exotel_time(ts: float) -> str:
    """ISO 8601 with milliseconds and ``Z``: ``2024-06-15T10:30:00.000Z``."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _ms(ts: float) -> int:
    return round(ts * 1000)


def _sid(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha256("/".join(parts).encode()).hexdigest()[:16]


# -- Vobiz -----------------------------------------------------------------------------------------

_PLIVO_STATE: dict[CallState, str] = {
    "queued": "QUEUED",  # Undocumented: only reached through status=queued, which answers the flat shape.
    "ringing": "RINGING",
    "early_media": "EARLY",
    "in_progress": "ACTIVE",
    "on_hold": "HELD",
    "ended": "ENDED",
}

# Undocumented: the flat shape has no word for a held call. We answer "in-progress" (the call is
# still up; Plivo's callbacks only know ringing / in-progress / completed) and invent nothing.
_FLAT_STATUS: dict[CallState, str] = {
    "queued": "queued",
    "ringing": "ringing",
    "early_media": "early-media",
    "in_progress": "in-progress",
    "on_hold": "in-progress",
    "ended": "completed",
}


def vobiz_plivo_call(call: SimCall, ts: float, auth_id: str, zone: tzinfo = UTC) -> dict[str, Any]:
    """One element of ``calls`` in vobiz-live-call-v1.txt (times in the account's ``zone``)."""
    state = call.state_at_ts(ts)
    answer = call.created_ts + call.answer_s if call.answer_s is not None and state != "queued" else None
    answered = answer is not None and ts >= answer
    return {
        # Undocumented: answer_time is null until the call is answered.
        "answer_time": vobiz_time(answer, zone) if answered and answer is not None else None,
        "bill_duration": None,
        "billed_duration": None,
        "call_direction": call.direction,
        "call_duration": math.floor(call.talk_s(ts)),
        "call_state": _PLIVO_STATE[state],
        "call_uuid": call.id,
        "conference_uuid": call.conference_uuid,
        "end_time": None,
        "from_number": call.from_number,
        "initiation_time": vobiz_time(call.created_ts, zone),
        "parent_call_uuid": call.parent_call_uuid,
        "hangup_cause_code": None,
        "hangup_cause_name": None,
        "hangup_source": None,
        "resource_uri": f"/v1/Account/{auth_id}/Call/{call.id}/",
        "to_number": call.to_number,
        "total_amount": None,
        "total_rate": None,
        "stir_verification": call.stir_verification,
        "stir_attestation": call.stir_attestation,
        "source_ip": call.source_ip,
    }


def vobiz_flat(call: SimCall, ts: float, api_id: str, zone: tzinfo = UTC) -> dict[str, Any]:
    """The whole body of vobiz-live-call-v2.md (numbers without ``+``, as documented)."""
    return {
        "api_id": api_id,
        "call_status": _FLAT_STATUS[call.state_at_ts(ts)],
        "call_uuid": call.id,
        "caller_name": call.caller_name or "",
        "direction": call.direction,
        "from": call.from_number.removeprefix("+"),
        "request_uuid": call.id,
        "session_start": vobiz_time_us(call.created_ts, zone),
        "stir_attestation": call.stir_attestation,
        "stir_verification": call.stir_verification,
        "to": call.to_number.removeprefix("+"),
    }


def vobiz_streams(
    call: SimCall, ts: float, auth_id: str, zone: tzinfo = UTC, *, offset: bool = False
) -> list[dict[str, Any]]:
    """Media streams of a live call (a Plivo-like stream object; empty for most calls).

    With ``offset`` the times carry the zone's offset (``+05:30``), as Vobiz's stream docs show."""
    if call.media_stream is None:
        return []
    stream_id, start_s, track, bidirectional = call.media_stream
    if ts < call.created_ts + start_s:
        return []
    return [
        {
            "stream_id": stream_id,
            "call_uuid": call.id,
            "status": "in-progress",
            "audio_track": track,
            "bidirectional": bidirectional,
            "content_type": "audio/x-l16;rate=8000",
            "service_url": f"wss://media.example.com/streams/{call.id}",
            "start_time": vobiz_time(call.created_ts + start_s, zone, offset=offset),
            "end_time": None,
            "resource_uri": f"/v1/Account/{auth_id}/Call/{call.id}/Stream/{stream_id}/",
        }
    ]


# -- Exotel ----------------------------------------------------------------------------------------


def _exotel_status(state: CallState) -> str:
    return "ringing" if state in ("queued", "ringing", "early_media") else "in-progress"


def exotel_agent_details(call: SimCall, state: CallState) -> dict[str, Any] | None:
    if call.agent is None:
        return None
    if call.exotel_direction == "inbound" and state not in ("in_progress", "on_hold"):
        return None  # an inbound call gets its agent when it is answered (as the docs' example)
    # Undocumented: the only documented agent status is "on-call"; we use it throughout.
    return {"user_id": call.agent.id, "name": call.agent.name, "status": "on-call"}


def exotel_active_item(call: SimCall, ts: float) -> dict[str, Any]:
    """One element of ``response.active_calls``."""
    state = call.state_at_ts(ts)
    return {
        "call_sid": call.id,
        "direction": call.exotel_direction,
        "status": _exotel_status(state),
        "from": call.from_number,
        "to": call.to_number,
        # Undocumented: start_time is when the call was placed, duration counts from the answer
        # (the docs' ringing call has duration 0).
        "start_time": exotel_time(call.created_ts),
        "duration": math.floor(call.talk_s(ts)),
        "agent_details": exotel_agent_details(call, state),
        "recording_enabled": call.recording,
    }


IST = timezone(timedelta(hours=5, minutes=30))


def _ist_time(ts: float) -> str:
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
    inbound = call.exotel_direction == "inbound"
    customer, virtual = (call.from_number, call.to_number) if inbound else (call.to_number, call.from_number)
    agent = exotel_agent_details(call, state)
    recording_url = f"https://recordings.exotel.example/{call.id}.mp3" if call.recording else None
    if not alternative:
        return {
            "call_sid": call.id,
            "status": status,
            "direction": call.exotel_direction,
            "from": call.from_number,
            "to": call.to_number,
            "virtual_number": virtual,
            "start_time": exotel_time(call.created_ts),
            "duration": math.floor(call.talk_s(ts)),
            "agent_details": agent,
            "recording": {"available": call.recording, "url": recording_url},
        }
    return {
        "sid": call.id,
        "call_state": "terminal" if ended else "active",
        "call_status": status,
        "direction": call.exotel_direction,
        "customer_details": {"number": customer},
        "virtual_number": virtual,
        "start_time": _ist_time(call.created_ts),
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
    inbound = call.exotel_direction == "inbound"
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
            "leg_sid": _sid("leg_", call.id, "agent"),
            "contact_uri": agent_uri,
            "direction": "outbound",
            "status": agent_status,
            "network_type": agent_net,
            "audio_status": {"muted": agent_muted, "hold": False},
        },
        {
            "leg_sid": _sid("leg_", call.id, "customer"),
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
            "bridge_sid": _sid("bridge_", call.id),
            "status": "active",
            "created_at": exotel_time(bridged),
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


# -- Zudu ------------------------------------------------------------------------------------------

_ZUDU_REASON = {
    "caller_hangup": "user_hangup",
    "callee_hangup": "agent_hangup",
    "transfer": "call_transfer",
    "no_answer": "dial_no_answer",
    "busy": "dial_busy",
    "cancel": "user_hangup",
    "failed": "dial_failed",
}


def zudu_status(call: SimCall, ts: float, *, lower_case: bool = False) -> str:
    """The Zudu ``call_status`` (in the call's own letter case, or lower case for every call)."""
    state = call.state_at_ts(ts)
    if state in ("queued", "ringing", "early_media"):
        value = "REGISTERED"
    elif state == "ended":
        value = "ERROR" if call.end_reason == "failed" else "ENDED"
    else:
        value = "ONGOING"
    return value.lower() if call.lowercase_enums or lower_case else value


def zudu_enum(call: SimCall, value: str, *, lower_case: bool = False) -> str:
    return value.lower() if call.lowercase_enums or lower_case else value


def zudu_storage_setting(call: SimCall) -> str:
    """Retell's ``data_storage_setting`` for the call (the ``zudu.data_storage_setting`` flavour).

    An opted-out call stores ``basic_attributes_only`` (Retell's documented mapping of the old
    flag); of the others, a stable quarter store ``everything_except_pii``, the rest ``everything``.
    """
    if call.opt_out_sensitive_data_storage:
        return "basic_attributes_only"
    quarter = hashlib.sha256(call.id.encode()).digest()[0] % 4 == 0
    return "everything_except_pii" if quarter else "everything"


def _percentile(sorted_values: list[float], q: float) -> float:
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return round(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo), 1)


def _latency_block(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    return {
        "max": ordered[-1],
        "min": ordered[0],
        "num": len(values),
        "p50": _percentile(ordered, 0.5),
        "p90": _percentile(ordered, 0.9),
        "p95": _percentile(ordered, 0.95),
        "p99": _percentile(ordered, 0.99),
        "values": values,
    }


def zudu_record(
    call: SimCall,
    ts: float,
    organization_id: str,
    *,
    lower_case: bool = False,
    storage_setting: bool = False,
    record_id: bool = True,
) -> dict[str, Any]:
    """The ``data`` object of zudu-get-call.txt at ``ts``.

    Transcript data is returned even when ``opt_out_sensitive_data_storage`` is true: hiding it is
    the MCP server's job, and the simulator must let tests check that it does. The flavours:
    ``lower_case`` writes every enum in lower case, ``storage_setting`` carries Retell's
    ``data_storage_setting`` instead of the opt-out flag, ``record_id=False`` leaves out ``id``.
    """
    d = call.details()
    state = call.state_at_ts(ts)
    elapsed = ts - call.created_ts
    ended = state == "ended"
    direction = "OUTBOUND" if call.direction == "outbound" else "INBOUND"
    call_id = call.zudu_call_id or call.id

    turns = [t for t in d.turns if t.end_s <= elapsed]
    tools = [t for t in d.tools if t.at_s <= elapsed]
    base = call.created_ts

    events: list[dict[str, Any]] = [
        {"timestamp": _ms(base), "event": "Call created", "session_time": 0, "data": {}}
    ]
    if call.answer_s is not None and elapsed >= call.answer_s:
        events.append(
            {
                "timestamp": _ms(base + call.answer_s),
                "event": f"Call started - {direction}",
                "session_time": 0,
                "data": {
                    "direction": direction,
                    "from": None if call.web_call else call.from_number,
                    "to": None if call.web_call else call.to_number,
                },
            }
        )
        for tool in tools:
            events.append(
                {
                    "timestamp": _ms(base + tool.at_s),
                    "event": f"Tool call - {tool.name}",
                    "session_time": math.floor(tool.at_s - call.answer_s),
                    "data": {"tool_call_id": tool.tool_call_id, "name": tool.name},
                }
            )
    if ended:
        events.append(
            {
                "timestamp": _ms(call.end_ts),
                "event": "Call ended",
                "session_time": math.floor(call.talk_s(ts)),
                "data": {"reason": _ZUDU_REASON[call.end_reason]},
            }
        )

    transcript_object = [
        {
            "role": t.role,
            "content": t.content,
            "timestamp": _ms(base + t.start_s),
            "words": [{"word": w, "start": _ms(base + a), "end": _ms(base + b)} for w, a, b in t.words],
        }
        for t in turns
    ]
    with_tools: list[tuple[float, dict[str, Any]]] = [
        (t.start_s, {"role": t.role, "content": t.content}) for t in turns
    ]
    for tool in tools:
        with_tools.append(
            (
                tool.at_s,
                {
                    "role": "tool_call_invocation",
                    "tool_call_id": tool.tool_call_id,
                    "name": tool.name,
                    "arguments": tool.arguments,
                },
            )
        )
        with_tools.append(
            (
                tool.at_s + 0.001,
                {"role": "tool_call_result", "tool_call_id": tool.tool_call_id, "content": tool.result},
            )
        )
    with_tools.sort(key=lambda item: item[0])

    e2e = [t.e2e_ms for t in turns if t.e2e_ms is not None]
    llm = [t.llm_ms for t in turns if t.llm_ms is not None]
    # Undocumented: before the first answer of the agent there is nothing to measure: latency is {}.
    latency: dict[str, Any] = {"e2e": _latency_block(e2e), "llm": _latency_block(llm)} if e2e and llm else {}

    talk = call.talk_s(ts)
    unit = 0.02 if call.direction == "inbound" else 0.025
    telephony = round(talk / 60.0 * unit, 4)
    llm_units = 5 * sum(1 for t in turns if t.role == "assistant")
    llm_cost = round(llm_units * 0.001, 4)
    call_cost = {
        "combined_cost": round(telephony + llm_cost, 4),
        "product_costs": [
            {"product": f"{call.direction}_call", "cost": telephony, "unit_price": unit},
            {"product": "llm_usage", "cost": llm_cost, "unit_price": 0.001},
        ],
        "total_duration_seconds": math.floor(talk),
        "total_duration_unit_price": unit,
        # Undocumented: no one-time price is simulated.
        "total_one_time_price": 0.0,
    }

    call_analysis = None
    if ended and call.answer_s is not None:
        call_analysis = {
            "call_summary": d.scenario.summary,
            "user_sentiment": d.sentiment,
            "call_successful": d.successful,
            "in_voicemail": False,
        }

    record: dict[str, Any] = {
        "id": call.id,
        "agent_id": call.agent.id if call.agent is not None else None,
        "call_id": call_id,
        "organization_id": organization_id,
        "call_status": zudu_status(call, ts, lower_case=lower_case),
        "call_type": zudu_enum(call, "WEB_CALL" if call.web_call else "PHONE_CALL", lower_case=lower_case),
        "direction": zudu_enum(call, direction, lower_case=lower_case),
        "from_number": None if call.web_call else call.from_number,
        "to_number": None if call.web_call else call.to_number,
        "start_timestamp": _ms(base),
        "end_timestamp": _ms(call.end_ts) if ended else None,
        "call_duration": _ms(call.end_s) if ended else None,
        "disconnection_reason": _ZUDU_REASON[call.end_reason] if ended else None,
        "recording_url": f"https://recordings.example.com/zudu/{call_id}.mp4" if call.recording else None,
        "public_log_url": f"https://api.example.com/logs/{call_id}",
        "opt_out_sensitive_data_storage": call.opt_out_sensitive_data_storage,
        "data_storage_setting": zudu_storage_setting(call),
        "metadata": dict(d.metadata),
        "events": events,
        # Undocumented: the transcript text is the turns' contents, one per line (the docs show one turn).
        "transcript": "\n".join(t.content for t in turns),
        "transcript_object": transcript_object,
        "transcript_with_tool_calls": [entry for _, entry in with_tools],
        "latency": latency,
        "call_analysis": call_analysis,
        "call_cost": call_cost,
        "telephony_identifier": None
        if call.web_call
        else {"call_sid": d.telephony_call_sid, "conference_sid": d.conference_sid},
    }
    if storage_setting:
        del record["opt_out_sensitive_data_storage"]
    else:
        del record["data_storage_setting"]
    if not record_id:
        del record["id"]
    return record
