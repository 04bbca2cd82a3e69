"""Exotel (v3) live calls.

Two endpoints, HTTP basic auth ``api_key:api_token``, the account sid in the path:

* ``GET /v3/accounts/{sid}/calls/active`` (``limit``, ``offset``, ``agent_id``, ``direction``) lists
  the live calls: call sid, direction, status, from, to, start time, duration, agent and whether
  the call is recorded. ``list_active_calls`` reads it page by page (at most 100 per request);
  ``direction`` and ``agent_id`` are filtered upstream, ``status`` locally.
* ``GET /v3/accounts/{sid}/calls/{call_sid}/stream`` describes one call: status, duration, legs
  (contact, direction, status, network, muted, on hold), bridge and recording.

Exotel documents no endpoint for one call's summary, so ``get_live_call`` makes one request, to
the stream endpoint, and answers a ``LiveCall`` with only these fields:

* ``status`` and ``provider_status`` (``on_hold`` when the call is in progress and a leg is on
  hold; ``provider_status`` keeps Exotel's own word), ``duration_s``, ``legs``, ``recording``;
* one number, from the customer's leg: ``from_number`` when that leg came in, ``to_number`` when
  Exotel dialled it. The other number (the agent's or the Exophone) is not in the stream and
  stays empty, as do both when the customer's leg cannot be told. The customer's leg is the one
  whose leg sid says so (``leg_customer_001``); else, of two legs, the only one that came in;
  else, of two legs both dialled out, the second (Exotel dials the agent first, as in its docs).

``direction``, ``agent``, ``started_at`` and both ``from``/``to`` numbers come only from the
active list (``list_active_calls``); a lookup never pages through that list.
``get_stream_details`` is the same single request, with the bridge as well.

Both documented versions of the list are read: the older one has no ``direction`` and no
``agent_details``. Status words outside the documented ones give ``unknown`` with the raw word
kept. A ``200`` whose envelope says ``http_code`` 400 or more, or that has no ``response``,
is a ``BadResponse`` (a ``404`` in the envelope of a call lookup is ``CallNotFound``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx2
from pydantic import Field

from mcp_livecalls.config import ExotelSettings
from mcp_livecalls.errors import BadResponse, CallNotFound
from mcp_livecalls.http import HttpPolicy, ProviderHTTP, translate_errors
from mcp_livecalls.models import (
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
from mcp_livecalls.providers.base import (
    Capabilities,
    ListQuery,
    LiveCallsProvider,
    ProviderSlice,
    RawPayload,
    UpstreamPage,
    parse_direction,
    parse_iso,
    scan,
)

__all__ = [
    "ExotelProvider",
    "exotel_call_from_stream",
    "exotel_leg_status",
    "exotel_status",
    "normalize_exotel_active_call",
    "normalize_exotel_active_page",
    "normalize_exotel_stream",
]

MAX_PAGE = 100
"""The most calls asked of Exotel in one list request."""

_PROVIDER = ProviderName.EXOTEL.value

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


def _identity(text: str) -> str:
    return text


def _response(
    payload: Any, *, call_id: str | None = None, redact: Callable[[str], str] = _identity
) -> dict[str, Any]:
    """The ``response`` object of Exotel's v3 envelope, refusing an envelope that reports an error."""
    if not isinstance(payload, dict):
        raise TypeError("the body is not an object")
    code = payload.get("http_code")
    if isinstance(code, str) and code.strip().isdigit():
        code = int(code)
    inner = payload.get("response")
    if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
        if code == 404 and call_id is not None:
            raise CallNotFound(_PROVIDER, call_id)
        message = _error_message(inner)
        said = f" Exotel says: {' '.join(redact(message).split())[:160]}" if message else ""
        raise BadResponse(
            _PROVIDER, f"Exotel answered 200 with an error inside (http_code {code}).{said}", status_code=code
        )
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
        provider=ProviderName.EXOTEL,
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


def normalize_exotel_active_page(
    payload: Any, *, now: datetime, redact: Callable[[str], str] = _identity
) -> tuple[list[LiveCall], int | None]:
    """The calls of one ``calls/active`` answer and its ``total_active`` (``None`` when absent)."""
    page = _ActiveList.model_validate(_response(payload, redact=redact))
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


def normalize_exotel_stream(
    payload: Any, *, call_id: str, redact: Callable[[str], str] = _identity
) -> StreamDetails:
    """A ``calls/{call_sid}/stream`` answer. ``call_id`` is the one asked for (and the 404 to raise)."""
    inner = _response(payload, call_id=call_id, redact=redact)
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
        provider=ProviderName.EXOTEL,
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
        provider=ProviderName.EXOTEL,
        call_id=details.call_id,
        status=details.status or CallStatus.UNKNOWN,
        provider_status=details.provider_status,
        from_number=from_number,
        to_number=to_number,
        duration_s=details.duration_s,
        legs=details.legs,
        recording=details.recording,
    )


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


class ExotelProvider(LiveCallsProvider):
    name = ProviderName.EXOTEL
    credential_vars = ("EXOTEL_API_KEY", "EXOTEL_API_TOKEN")
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

    @classmethod
    def create(
        cls,
        settings: ExotelSettings,
        client: httpx2.AsyncClient,
        policy: HttpPolicy,
        now: Callable[[], datetime],
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
        )
        return cls(http, account_sid=sid, now=now)

    async def get_call(self, call_id: str) -> LiveCall:
        return exotel_call_from_stream(await self.get_stream(call_id))

    async def get_stream(self, call_id: str) -> StreamDetails:
        self.check_call_id(call_id)
        payload = await self.http.get_json(f"{self._calls_path}/{call_id}/stream", call_id=call_id)
        with translate_errors(self.name.value):
            return normalize_exotel_stream(payload, call_id=call_id, redact=self.http.redact)

    async def list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        async def fetch(position: int, count: int) -> UpstreamPage:
            count = max(1, min(count, MAX_PAGE))
            params: dict[str, str | int] = {"limit": count, "offset": position}
            if query.agent_id is not None:
                params["agent_id"] = query.agent_id
            if query.direction is not None:
                params["direction"] = query.direction.value
            payload = await self.http.get_json(f"{self._calls_path}/active", params=params)
            with translate_errors(self.name.value):
                calls, total = normalize_exotel_active_page(payload, now=self._now(), redact=self.http.redact)
            if total is not None:
                # The total decides: a page shorter than asked may only be Exotel's own page cap.
                exhausted = not calls or position + len(calls) >= total
            else:
                exhausted = len(calls) < count
            # A call that plainly fails a filter Exotel should have applied counts as a gap (None),
            # so offsets still line up with Exotel's list.
            kept: list[LiveCall | None] = [None if _contradicts(call, query) else call for call in calls]
            return UpstreamPage(kept, exhausted=exhausted, total=total)

        return await scan(
            fetch, query=query, local_filters=self.local_filters(query), offset=offset, limit=limit
        )
