"""One deterministic population of phone calls, shared by every simulated provider.

Every call is a :class:`SimCall` (``simkit.calls``): a provider-neutral record plus a *schedule*,
the offsets (seconds after the call was created) at which it changes state::

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

import math
import random
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Final, Literal, get_args

from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.simkit.calls import (
    RETENTION_S,
    CallState,
    Provider,
    SimCall,
    random_hex,
    to_us,
)
from mcp_livecalls.simkit.clock import Clock, ManualClock
from mcp_livecalls.simkit.generate import (
    INITIAL_STATES,
    INITIAL_WEIGHTS,
    MAX_GAP_S,
    MIN_GAP_S,
    CallShape,
    Generator,
    Slot,
)

__all__ = [
    "PROVIDERS",
    "CallShape",
    "Population",
]

PROVIDERS: Final[tuple[Provider, ...]] = NAMES
CALLS_PER_PROVIDER: Final = 4
"""The live calls each provider has when ``live_calls`` is not given."""


class Population:
    """The calls of all providers, evolving with ``clock``. Thread-safe.

    ``live_calls`` slots (by default ``CALLS_PER_PROVIDER`` per provider) are created, round-robin
    across ``providers``; each starts with one call caught at a random point of its life. With
    ``arrival_every_s`` set, a slot's next call arrives a few seconds after the previous one ends,
    so the live count stays near ``live_calls``; the mean talk time of a provider's calls is then
    ``3 × its slots × arrival_every_s`` (clamped to 20 s – 30 min), so each provider's next call
    arrives about every ``3 × arrival_every_s`` seconds (Little's law), and the more providers,
    the more often a call arrives across them.
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
        self._gen = Generator(seed, kinds, slots, mean_talk)

        start_ts = self.start.timestamp()
        self._slots: list[Slot] = []
        self._index: dict[Provider, dict[str, SimCall]] = {p: {} for p in PROVIDERS}
        for i in range(live_calls):
            provider = self.providers[i % len(self.providers)]
            rng = random.Random(f"{seed}:{provider}:slot:{i // len(self.providers)}")
            target = rng.choices(INITIAL_STATES, weights=INITIAL_WEIGHTS)[0]
            call = self._gen.make(rng, provider, start_ts, target)
            self._slots.append(Slot(provider, rng, [call]))
            self._add(call)
        self._by_provider: dict[Provider, list[Slot]] = {
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
        return min(s.calls[-1].end_ts for s in self._slots) + MIN_GAP_S

    def _ts(self, at: datetime | None) -> float:
        return (at if at is not None else self.clock.now()).timestamp()

    def _advance(self, ts: float) -> None:
        """Make every chain reach past ``ts`` and forget calls ended long before it. Hold the lock."""
        if ts < self._horizon:
            return
        for slot in self._slots:
            calls = slot.calls
            # The next call arrives 1-8 s after the last one ends: nothing to draw before that.
            while calls[-1].end_ts + MIN_GAP_S <= ts + 0.001:
                last = calls[-1]
                arrival = last.end_ts + slot.rng.uniform(MIN_GAP_S, MAX_GAP_S)
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
            ts_us = to_us(ts)
            retention_us = to_us(RETENTION_S)
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
        elapsed = to_us(ts) - call._created_us
        if elapsed < 0 or elapsed > call._end_us + to_us(RETENTION_S):
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
