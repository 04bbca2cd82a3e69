"""Exotel (v3) live calls.

Three endpoints, HTTP basic auth ``api_key:api_token``, the account sid in the path:

* ``GET /v3/accounts/{sid}/calls/active`` (``limit``, ``offset``, ``agent_id``, ``direction``) lists
  the live calls: call sid, direction, status, from, to, start time, duration, agent and whether
  the call is recorded. ``list_active_calls`` reads it page by page (at most 100 per request);
  ``direction`` and ``agent_id`` are filtered upstream, ``status`` locally.
* ``GET /v3/accounts/{sid}/calls/{call_sid}`` (call details, Beta, no example body published) says
  what one call is. It is read tolerantly across the spellings of Exotel's sibling call-details
  endpoints: ``response.call_details`` with ``sid``/``call_sid``, ``state``/``call_state``
  (``terminal`` = ended), ``status``/``call_status``, ``direction``, ``from``/``to`` or
  ``customer_details.number`` with ``virtual_number``, ``start_time`` (``Z`` or ``+05:30``),
  ``duration``/``total_duration``, ``agent_details`` or ``assigned_agent_details``, and
  ``recording {available, url}`` or ``recording_url``.
* ``GET /v3/accounts/{sid}/calls/{call_sid}/stream`` describes one call's media: status, duration,
  legs (contact, direction, status, network, muted, on hold), bridge and recording. It is documented
  only "for an active call": it may answer 404 while a call rings.

``get_live_call`` asks call details and the stream concurrently (details first: it decides whether
the call is live). Details give the summary, the stream adds legs, hold and recording; a stream that
fails loses only the legs (said in ``extras["missing"]``). When call details cannot be read (404 on a
cluster without the endpoint, an unknown shape, a 5xx) the call is looked for in the active list
instead (at most ``LOOKUP_PAGES`` pages); once details answered 404 for a call the list shows, the
endpoint is taken as absent and later lookups ask the list and the stream. A lookup is "not live"
only when every source says so (details say ended or 404 and the list does not show it, and the
stream does not describe it). ``get_stream_details`` asks the stream alone and, only when that
fails, the call's summary, answering without legs (said in ``not_offered``) when the call is live.

Both documented versions of the list are read: version B has no ``direction`` and no
``agent_details`` and takes no ``limit``/``offset``/filters. A page at an offset past 0 that
repeats the first page (or the page before) means Exotel ignored ``offset``: the calls are then
cut locally from that one answer and paging stops, so no call is listed twice and no loop
happens. Calls that contradict a filter Exotel should have applied are dropped here and the page
says so; an ended call in the list is never listed. Status words outside the documented ones
give ``unknown`` with the raw word kept. A ``200`` whose envelope says ``http_code`` 400 or more,
or that has no ``response``, is a ``BadResponse`` (a ``404`` in the envelope of a call lookup is
``CallNotFound``). Phone numbers are kept as Exotel writes them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import httpx2
from pydantic import Field, SecretStr

from mcp_livecalls.core.models import (
    Agent,
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
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import (
    AuthError,
    BadResponse,
    CallNotFound,
    LiveCallsError,
    ProviderError,
    RateLimited,
)
from mcp_livecalls.providers.base import (
    Capabilities,
    EnvSpec,
    LiveCallsProvider,
    ProviderSlice,
    RawPayload,
    UpstreamPage,
    parse_direction,
    parse_iso,
    scan,
)
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.pacing import LOCAL_PACING, Pacing
from mcp_livecalls.upstream.policy import HttpPolicy
from mcp_livecalls.upstream.translate import EnvelopeError, envelope_failure, find_message

__all__ = [
    "ExotelProvider",
    "ExotelSettings",
    "exotel_call_from_stream",
    "exotel_call_with_stream",
    "exotel_leg_status",
    "exotel_status",
    "normalize_exotel_active_call",
    "normalize_exotel_active_page",
    "normalize_exotel_call_details",
    "normalize_exotel_stream",
]

MAX_PAGE = 100
"""The most calls asked of Exotel in one list request."""

_PROVIDER = ProviderName("exotel").value

DEFAULT_BASE_URL = "https://api.exotel.com"


@dataclass(frozen=True)
class ExotelSettings:
    account_sid: SecretStr
    api_key: SecretStr
    api_token: SecretStr
    base_url: str = DEFAULT_BASE_URL
    requests_per_minute: float = 200.0
    """Exotel's documented limit for voice APIs, per account; requests are paced under it."""


_CALL_STATUS = {
    "queued": CallStatus.QUEUED,
    "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS,
    "completed": CallStatus.ENDED,
    "failed": CallStatus.FAILED,
    "busy": CallStatus.FAILED,
    "no-answer": CallStatus.FAILED,
    "canceled": CallStatus.FAILED,
}
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
_PLAIN_DIRECTIONS = {"inbound", "outbound", "outbound-api"}
"""Direction words that ``Direction`` says in full; any other is kept in ``extras``."""
_ROLES = ("agent", "customer")
_NOT_OFFERED = ("transcript", "latency", "cost", "media streams", "caller name")


def _word(raw: str | None) -> str:
    return (raw or "").strip().lower().replace("_", "-")


def exotel_status(raw: str | None) -> CallStatus:
    """A call status word (v3 ``ringing``/``in-progress`` or a v1 word) in the common vocabulary."""
    return _CALL_STATUS.get(_word(raw), CallStatus.UNKNOWN)


def exotel_leg_status(raw: str | None) -> LegStatus:
    return _LEG_STATUS.get(_word(raw), LegStatus.UNKNOWN)


def _seconds(value: float | None) -> int | None:
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


def _response(payload: Any, *, call_id: str | None = None) -> dict[str, Any]:
    """The ``response`` object of Exotel's v3 envelope, refusing an envelope that reports an error.

    Through ``ProviderHTTP`` an error envelope never gets here (the hook raised it, redacted);
    the normalizers called on their own refuse it the same way."""
    if not isinstance(payload, dict):
        raise TypeError("the body is not an object")
    reported = exotel_envelope_error(payload)
    if reported is not None:
        raise envelope_failure(_PROVIDER, reported, call_id=call_id)
    inner = payload.get("response")
    if not isinstance(inner, dict):
        raise BadResponse(_PROVIDER, "Exotel answered without the 'response' object of its v3 envelope.")
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
    duration = _seconds(raw.duration)
    if duration is None and started is not None:
        duration = max(0, int((now - started).total_seconds()))
    details = raw.agent_details
    agent = None
    if details is not None and (details.user_id or details.name or details.status):
        agent = Agent(id=details.user_id or None, name=details.name or None, status=details.status or None)
    extras: dict[str, str | int | float | bool] = {}
    if raw.direction and _word(raw.direction) not in _PLAIN_DIRECTIONS:
        # outbound-dial: dialled by a call flow (a Connect applet), not through the API.
        extras["exotel_direction"] = raw.direction
    return LiveCall(
        provider=ProviderName("exotel"),
        call_id=raw.call_sid,
        status=exotel_status(raw.status),
        provider_status=raw.status or None,
        direction=parse_direction(raw.direction),
        from_number=raw.from_ or None,
        to_number=raw.to or None,
        started_at=started,
        duration_s=duration,
        agent=agent,
        recording=None if raw.recording_enabled is None else Recording(enabled=raw.recording_enabled),
        extras=extras,
    )


def normalize_exotel_active_page(payload: Any, *, now: datetime) -> tuple[list[LiveCall], int | None]:
    """The calls of one ``calls/active`` answer and its ``total_active`` (``None`` when absent)."""
    page = _ActiveList.model_validate(_response(payload))
    calls = [normalize_exotel_active_call(item, now=now) for item in page.active_calls or []]
    return calls, page.total_active


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
    inner = _response(payload, call_id=call_id)
    if not isinstance(inner.get("stream"), dict):
        raise BadResponse(_PROVIDER, "Exotel answered without the 'stream' object for the call.")
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
        duration_s=_seconds(raw.duration),
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
            duration_s=_seconds(recording.duration),
        ),
        not_offered=list(_NOT_OFFERED),
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


_STATE_WORDS = {
    "terminal": CallStatus.ENDED,
    "ended": CallStatus.ENDED,
    "closed": CallStatus.ENDED,
    "active": CallStatus.IN_PROGRESS,
    "ongoing": CallStatus.IN_PROGRESS,
    "connected": CallStatus.IN_PROGRESS,
}
_NOT_LIVE = frozenset({CallStatus.ENDED, CallStatus.FAILED})


def _details_status(raw: _CallDetails) -> tuple[CallStatus, str | None]:
    """The call's status from ``state``/``status`` (either spelling); an ended state wins."""
    state_word = raw.state or raw.call_state or None
    status_word = raw.status or raw.call_status or None
    state = _STATE_WORDS.get(_word(state_word), exotel_status(state_word))
    status = exotel_status(status_word)
    if state in _NOT_LIVE:
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
    inner = _response(payload, call_id=call_id)
    body = inner.get("call_details")
    if not isinstance(body, dict):
        raise BadResponse(_PROVIDER, "Exotel answered without the 'call_details' object for the call.")
    raw = _CallDetails.model_validate(body)
    status, word = _details_status(raw)
    if not (raw.sid or raw.call_sid) and word is None:
        raise BadResponse(_PROVIDER, "Exotel's call details name neither the call nor its state.")
    direction = parse_direction(raw.direction)
    extras: dict[str, str | int | float | bool] = {}
    if raw.direction and _word(raw.direction) not in _PLAIN_DIRECTIONS:
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
    started = parse_iso(raw.start_time)
    duration = _seconds(raw.duration if raw.duration is not None else raw.total_duration)
    if duration is None and started is not None and status not in _NOT_LIVE:
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
    elif raw.recording_url:
        recording = Recording(enabled=True, url=raw.recording_url)
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


def _missing_legs(error: ProviderError) -> str:
    if isinstance(error, CallNotFound):
        return "legs: Exotel's stream endpoint answered 404 for this call (it describes active calls only)"
    code = f" ({error.status_code})" if error.status_code else ""
    return f"legs: Exotel's stream endpoint failed{code}"


def _contradicts(call: LiveCall, query: ListQuery) -> bool:
    """Whether ``call`` plainly fails an upstream filter (an Exotel version that ignores it)."""
    if query.direction is not None and call.direction is not None and call.direction != query.direction:
        return True
    return (
        query.agent_id is not None
        and call.agent is not None
        and call.agent.id is not None
        and call.agent.id != query.agent_id
    )


def _unknown_for(call: LiveCall, query: ListQuery) -> list[str]:
    """The upstream filters ``call`` cannot be checked against (version B says no direction/agent)."""
    unknown = []
    if query.direction is not None and call.direction is None:
        unknown.append("direction")
    if query.agent_id is not None and (call.agent is None or call.agent.id is None):
        unknown.append("agent_id")
    return unknown


@dataclass
class _Scan:
    """What one paging run has seen: the previous page's sids and the notes to give."""

    previous: list[str] | None = None
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


LOOKUP_PAGES = 5
"""Active-list pages a lookup reads at most when call details cannot be read (500 calls)."""

_T = TypeVar("_T")
_U = TypeVar("_U")


class ExotelProvider(LiveCallsProvider):
    name = ProviderName("exotel")
    credential_vars = ("EXOTEL_API_KEY", "EXOTEL_API_TOKEN")
    env = EnvSpec(
        "EXOTEL",
        DEFAULT_BASE_URL,
        secrets=("account_sid", "api_key", "api_token"),
        numbers=(("requests_per_minute", 1.0),),
    )
    settings_type = ExotelSettings
    call_id_words = "Exotel call_sid"
    max_call_id_length = 64
    capabilities = Capabilities(
        upstream_filters=("direction", "agent_id"),
        fields=(
            "status",
            "direction",
            "from_number",
            "to_number",
            "started_at",
            "duration_s",
            "agent",
            "legs",
            "recording",
        ),
        not_offered=_NOT_OFFERED,
    )

    def __init__(self, http: ProviderHTTP, *, account_sid: str, now: Callable[[], datetime]) -> None:
        super().__init__(http)
        self._calls_path = f"/v3/accounts/{quote(account_sid, safe='')}/calls"
        self._now = now
        self._first_page: list[str] = []
        """The call sids of the latest answer for offset 0 (a later page equal to it repeats it)."""
        self.offset_ignored = False
        """Learned: Exotel answers every page from the start (version B of the list)."""
        self.details_absent = False
        """Learned: call details answered 404 for a call the active list shows (no such endpoint)."""

    @classmethod
    def create(
        cls,
        settings: ExotelSettings,
        client: httpx2.AsyncClient,
        policy: HttpPolicy,
        now: Callable[[], datetime],
        pacing: Pacing = LOCAL_PACING,
    ) -> ExotelProvider:
        sid = settings.account_sid.get_secret_value()
        key = settings.api_key.get_secret_value()
        token = settings.api_token.get_secret_value()
        http = cls._provider_http(
            client,
            policy,
            settings.base_url,
            auth=(key, token),
            secrets=[sid, key, token],
            requests_per_minute=settings.requests_per_minute,
            not_found_hint=_hosts_hint(settings.base_url),
            pacing=pacing,
        )
        return cls(http, account_sid=sid, now=now)

    @classmethod
    def envelope_error(cls, payload: Any) -> EnvelopeError | None:
        return exotel_envelope_error(payload)

    @classmethod
    def error_message(cls, payload: Any) -> str | None:
        """Exotel nests its message: ``error_data`` (v3), ``RestException`` (v1), ``response``."""
        if isinstance(payload, dict):
            for key in ("error_data", "RestException", "response"):
                inner = payload.get(key)
                if isinstance(inner, dict):
                    found = cls.error_message(inner)
                    if found:
                        return found
        return find_message(payload)

    @classmethod
    def pacing_account(cls, settings: ExotelSettings) -> str:
        """Exotel's limit (200 a minute) is per account: replicas of one account share it."""
        return settings.account_sid.get_secret_value()

    @classmethod
    def redaction_pairs(cls, settings: ExotelSettings) -> list[tuple[str, str]]:
        """Basic auth joins key and token (``key:token`` in base64): the pair is a secret of its own."""
        return [(settings.api_key.get_secret_value(), settings.api_token.get_secret_value())]

    # -- one call ----------------------------------------------------------------------------
    async def _details(self, call_id: str) -> LiveCall:
        return await self.http.get_json(
            f"{self._calls_path}/{call_id}",
            call_id=call_id,
            parse=lambda payload: normalize_exotel_call_details(payload, call_id=call_id, now=self._now()),
        )

    async def _stream(self, call_id: str) -> StreamDetails:
        return await self.http.get_json(
            f"{self._calls_path}/{call_id}/stream",
            call_id=call_id,
            parse=lambda payload: normalize_exotel_stream(payload, call_id=call_id),
        )

    async def _listed(self, call_id: str) -> LiveCall | None:
        """The call as the active list shows it, reading at most ``LOOKUP_PAGES`` pages."""
        scan_state = _Scan()
        position = 0
        for _ in range(LOOKUP_PAGES):
            page = await self._page(ListQuery(), position, MAX_PAGE, scan_state)
            for call in page.calls:
                if call is not None and call.call_id == call_id:
                    return call
            position += len(page.calls)
            if page.exhausted or not page.calls:
                return None
        return None

    async def _summary(
        self, details: LiveCall | ProviderError | None, call_id: str
    ) -> LiveCall | ProviderError:
        """The call's summary from its details, else from the active list.

        Answers the ``LiveCall`` (live or not), ``CallNotFound`` when no source shows it, or the
        error that kept every source from answering.
        """
        if isinstance(details, LiveCall):
            return details
        if isinstance(details, AuthError | RateLimited):
            return details  # the list would answer the same
        listed = await _attempt(lambda: self._listed(call_id))
        if isinstance(listed, LiveCall):
            if isinstance(details, CallNotFound):
                self.details_absent = True
            return listed
        if listed is None:
            return CallNotFound(self.name.value, call_id)
        if details is None or isinstance(details, CallNotFound):
            return listed
        return details

    async def _get_call(self, call_id: str) -> LiveCall:
        self.check_call_id(call_id)
        if self.details_absent:
            summary, stream = await _both(
                lambda: self._summary(None, call_id), lambda: _attempt(lambda: self._stream(call_id))
            )
        else:
            # Details first: they decide whether the call is live; the stream only adds legs.
            details, stream = await _both(
                lambda: _attempt(lambda: self._details(call_id)),
                lambda: _attempt(lambda: self._stream(call_id)),
            )
            summary = await self._summary(details, call_id)
        if isinstance(summary, LiveCall) and summary.status not in _NOT_LIVE:
            if isinstance(stream, StreamDetails):
                return exotel_call_with_stream(summary, stream)
            extras = {**summary.extras, "missing": _missing_legs(stream)}
            return summary.model_copy(update={"extras": extras})
        if isinstance(stream, StreamDetails) and stream.status not in _NOT_LIVE:
            return exotel_call_from_stream(stream)
        raise self._not_live(call_id, summary, stream)

    def _not_live(
        self, call_id: str, summary: LiveCall | ProviderError, stream: StreamDetails | ProviderError
    ) -> ProviderError:
        """The error for a call no source shows live: ``CallNotFound`` only when every source says so.

        An ended state in call details (or the list) is taken at its word; otherwise a source that
        failed is what is reported, so a failure is never mistaken for "not live".
        """
        if isinstance(summary, LiveCall):
            return CallNotFound(self.name.value, call_id)  # details (or the list) say it ended
        if not isinstance(summary, CallNotFound):
            return summary  # details and the list failed: that, not "not live", is the answer
        if isinstance(stream, ProviderError) and not isinstance(stream, CallNotFound):
            return stream  # the stream failed: it did not say the call is gone
        return CallNotFound(self.name.value, call_id)

    async def _get_stream(self, call_id: str) -> StreamDetails:
        self.check_call_id(call_id)
        stream = await _attempt(lambda: self._stream(call_id))
        if isinstance(stream, StreamDetails):
            return stream
        if isinstance(stream, AuthError | RateLimited):
            raise stream
        details = None if self.details_absent else await _attempt(lambda: self._details(call_id))
        summary = await self._summary(details, call_id)
        if isinstance(summary, LiveCall) and summary.status not in _NOT_LIVE:
            return StreamDetails(
                provider=ProviderName("exotel"),
                call_id=summary.call_id,
                status=summary.status,
                provider_status=summary.provider_status,
                duration_s=summary.duration_s,
                recording=summary.recording,
                not_offered=[*_NOT_OFFERED, _missing_legs(stream)],
            )
        raise self._not_live(call_id, summary, stream)

    # -- the active list ---------------------------------------------------------------------
    async def _page(self, query: ListQuery, position: int, count: int, seen: _Scan) -> UpstreamPage:
        count = max(1, min(count, MAX_PAGE))
        params: dict[str, str | int] = {"limit": count, "offset": position}
        if query.agent_id is not None:
            params["agent_id"] = query.agent_id
        if query.direction is not None:
            params["direction"] = query.direction.value
        calls, total = await self.http.get_json(
            f"{self._calls_path}/active",
            params=params,
            parse=lambda payload: normalize_exotel_active_page(payload, now=self._now()),
        )
        sids = [call.call_id for call in calls]
        if len(calls) > count:
            self.offset_ignored = True  # more than asked: Exotel ignores limit, so offset too (version B)
        if position == 0:
            self._first_page = sids
        elif sids and (
            self.offset_ignored or _repeats(sids, seen.previous) or _repeats(sids, self._first_page)
        ):
            # Exotel ignored the offset (version B): this answer starts at the first call again.
            # The calls past ``position`` are cut out of it; nothing beyond it can be asked.
            self.offset_ignored = True
            calls = calls[position:]
        seen.previous = sids
        if self.offset_ignored:
            seen.note(
                "exotel: the active-calls API ignored offset and limit; pages were cut here from its answer"
            )
            exhausted = True
        elif total is not None:
            # The total decides: a page shorter than asked may only be Exotel's own page cap.
            exhausted = not calls or position + len(calls) >= total
        else:
            exhausted = len(calls) < count
        kept: list[LiveCall | None] = []
        for call in calls:
            if _contradicts(call, query):
                # Exotel did not apply a filter it documents: a gap here keeps offsets in line.
                seen.note("exotel: Exotel's answer ignored the direction/agent_id filter; filtered here")
                total = None
                kept.append(None)
            elif call.status in _NOT_LIVE:
                total = None
                kept.append(None)  # an ended call is not live, whatever the list says
            else:
                unknown = _unknown_for(call, query)
                if unknown:
                    seen.note(
                        f"exotel: some calls do not say their {'/'.join(unknown)} (older API version); "
                        "kept unfiltered"
                    )
                kept.append(call)
        return UpstreamPage(kept, exhausted=exhausted, total=total)

    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        seen = _Scan()

        async def fetch(position: int, count: int) -> UpstreamPage:
            return await self._page(query, position, count, seen)

        found = await scan(
            fetch, query=query, local_filters=self.local_filters(query), offset=offset, limit=limit
        )
        return replace(found, notes=seen.notes) if seen.notes else found


def _repeats(sids: list[str], earlier: list[str] | None) -> bool:
    """Whether a page starts over where ``earlier`` started (one is a prefix of the other).

    A page past offset 0 that begins with the calls the first page began with was answered from
    the start again: Exotel ignored ``offset`` (its limit may differ, so only the shared part counts).
    """
    if not earlier:
        return False
    shared = min(len(sids), len(earlier))
    return sids[:shared] == earlier[:shared]


def _hosts_hint(base_url: str) -> str:
    """Where else Exotel's v3 API may live (its docs name three hosts; accounts sit on a cluster)."""
    current = base_url.rstrip("/").lower().removeprefix("https://").removeprefix("http://")
    others = [f"{host} ({where})" for host, where in _HOSTS if host != current]
    return (
        "Exotel's v3 API may live on your account's cluster: point EXOTEL_BASE_URL at host "
        + " or ".join(others)
        + "; the credentials were not refused."
    )


_HOSTS = (
    ("api.exotel.com", "the docs' example"),
    ("ccm-api.exotel.com", "Singapore"),
    ("ccm-api.in.exotel.com", "Mumbai"),
)


async def _attempt(thunk: Callable[[], Awaitable[_T]]) -> _T | ProviderError:
    """The thunk's value, or the provider error it raised (a part that failed, kept for later)."""
    try:
        return await thunk()
    except ProviderError as exc:
        return exc


async def _both(first: Callable[[], Awaitable[_T]], second: Callable[[], Awaitable[_U]]) -> tuple[_T, _U]:
    """Both thunks concurrently, ``first`` started first; neither raises a ``ProviderError``."""
    results: dict[int, Any] = {}
    failures: list[LiveCallsError] = []

    async with anyio.create_task_group() as group:

        async def run(index: int, thunk: Callable[[], Awaitable[Any]]) -> None:
            try:
                results[index] = await thunk()
            except LiveCallsError as exc:  # not a provider's answer (a URL that cannot be built)
                failures.append(exc)
                group.cancel_scope.cancel()

        group.start_soon(run, 0, first)
        group.start_soon(run, 1, second)
    if failures:
        raise failures[0]
    return results[0], results[1]


ADAPTER = ExotelProvider
"""What the registry loads for this folder."""
