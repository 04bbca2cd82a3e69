"""Exotel (v3) answers read into calls: the envelope, the active list's items, call details.

The envelope is ``{request_id, method, http_code, response}``; a 200 whose ``http_code`` is 400
or more, or without ``response``, is an error. Call details (Beta) are read tolerantly across the
spellings of Exotel's sibling call-details endpoints (see the adapter's docstring) and of the v3
page's own examples (rahulkumar-exo/exotel-docs ``docs/voice-v3/api-reference/call-details.mdx``,
the page's source): ``state`` ``active``/``terminal`` with ``status`` null while active, times as
``YYYY-MM-DD HH:mm:ss+05:30``, a placeholder ``end_time`` of 1970-01-01 while live (never read),
only ``virtual_number`` (no from/to: kept in ``extras``, since its side depends on the flow),
``total_duration``, and ``recordings: [{url}]``. Status words are the REST vocabulary Exotel's v1
API copied from Twilio's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from mcp_livecalls.core.models import (
    Agent,
    CallStatus,
    Direction,
    LiveCall,
    ProviderName,
    Recording,
)
from mcp_livecalls.errors import BadResponse
from mcp_livecalls.providers.base import (
    RawPayload,
    parse_direction,
    parse_iso,
)
from mcp_livecalls.providers.reading import call_parties, rest_call_status
from mcp_livecalls.upstream.translate import EnvelopeError, envelope_failure

PROVIDER = ProviderName("exotel").value

_PLAIN_DIRECTIONS = {"inbound", "outbound", "outbound-api"}
"""Direction words that ``Direction`` says in full; any other is kept in ``extras``."""

NOT_OFFERED = ("transcript", "latency", "cost", "media streams", "caller name")


def word_of(raw: str | None) -> str:
    return (raw or "").strip().lower().replace("_", "-")


def exotel_status(raw: str | None) -> CallStatus:
    """A call status word (v3 ``ringing``/``in-progress`` or a v1 word) in the common vocabulary."""
    return rest_call_status(raw)


def seconds(value: float | None) -> int | None:
    return None if value is None else max(0, int(value))


class _AgentDetails(RawPayload):
    user_id: str | None = None
    name: str | None = None
    status: str | None = None


class _ActiveCall(RawPayload):
    call_sid: str = Field(min_length=1)
    direction: str | None = None
    status: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    start_time: str | None = None
    duration: float | None = None
    agent_details: _AgentDetails | None = None
    recording_enabled: bool | None = None


class _ActiveList(RawPayload):
    active_calls: list[Any] | None = None
    total_active: int | None = None


def exotel_envelope_error(payload: Any) -> EnvelopeError | None:
    """An error inside Exotel's v3 envelope (``http_code`` 4xx/5xx in a 200 answer), if any."""
    if not isinstance(payload, dict):
        return None
    code = payload.get("http_code")
    if isinstance(code, str) and code.strip().isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool) or code < 400:
        return None
    message = _error_message(payload.get("response"))
    said = " Exotel says: {said}" if message else ""
    return EnvelopeError(
        f"Exotel answered 200 with an error inside (http_code {code}).{said}", said=message, status_code=code
    )


def envelope_response(payload: Any, *, call_id: str | None = None) -> dict[str, Any]:
    """The ``response`` object of Exotel's v3 envelope, refusing an envelope that reports an error.

    Through ``ProviderHTTP`` an error envelope never gets here (the hook raised it, redacted);
    the normalizers called on their own refuse it the same way."""
    if not isinstance(payload, dict):
        raise TypeError("the body is not an object")
    reported = exotel_envelope_error(payload)
    if reported is not None:
        raise envelope_failure(PROVIDER, reported, call_id=call_id)
    inner = payload.get("response")
    if not isinstance(inner, dict):
        raise BadResponse(PROVIDER, "Exotel answered without the 'response' object of its v3 envelope.")
    return inner


def _error_message(inner: Any) -> str | None:
    """``response.error`` or ``response.error_data`` (``message``/``description``), if there."""
    if not isinstance(inner, dict):
        return None
    for key in ("error", "error_data"):
        error = inner.get(key)
        if isinstance(error, str) and error:
            return error
        if isinstance(error, dict):
            for field in ("message", "description"):
                value = error.get(field)
                if isinstance(value, str) and value:
                    return value
    return None


def normalize_exotel_active_call(item: Any, *, now: datetime) -> LiveCall:
    """One item of ``active_calls``. Raises ``ValidationError``/``ValueError`` on garbage."""
    raw = _ActiveCall.model_validate(item)
    started = parse_iso(raw.start_time)
    duration = seconds(raw.duration)
    if duration is None and started is not None:
        duration = max(0, int((now - started).total_seconds()))
    details = raw.agent_details
    agent = None
    if details is not None and (details.user_id or details.name or details.status):
        agent = Agent(id=details.user_id or None, name=details.name or None, status=details.status or None)
    extras: dict[str, str | int | float | bool] = {}
    if raw.direction and word_of(raw.direction) not in _PLAIN_DIRECTIONS:
        # outbound-dial: dialled by a call flow (a Connect applet), not through the API.
        extras["exotel_direction"] = raw.direction
    return LiveCall(
        provider=ProviderName("exotel"),
        call_id=raw.call_sid,
        status=exotel_status(raw.status),
        provider_status=raw.status or None,
        **call_parties(raw.direction, raw.from_, raw.to),
        started_at=started,
        duration_s=duration,
        agent=agent,
        recording=None if raw.recording_enabled is None else Recording(enabled=raw.recording_enabled),
        extras=extras,
    )


def normalize_exotel_active_page(payload: Any, *, now: datetime) -> tuple[list[LiveCall], int | None]:
    """The calls of one ``calls/active`` answer and its ``total_active`` (``None`` when absent)."""
    page = _ActiveList.model_validate(envelope_response(payload))
    calls = [normalize_exotel_active_call(item, now=now) for item in page.active_calls or []]
    return calls, page.total_active


class _Customer(RawPayload):
    number: str | None = None


class _AnyAgent(RawPayload):
    user_id: str | None = None
    name: str | None = None
    status: str | None = None
    contact_uri: str | None = None


class _DetailsRecording(RawPayload):
    available: bool | None = None
    enabled: bool | None = None
    url: str | None = None


class _CallDetails(RawPayload):
    sid: str | None = None
    call_sid: str | None = None
    state: str | None = None
    call_state: str | None = None
    status: str | None = None
    call_status: str | None = None
    direction: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    customer_details: _Customer | None = None
    virtual_number: str | None = None
    start_time: str | None = None
    duration: float | None = None
    total_duration: float | None = None
    agent_details: _AnyAgent | None = None
    assigned_agent_details: _AnyAgent | None = None
    recording: _DetailsRecording | None = None
    recording_url: str | None = None
    recording_enabled: bool | None = None
    recordings: Any = None
    """v3 Call Details: an array of ``{url}`` objects (null or incomplete while active)."""


def _first_recording_url(recordings: Any) -> str | None:
    """The first ``url`` of the v3 ``recordings`` array; anything else in it is skipped."""
    if not isinstance(recordings, list):
        return None
    for item in recordings:
        url = item.get("url") if isinstance(item, dict) else None
        if isinstance(url, str) and url:
            return url
    return None


_STATE_WORDS = {
    "terminal": CallStatus.ENDED,
    "ended": CallStatus.ENDED,
    "closed": CallStatus.ENDED,
    "active": CallStatus.IN_PROGRESS,
    "ongoing": CallStatus.IN_PROGRESS,
    "connected": CallStatus.IN_PROGRESS,
}
NOT_LIVE = frozenset({CallStatus.ENDED, CallStatus.FAILED})


def _details_status(raw: _CallDetails) -> tuple[CallStatus, str | None]:
    """The call's status from ``state``/``status`` (either spelling); an ended state wins."""
    state_word = raw.state or raw.call_state or None
    status_word = raw.status or raw.call_status or None
    state = _STATE_WORDS.get(word_of(state_word), exotel_status(state_word))
    status = exotel_status(status_word)
    if state in NOT_LIVE:
        return state, state_word
    if status is not CallStatus.UNKNOWN:
        return status, status_word
    if state is not CallStatus.UNKNOWN:
        return state, state_word
    return CallStatus.UNKNOWN, status_word or state_word


def normalize_exotel_call_details(payload: Any, *, call_id: str, now: datetime) -> LiveCall:
    """A ``calls/{call_sid}`` answer, in whichever spelling family (see the module docstring).

    Raises ``CallNotFound`` for a 404 envelope, ``BadResponse`` for an envelope without
    ``call_details`` or with nothing that says which call or in what state it is.
    """
    inner = envelope_response(payload, call_id=call_id)
    body = inner.get("call_details")
    if not isinstance(body, dict):
        raise BadResponse(PROVIDER, "Exotel answered without the 'call_details' object for the call.")
    raw = _CallDetails.model_validate(body)
    status, word = _details_status(raw)
    if not (raw.sid or raw.call_sid) and word is None:
        raise BadResponse(PROVIDER, "Exotel's call details name neither the call nor its state.")
    direction = parse_direction(raw.direction)
    extras: dict[str, str | int | float | bool] = {}
    if raw.direction and word_of(raw.direction) not in _PLAIN_DIRECTIONS:
        extras["exotel_direction"] = raw.direction
    from_number, to_number = raw.from_ or None, raw.to or None
    customer = raw.customer_details.number if raw.customer_details else None
    if customer and from_number is None and to_number is None:
        # The customer is the caller of an inbound call and the callee of an outbound one; the
        # virtual number (Exophone) is the other side.
        if direction is Direction.INBOUND:
            from_number, to_number = customer, raw.virtual_number or None
        elif direction is Direction.OUTBOUND:
            from_number, to_number = raw.virtual_number or None, customer
        else:
            extras["customer_number"] = customer
    elif raw.virtual_number and from_number is None and to_number is None:
        # v3 Call Details names only the ExoPhone: which side it is depends on the flow, so it is
        # kept as said rather than guessed into from/to.
        extras["virtual_number"] = raw.virtual_number
    started = parse_iso(raw.start_time)
    duration = seconds(raw.duration if raw.duration is not None else raw.total_duration)
    if duration is None and started is not None and status not in NOT_LIVE:
        duration = max(0, int((now - started).total_seconds()))
    person = raw.agent_details or raw.assigned_agent_details
    agent = None
    if person is not None and (person.user_id or person.name or person.status):
        agent = Agent(id=person.user_id or None, name=person.name or None, status=person.status or None)
    if person is not None and person.contact_uri:
        extras["agent_contact"] = person.contact_uri
    recording = None
    if raw.recording is not None:
        enabled = raw.recording.available if raw.recording.available is not None else raw.recording.enabled
        recording = Recording(enabled=enabled, url=raw.recording.url or None)
    elif raw.recording_url or _first_recording_url(raw.recordings):
        recording = Recording(enabled=True, url=raw.recording_url or _first_recording_url(raw.recordings))
    elif raw.recording_enabled is not None:
        recording = Recording(enabled=raw.recording_enabled)
    if recording == Recording():
        recording = None
    return LiveCall(
        provider=ProviderName("exotel"),
        call_id=raw.call_sid or raw.sid or call_id,
        status=status,
        provider_status=word,
        direction=direction,
        from_number=from_number,
        to_number=to_number,
        started_at=started,
        duration_s=duration,
        agent=agent,
        recording=recording,
        extras=extras,
    )
