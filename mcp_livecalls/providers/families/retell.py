"""The Retell family's call record (Retell AI's own, and Zudu's, which follows it): one reading.

A member (``FamilyMember``) says what differs: its name, the cost unit, what it does not offer and
the ``extras`` key for the second id. Facts are Retell AI's published API spec (get-call) and
Zudu's call object; the member folders' docstrings keep the rest.

* Retell's spec types every ``latency.<name>`` figure, ``num`` (the sample count) included, as
  ``number``: a figure that cannot be read (a fractional or negative count, a non-number) costs
  only that figure, never the call.
* Privacy: sensitive fields are dropped before the record is even parsed, and the models say
  ``sensitive_data_hidden``. ``opt_out_sensitive_data_storage: true`` and ``data_storage_setting:
  basic_attributes_only`` drop the transcript fields, the recording URL, the log URL and the
  metadata; ``everything_except_pii`` drops the transcript fields, the log URL and the metadata and
  keeps the recording URL; ``everything`` drops nothing. A setting no document names, or a
  malformed one, drops as much as ``basic_attributes_only``. Event payloads are never copied.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

from mcp_livecalls.core.models import (
    Agent,
    CallEvent,
    CallStatus,
    Cost,
    LatencyStats,
    LiveCall,
    ProviderName,
    Recording,
    StreamDetails,
    TranscriptTurn,
)
from mcp_livecalls.providers.reading import RawPayload, call_parties, parse_epoch_ms
from mcp_livecalls.providers.spec import CALL_FIELDS

__all__ = [
    "FAMILY_FIELDS",
    "FamilyMember",
    "family_status",
    "normalize_family_call",
    "normalize_family_stream",
]

_CALL_STATUS = {
    "REGISTERED": CallStatus.QUEUED,  # created, waiting for the call to start
    "SCHEDULED": CallStatus.QUEUED,  # an outbound call planned for later
    "ONGOING": CallStatus.IN_PROGRESS,
    "ENDED": CallStatus.ENDED,
    "ERROR": CallStatus.FAILED,
    "NOT_CONNECTED": CallStatus.FAILED,  # Retell's word for a call that never connected
}

_TRANSCRIPT_FIELDS = frozenset({"transcript", "transcript_object", "transcript_with_tool_calls"})
_SENSITIVE_FIELDS = _TRANSCRIPT_FIELDS | {"recording_url", "public_log_url", "metadata"}
_HIDDEN_BY_STORAGE_SETTING: dict[str, frozenset[str]] = {
    "everything": frozenset(),
    "everything_except_pii": _TRANSCRIPT_FIELDS | {"public_log_url", "metadata"},
    "basic_attributes_only": _SENSITIVE_FIELDS,
}
_MAX_SETTING_TEXT = 40

_MAX_META_VALUES = 3
_MAX_META_KEY = 32
_MAX_META_TEXT = 64


def family_status(raw: str | None) -> CallStatus:
    """Map ``call_status`` (upper or lower case) to the common vocabulary."""
    if not raw:
        return CallStatus.UNKNOWN
    return _CALL_STATUS.get(raw.strip().upper(), CallStatus.UNKNOWN)


def _finite_or_none(value: Any) -> float | None:
    """A latency figure (a JSON ``number``, or a numeric string as before), or ``None`` for one
    that cannot be read."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _count_or_none(value: Any) -> int | None:
    """A sample count: Retell types ``num`` as ``number``, so ``4.0`` is 4 and a fraction, a negative
    or a non-number is no count (the field is lost, never the call)."""
    number = _finite_or_none(value)
    if number is None or number < 0 or not number.is_integer():
        return None
    return int(number)


_Figure = Annotated[float | None, BeforeValidator(_finite_or_none)]


class _Latency(RawPayload):
    """One ``latency.<name>`` object; each figure that cannot be read is ``None`` on its own."""

    p50: _Figure = None
    p90: _Figure = None
    p99: _Figure = None
    max: _Figure = None
    num: Annotated[int | None, BeforeValidator(_count_or_none)] = None


class _Turn(RawPayload):
    role: str | None = None
    content: str | None = None
    timestamp: float | None = None


class _Event(RawPayload):
    timestamp: float | None = None
    event: str | None = None


class _Cost(RawPayload):
    combined_cost: float | None = None


class _FamilyCall(RawPayload):
    id: str | None = None
    call_id: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    call_status: str | None = None
    call_type: str | None = None
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    start_timestamp: float | None = None
    end_timestamp: float | None = None
    call_duration: float | None = None
    duration_ms: float | None = None  # Retell's name for call_duration
    disconnection_reason: str | None = None
    recording_url: str | None = None
    metadata: dict[str, Any] | None = None
    events: list[_Event] | None = None
    transcript: str | None = None
    transcript_object: list[_Turn] | None = None
    latency: dict[str, _Latency | None] | None = None
    call_cost: _Cost | None = None
    telephony_identifier: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Record:
    """One parsed call record, with sensitive fields already removed when the call opted out."""

    raw: _FamilyCall
    hidden: bool
    call_id: str
    extras: dict[str, str | int | float | bool]


def _hidden_fields(data: dict[str, Any]) -> tuple[frozenset[str], str | None]:
    """The fields the record's storage settings keep out, and the ``data_storage_setting`` word.

    Fails closed: an opt-out flag that is neither absent nor false, or a storage setting no
    document names, hides as much as ``basic_attributes_only``.
    """
    hidden: set[str] = set()
    opt_out = data.get("opt_out_sensitive_data_storage")
    if opt_out is not None and opt_out is not False and str(opt_out).strip().lower() != "false":
        hidden |= _SENSITIVE_FIELDS
    setting = data.get("data_storage_setting")
    word: str | None = None
    if isinstance(setting, str):
        word = setting.strip().lower()[:_MAX_SETTING_TEXT]
        hidden |= _HIDDEN_BY_STORAGE_SETTING.get(word, _SENSITIVE_FIELDS)
    elif setting is not None:
        hidden |= _SENSITIVE_FIELDS
    return frozenset(hidden), word


def _parse(data: Any, member: FamilyMember, requested_id: str | None) -> _Record:
    if not isinstance(data, dict):
        raise TypeError("not an object")
    dropped, storage_setting = _hidden_fields(data)
    hidden = bool(dropped)
    if hidden:
        # Dropped before parsing: what the call's settings keep out never enters a model.
        data = {key: value for key, value in data.items() if key not in dropped}
    raw = _FamilyCall.model_validate(data)
    record_id = raw.id or None
    second_id = raw.call_id or None
    extras: dict[str, str | int | float | bool] = {}
    if requested_id is not None and requested_id == second_id and requested_id != record_id:
        call_id = second_id
        if record_id:
            extras["record_id"] = record_id
    elif record_id:
        call_id = record_id
        if second_id and second_id != record_id:
            extras[member.call_id_extra] = second_id
    elif second_id:
        call_id = second_id
    else:
        raise ValueError("a call record without id and call_id")
    if (raw.call_type or "").strip().upper() == "WEB_CALL":
        extras["call_type"] = "web_call"
    if raw.disconnection_reason:
        extras["disconnection_reason"] = raw.disconnection_reason
    if storage_setting and storage_setting != "everything":
        extras["data_storage_setting"] = storage_setting
    extras.update(_metadata(raw.metadata))
    return _Record(raw=raw, hidden=hidden, call_id=call_id, extras=extras)


def _metadata(metadata: dict[str, Any] | None) -> dict[str, str | int | float | bool]:
    """A few short scalar metadata values (``meta.<key>``); nested or long values are skipped."""
    kept: dict[str, str | int | float | bool] = {}
    for key, value in (metadata or {}).items():
        if len(kept) == _MAX_META_VALUES:
            break
        if not isinstance(key, str) or not key or len(key) > _MAX_META_KEY:
            continue
        if isinstance(value, str):
            if value and len(value) <= _MAX_META_TEXT:
                kept[f"meta.{key}"] = value
        elif isinstance(value, bool | int | float):
            kept[f"meta.{key}"] = value
    return kept


def _duration_s(raw: _FamilyCall, now: datetime) -> int | None:
    duration_ms = raw.call_duration if raw.call_duration is not None else raw.duration_ms
    if duration_ms is not None:
        return max(0, int(duration_ms // 1000))
    started = parse_epoch_ms(raw.start_timestamp)
    if started is None:
        return None
    until = parse_epoch_ms(raw.end_timestamp) or now
    return max(0, int((until - started).total_seconds()))


def _latency(raw: _FamilyCall) -> dict[str, LatencyStats]:
    latency: dict[str, LatencyStats] = {}
    for name, stats in (raw.latency or {}).items():
        if stats is None:
            continue
        normalized = LatencyStats(
            p50_ms=stats.p50, p90_ms=stats.p90, p99_ms=stats.p99, max_ms=stats.max, samples=stats.num
        )
        if normalized != LatencyStats():
            latency[name] = normalized
    return latency


def _transcript(raw: _FamilyCall) -> list[TranscriptTurn]:
    turns = [
        TranscriptTurn(role=turn.role or "unknown", text=turn.content, at=parse_epoch_ms(turn.timestamp))
        for turn in raw.transcript_object or []
        if turn.content
    ]
    if not turns and raw.transcript and raw.transcript.strip():
        turns = [TranscriptTurn(role="transcript", text=raw.transcript)]
    return turns


def _recording(raw: _FamilyCall) -> Recording | None:
    return Recording(url=raw.recording_url) if raw.recording_url else None


def _same_cost(combined_cost: float) -> Cost:
    return Cost(total=combined_cost)


_NOT_OFFERED = ("legs", "bridge", "hold/mute per leg")


@dataclass(frozen=True)
class FamilyMember:
    """What differs between providers whose call records follow Retell's (Zudu, Retell itself):
    the reading of a record below is shared, these are its parameters."""

    provider: ProviderName
    not_offered: tuple[str, ...] = _NOT_OFFERED
    cost: Callable[[float], Cost] = _same_cost
    """``Cost`` of ``call_cost.combined_cost`` (Retell counts cents; Zudu names no unit)."""
    telephony_keys: tuple[str, ...] = ("call_sid", "conference_sid")
    """The ``telephony_identifier`` keys shown as telephony ids (a member adds its own spellings)."""
    call_id_extra: str = "call_id"
    """The ``extras`` key for a record's ``call_id`` when the call is reported under its ``id``."""


FAMILY_FIELDS = (
    *CALL_FIELDS,
    "agent",
    "recording",
    "latency",
    "cost",
    "transcript",
    "events",
    "telephony_ids",
)
"""The normalized fields a family record can fill (a member without an event log drops ``events``)."""


def normalize_family_call(
    data: Any, member: FamilyMember, *, now: datetime, requested_id: str | None = None
) -> LiveCall:
    """One call record of ``member`` (an envelope's ``data``, or one list entry). Raises on garbage.

    ``requested_id`` is the id the caller looked the call up by, to report the call under it.
    """
    record = _parse(data, member, requested_id)
    raw = record.raw
    return LiveCall(
        provider=member.provider,
        call_id=record.call_id,
        status=family_status(raw.call_status),
        provider_status=raw.call_status or None,
        **call_parties(raw.direction, raw.from_number, raw.to_number),
        started_at=parse_epoch_ms(raw.start_timestamp),
        duration_s=_duration_s(raw, now),
        agent=Agent(id=raw.agent_id, name=raw.agent_name or None) if raw.agent_id else None,
        recording=_recording(raw),
        latency=_latency(raw),
        cost=member.cost(raw.call_cost.combined_cost)
        if raw.call_cost and raw.call_cost.combined_cost is not None
        else None,
        transcript=_transcript(raw),
        sensitive_data_hidden=True if record.hidden else None,
        extras=record.extras,
    )


def normalize_family_stream(
    data: Any, member: FamilyMember, *, now: datetime, requested_id: str | None = None
) -> StreamDetails:
    """The media side of one call record: telephony ids, recording, latency, events, transcript."""
    record = _parse(data, member, requested_id)
    raw = record.raw
    telephony: dict[str, str] = {}
    for key in member.telephony_keys:
        value = (raw.telephony_identifier or {}).get(key)
        if isinstance(value, str) and value:
            telephony[key] = value
    return StreamDetails(
        provider=member.provider,
        call_id=record.call_id,
        status=family_status(raw.call_status),
        provider_status=raw.call_status or None,
        duration_s=_duration_s(raw, now),
        recording=_recording(raw),
        telephony_ids=telephony,
        latency=_latency(raw),
        events=[
            CallEvent(at=parse_epoch_ms(event.timestamp), name=event.event)
            for event in raw.events or []
            if event.event
        ],
        transcript=_transcript(raw),
        sensitive_data_hidden=True if record.hidden else None,
        not_offered=list(member.not_offered),
    )
