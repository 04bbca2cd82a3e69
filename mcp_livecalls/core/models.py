"""Normalized models: one vocabulary for every provider.

Provider JSON goes through an adapter (``mcp_livecalls.providers``) into these models, and from
them into structured tool output and the compact text rendering. The field names below are the
public contract of the structured output (``call_id``, ``provider``, ``status``, ``calls``,
``next_cursor`` …): keep them stable.

Structured output leaves out what is empty (``None``, ``[]``, ``{}``); every field that can be
left out has a default, so the published schema stays exact.

The published JSON schemas (tool output schemas) are compact and strict at once: no titles, no
defaults, and a field that is left out when empty is published as its plain type, never as
``anyOf [T, null]`` (structured output never holds a ``null``). Both hooks below do this for every
model and enum generically, so a new field gets the same treatment; a model or field describes
itself only where its name does not.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, ValidationInfo, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.core.safety import cap_for, clean_value

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


class _Vocabulary(StrEnum):
    """A closed set of words; published as a plain ``enum`` of strings."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        published = handler.resolve_ref_schema(json_schema)
        published.pop("title", None)
        published.pop("description", None)  # the docstring is for the code's readers
        return json_schema


if TYPE_CHECKING:

    class ProviderName(_Vocabulary):
        """The registered providers' names (``mcp_livecalls.core.catalog.NAMES``)."""

else:
    ProviderName = _Vocabulary("ProviderName", {name.upper(): name for name in NAMES})


class CallStatus(_Vocabulary):
    """Where a call is in its life, the same words for every provider."""

    QUEUED = "queued"
    RINGING = "ringing"
    EARLY_MEDIA = "early_media"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    ENDED = "ended"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Direction(_Vocabulary):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class LegStatus(_Vocabulary):
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

    @field_validator("*", mode="after")
    @classmethod
    def _whole_seconds(cls, value: Any) -> Any:
        """Times are whole seconds, as the README promises (providers send fractions or not)."""
        return value.replace(microsecond=0) if isinstance(value, datetime) else value

    def structured(self) -> dict[str, Any]:
        """JSON-ready dict without ``None`` and empty containers (the structured tool output).

        Every optional field defaults to ``None``, ``[]`` or ``{}`` (and no other default
        exists), so leaving out defaults leaves out exactly the empty fields.
        """
        return self.model_dump(mode="json", exclude_defaults=True)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """This model's published schema, as ``structured()`` output actually looks.

        Titles go (they repeat the names); so does the docstring (it is for the code's readers),
        and ``additionalProperties: false`` (``extra="forbid"`` guards what the adapters build;
        a client need not be told, and a client that generated closed types from it would break
        on the next added field). A field that ``structured()`` leaves out when empty loses its
        default and its ``null`` alternative: absent means empty, and a present value is never
        ``null``.
        """
        json_schema = handler(core_schema)
        published = handler.resolve_ref_schema(json_schema)
        for keyword in ("title", "description", "additionalProperties"):
            published.pop(keyword, None)
        properties: dict[str, Any] = published.get("properties", {})
        for name, field in cls.model_fields.items():
            prop = properties.get(field.serialization_alias or field.alias or name)
            if prop is None:
                continue
            prop.pop("title", None)
            if field.is_required():
                continue
            prop.pop("default", None)
            if field.default is None:
                drop_null_arm(prop)
        return json_schema


def drop_null_arm(prop: dict[str, Any]) -> None:
    """``anyOf [T, null]`` → ``T`` (keeping the property's own keys, such as its description)."""
    arms = [arm for arm in prop.get("anyOf", ()) if arm != {"type": "null"}]
    if not arms or len(arms) == len(prop.get("anyOf", ())):
        return
    del prop["anyOf"]
    if len(arms) == 1:
        prop.update({key: value for key, value in arms[0].items() if key not in prop})
    else:
        prop["anyOf"] = arms


class Agent(_Model):
    id: str | None = None
    name: str | None = None
    status: str | None = None


class CallLeg(_Model):
    leg_id: str | None = None
    role: str | None = Field(default=None, description="agent or customer, where the provider says.")
    contact: str | None = Field(default=None, description="Number or SIP URI.")
    direction: Direction | None = None
    status: LegStatus
    provider_status: str | None = None
    network: str | None = Field(default=None, description="pstn, sip, webrtc …")
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
    total: float | None = Field(default=None, description="So far.")
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
    provider_status: str | None = None
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
    transcript: list[TranscriptTurn] = Field(default_factory=list, description="Most recent turns.")
    transcript_turns_omitted: int | None = None
    sensitive_data_hidden: bool | None = Field(
        default=None, description="The call opted out of sensitive data storage."
    )
    extras: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Provider-specific facts."
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
    events: list[CallEvent] = Field(default_factory=list, description="Most recent events.")
    events_omitted: int | None = None
    transcript: list[TranscriptTurn] = Field(default_factory=list)
    transcript_turns_omitted: int | None = None
    sensitive_data_hidden: bool | None = None
    not_offered: list[str] = Field(
        default_factory=list, description="What the provider's API does not offer for a live call."
    )

    @classmethod
    def of_call(cls, call: LiveCall, **media: Any) -> StreamDetails:
        """What ``call``'s summary says of its media (status, duration), with ``media`` added or
        overriding it (legs, streams, ``not_offered`` …)."""
        summary = {
            "provider": call.provider,
            "call_id": call.call_id,
            "status": call.status,
            "provider_status": call.provider_status,
            "duration_s": call.duration_s,
        }
        return cls(**{**summary, **media})


class ProviderFailure(_Model):
    provider: ProviderName
    reason: str


class ActiveCallsPage(_Model):
    calls: list[LiveCall] = Field(default_factory=list)
    total: int | None = Field(default=None, description="Live calls matching the filters, where known.")
    next_cursor: str | None = Field(default=None, description="Pass back as cursor for the next page.")
    notes: list[str] = Field(default_factory=list, description="Filters applied locally, and similar.")
    failures: list[ProviderFailure] = Field(default_factory=list)


class CallStateWait(_Model):
    """The answer of ``wait_for_call_state``."""

    outcome: Literal["reached", "ended", "timeout"]
    waited_s: float
    call: LiveCall | None = Field(default=None, description="The call as last seen.")


class ProviderInfo(_Model):
    name: ProviderName
    configured: bool
    call_id: str | None = Field(default=None, description="What the tools take as this provider's call id.")
    base_url: str | None = None
    tools: list[str] = Field(default_factory=list)
    upstream_filters: list[str] = Field(default_factory=list)
    local_filters: list[str] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list)
    not_offered: list[str] = Field(default_factory=list)
    updates: Literal["pushed", "polled"] | None = Field(
        default=None,
        description="How live updates are found: pushed (its webhooks arrive, polling only "
        "reconciles) or polled (every poll interval).",
    )
    webhook: str | None = Field(
        default=None, description="The path its webhooks are received on, when they are (HTTP only)."
    )


class ProvidersOverview(_Model):
    providers: list[ProviderInfo]
