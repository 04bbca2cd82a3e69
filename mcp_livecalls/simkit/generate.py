"""How the population's calls are made: each provider's call shape (``CallShape``, which its
simulated API declares), the slots that hold chains of calls, and the generator that draws a
call's schedule and dresses it in the provider's ids (``Generator``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar, Final, Literal

from mcp_livecalls.simkit.calls import (
    Agent,
    CallState,
    EndReason,
    Provider,
    SimCall,
    business_number,
    customer_number,
)

__all__ = [
    "INITIAL_STATES",
    "INITIAL_WEIGHTS",
    "MAX_GAP_S",
    "MIN_GAP_S",
    "CallShape",
    "Generator",
    "Slot",
]

# Idle time of a slot between the end of a call and the arrival of the next.
MIN_GAP_S: Final = 1.0
MAX_GAP_S: Final = 8.0
# Mix of states for the calls that are already there when the clock starts.
INITIAL_STATES: Final[tuple[CallState, ...]] = ("queued", "ringing", "early_media", "in_progress", "on_hold")
INITIAL_WEIGHTS: Final[tuple[float, ...]] = (0.05, 0.17, 0.08, 0.58, 0.12)


@dataclass(slots=True)
class Slot:
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


class Generator:
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
        outbound, web_call = _who_and_how(rng, kind)
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
        answer_s: float | None = None
        if answered:
            answer_s = pre_end
            end_s = answer_s + talk
            holds, mutes = _pauses(rng, kind, target, answer_s, talk, end_s)
            reason: EndReason = rng.choices(
                ("caller_hangup", "callee_hangup", "transfer"), weights=(55, 40, 5)
            )[0]
        else:
            end_s = pre_end
            holds, mutes = [], []
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


def _who_and_how(rng: random.Random, kind: type[CallShape]) -> tuple[bool, bool]:
    """Whether the call is outbound and whether it is a web call (a web call is never outbound)."""
    outbound = rng.random() < kind.outbound_share
    web_call = kind.web_call_share is not None and rng.random() < kind.web_call_share
    return outbound and not web_call, web_call


def _pauses(
    rng: random.Random,
    kind: type[CallShape],
    target: CallState | None,
    answer_s: float,
    talk: float,
    end_s: float,
) -> tuple[list[tuple[float, float]], list[tuple[float, float, Literal["agent", "customer"]]]]:
    """The holds and mutes of an answered call (drawn from ``rng`` in this order: holds, mutes)."""
    holds: list[tuple[float, float]] = []
    mutes: list[tuple[float, float, Literal["agent", "customer"]]] = []
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
    return holds, mutes
