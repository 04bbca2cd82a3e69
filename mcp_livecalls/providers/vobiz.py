"""Vobiz (Plivo-compatible) live calls.

Two documented single-call shapes are accepted: the Plivo-style ``{"api_id", "calls": [{...,
"call_state": "ACTIVE"}]}`` and the flat ``{"call_status": "in-progress", "from", "to",
"session_start", ...}``. The list endpoint answers only UUIDs, so a page of summaries is one
list request (live and queued, concurrently) plus one detail request per call, run with the
provider's bounded concurrency. Vobiz documents no list filters: all are applied locally.
Timestamps carry no zone and are read as UTC.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx2
from pydantic import Field

from mcp_livecalls.config import VobizSettings
from mcp_livecalls.errors import CallNotFound, ProviderError
from mcp_livecalls.http import HttpPolicy, ProviderHTTP, translate_errors
from mcp_livecalls.models import CallStatus, LiveCall, MediaStream, ProviderName, StreamDetails
from mcp_livecalls.providers.base import (
    Capabilities,
    ListQuery,
    LiveCallsProvider,
    ProviderSlice,
    RawPayload,
    UpstreamPage,
    gather,
    parse_direction,
    parse_naive_utc,
    scan,
)

__all__ = ["VobizProvider", "normalize_vobiz_call", "vobiz_status"]

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


def vobiz_status(raw: str | None) -> CallStatus:
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


class _PlivoCall(RawPayload):
    call_uuid: str
    call_state: str | None = None
    call_direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    initiation_time: str | None = None
    answer_time: str | None = None
    call_duration: int | None = None
    parent_call_uuid: str | None = None
    conference_uuid: str | None = None
    stir_attestation: str | None = None
    stir_verification: str | None = None


class _FlatCall(RawPayload):
    call_uuid: str
    call_status: str | None = None
    direction: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    caller_name: str | None = None
    request_uuid: str | None = None
    session_start: str | None = None
    stir_attestation: str | None = None
    stir_verification: str | None = None


class _Stream(RawPayload):
    stream_id: str | None = None
    status: str | None = None
    audio_track: str | None = None
    bidirectional: bool | None = None
    start_time: str | None = None
    created_at: str | None = None


def _duration(start: datetime | None, given: int | None, now: datetime) -> int | None:
    if given is not None:
        return max(0, given)
    if start is None:
        return None
    return max(0, int((now - start).total_seconds()))


def normalize_vobiz_call(payload: Any, *, now: datetime) -> LiveCall:
    """One call from either documented shape. Raises ``ValidationError``/``KeyError`` on garbage."""
    if not isinstance(payload, dict):
        raise TypeError("not an object")
    if "calls" in payload:
        calls = payload["calls"]
        if not isinstance(calls, list) or not calls:
            raise ValueError("empty calls list")
        plivo = _PlivoCall.model_validate(calls[0])
        started = parse_naive_utc(plivo.initiation_time)
        answered = parse_naive_utc(plivo.answer_time)
        extras: dict[str, str | int | float | bool] = {}
        if plivo.conference_uuid:
            extras["conference_uuid"] = plivo.conference_uuid
        if plivo.parent_call_uuid:
            extras["parent_call_uuid"] = plivo.parent_call_uuid
        if _meaningful(plivo.stir_verification):
            extras["stir_verification"] = str(plivo.stir_verification)
        return LiveCall(
            provider=ProviderName.VOBIZ,
            call_id=plivo.call_uuid,
            status=vobiz_status(plivo.call_state),
            provider_status=plivo.call_state,
            direction=parse_direction(plivo.call_direction),
            from_number=plivo.from_number or None,
            to_number=plivo.to_number or None,
            started_at=started,
            answered_at=answered,
            duration_s=_duration(answered or started, plivo.call_duration, now),
            stir_attestation=_meaningful(plivo.stir_attestation),
            extras=extras,
        )
    flat = _FlatCall.model_validate(payload)
    started = parse_naive_utc(flat.session_start)
    flat_extras: dict[str, str | int | float | bool] = {}
    if flat.request_uuid and flat.request_uuid != flat.call_uuid:
        flat_extras["request_uuid"] = flat.request_uuid
    if _meaningful(flat.stir_verification):
        flat_extras["stir_verification"] = str(flat.stir_verification)
    return LiveCall(
        provider=ProviderName.VOBIZ,
        call_id=flat.call_uuid,
        status=vobiz_status(flat.call_status),
        provider_status=flat.call_status,
        direction=parse_direction(flat.direction),
        from_number=flat.from_ or None,
        to_number=flat.to or None,
        caller_name=flat.caller_name or None,
        started_at=started,
        duration_s=_duration(started, None, now),
        stir_attestation=_meaningful(flat.stir_attestation),
        extras=flat_extras,
    )


def _uuid_list(payload: Any) -> list[str]:
    if not isinstance(payload, dict) or not isinstance(payload.get("calls"), list):
        raise ValueError("no calls list")
    calls: list[Any] = payload["calls"]
    if not all(isinstance(item, str) for item in calls):
        # Not the documented list of UUIDs: reporting "no live calls" would be a lie.
        raise TypeError("calls is not a list of call UUIDs")
    return list(calls)


class VobizProvider(LiveCallsProvider):
    name = ProviderName.VOBIZ
    credential_vars = ("VOBIZ_AUTH_ID", "VOBIZ_AUTH_TOKEN")
    bare_digits_international = True  # "919262171438" is +919262171438 (E.164 without "+", as Plivo)
    capabilities = Capabilities(
        upstream_filters=(),
        fields=(
            "status",
            "direction",
            "from_number",
            "to_number",
            "caller_name",
            "started_at",
            "answered_at",
            "duration_s",
            "stir_attestation",
        ),
        not_offered=("legs", "bridge", "recording state", "agent", "hold/mute per leg", "latency"),
    )

    def __init__(self, http: ProviderHTTP, *, auth_id: str, now: Callable[[], datetime]) -> None:
        super().__init__(http)
        self._calls_path = f"/api/v1/Account/{quote(auth_id, safe='')}/Call/"
        self._now = now

    @classmethod
    def create(
        cls,
        settings: VobizSettings,
        client: httpx2.AsyncClient,
        policy: HttpPolicy,
        now: Callable[[], datetime],
    ) -> VobizProvider:
        auth_id = settings.auth_id.get_secret_value()
        token = settings.auth_token.get_secret_value()
        http = cls._provider_http(
            client,
            policy,
            settings.base_url,
            headers={"X-Auth-ID": auth_id, "X-Auth-Token": token},
            secrets=[auth_id, token],
        )
        return cls(http, auth_id=auth_id, now=now)

    async def get_call(self, call_id: str) -> LiveCall:
        return await self._get_call(call_id, likely="live")

    async def _get_call(self, call_id: str, *, likely: str) -> LiveCall:
        """Ask with the ``status`` the call most likely has, then the other one.

        Vobiz answers live and queued calls separately (and 404 for the other kind); a listed
        queued call is asked as queued first, saving a request.
        """
        self.check_call_id(call_id)
        path = f"{self._calls_path}{call_id}/"
        first, second = ("live", "queued") if likely == "live" else ("queued", "live")
        try:
            payload = await self.http.get_json(path, params={"status": first}, call_id=call_id)
        except CallNotFound:
            payload = await self.http.get_json(path, params={"status": second}, call_id=call_id)
        with translate_errors(self.name.value):
            return normalize_vobiz_call(payload, now=self._now())

    async def _call_ids(self) -> list[tuple[str, str]]:
        """``(uuid, "live" | "queued")`` for every call Vobiz lists, live first."""

        async def fetch(status: str) -> list[str]:
            payload = await self.http.get_json(self._calls_path, params={"status": status})
            with translate_errors(self.name.value):
                return _uuid_list(payload)

        live, queued = await gather([lambda: fetch("live"), lambda: fetch("queued")])
        seen = set(live)
        return [(uuid, "live") for uuid in live] + [(uuid, "queued") for uuid in queued if uuid not in seen]

    async def list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        uuids: list[tuple[str, str]] | None = None

        async def fetch(position: int, count: int) -> UpstreamPage:
            nonlocal uuids
            if uuids is None:
                uuids = [(uuid, kind) for uuid, kind in await self._call_ids() if self.accepts_call_id(uuid)]
            chunk = uuids[position : position + count]

            async def detail(uuid: str, kind: str) -> LiveCall | None:
                try:
                    return await self._get_call(uuid, likely=kind)
                except CallNotFound:
                    return None  # ended between the list and the detail request

            calls = await gather([functools.partial(detail, uuid, kind) for uuid, kind in chunk])
            return UpstreamPage(calls, exhausted=position + count >= len(uuids), total=len(uuids))

        return await scan(
            fetch, query=query, local_filters=self.local_filters(query), offset=offset, limit=limit
        )

    async def get_stream(self, call_id: str) -> StreamDetails:
        call = await self.get_call(call_id)
        not_offered = list(self.capabilities.not_offered)
        streams: list[MediaStream] = []
        try:
            payload = await self.http.get_json(f"{self._calls_path}{call_id}/Stream/", call_id=call_id)
            with translate_errors(self.name.value):
                streams = _media_streams(payload)
        except ProviderError:
            # The stream list is an optional extra: its absence must not hide the call.
            not_offered.append("media streams (the Stream endpoint did not answer)")
        return StreamDetails(
            provider=self.name,
            call_id=call.call_id,
            status=call.status,
            provider_status=call.provider_status,
            duration_s=call.duration_s,
            media_streams=streams,
            not_offered=not_offered,
        )


def _media_streams(payload: Any) -> list[MediaStream]:
    if not isinstance(payload, dict):
        raise TypeError("not an object")
    objects = payload.get("objects", [])
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
                started_at=parse_naive_utc(raw.start_time or raw.created_at),
            )
        )
    return streams
