"""The Account/Call family's readers (Vobiz <- Plivo): either single-call shape, the UUID lists,
the error bodies and the stream list, times read in the member's zone. See ``families.legacy``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar

from pydantic import Field

from mcp_livecalls.core.catalog import title_of
from mcp_livecalls.core.models import CallStatus, LiveCall, MediaStream, ProviderName
from mcp_livecalls.providers.base import (
    RawPayload,
    parse_local_time,
)
from mcp_livecalls.providers.reading import call_parties

_CALL_STATE = {
    "QUEUED": CallStatus.QUEUED,
    "RINGING": CallStatus.RINGING,
    "EARLY": CallStatus.EARLY_MEDIA,
    "ACTIVE": CallStatus.IN_PROGRESS,
    "HELD": CallStatus.ON_HOLD,
}
_CALL_STATUS = {
    "queued": CallStatus.QUEUED,
    "ringing": CallStatus.RINGING,
    "early-media": CallStatus.EARLY_MEDIA,
    "early": CallStatus.EARLY_MEDIA,
    "in-progress": CallStatus.IN_PROGRESS,
    "answered": CallStatus.IN_PROGRESS,
    "active": CallStatus.IN_PROGRESS,
    "held": CallStatus.ON_HOLD,
    "on-hold": CallStatus.ON_HOLD,
    "hold": CallStatus.ON_HOLD,
    "completed": CallStatus.ENDED,
    "hangup": CallStatus.ENDED,
    "busy": CallStatus.FAILED,
    "no-answer": CallStatus.FAILED,
    "cancel": CallStatus.FAILED,
    "canceled": CallStatus.FAILED,
    "cancelled": CallStatus.FAILED,
    "timeout": CallStatus.FAILED,
    "failed": CallStatus.FAILED,
}
_NOT_APPLICABLE = {"", "not applicable", "n/a", "none", "null"}


def family_status(raw: str | None) -> CallStatus:
    """Map either shape's status word (``ACTIVE`` or ``in-progress``) to the common vocabulary."""
    if not raw:
        return CallStatus.UNKNOWN
    if raw.upper() in _CALL_STATE:
        return _CALL_STATE[raw.upper()]
    return _CALL_STATUS.get(raw.strip().lower().replace("_", "-"), CallStatus.UNKNOWN)


def _meaningful(value: str | None) -> str | None:
    if value is None or value.strip().lower() in _NOT_APPLICABLE:
        return None
    return value


class _ShapeCall(RawPayload):
    """A call in either documented shape, under one set of names (a shape's spelling is the alias)."""

    call_uuid: str
    parent_call_uuid: str | None = None
    stir_attestation: str | None = None
    stir_verification: str | None = None

    def ids(self) -> dict[str, str | None]:
        """The record's other ids, shown in ``extras`` when set."""
        return {"parent_call_uuid": self.parent_call_uuid}


class _ListedShapeCall(_ShapeCall):
    state: str | None = Field(default=None, alias="call_state")
    direction: str | None = Field(default=None, alias="call_direction")
    from_number: str | None = None
    to_number: str | None = None
    started: str | None = Field(default=None, alias="initiation_time")
    answered: str | None = Field(default=None, alias="answer_time")
    duration: int | None = Field(default=None, alias="call_duration")
    conference_uuid: str | None = None
    caller_name: ClassVar[None] = None

    def ids(self) -> dict[str, str | None]:
        return {"conference_uuid": self.conference_uuid, **super().ids()}


class _FlatCall(_ShapeCall):
    state: str | None = Field(default=None, alias="call_status")
    direction: str | None = None
    from_number: str | None = Field(default=None, alias="from")
    to_number: str | None = Field(default=None, alias="to")
    caller_name: str | None = None
    started: str | None = Field(default=None, alias="session_start")
    request_uuid: str | None = None
    answered: ClassVar[None] = None
    duration: ClassVar[None] = None

    def ids(self) -> dict[str, str | None]:
        request_uuid = self.request_uuid if self.request_uuid != self.call_uuid else None
        return {"request_uuid": request_uuid, **super().ids()}


class _Stream(RawPayload):
    stream_id: str | None = None
    status: str | None = None
    audio_track: str | None = None
    bidirectional: bool | None = None
    start_time: str | None = None
    created_at: str | None = None


_FUTURE_TOLERANCE = timedelta(minutes=1)


def _clock_note(
    start: datetime, now: datetime, zone: tzinfo, provider: ProviderName, zone_var: str | None
) -> str:
    minutes = int((start - now).total_seconds() // 60)
    title = title_of(provider.value)
    advice = (
        f"set {zone_var} to the {title} Console's zone (or fix this clock)"
        if zone_var
        else "check this clock"
    )
    return (
        f"start {minutes // 60}h{minutes % 60:02d}m ahead of this server's clock: {title}'s zone-less "
        f"times are read as {zone}; {advice}"
    )


def _times(
    start: datetime | None,
    answered: datetime | None,
    given: int | None,
    now: datetime,
    zone: tzinfo,
    provider: ProviderName,
    zone_var: str | None,
) -> tuple[int | None, dict[str, str | int | float | bool]]:
    """``duration_s`` and any clock note. A start in the future means a wrong zone, not a 0 s call."""
    counted_from = answered or start
    earliest = min((t for t in (start, answered) if t is not None), default=None)
    if earliest is not None and earliest - now > _FUTURE_TOLERANCE:
        note: dict[str, str | int | float | bool] = {
            "clock_note": _clock_note(earliest, now, zone, provider, zone_var)
        }
        return (max(0, given) if given is not None else None), note
    if given is not None:
        return max(0, given), {}
    if counted_from is None:
        return None, {}
    return max(0, int((now - counted_from).total_seconds())), {}


def normalize_call(
    payload: Any,
    *,
    now: datetime,
    zone: tzinfo = UTC,
    provider: ProviderName,
    zone_var: str | None = None,
) -> LiveCall:
    """One call from either documented shape; zone-less times are in ``zone`` (``zone_var``).

    ``provider`` is the Plivo-family member that answered (Vobiz, or Plivo itself).

    Raises ``ValidationError``/``KeyError``/``ValueError`` on garbage.
    """
    if not isinstance(payload, dict):
        raise TypeError("not an object")
    shape: _ListedShapeCall | _FlatCall
    if "calls" in payload:
        calls = payload["calls"]
        if not isinstance(calls, list) or not calls:
            raise ValueError("empty calls list")
        shape = _ListedShapeCall.model_validate(calls[0])
    else:
        shape = _FlatCall.model_validate(payload)
    started, answered = parse_local_time(shape.started, zone), parse_local_time(shape.answered, zone)
    duration, extras = _times(started, answered, shape.duration, now, zone, provider, zone_var)
    extras.update({key: value for key, value in shape.ids().items() if value})
    if _meaningful(shape.stir_verification):
        extras["stir_verification"] = str(shape.stir_verification)
    return LiveCall(
        provider=provider,
        call_id=shape.call_uuid,
        status=family_status(shape.state),
        provider_status=shape.state,
        **call_parties(shape.direction, shape.from_number, shape.to_number, shape.caller_name),
        started_at=started,
        answered_at=answered,
        duration_s=duration,
        stir_attestation=_meaningful(shape.stir_attestation),
        extras=extras,
    )


def uuid_list(payload: Any) -> list[str]:
    if not isinstance(payload, dict) or not isinstance(payload.get("calls"), list):
        raise ValueError("no calls list")
    calls: list[Any] = payload["calls"]
    if not all(isinstance(item, str) for item in calls):
        # Not the documented list of UUIDs: reporting "no live calls" would be a lie.
        raise TypeError("calls is not a list of call UUIDs")
    return list(calls)


def is_family_error(body: Any) -> bool:
    """Whether ``body`` is one of Vobiz's documented error shapes (not some proxy's 404 page).

    ``{"status": "error", "error": {"code", "message", ...}, ...}`` or the Plivo-style
    ``{"api_id": "...", "error": "not found"}``.
    """
    if not isinstance(body, dict):
        return False
    error = body.get("error")
    if body.get("status") == "error" and isinstance(error, dict):
        return "code" in error or "message" in error
    return "api_id" in body and isinstance(error, str)


def media_streams(payload: Any, zone: tzinfo = UTC) -> list[MediaStream]:
    """Current docs: ``{page, per_page, total, objects: [...]}``; an older page: one bare object."""
    if not isinstance(payload, dict):
        raise TypeError("not an object")
    if "objects" in payload:
        objects = payload["objects"]
    elif "stream_id" in payload:
        objects = [payload]
    else:
        objects = []
    if not isinstance(objects, list):
        raise TypeError("objects is not a list")
    streams = []
    for item in objects:
        raw = _Stream.model_validate(item)
        streams.append(
            MediaStream(
                stream_id=raw.stream_id,
                status=raw.status,
                audio_track=raw.audio_track,
                bidirectional=raw.bidirectional,
                started_at=parse_local_time(raw.start_time or raw.created_at, zone),
            )
        )
    return streams
