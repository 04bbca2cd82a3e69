"""Reading provider JSON: the base of the payload models, who calls whom, direction words and times."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict

from mcp_livecalls.core.models import CallStatus, Direction

__all__ = [
    "CallParties",
    "RawPayload",
    "call_parties",
    "json_array",
    "parse_direction",
    "parse_epoch_ms",
    "parse_iso",
    "parse_local_time",
    "parse_naive_utc",
    "rest_call_status",
]


class RawPayload(BaseModel):
    """Base of the adapters' models of provider JSON: fields a provider adds later are ignored."""

    model_config = ConfigDict(extra="ignore")


def json_array(payload: Any) -> list[Any]:
    """An answer that is a bare JSON array (Vapi's ``GET /call``: the calls, no envelope), as a
    list; ``TypeError`` for any other JSON (an object, a string …), which the request pipeline
    reports as an answer this server does not understand."""
    if not isinstance(payload, list):
        raise TypeError(f"expected a JSON array, got {type(payload).__name__}")
    return payload


def parse_direction(raw: str | None) -> Direction | None:
    """Every provider's direction word (``inbound``, ``INBOUND``, ``outbound-api`` …), or ``None``."""
    value = (raw or "").strip().lower()
    if value.startswith("in"):
        return Direction.INBOUND
    if value.startswith("out"):
        return Direction.OUTBOUND
    return None


class CallParties(TypedDict):
    """The ``LiveCall`` fields that say who calls whom (``LiveCall(**call_parties(...), ...)``)."""

    direction: Direction | None
    from_number: str | None
    to_number: str | None
    caller_name: str | None


def call_parties(
    direction: str | None, from_number: str | None, to_number: str | None, caller_name: str | None = None
) -> CallParties:
    """Who calls whom as a call record writes it: the direction word read (``parse_direction``),
    the numbers and the caller's name as written, an empty one as ``None``."""
    return CallParties(
        direction=parse_direction(direction),
        from_number=from_number or None,
        to_number=to_number or None,
        caller_name=caller_name or None,
    )


def parse_epoch_ms(value: float | int | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        # 1e300 ms, Infinity, NaN: the platform's time_t says OSError or OverflowError.
        raise ValueError("timestamp out of range") from None


def parse_naive_utc(value: str | None) -> datetime | None:
    """Vobiz times (``2014-10-15 09:03:43`` or with microseconds) carry no zone: read as UTC."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace(" ", "T"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_local_time(value: str | None, zone: tzinfo) -> datetime | None:
    """A time written without an offset in ``zone`` (or with one, which wins), as UTC.

    Vobiz writes ``2014-10-15 09:03:43`` (or with microseconds) in the account's own time zone;
    its stream objects carry an explicit offset such as ``+05:30``.
    """
    if not value:
        return None
    parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1).replace("Z", "+00:00"))
    return (parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed).astimezone(UTC)


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_REST_CALL_STATUS = {
    "queued": CallStatus.QUEUED,
    "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS,
    "completed": CallStatus.ENDED,
    "failed": CallStatus.FAILED,
    "busy": CallStatus.FAILED,
    "no-answer": CallStatus.FAILED,
    "canceled": CallStatus.FAILED,
}


def rest_call_status(raw: str | None) -> CallStatus:
    """The REST call-status words (``queued``, ``ringing``, ``in-progress``, ``completed``, ``busy``,
    ``failed``, ``no-answer``, ``canceled``: Twilio's 2010-04-01 Call resource, which Exotel's v1 API
    and its v3 list copied) in the common vocabulary; ``in_progress`` is read as ``in-progress``."""
    return _REST_CALL_STATUS.get((raw or "").strip().lower().replace("_", "-"), CallStatus.UNKNOWN)
