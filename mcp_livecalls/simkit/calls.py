"""The simulated calls themselves: a provider-neutral :class:`SimCall` with its schedule, the
voice-AI details it carries, and the random numbers, names and ids the population draws.

The state at time ``t`` is a pure function of the call's schedule and ``t``
(:meth:`SimCall.state_at`); ``simkit.population`` makes and keeps the calls.
"""

from __future__ import annotations

import bisect
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from mcp_livecalls.simkit.scripts import FIRST_NAMES, LAST_NAMES, SCENARIOS, Scenario

__all__ = [
    "LIVE_STATES",
    "RETENTION_S",
    "Agent",
    "CallState",
    "EndReason",
    "Provider",
    "SimCall",
    "ToolEntry",
    "Turn",
    "VoiceDetails",
    "business_number",
    "customer_number",
    "indian_mobile",
    "random_hex",
    "random_person",
    "random_uuid",
    "to_us",
]

Provider = str
"""A provider's name, one of the registry's ``NAMES``."""
CallState = Literal["queued", "ringing", "early_media", "in_progress", "on_hold", "ended"]
Direction = Literal["inbound", "outbound"]
EndReason = Literal["caller_hangup", "callee_hangup", "transfer", "no_answer", "busy", "cancel", "failed"]
NetworkType = Literal["pstn", "sip", "webrtc"]

LIVE_STATES: Final[frozenset[CallState]] = frozenset({"ringing", "early_media", "in_progress", "on_hold"})
#: How long (simulated seconds) an ended call stays retrievable (some providers answer ended calls).
RETENTION_S: Final[float] = 900.0


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def to_us(seconds: float) -> int:
    """``seconds`` in whole microseconds (the schedules' unit)."""
    return round(seconds * 1_000_000)


def random_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def random_hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def indian_mobile(rng: random.Random) -> str:
    return f"+91{rng.randint(6, 9)}{rng.randrange(10**9):09d}"


def customer_number(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.92:
        return indian_mobile(rng)
    if roll < 0.95:
        return f"+1{rng.randint(2, 9)}{rng.randrange(10**9):09d}"
    if roll < 0.98:
        return f"+447{rng.randrange(10**9):09d}"
    return f"+9715{rng.randrange(10**8):08d}"


def business_number(rng: random.Random) -> str:
    # Bengaluru (80), Mumbai (22) or Delhi (11) landline-style DIDs.
    area = rng.choice(("80", "22", "11"))
    return f"+91{area}{rng.randrange(10**8):08d}"


def random_person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


@dataclass(frozen=True, slots=True)
class Agent:
    """A human agent (a contact centre's) or an AI voice agent (a voice-AI platform's)."""

    id: str
    name: str
    contact_uri: str
    network_type: NetworkType


@dataclass(frozen=True, slots=True)
class Turn:
    """One finished utterance of an AI agent's transcript. Offsets are seconds after the call's creation."""

    role: Literal["assistant", "user"]
    content: str
    start_s: float
    end_s: float
    words: tuple[tuple[str, float, float], ...]
    e2e_ms: float | None = None
    llm_ms: float | None = None


@dataclass(frozen=True, slots=True)
class ToolEntry:
    """A tool call the AI agent made at ``at_s`` (seconds after creation)."""

    at_s: float
    tool_call_id: str
    name: str
    arguments: str
    result: str


@dataclass(frozen=True, slots=True)
class VoiceDetails:
    """The heavier part of an AI voice agent's call (transcript, tools, metadata), generated on
    first use from the call's own seed."""

    scenario: Scenario
    turns: tuple[Turn, ...]
    tools: tuple[ToolEntry, ...]
    metadata: dict[str, Any]
    telephony_call_sid: str
    conference_sid: str | None
    sentiment: str
    successful: bool


@dataclass(slots=True, eq=False)
class SimCall:
    """A provider-neutral simulated call and its schedule.

    ``id`` is the provider-native identifier used in URLs (each simulated provider's ``dress``
    draws it in the provider's own form); ``alt_ids`` are further identifiers the call answers to.
    ``native_direction`` is the provider's own direction word where it has more than two, and
    ``extra`` holds what only one provider knows. All ``*_s`` fields are offsets in seconds after
    ``created_at``.
    """

    provider: Provider
    id: str
    direction: Direction
    from_number: str
    to_number: str
    created_ts: float
    ring_s: float
    early_s: float | None
    answer_s: float | None
    end_s: float
    end_reason: EndReason
    holds: tuple[tuple[float, float], ...] = ()
    mutes: tuple[tuple[float, float, Literal["agent", "customer"]], ...] = ()
    caller_name: str | None = None
    agent: Agent | None = None
    recording: bool = False
    alt_ids: tuple[str, ...] = ()
    # What the providers add (each simulated provider's ``dress``).
    native_direction: str | None = None
    recording_channels: Literal["dual", "mono"] = "dual"
    stir_verification: str = "Not Applicable"
    stir_attestation: str = "Not Applicable"
    source_ip: str = ""
    parent_call_uuid: str | None = None
    conference_uuid: str | None = None
    media_stream: tuple[str, float, str, bool] | None = None  # (stream_id, start_s, track, bidirectional)
    web_call: bool = False
    lowercase_enums: bool = False
    opt_out_sensitive_data_storage: bool = False
    detail_seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    _created_us: int = field(default=0, repr=False)
    _ring_us: int = field(default=0, repr=False)
    _end_us: int = field(default=0, repr=False)
    _offsets_us: tuple[int, ...] = field(default=(), repr=False)
    _states: tuple[CallState, ...] = field(default=(), repr=False)
    _details: VoiceDetails | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        marks: list[tuple[float, CallState]] = [(0.0, "queued"), (self.ring_s, "ringing")]
        if self.early_s is not None:
            marks.append((self.early_s, "early_media"))
        if self.answer_s is not None:
            marks.append((self.answer_s, "in_progress"))
            for start, end in self.holds:
                marks.append((start, "on_hold"))
                marks.append((end, "in_progress"))
        marks.append((self.end_s, "ended"))
        # Time is kept in whole microseconds (like datetime) so that state_at(t) is exact at the
        # boundaries the schedule reports.
        self._created_us = to_us(self.created_ts)
        self.created_ts = self._created_us / 1_000_000
        self._offsets_us = tuple(to_us(m[0]) for m in marks)
        self._states = tuple(m[1] for m in marks)
        self._ring_us = to_us(self.ring_s)
        self._end_us = to_us(self.end_s)

    # -- times -------------------------------------------------------------------------------
    def _at_us(self, offset_us: int) -> datetime:
        return _EPOCH + timedelta(microseconds=self._created_us + offset_us)

    def _at(self, offset: float | None) -> datetime | None:
        return None if offset is None else self._at_us(to_us(offset))

    @property
    def created_at(self) -> datetime:
        return self._at_us(0)

    @property
    def ringing_at(self) -> datetime:
        return self._at_us(self._ring_us)

    @property
    def answered_at(self) -> datetime | None:
        """When the call was (or will be) answered; ``None`` if it never is."""
        return self._at(self.answer_s)

    @property
    def ended_at(self) -> datetime:
        return self._at_us(self._end_us)

    @property
    def end_ts(self) -> float:
        return self.created_ts + self.end_s

    @property
    def ids(self) -> tuple[str, ...]:
        """Every identifier this call answers to."""
        return (self.id, *self.alt_ids)

    @property
    def schedule(self) -> tuple[tuple[datetime, CallState], ...]:
        """The state changes as (time, new state), in order."""
        offsets = self._offsets_us
        return tuple(
            (self._at_us(o), s)
            for i, (o, s) in enumerate(zip(offsets, self._states, strict=True))
            if i + 1 == len(offsets) or offsets[i + 1] > o
        )

    # -- state -------------------------------------------------------------------------------
    def state_at(self, t: datetime) -> CallState:
        """The state at ``t`` (before creation a call reports ``queued``)."""
        return self._state_at_us((t - _EPOCH) // _MICROSECOND)

    def state_at_ts(self, ts: float) -> CallState:
        """The state at POSIX time ``ts``."""
        return self._state_at_us(to_us(ts))

    def _state_at_us(self, t_us: int) -> CallState:
        i = bisect.bisect_right(self._offsets_us, t_us - self._created_us) - 1
        return self._states[max(i, 0)]

    def elapsed_s(self, ts: float) -> float:
        """Seconds since creation (0 before)."""
        return max(0.0, ts - self.created_ts)

    def talk_s(self, ts: float) -> float:
        """Seconds since the answer, frozen at the end; 0 while unanswered."""
        if self.answer_s is None:
            return 0.0
        e = min(ts - self.created_ts, self.end_s)
        return max(0.0, e - self.answer_s)

    def muted_at_ts(self, ts: float) -> tuple[bool, bool]:
        """(agent leg muted, customer leg muted) at ``ts``."""
        e = ts - self.created_ts
        agent = customer = False
        for start, end, leg in self.mutes:
            if start <= e < end:
                if leg == "agent":
                    agent = True
                else:
                    customer = True
        return agent, customer

    # -- AI voice agent details ----------------------------------------------------------------
    def details(self) -> VoiceDetails:
        """Transcript turns, tool calls and metadata (generated once, deterministically)."""
        d = self._details
        if d is None:
            d = self._details = _make_details(self)
        return d


def _make_details(call: SimCall) -> VoiceDetails:
    rng = random.Random(call.detail_seed)
    scenario = SCENARIOS[rng.randrange(len(SCENARIOS))]
    turns: list[Turn] = []
    tools: list[ToolEntry] = []
    if call.answer_s is not None:
        cursor = call.answer_s + rng.uniform(0.2, 0.8)
        tool_after = {t.after_turn: t for t in scenario.tools}
        for index, (role, text) in enumerate(scenario.turns):
            gap = rng.uniform(0.45, 1.4) if role == "assistant" else rng.uniform(0.3, 1.2)
            start = cursor + gap
            words = text.split()
            duration = len(words) * rng.uniform(0.27, 0.4)
            end = start + duration
            if end > call.end_s:
                break
            step = duration / len(words)
            word_times = tuple((w, start + i * step, start + (i + 1) * step) for i, w in enumerate(words))
            e2e = llm = None
            if role == "assistant":
                e2e = round(gap * 1000, 1)
                llm = round(gap * 1000 * rng.uniform(0.3, 0.6), 1)
            speaker: Literal["assistant", "user"] = "assistant" if role == "assistant" else "user"
            turns.append(Turn(speaker, text, start, end, word_times, e2e, llm))
            cursor = end
            tool = tool_after.get(index)
            if tool is not None:
                at = cursor + rng.uniform(0.1, 0.4)
                tools.append(
                    ToolEntry(at, f"tool_{random_hex(rng, 12)}", tool.name, tool.arguments, tool.result)
                )
                cursor = at + rng.uniform(0.3, 1.2)
    metadata: dict[str, Any] = {"customer_id": f"cust-{rng.randrange(10**5):05d}"}
    metadata.update(dict(scenario.metadata))
    if rng.random() < 0.2:
        metadata = {}
    return VoiceDetails(
        scenario=scenario,
        turns=tuple(turns),
        tools=tuple(tools),
        metadata=metadata,
        telephony_call_sid=f"CA{random_hex(rng, 32)}",
        conference_sid=f"CF{random_hex(rng, 32)}" if rng.random() < 0.5 else None,
        sentiment=rng.choice(("Positive", "Neutral", "Neutral", "Negative")),
        successful=rng.random() < 0.8,
    )
