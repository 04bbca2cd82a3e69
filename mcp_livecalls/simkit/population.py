"""One deterministic population of phone calls, shared by the three simulated providers.

Every call is a :class:`SimCall`: a provider-neutral record plus a *schedule* — the offsets (seconds
after the call was created) at which it changes state::

    queued → ringing → [early_media] → in_progress ↔ on_hold … → ended
                                    ↘ (never answered) ───────↗

The state at time ``t`` is a pure function of the schedule and ``t`` (:meth:`SimCall.state_at`);
nothing runs in the background. The population is a set of *slots* (``live_calls`` of them,
assigned to the providers round-robin). Each slot holds a chain of calls: when a call ends, the next
one in the slot arrives a few seconds later, so the number of live calls stays close to
``live_calls``. Chains are extended lazily, from a random generator private to the slot, when
somebody asks about a time the chain does not cover yet: generation order never changes the result,
so the same seed always gives the same calls.

At the clock's start every slot's first call is placed at a random point of its life so that the
initial calls are at mixed states (about 5 % queued, 17 % ringing, 8 % early media, 58 % talking,
12 % on hold).
"""

from __future__ import annotations

import bisect
import math
import random
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final, Literal, get_args

from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.simkit.clock import Clock, ManualClock
from mcp_livecalls.simkit.scripts import FIRST_NAMES, LAST_NAMES, SCENARIOS, Scenario

__all__ = [
    "LIVE_STATES",
    "PROVIDERS",
    "RETENTION_S",
    "Agent",
    "CallShape",
    "CallState",
    "Population",
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
]

Provider = str
"""A provider's name, one of the registry's ``NAMES``."""
CallState = Literal["queued", "ringing", "early_media", "in_progress", "on_hold", "ended"]
Direction = Literal["inbound", "outbound"]
EndReason = Literal["caller_hangup", "callee_hangup", "transfer", "no_answer", "busy", "cancel", "failed"]
NetworkType = Literal["pstn", "sip", "webrtc"]

PROVIDERS: Final[tuple[Provider, ...]] = NAMES
CALLS_PER_PROVIDER: Final = 4
"""The live calls each provider has when ``live_calls`` is not given."""
LIVE_STATES: Final[frozenset[CallState]] = frozenset({"ringing", "early_media", "in_progress", "on_hold"})
#: How long (simulated seconds) an ended call stays retrievable (some providers answer ended calls).
RETENTION_S: Final[float] = 900.0
# Idle time of a slot between the end of a call and the arrival of the next.
_MIN_GAP_S: Final = 1.0
_MAX_GAP_S: Final = 8.0

# Mix of states for the calls that are already there when the clock starts.
_INITIAL_STATES: Final[tuple[CallState, ...]] = ("queued", "ringing", "early_media", "in_progress", "on_hold")
_INITIAL_WEIGHTS: Final[tuple[float, ...]] = (0.05, 0.17, 0.08, 0.58, 0.12)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def _us(seconds: float) -> int:
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
        self._created_us = _us(self.created_ts)
        self.created_ts = self._created_us / 1_000_000
        self._offsets_us = tuple(_us(m[0]) for m in marks)
        self._states = tuple(m[1] for m in marks)
        self._ring_us = _us(self.ring_s)
        self._end_us = _us(self.end_s)

    # -- times -------------------------------------------------------------------------------
    def _at_us(self, offset_us: int) -> datetime:
        return _EPOCH + timedelta(microseconds=self._created_us + offset_us)

    def _at(self, offset: float | None) -> datetime | None:
        return None if offset is None else self._at_us(_us(offset))

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
        return self._state_at_us(_us(ts))

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


@dataclass(slots=True)
class _Slot:
    provider: Provider
    rng: random.Random
    calls: list[SimCall]


class CallShape:
    """What a provider's simulated API (a ``simkit.base.SimulatedProvider``) says of the calls it
    carries: the knobs the shared population draws with, its agents, and ``dress``."""

    name: ClassVar[str]

    outbound_share: ClassVar[float] = 0.5
    """The share of calls the business places (the rest come in)."""
    web_call_share: ClassVar[float | None] = None
    """An AI voice platform's share of browser (web) calls; ``None``: only phone calls."""
    holds: ClassVar[bool] = True
    """Whether callers are put on hold (AI voice agents do not)."""
    mute_share: ClassVar[float | None] = None
    """The share of answered calls with a leg muted for a while; ``None``: the provider reports no mutes."""

    @classmethod
    def agents(cls, rng: random.Random, slots: int) -> tuple[Agent, ...]:
        """The agents (people or AI voice agents) of the provider's account, drawn once from
        ``rng`` for a population giving it ``slots`` concurrent calls."""
        return ()

    @classmethod
    def dress(cls, rng: random.Random, call: SimCall, agents: tuple[Agent, ...]) -> None:
        """Give ``call`` (numbers and schedule drawn) the provider's own part: its ``id`` in the
        provider's form, and what the provider reports (agent, recording, ``native_direction``,
        ``alt_ids``, ``extra`` …), drawing only from ``rng``."""
        raise NotImplementedError


class _Generator:
    """Draws calls. Everything random comes from the ``rng`` passed in (one per slot).

    The shared part of a call (numbers, schedule, holds, mutes) is drawn here with the knobs of
    the provider's simulated API (``CallShape.outbound_share`` …); its ``dress`` then
    draws the provider's own part (ids, agents, what only that provider reports).
    """

    def __init__(
        self,
        seed: int,
        kinds: dict[Provider, type[CallShape]],
        slots: dict[Provider, int],
        mean_talk_s: dict[Provider, float],
    ) -> None:
        self.mean_talk_s = mean_talk_s
        self.kinds = kinds
        # Each provider draws from streams of its own: adding a provider changes no other's calls.
        self.dids: dict[Provider, tuple[str, ...]] = {}
        self.agents: dict[Provider, tuple[Agent, ...]] = {}
        for name, kind in kinds.items():
            numbers = random.Random(f"{seed}:{name}:numbers")
            self.dids[name] = tuple(business_number(numbers) for _ in range(4))
            self.agents[name] = kind.agents(random.Random(f"{seed}:{name}:agents"), slots.get(name, 0))

    def make(
        self,
        rng: random.Random,
        provider: Provider,
        created_ts: float,
        target: CallState | None = None,
    ) -> SimCall:
        """A new call created at ``created_ts``, or — with ``target`` — one that is in state
        ``target`` at ``created_ts`` (the call is then backdated)."""
        kind = self.kinds[provider]
        # Who and how.
        outbound = rng.random() < kind.outbound_share
        web_call = kind.web_call_share is not None and rng.random() < kind.web_call_share
        if web_call:
            outbound = False
        customer = customer_number(rng)
        did = rng.choice(self.dids[provider])
        if target == "queued" and not outbound:
            target = "ringing"
        if target == "on_hold" and not kind.holds:
            target = "in_progress"  # AI agents do not put callers on hold

        # Schedule.
        queue_len = 0.0
        if outbound and not web_call:
            queue_len = rng.uniform(15.0, 90.0) if rng.random() < 0.1 else rng.uniform(0.6, 4.0)
            if target == "queued":
                queue_len = max(queue_len, 6.0)
        ring_len = rng.uniform(2.5, 20.0) if not web_call else rng.uniform(0.5, 1.5)
        early_len = rng.uniform(1.0, 6.0) if rng.random() < 0.35 and not web_call else 0.0
        if target == "early_media":
            early_len = max(early_len, 2.0)
        answered = rng.random() >= 0.12 or target in ("in_progress", "on_hold")
        mean_talk_s = self.mean_talk_s[provider]
        talk = min(max(rng.expovariate(1.0 / mean_talk_s), 8.0), 6.0 * mean_talk_s)
        if target in ("in_progress", "on_hold"):
            talk = max(talk, 30.0)

        ring_s = queue_len
        early_s = ring_s + ring_len if early_len > 0 else None
        pre_end = ring_s + ring_len + early_len
        holds: list[tuple[float, float]] = []
        mutes: list[tuple[float, float, Literal["agent", "customer"]]] = []
        answer_s: float | None = None
        if answered:
            answer_s = pre_end
            end_s = answer_s + talk
            n_holds = 0
            if kind.holds and talk > 40.0:
                n_holds = rng.choices((0, 1, 2), weights=(6, 3, 1))[0]
            if target == "on_hold":
                n_holds = max(n_holds, 1)
            if n_holds:
                seg = (talk - 20.0) / n_holds
                for i in range(n_holds):
                    start = answer_s + 10.0 + i * seg + rng.uniform(0.0, seg * 0.4)
                    length = rng.uniform(min(5.0, seg * 0.3), min(60.0, seg * 0.5))
                    holds.append((start, start + length))
            if kind.mute_share is not None and rng.random() < kind.mute_share:
                for _ in range(rng.randint(1, 2)):
                    start = answer_s + rng.uniform(0.0, talk * 0.9)
                    leg: Literal["agent", "customer"] = "agent" if rng.random() < 0.7 else "customer"
                    mutes.append((start, min(start + rng.uniform(3.0, 20.0), end_s), leg))
                mutes.sort()
            reason: EndReason = rng.choices(
                ("caller_hangup", "callee_hangup", "transfer"), weights=(55, 40, 5)
            )[0]
        else:
            end_s = pre_end
            reason = rng.choices(("no_answer", "busy", "cancel", "failed"), weights=(55, 25, 15, 5))[0]

        # Where to put "now" inside the life of a backdated call.
        if target is not None:
            elapsed = self._pick_elapsed(
                rng, target, ring_s, ring_len, early_s, early_len, answer_s, end_s, holds
            )
            created_ts -= elapsed

        call = SimCall(
            provider=provider,
            id="",
            direction="outbound" if outbound else "inbound",
            from_number=did if outbound else customer,
            to_number=customer if outbound else did,
            created_ts=created_ts,
            ring_s=ring_s,
            early_s=early_s,
            answer_s=answer_s,
            end_s=end_s,
            end_reason=reason,
            holds=tuple(holds),
            mutes=tuple(mutes),
            web_call=web_call,
            detail_seed=rng.getrandbits(64),
        )
        kind.dress(rng, call, self.agents[provider])
        if not call.id:
            raise ValueError(f"the simulated {provider} API's dress() gave the call no id")
        return call

    @staticmethod
    def _pick_elapsed(
        rng: random.Random,
        target: CallState,
        ring_s: float,
        ring_len: float,
        early_s: float | None,
        early_len: float,
        answer_s: float | None,
        end_s: float,
        holds: list[tuple[float, float]],
    ) -> float:
        if target == "queued":
            return rng.uniform(0.05, 0.9) * ring_s
        if target == "ringing":
            return ring_s + rng.uniform(0.02, 0.95) * ring_len
        if target == "early_media" and early_s is not None:
            return early_s + rng.uniform(0.02, 0.95) * early_len
        if target == "on_hold" and holds:
            start, end = rng.choice(holds)
            return start + rng.uniform(0.05, 0.95) * (end - start)
        if answer_s is None:  # pragma: no cover - answered is forced for talking targets
            return ring_s
        # in_progress: a moment of talk outside the hold periods, weighted by length.
        edges = [answer_s, *(x for h in holds for x in h), end_s]
        segments = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
        start, end = rng.choices(segments, weights=[max(b - a, 0.0) for a, b in segments])[0]
        return start + rng.uniform(0.02, 0.9) * (end - start)


class Population:
    """The calls of all providers, evolving with ``clock``. Thread-safe.

    ``live_calls`` slots (by default ``CALLS_PER_PROVIDER`` per provider) are created, round-robin
    across ``providers``; each starts with one call caught at a random point of its life. With
    ``arrival_every_s`` set, a slot's next call arrives a few seconds after the previous one ends,
    so the live count stays near ``live_calls``; the mean talk time of a provider's calls is then
    ``3 × its slots × arrival_every_s`` (clamped to 20 s – 30 min), so with three providers a new
    call arrives about every ``arrival_every_s`` seconds across them (Little's law).
    With ``arrival_every_s=None`` nothing new arrives: the initial calls play out their schedules.

    Each provider draws from random streams of its own (seeded by ``seed`` and its name, and its
    slots by their rank among its slots), so a provider added to the registry changes no other
    provider's calls.
    """

    def __init__(
        self,
        seed: int = 7,
        clock: Clock | None = None,
        live_calls: int | None = None,
        providers: Iterable[Provider] = PROVIDERS,
        arrival_every_s: float | None = 30.0,
        *,
        simulated: Iterable[type[CallShape]],
    ) -> None:
        self.providers: tuple[Provider, ...] = tuple(providers)
        unknown = set(self.providers) - set(PROVIDERS)
        if unknown or not self.providers:
            raise ValueError(f"providers must be a non-empty subset of {PROVIDERS}, got {self.providers}")
        if live_calls is None:
            live_calls = CALLS_PER_PROVIDER * len(self.providers)
        if live_calls < 0:
            raise ValueError("live_calls must be >= 0")
        if arrival_every_s is not None and arrival_every_s <= 0:
            raise ValueError("arrival_every_s must be positive (or None for no arrivals)")
        self.seed = seed
        self.clock: Clock = clock if clock is not None else ManualClock()
        self.live_calls = live_calls
        self.arrival_every_s = arrival_every_s
        self.start = self.clock.now()
        self._lock = threading.RLock()

        master = random.Random(seed)
        self.organization_id = f"org_{random_hex(master, 16)}"
        kinds = {kind.name: kind for kind in simulated if kind.name in self.providers}
        slots = {p: len(range(i, live_calls, len(self.providers))) for i, p in enumerate(self.providers)}
        mean_talk = {
            p: 300.0 if arrival_every_s is None else min(max(3 * n * arrival_every_s - 15.0, 20.0), 1800.0)
            for p, n in slots.items()
        }
        self._gen = _Generator(seed, kinds, slots, mean_talk)

        start_ts = self.start.timestamp()
        self._slots: list[_Slot] = []
        self._index: dict[Provider, dict[str, SimCall]] = {p: {} for p in PROVIDERS}
        for i in range(live_calls):
            provider = self.providers[i % len(self.providers)]
            rng = random.Random(f"{seed}:{provider}:slot:{i // len(self.providers)}")
            target = rng.choices(_INITIAL_STATES, weights=_INITIAL_WEIGHTS)[0]
            call = self._gen.make(rng, provider, start_ts, target)
            self._slots.append(_Slot(provider, rng, [call]))
            self._add(call)
        self._by_provider: dict[Provider, list[_Slot]] = {
            p: [s for s in self._slots if s.provider == p] for p in PROVIDERS
        }
        self._horizon = self._compute_horizon()

    # -- bookkeeping -----------------------------------------------------------------------------
    def _add(self, call: SimCall) -> None:
        index = self._index[call.provider]
        for key in call.ids:
            index[key] = call

    def _compute_horizon(self) -> float:
        if self.arrival_every_s is None or not self._slots:
            return math.inf
        return min(s.calls[-1].end_ts for s in self._slots) + _MIN_GAP_S

    def _ts(self, at: datetime | None) -> float:
        return (at if at is not None else self.clock.now()).timestamp()

    def _advance(self, ts: float) -> None:
        """Make every chain reach past ``ts`` and forget calls ended long before it. Hold the lock."""
        if ts < self._horizon:
            return
        for slot in self._slots:
            calls = slot.calls
            # The next call arrives 1-8 s after the last one ends: nothing to draw before that.
            while calls[-1].end_ts + _MIN_GAP_S <= ts + 0.001:
                last = calls[-1]
                arrival = last.end_ts + slot.rng.uniform(_MIN_GAP_S, _MAX_GAP_S)
                call = self._gen.make(slot.rng, slot.provider, arrival)
                calls.append(call)
                self._add(call)
            while len(calls) > 1 and calls[0].end_ts + RETENTION_S < ts:
                old = calls.pop(0)
                index = self._index[old.provider]
                for key in old.ids:
                    index.pop(key, None)
        self._horizon = self._compute_horizon()

    def _select(
        self, provider: Provider, ts: float, which: Literal["live", "queued", "visible"]
    ) -> list[SimCall]:
        with self._lock:
            self._advance(ts)
            out: list[SimCall] = []
            ts_us = _us(ts)
            retention_us = _us(RETENTION_S)
            for slot in self._by_provider[provider]:
                for call in slot.calls:
                    elapsed = ts_us - call._created_us
                    if elapsed < 0:
                        continue
                    if which == "live":
                        if call._ring_us <= elapsed < call._end_us:
                            out.append(call)
                    elif which == "queued":
                        if elapsed < call._ring_us and elapsed < call._end_us:
                            out.append(call)
                    elif elapsed <= call._end_us + retention_us:
                        out.append(call)
        out.sort(key=lambda c: (c.created_ts, c.id), reverse=True)
        return out

    # -- queries ---------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def live(self, provider: Provider, at: datetime | None = None) -> list[SimCall]:
        """Calls of ``provider`` that are ringing, in early media, talking or on hold; newest first."""
        return self._select(provider, self._ts(at), "live")

    def queued(self, provider: Provider, at: datetime | None = None) -> list[SimCall]:
        """Calls of ``provider`` created but not ringing yet; newest first."""
        return self._select(provider, self._ts(at), "queued")

    def visible(self, provider: Provider, at: datetime | None = None) -> list[SimCall]:
        """Every retrievable call of ``provider``: created, and not ended more than
        :data:`RETENTION_S` ago; newest first."""
        return self._select(provider, self._ts(at), "visible")

    def find(self, provider: Provider, call_id: str, at: datetime | None = None) -> SimCall | None:
        """The call of ``provider`` known as ``call_id`` (its ``id`` or one of ``alt_ids``), if it
        exists at ``at`` (created, and not ended more than :data:`RETENTION_S` ago)."""
        ts = self._ts(at)
        with self._lock:
            self._advance(ts)
            call = self._index[provider].get(call_id)
        if call is None:
            return None
        elapsed = _us(ts) - call._created_us
        if elapsed < 0 or elapsed > call._end_us + _us(RETENTION_S):
            return None
        return call

    def all_calls(self, at: datetime | None = None) -> list[SimCall]:
        """Every retrievable call of every provider, newest first."""
        ts = self._ts(at)
        out = [c for p in self.providers for c in self._select(p, ts, "visible")]
        out.sort(key=lambda c: (c.created_ts, c.id), reverse=True)
        return out

    def counts(self, at: datetime | None = None) -> dict[Provider, dict[CallState, int]]:
        """Number of retrievable calls per provider and state."""
        ts = self._ts(at)
        result: dict[Provider, dict[CallState, int]] = {}
        for provider in self.providers:
            per_state: dict[CallState, int] = dict.fromkeys(get_args(CallState), 0)
            for call in self._select(provider, ts, "visible"):
                per_state[call.state_at_ts(ts)] += 1
            result[provider] = per_state
        return result
