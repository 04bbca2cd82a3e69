"""Exotel (v3) ``calls/{call_sid}/stream`` answers: legs, their roles, bridge and recording, and a
call's summary merged with what its stream adds.

Legs come from the stream only. Exotel documents two other leg sources, neither used here:
``GET /v3/accounts/{sid}/calls/{call_sid}/legs`` (developer.exotel.com, voice-v3 "Call Legs
(Beta)": enabled per account on request to Exotel; its ``response`` holds the call ``sid`` and
``from`` / ``to`` arrays of leg blocks, users' legs on one side and the customer's on the other),
and the v1 ``Calls/{CallSid}/Legs`` (support.exotel.com "Leg details API"), which answers only for
*completed* calls, so it is not a live source. The stream's leg words follow the active-stream
page's example (``connected``; network ``pstn``; ``audio_status {muted, hold}``); other leg
statuses are the v1 call words, mapped below, anything else ``unknown``.
"""

from __future__ import annotations

import re
from typing import Any

from mcp_livecalls.core.models import (
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
from mcp_livecalls.errors import BadResponse, CallNotFound, ProviderError
from mcp_livecalls.providers.base import (
    RawPayload,
    parse_direction,
    parse_iso,
)
from mcp_livecalls.providers.exotel.records import (
    NOT_OFFERED,
    PROVIDER,
    envelope_response,
    exotel_status,
    seconds,
    word_of,
)

_LEG_STATUS = {
    "connected": LegStatus.CONNECTED,
    "ringing": LegStatus.CONNECTING,
    "initiated": LegStatus.CONNECTING,
    "dialing": LegStatus.CONNECTING,
    "disconnected": LegStatus.DISCONNECTED,
    "completed": LegStatus.DISCONNECTED,
    "failed": LegStatus.DISCONNECTED,
    "busy": LegStatus.DISCONNECTED,
    "no-answer": LegStatus.DISCONNECTED,
}

_ROLES = ("agent", "customer")


def exotel_leg_status(raw: str | None) -> LegStatus:
    return _LEG_STATUS.get(word_of(raw), LegStatus.UNKNOWN)


class _AudioStatus(RawPayload):
    muted: bool | None = None
    hold: bool | None = None


class _Leg(RawPayload):
    leg_sid: str | None = None
    contact_uri: str | None = None
    direction: str | None = None
    status: str | None = None
    network_type: str | None = None
    audio_status: _AudioStatus | None = None


class _Bridge(RawPayload):
    bridge_sid: str | None = None
    status: str | None = None
    created_at: str | None = None


class _Recording(RawPayload):
    enabled: bool | None = None
    channels: str | None = None
    duration: float | None = None


class _Stream(RawPayload):
    call_sid: str | None = None
    status: str | None = None
    duration: float | None = None
    legs: list[_Leg] | None = None
    bridge: _Bridge | None = None
    recording: _Recording | None = None


def _role(leg_sid: str | None) -> str | None:
    tokens = set(re.split(r"[^a-z]+", (leg_sid or "").lower()))
    found = [role for role in _ROLES if role in tokens]
    return found[0] if len(found) == 1 else None


def _roles(legs: list[_Leg]) -> list[str | None]:
    """Each leg's role, or ``None`` where it cannot be told.

    In order: the leg sid names it (the docs' ``leg_agent_001`` / ``leg_customer_001``); of two
    legs, one named names the other; of two legs, the only one that came in is the customer's
    (Exotel dials its agents); of two legs both dialled out, the first is the agent's (the docs'
    order: Exotel dials the agent first, then the customer). Any other shape stays unnamed.
    """
    roles = [_role(leg.leg_sid) for leg in legs]
    if len(legs) != 2 or roles.count(None) == 0:
        return roles
    if roles.count(None) == 1:
        known = next(role for role in roles if role is not None)
        other = "customer" if known == "agent" else "agent"
        return [other if role is None else role for role in roles]
    directions = [parse_direction(leg.direction) for leg in legs]
    if directions.count(Direction.INBOUND) == 1 and directions.count(Direction.OUTBOUND) == 1:
        return ["customer" if direction is Direction.INBOUND else "agent" for direction in directions]
    if directions == [Direction.OUTBOUND, Direction.OUTBOUND]:
        return ["agent", "customer"]
    return roles


def _leg(raw: _Leg, role: str | None) -> CallLeg:
    audio = raw.audio_status
    return CallLeg(
        leg_id=raw.leg_sid or None,
        role=role,
        contact=raw.contact_uri or None,
        direction=parse_direction(raw.direction),
        status=exotel_leg_status(raw.status),
        provider_status=raw.status or None,
        network=raw.network_type or None,
        muted=audio.muted if audio else None,
        on_hold=audio.hold if audio else None,
    )


def normalize_exotel_stream(payload: Any, *, call_id: str) -> StreamDetails:
    """A ``calls/{call_sid}/stream`` answer. ``call_id`` is the one asked for (and the 404 to raise)."""
    inner = envelope_response(payload, call_id=call_id)
    if not isinstance(inner.get("stream"), dict):
        raise BadResponse(PROVIDER, "Exotel answered without the 'stream' object for the call.")
    raw = _Stream.model_validate(inner["stream"])
    raw_legs = raw.legs or []
    legs = [_leg(leg, role) for leg, role in zip(raw_legs, _roles(raw_legs), strict=True)]
    status = exotel_status(raw.status)
    if status is CallStatus.IN_PROGRESS and any(leg.on_hold for leg in legs):
        # Exotel has no call-level hold word: a held leg of a call in progress puts the call on hold
        # (provider_status keeps Exotel's own word).
        status = CallStatus.ON_HOLD
    bridge = raw.bridge
    recording = raw.recording
    return StreamDetails(
        provider=ProviderName("exotel"),
        call_id=raw.call_sid or call_id,
        status=status,
        provider_status=raw.status or None,
        duration_s=seconds(raw.duration),
        legs=legs,
        bridge=None
        if bridge is None
        else Bridge(
            bridge_id=bridge.bridge_sid or None,
            status=bridge.status or None,
            created_at=parse_iso(bridge.created_at),
        ),
        recording=None
        if recording is None
        else Recording(
            enabled=recording.enabled,
            channels=recording.channels or None,
            duration_s=seconds(recording.duration),
        ),
        not_offered=list(NOT_OFFERED),
    )


def exotel_call_from_stream(details: StreamDetails) -> LiveCall:
    """The ``LiveCall`` a stream answer tells (see the module docstring for which fields)."""
    customer = next((leg for leg in details.legs if leg.role == "customer"), None)
    from_number = to_number = None
    if customer is not None and customer.direction is Direction.INBOUND:
        from_number = customer.contact
    elif customer is not None and customer.direction is Direction.OUTBOUND:
        to_number = customer.contact
    return LiveCall(
        provider=ProviderName("exotel"),
        call_id=details.call_id,
        status=details.status or CallStatus.UNKNOWN,
        provider_status=details.provider_status,
        from_number=from_number,
        to_number=to_number,
        duration_s=details.duration_s,
        legs=details.legs,
        recording=details.recording,
    )


def _merged_recording(first: Recording | None, second: Recording | None) -> Recording | None:
    """Field by field, ``second`` (the stream's) where it says something, else ``first``."""
    if first is None or second is None:
        return second if first is None else first
    return Recording(
        enabled=second.enabled if second.enabled is not None else first.enabled,
        channels=second.channels or first.channels,
        duration_s=second.duration_s if second.duration_s is not None else first.duration_s,
        url=second.url or first.url,
    )


def exotel_call_with_stream(summary: LiveCall, stream: StreamDetails) -> LiveCall:
    """A call's summary (details or list item) with what its stream adds: legs, hold, recording.

    The stream's status (which knows hold) and duration win where it says them; numbers, direction,
    agent and start time come from the summary.
    """
    from_stream = exotel_call_from_stream(stream)
    use_stream_status = stream.status is not None and stream.status is not CallStatus.UNKNOWN
    return summary.model_copy(
        update={
            "status": stream.status if use_stream_status else summary.status,
            "provider_status": stream.provider_status if use_stream_status else summary.provider_status,
            "from_number": summary.from_number or from_stream.from_number,
            "to_number": summary.to_number or from_stream.to_number,
            "duration_s": stream.duration_s if stream.duration_s is not None else summary.duration_s,
            "legs": stream.legs,
            "recording": _merged_recording(summary.recording, stream.recording),
        }
    )


def missing_legs(error: ProviderError) -> str:
    if isinstance(error, CallNotFound):
        return "legs: Exotel's stream endpoint answered 404 for this call (it describes active calls only)"
    code = f" ({error.status_code})" if error.status_code else ""
    return f"legs: Exotel's stream endpoint failed{code}"
