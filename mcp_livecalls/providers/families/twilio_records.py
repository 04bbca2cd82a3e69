"""The Twilio family's call, conference and participant resources as they are read (pydantic
records), and one call or list page normalized for a member (``twilio``, ``signalwire``); the family's
adapter (``families/twilio.py``) asks for them.

What members write differently is read here for all of them: ``duration`` and ``queue_time`` as a
string or a number (Twilio writes strings; SignalWire's spec ``specs/compatibility-api/calls/models/
core.tsp`` an int32), and a participant's ``status`` as Twilio's ``connected`` or SignalWire's
``in-progress`` (the same spec's ``ParticipantStatus``; Twilio documents no such word for a
participant).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from pydantic import Field

from mcp_livecalls.core.models import CallLeg, CallStatus, LegStatus, LiveCall, ProviderName
from mcp_livecalls.providers.base import (
    RawPayload,
)
from mcp_livecalls.providers.reading import call_parties, rest_call_status

__all__ = [
    "NOT_LIVE",
    "CallRecord",
    "CallsPage",
    "Conference",
    "ConferencesPage",
    "ListPage",
    "Participant",
    "ParticipantsPage",
    "calls_page",
    "compat_error",
    "compat_leg_status",
    "leg_of",
    "normalize_compat_call",
    "parse_rfc2822",
]

NOT_LIVE = frozenset({CallStatus.ENDED, CallStatus.FAILED})
"""Statuses of a call that is over."""
_PLAIN_DIRECTIONS = {"inbound", "outbound-api", "outbound"}
"""Directions read as they are; ``outbound`` is SignalWire's REST word (Twilio writes ``outbound-api``)."""
_LEG_STATUS = {
    "queued": LegStatus.CONNECTING,
    "connecting": LegStatus.CONNECTING,
    "ringing": LegStatus.CONNECTING,
    "connected": LegStatus.CONNECTED,
    "in-progress": LegStatus.CONNECTED,
    "complete": LegStatus.DISCONNECTED,
    "completed": LegStatus.DISCONNECTED,
    "failed": LegStatus.DISCONNECTED,
}


def parse_rfc2822(value: str | None) -> datetime | None:
    """``Tue, 31 Aug 2010 20:36:29 +0000`` as UTC; an ISO 8601 time is read too, and so is
    ``Sept`` for ``Sep`` (SignalWire's spec examples write ``Wed, 19 Sept 2018 20:00:00 +0000``)."""
    if not value or not value.strip():
        return None
    text = value.strip().replace(" Sept ", " Sep ")
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def compat_leg_status(raw: str | None) -> LegStatus:
    return _LEG_STATUS.get((raw or "").strip().lower(), LegStatus.UNKNOWN)


def _whole(value: str | float | None) -> int | None:
    """Twilio's number-as-string fields (``"15"``, ``"1000"``), or a number; ``None`` when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return max(0, int(float(value)))


class CallRecord(RawPayload):
    sid: str = Field(min_length=1)
    parent_call_sid: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    status: str | None = None
    direction: str | None = None
    start_time: str | None = None
    date_created: str | None = None
    duration: str | float | None = None
    answered_by: str | None = None
    caller_name: str | None = None
    forwarded_from: str | None = None
    queue_time: str | float | None = None


class CallsPage(RawPayload):
    calls: list[Any]
    next_page_uri: str | None = None


class Conference(RawPayload):
    sid: str = Field(min_length=1)
    status: str | None = None


class ConferencesPage(RawPayload):
    conferences: list[Conference]
    next_page_uri: str | None = None


class Participant(RawPayload):
    call_sid: str = Field(min_length=1)
    label: str | None = None
    muted: bool | None = None
    hold: bool | None = None
    coaching: bool | None = None
    status: str | None = None


class ParticipantsPage(RawPayload):
    participants: list[Participant]


def compat_error(payload: Any) -> tuple[int | None, int | None, str | None]:
    """``(code, status, message)`` of Twilio's error body, ``None`` for what it does not say."""
    if not isinstance(payload, dict):
        return None, None, None
    code, status, message = payload.get("code"), payload.get("status"), payload.get("message")
    return (
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        status if isinstance(status, int) and not isinstance(status, bool) else None,
        message if isinstance(message, str) and message else None,
    )


def normalize_compat_call(payload: Any, *, now: datetime, provider: str) -> LiveCall:
    """One call object of ``provider`` (``Calls/{sid}.json`` or an item of ``calls``). Raises on
    garbage."""
    raw = CallRecord.model_validate(payload)
    status = rest_call_status(raw.status)
    # Not dialled yet (queued): no start_time; the call counts from its creation then.
    started = parse_rfc2822(raw.start_time) or parse_rfc2822(raw.date_created)
    duration = _whole(raw.duration)
    if duration is None and started is not None and status not in NOT_LIVE:
        duration = max(0, int((now - started).total_seconds()))
    extras: dict[str, str | int | float | bool] = {}
    word = (raw.direction or "").strip().lower()
    if word and word not in _PLAIN_DIRECTIONS:
        extras[f"{provider}_direction"] = raw.direction or word  # outbound-dial: a leg dialled by <Dial>
    if raw.parent_call_sid:
        extras["parent_call_sid"] = raw.parent_call_sid
    if raw.answered_by:
        extras["answered_by"] = raw.answered_by
    if raw.forwarded_from:
        extras["forwarded_from"] = raw.forwarded_from
    queued_ms = _whole(raw.queue_time)
    if queued_ms:
        extras["queue_time_ms"] = queued_ms
    return LiveCall(
        provider=ProviderName(provider),
        call_id=raw.sid,
        status=status,
        provider_status=raw.status or None,
        **call_parties(raw.direction, raw.from_, raw.to, raw.caller_name),
        started_at=started,
        duration_s=duration,
        extras=extras,
    )


@dataclass(frozen=True)
class ListPage:
    """One ``Calls.json`` answer read item by item: the calls, the items left out, where next."""

    calls: list[LiveCall]
    unreadable: int
    next_page_uri: str | None


def calls_page(payload: Any, *, now: datetime, provider: str) -> ListPage:
    page = CallsPage.model_validate(payload)
    calls: list[LiveCall] = []
    first: ValueError | TypeError | OverflowError | None = None
    for item in page.calls:
        try:
            calls.append(normalize_compat_call(item, now=now, provider=provider))
        except (ValueError, TypeError, OverflowError) as exc:  # pydantic's ValidationError is a ValueError
            first = first or exc  # one entry Twilio wrote badly: the others are still listed
    if first is not None and not calls:
        raise first  # not one entry readable: the answer is not what Twilio documents
    return ListPage(calls, len(page.calls) - len(calls), page.next_page_uri or None)


def leg_of(raw: Participant) -> CallLeg:
    return CallLeg(
        leg_id=raw.call_sid,
        role=raw.label or ("coach" if raw.coaching else None),
        status=compat_leg_status(raw.status),
        provider_status=raw.status or None,
        muted=raw.muted,
        on_hold=raw.hold,
    )
