"""The simulated Plivo-family API's bodies: a call in either single-call shape and a page of
media streams, times written in the account's zone (``families/plivo_simulated.py`` serves them).

The flat shape is vobiz-live-call-v2.md's (and Plivo's live call), the ``calls`` element the older
vobiz-live-call-v1.txt's; stream objects are Plivo-like, paged as NOTES.md and Plivo's list write.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from typing import Any

from mcp_livecalls.simkit.calls import CallState, SimCall

__all__ = ["call_object", "flat_call", "local_time", "local_time_us", "stream_objects", "stream_page"]


def local_time(ts: float, zone: tzinfo = UTC, *, offset: bool = False) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in the account's zone, no zone written (as Vobiz writes call times);
    with ``offset`` the zone's offset follows (``+05:30``), as in Vobiz's stream objects."""
    local = datetime.fromtimestamp(ts, zone)
    text = local.strftime("%Y-%m-%d %H:%M:%S")
    return text + local.isoformat()[19:] if offset else text


def local_time_us(ts: float, zone: tzinfo = UTC) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` in the account's zone, no zone written."""
    return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M:%S.%f")


_CALL_STATE: dict[CallState, str] = {
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


def call_object(call: SimCall, ts: float, auth_id: str, zone: tzinfo = UTC) -> dict[str, Any]:
    """One element of ``calls`` in vobiz-live-call-v1.txt (times in the account's ``zone``)."""
    state = call.state_at_ts(ts)
    answer = call.created_ts + call.answer_s if call.answer_s is not None and state != "queued" else None
    answered = answer is not None and ts >= answer
    return {
        # Undocumented: answer_time is null until the call is answered.
        "answer_time": local_time(answer, zone) if answered and answer is not None else None,
        "bill_duration": None,
        "billed_duration": None,
        "call_direction": call.direction,
        "call_duration": math.floor(call.talk_s(ts)),
        "call_state": _CALL_STATE[state],
        "call_uuid": call.id,
        "conference_uuid": call.conference_uuid,
        "end_time": None,
        "from_number": call.from_number,
        "initiation_time": local_time(call.created_ts, zone),
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


def flat_call(call: SimCall, ts: float, api_id: str, zone: tzinfo = UTC) -> dict[str, Any]:
    """The whole body of vobiz-live-call-v2.md (numbers without ``+``, as documented)."""
    return {
        "api_id": api_id,
        "call_status": _FLAT_STATUS[call.state_at_ts(ts)],
        "call_uuid": call.id,
        "caller_name": call.caller_name or "",
        "direction": call.direction,
        "from": call.from_number.removeprefix("+"),
        "request_uuid": call.id,
        "session_start": local_time_us(call.created_ts, zone),
        "stir_attestation": call.stir_attestation,
        "stir_verification": call.stir_verification,
        "to": call.to_number.removeprefix("+"),
    }


def stream_objects(
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
            "start_time": local_time(call.created_ts + start_s, zone, offset=offset),
            "end_time": None,
            "resource_uri": f"/v1/Account/{auth_id}/Call/{call.id}/Stream/{stream_id}/",
        }
    ]


def stream_page(api_id: str, objects: list[dict[str, Any]], page: int, per_page: int) -> dict[str, Any]:
    """A page of stream objects. NOTES.md documents {page, per_page, total, objects}; Plivo's
    stream list uses {meta, objects}. Both are given so either reading works."""
    start = (page - 1) * per_page
    meta = {"count": len(objects), "limit": per_page, "offset": start, "next": None, "previous": None}
    return {
        "api_id": api_id,
        "page": page,
        "per_page": per_page,
        "total": len(objects),
        "meta": meta,
        "objects": objects[start : start + per_page],
    }
