"""Normalized models: one vocabulary for every provider.

Provider JSON goes through an adapter (``mcp_livecalls.providers``) into these models, and from
them into structured tool output and the compact text rendering. The field names below are the
public contract of the structured output (``call_id``, ``provider``, ``status``, ``calls``,
``next_cursor`` …): keep them stable.

Structured output leaves out what is empty (``None``, ``[]``, ``{}``); every field that can be
left out has a default, so the published schema stays exact.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mcp_livecalls.safety import cap_for, clean_value

__all__ = [
    "ActiveCallsPage",
    "Agent",
    "Bridge",
    "CallEvent",
    "CallLeg",
    "CallStateWait",
    "CallStatus",
    "Cost",
    "Direction",
    "LatencyStats",
    "LegStatus",
    "LiveCall",
    "MediaStream",
    "ProviderFailure",
    "ProviderInfo",
    "ProviderName",
    "ProvidersOverview",
    "Recording",
    "StreamDetails",
    "TranscriptTurn",
]


class ProviderName(StrEnum):
    VOBIZ = "vobiz"
    EXOTEL = "exotel"
    ZUDU = "zudu"


class CallStatus(StrEnum):
    """Where a call is in its life, the same words for every provider."""

    QUEUED = "queued"
    RINGING = "ringing"
    EARLY_MEDIA = "early_media"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    ENDED = "ended"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class LegStatus(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    UNKNOWN = "unknown"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    @field_validator("*")
    @classmethod
    def _provider_text_is_data(cls, value: Any, info: ValidationInfo) -> Any:
        """Every string (and every string in a list or dict) through ``safety.clean_value``."""
        return clean_value(value, limit=cap_for(cls.__name__, info.field_name or ""))

    def structured(self) -> dict[str, Any]:
        """JSON-ready dict without ``None`` and empty containers (the structured tool output).

        Every optional field defaults to ``None``, ``[]`` or ``{}`` (and no other default
        exists), so leaving out defaults leaves out exactly the empty fields.
        """
        return self.model_dump(mode="json", exclude_defaults=True)


class Agent(_Model):
    id: str | None = None
    name: str | None = None
    status: str | None = Field(default=None, description="The agent's own status at the provider, raw.")


class CallLeg(_Model):
    leg_id: str | None = None
    role: str | None = Field(default=None, description="'agent' or 'customer' where the provider says.")
    contact: str | None = Field(default=None, description="Number or SIP URI of the party on this leg.")
    direction: Direction | None = None
    status: LegStatus
    provider_status: str | None = None
    network: str | None = Field(default=None, description="pstn, sip, webrtc … as the provider says.")
    muted: bool | None = None
    on_hold: bool | None = None


class Bridge(_Model):
    bridge_id: str | None = None
    status: str | None = None
    created_at: datetime | None = None


class Recording(_Model):
    enabled: bool | None = None
    channels: str | None = None
    duration_s: int | None = None
    url: str | None = None


class MediaStream(_Model):
    stream_id: str | None = None
    status: str | None = None
    audio_track: str | None = None
    bidirectional: bool | None = None
    started_at: datetime | None = None


class LatencyStats(_Model):
    """Latency percentiles in milliseconds (Zudu: e2e, llm, tts …)."""

    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    samples: int | None = None


class Cost(_Model):
    total: float | None = Field(default=None, description="Cost so far, in the provider's billing currency.")
    currency: str | None = None


class TranscriptTurn(_Model):
    role: str
    text: str
    at: datetime | None = None


class CallEvent(_Model):
    at: datetime | None = None
    name: str


class LiveCall(_Model):
    """One call as it is right now."""

    provider: ProviderName
    call_id: str
    status: CallStatus
    provider_status: str | None = Field(default=None, description="The provider's own status word, raw.")
    direction: Direction | None = None
    from_number: str | None = None
    to_number: str | None = None
    caller_name: str | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    duration_s: int | None = Field(default=None, description="Seconds since start (or answer, where given).")
    agent: Agent | None = None
    stir_attestation: str | None = None
    legs: list[CallLeg] = Field(default_factory=list)
    recording: Recording | None = None
    latency: dict[str, LatencyStats] = Field(default_factory=dict)
    cost: Cost | None = None
    transcript: list[TranscriptTurn] = Field(default_factory=list, description="The most recent turns.")
    transcript_turns_omitted: int | None = Field(default=None, description="Older turns left out.")
    sensitive_data_hidden: bool | None = Field(
        default=None, description="True when the call opted out of sensitive data storage."
    )
    extras: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Small provider-specific facts that say something."
    )


class StreamDetails(_Model):
    """The media side of a live call: legs, bridge, recording, streams, latency, recent events."""

    provider: ProviderName
    call_id: str
    status: CallStatus | None = None
    provider_status: str | None = None
    duration_s: int | None = None
    legs: list[CallLeg] = Field(default_factory=list)
    bridge: Bridge | None = None
    recording: Recording | None = None
    media_streams: list[MediaStream] = Field(default_factory=list)
    telephony_ids: dict[str, str] = Field(default_factory=dict)
    latency: dict[str, LatencyStats] = Field(default_factory=dict)
    events: list[CallEvent] = Field(default_factory=list, description="The most recent events.")
    events_omitted: int | None = None
    transcript: list[TranscriptTurn] = Field(default_factory=list)
    transcript_turns_omitted: int | None = None
    sensitive_data_hidden: bool | None = None
    not_offered: list[str] = Field(
        default_factory=list, description="What this provider's API does not offer for a live call."
    )


class ProviderFailure(_Model):
    provider: ProviderName
    reason: str


class ActiveCallsPage(_Model):
    calls: list[LiveCall] = Field(default_factory=list)
    total: int | None = Field(default=None, description="Live calls matching the filters, where known.")
    next_cursor: str | None = Field(default=None, description="Pass back as cursor for the next page.")
    notes: list[str] = Field(default_factory=list, description="Filters applied locally, and similar.")
    failures: list[ProviderFailure] = Field(default_factory=list, description="Providers that failed.")


class CallStateWait(_Model):
    """The answer of ``wait_for_call_state``."""

    outcome: Literal["reached", "ended", "timeout"]
    waited_s: float
    call: LiveCall | None = Field(default=None, description="The call as last seen.")


class ProviderInfo(_Model):
    name: ProviderName
    configured: bool
    base_url: str | None = None
    tools: list[str] = Field(default_factory=list)
    upstream_filters: list[str] = Field(default_factory=list)
    local_filters: list[str] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list)
    not_offered: list[str] = Field(default_factory=list)


class ProvidersOverview(_Model):
    providers: list[ProviderInfo]
