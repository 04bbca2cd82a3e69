"""Vapi's call object as read and normalized (``GET /call`` items and ``GET /call/{id}``).

Facts (Vapi's OpenAPI file, VapiAI/docs ``fern/apis/api/openapi.json`` at commit eabfa530, schema
``Call``; the same fields in VapiAI/server-sdk-python at commit 72303d15, ``src/vapi/types/
call.py``): ``id``, ``orgId``, ``createdAt`` and ``updatedAt`` are required; ``type`` is
``inboundPhoneCall``, ``outboundPhoneCall``, ``webCall`` or ``vapi.websocketCall``; ``status`` is
``scheduled``, ``queued``, ``ringing``, ``in-progress``, ``forwarding``, ``ended``, ``not-found``
or ``deletion-failed``; ``startedAt``/``endedAt`` are ISO 8601; ``customer`` (``number``,
``name``, ``sipUri``) is the other party; the business's number is ``phoneNumberId`` (an id) or a
transient ``phoneNumber`` (``twilioPhoneNumber``, or ``number`` in the other import DTOs);
``assistantId`` or a transient ``assistant`` (``name``); ``cost`` in USD; ``messages`` (``role``
user/bot/system/tool…, ``message``, ``time`` in epoch ms) is the transcript so far;
``phoneCallProvider`` and ``phoneCallProviderId`` name the carrier's call.

Never read, so never shown: ``monitor.listenUrl`` and ``monitor.controlUrl`` (whoever has them
can listen to or steer the call: they are secrets), a transient ``phoneNumber``'s
``twilioAuthToken``/``twilioApiSecret``, ``transport`` and ``webCallUrl``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from mcp_livecalls.core.models import (
    Agent,
    CallStatus,
    Cost,
    Direction,
    LiveCall,
    ProviderName,
    StreamDetails,
    TranscriptTurn,
)
from mcp_livecalls.providers.reading import RawPayload, parse_epoch_ms, parse_iso

__all__ = [
    "LIVE_WORDS",
    "NOT_LIVE_WORDS",
    "VapiCall",
    "is_live",
    "normalize_vapi_call",
    "vapi_status",
    "vapi_stream",
]

LIVE_WORDS = ("queued", "ringing", "in-progress", "forwarding")
"""The statuses of a live call (a call being forwarded is still on the line)."""
NOT_LIVE_WORDS = frozenset({"scheduled", "ended", "not-found", "deletion-failed"})
"""A scheduled call has not started; the others are over (or gone)."""
_STATUS = {
    "scheduled": CallStatus.QUEUED,
    "queued": CallStatus.QUEUED,
    "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS,
    "forwarding": CallStatus.IN_PROGRESS,
    "ended": CallStatus.ENDED,
}
_DIRECTION = {"inboundPhoneCall": Direction.INBOUND, "outboundPhoneCall": Direction.OUTBOUND}
_SPOKEN = {"user": "user", "bot": "assistant", "assistant": "assistant"}
"""Transcript roles: system prompts and tool calls are not what was said."""
NOT_OFFERED = ("legs", "hold", "recording while live", "media streams")


def vapi_status(raw: str | None) -> CallStatus:
    return _STATUS.get((raw or "").strip().lower(), CallStatus.UNKNOWN)


class _Customer(RawPayload):
    number: str | None = None
    name: str | None = None
    sipUri: str | None = None


class _Number(RawPayload):
    number: str | None = None
    twilioPhoneNumber: str | None = None


class _Assistant(RawPayload):
    name: str | None = None


class _Message(RawPayload):
    role: str | None = None
    message: str | None = None
    time: float | None = None


class VapiCall(RawPayload):
    id: str = Field(min_length=1)
    type: str | None = None
    status: str | None = None
    createdAt: str = Field(min_length=1)
    startedAt: str | None = None
    endedAt: str | None = None
    customer: _Customer | None = None
    phoneNumber: _Number | None = None
    assistantId: str | None = None
    assistant: _Assistant | None = None
    cost: float | None = None
    messages: list[_Message] | None = None
    phoneCallProvider: str | None = None
    phoneCallProviderId: str | None = None

    def created(self) -> datetime:
        created = parse_iso(self.createdAt)
        if created is None:  # pragma: no cover - min_length keeps it set
            raise ValueError("no createdAt")
        return created


def is_live(raw: VapiCall) -> bool:
    """Not scheduled, ended or gone; a status no document names counts as live unless the call
    has ended (it is shown as ``unknown`` rather than hidden)."""
    word = (raw.status or "").strip().lower()
    return word not in NOT_LIVE_WORDS and not raw.endedAt


def _turns(raw: VapiCall) -> list[TranscriptTurn]:
    turns: list[TranscriptTurn] = []
    for message in raw.messages or []:
        role = _SPOKEN.get((message.role or "").strip().lower())
        if role and message.message:
            turns.append(TranscriptTurn(role=role, text=message.message, at=parse_epoch_ms(message.time)))
    return turns


def normalize_vapi_call(payload: Any, *, now: datetime) -> LiveCall:
    """One call object. Raises on garbage (no id, no createdAt, wrong types)."""
    raw = VapiCall.model_validate(payload)
    return call_of(raw, now=now)


def call_of(raw: VapiCall, *, now: datetime) -> LiveCall:
    created = raw.created()
    started = parse_iso(raw.startedAt)
    ended = parse_iso(raw.endedAt)
    direction = _DIRECTION.get(raw.type or "")
    customer = raw.customer or _Customer()
    theirs = customer.number or customer.sipUri or None
    number = raw.phoneNumber or _Number()
    ours = number.twilioPhoneNumber or number.number or None
    inbound = direction is Direction.INBOUND
    duration = None
    if started is not None:
        duration = max(0, int(((ended or now) - started).total_seconds()))
    assistant = raw.assistant.name if raw.assistant else None
    extras: dict[str, str | int | float | bool] = {}
    if raw.type and direction is None:
        extras["call_type"] = raw.type  # a web or websocket call: no phone numbers
    return LiveCall(
        provider=ProviderName("vapi"),
        call_id=raw.id,
        status=vapi_status(raw.status),
        provider_status=raw.status or None,
        direction=direction,
        from_number=theirs if inbound else ours,
        to_number=ours if inbound else theirs,
        caller_name=customer.name or None if inbound else None,
        started_at=started or created,
        duration_s=duration,
        agent=Agent(id=raw.assistantId, name=assistant) if raw.assistantId or assistant else None,
        cost=Cost(total=raw.cost, currency="USD") if raw.cost is not None else None,
        transcript=_turns(raw),
        extras=extras,
    )


def vapi_stream(raw: VapiCall, call: LiveCall) -> StreamDetails:
    """What a Vapi call says of its media: the carrier's call id, the transcript so far."""
    ids = {"phone_call_provider": raw.phoneCallProvider, "phone_call_provider_id": raw.phoneCallProviderId}
    return StreamDetails.of_call(
        call,
        telephony_ids={key: value for key, value in ids.items() if value},
        transcript=call.transcript,
        not_offered=list(NOT_OFFERED),
    )
