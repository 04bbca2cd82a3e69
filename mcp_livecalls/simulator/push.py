"""The simulator pushes: every pushing provider's signed status callbacks for its calls' changes.

Given a target (``Pusher.push_to(url)``, the server's public URL) the pusher finds each change of
the population's calls since its last look (the schedules say when each happens) and posts the
provider's callback for it (``providers/<name>/callbacks.py``) to ``url`` + ``/webhooks/<name>``
(Exotel: ``/webhooks/exotel/<token>``), signed as the provider signs. It runs in the simulator's
event loop (its lifespan), and looks again when a ``ManualClock`` moves or, on any other clock,
when the next change is due (at least every second).

Faults (``PushFaults``) play what real deliveries do: delayed (each callback held a while),
duplicated (each sent twice, the same request: a provider's retry), out of order (the callbacks
found in one look sent newest first), dropped (a share never sent, drawn from the seed), wrongly
signed (a wrong key of the same kind). ``deliveries`` records every callback and its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import anyio
import httpx2

from mcp_livecalls.simkit.callbacks import Callback, CallbackMaker, Change
from mcp_livecalls.simkit.clock import Clock, ManualClock
from mcp_livecalls.simkit.population import Population
from mcp_livecalls.simulator.credentials import SimulatorCredentials
from mcp_livecalls.simulator.registry import CALLBACKS

__all__ = ["Delivery", "PushFaults", "Pusher"]

logger = logging.getLogger(__name__)

MAX_PAUSE_S = 1.0
"""The longest the pusher waits between looks on a clock that does not say when it moves."""


@dataclass(frozen=True)
class PushFaults:
    """What goes wrong with the callbacks (all off by default)."""

    delay_s: float = 0.0
    """Each callback is held this long (real seconds) before it is sent."""
    duplicate: bool = False
    """Each callback is sent twice, the same request (a provider retrying it)."""
    reorder: bool = False
    """The callbacks found in one look are sent newest first: older changes arrive last."""
    drop: float = 0.0
    """The share of callbacks never sent (1: every one), drawn from the simulator's seed."""
    wrong_signature: bool = False
    """Every callback is signed with a wrong key."""


@dataclass(frozen=True)
class Delivery:
    """One callback and what came of it."""

    callback: Callback
    status: int | None
    """The receiver's answer; ``None`` when it was dropped or could not be delivered."""
    dropped: bool = False


@dataclass
class _Look:
    """Where the pusher is: the target and the time up to which changes were sent."""

    target: str | None = None
    mark: datetime | None = None
    looking: bool = False
    planned: int = 0
    deliveries: list[Delivery] = field(default_factory=list)


class Pusher:
    """Finds the population's changes and posts each provider's signed callbacks for them."""

    def __init__(
        self, population: Population, clock: Clock, credentials: SimulatorCredentials, seed: int
    ) -> None:
        self.population = population
        self.clock = clock
        self.makers: dict[str, CallbackMaker] = {
            cls.name: cls(credentials.settings_for(cls.name), random.Random(f"{seed}:push:{cls.name}"))
            for cls in CALLBACKS
            if cls.name in population.providers
        }
        self.faults = PushFaults()
        self._rng = random.Random(f"{seed}:push:faults")
        self._look = _Look()
        self._lock = threading.Condition()
        self._poke: Callable[[], None] = lambda: None

    # -- what a server needs to know ------------------------------------------------------------
    def settings(self) -> dict[str, dict[str, str]]:
        """Per provider, the settings fields that verify its callbacks beyond its account
        (Exotel's path token, Telnyx's public key, Vonage's signature secret)."""
        return {name: fields for name, maker in self.makers.items() if (fields := maker.settings())}

    def credentials(self, base: SimulatorCredentials) -> SimulatorCredentials:
        """``base`` with every provider's verification settings added: point a server at the
        simulator with these and it verifies the callbacks."""
        fields = {
            f"{name}_{key}": value for name, found in self.settings().items() for key, value in found.items()
        }
        return base.replace(**fields)

    # -- control -------------------------------------------------------------------------------
    def push_to(self, url: str | None) -> None:
        """Post callbacks to ``url`` (the server's public URL) from now on; ``None`` stops."""
        with self._lock:
            self._look.target = url.rstrip("/") if url else None
            self._look.mark = self.clock.now()
        self._poke()

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._look.deliveries)

    def settled(self, timeout: float) -> list[Delivery]:
        """Block until every change up to the clock's now has been looked at and each of its
        callbacks delivered (or ``timeout`` real seconds passed); the deliveries. For a test in
        another thread (``anyio.to_thread.run_sync``)."""

        def done() -> bool:
            look = self._look
            caught_up = look.mark is not None and look.mark >= self.clock.now()
            return caught_up and not look.looking and len(look.deliveries) >= look.planned

        with self._lock:
            self._lock.wait_for(done, timeout)
            return list(self._look.deliveries)

    # -- the changes ---------------------------------------------------------------------------
    def _take(self) -> tuple[str | None, list[tuple[Callback, bool]]]:
        """The target and the callbacks of every change since the mark; the mark moves to now."""
        now = self.clock.now()
        with self._lock:
            target, mark = self._look.target, self._look.mark
            self._look.mark, self._look.looking = now, True
        plan: list[tuple[Callback, bool]] = []
        try:
            if target is not None and mark is not None and now > mark:
                plan = self._plan(target, self._changes(mark, now))
        finally:
            with self._lock:
                self._look.planned += len(plan)
                self._look.looking = False
                self._lock.notify_all()
        return target, plan

    def _changes(self, mark: datetime, now: datetime) -> list[Change]:
        """Every change after ``mark`` up to ``now``, oldest first."""
        changes = [
            Change(call, state, call.schedule[max(i - 1, 0)][1], at, i)
            for provider in self.makers
            for call in self.population.visible(provider, now)
            for i, (at, state) in enumerate(call.schedule)
            if mark < at <= now
        ]
        changes.sort(key=lambda change: (change.at, change.call.id))
        return changes

    def _next_due(self) -> datetime | None:
        now = self.clock.now()
        soon = now + timedelta(seconds=MAX_PAUSE_S * getattr(self.clock, "speed", 1.0))
        due = [
            at
            for provider in self.makers
            for call in self.population.visible(provider, soon)
            for at, _ in call.schedule
            if now < at <= soon
        ]
        return min(due, default=None)

    def _plan(self, target: str, changes: list[Change]) -> list[tuple[Callback, bool]]:
        """The callbacks to post, in order, each with whether it is dropped."""
        faults, now = self.faults, self.clock.now()
        made = [
            callback
            for change in changes
            if (
                callback := self.makers[change.call.provider].make(
                    target, change, now, wrong=faults.wrong_signature
                )
            )
            is not None
        ]
        if faults.reorder:
            made.reverse()
        plan = [(callback, self._rng.random() < faults.drop) for callback in made]
        return [entry for entry in plan for _ in range(2 if faults.duplicate and not entry[1] else 1)]

    def _make(self, target: str, change: Change, now: datetime, wrong: bool) -> Callback | None:
        return self.makers[change.call.provider].make(target, change, now, wrong=wrong)

    # -- the loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Look and post until cancelled (the simulator's lifespan runs it)."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def poke() -> None:
            with contextlib.suppress(RuntimeError):  # the loop may be closing
                loop.call_soon_threadsafe(woken.set)

        self._poke = poke
        stop = self.clock.on_change(poke) if isinstance(self.clock, ManualClock) else (lambda: None)
        try:
            async with httpx2.AsyncClient(timeout=10.0) as client, anyio.create_task_group() as posting:
                while True:
                    woken.clear()
                    target, plan = self._take()
                    if plan:
                        posting.start_soon(self._deliver, client, plan)
                    with anyio.move_on_after(self._pause(target)):
                        await woken.wait()
        finally:
            stop()
            self._poke = lambda: None

    def _pause(self, target: str | None) -> float:
        if target is None or isinstance(self.clock, ManualClock):
            return float("inf")  # a poke comes when the clock moves or a target is set
        due = self._next_due()
        if due is None:
            return MAX_PAUSE_S
        seconds = (due - self.clock.now()).total_seconds() / getattr(self.clock, "speed", 1.0)
        return min(max(seconds, 0.0), MAX_PAUSE_S)

    async def _deliver(self, client: httpx2.AsyncClient, plan: list[tuple[Callback, bool]]) -> None:
        for callback, dropped in plan:
            status: int | None = None
            if not dropped:
                if self.faults.delay_s > 0:
                    await anyio.sleep(self.faults.delay_s)
                status = await _post(client, callback)
            self._record(Delivery(callback, status, dropped))

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self._look.deliveries.append(delivery)
            self._lock.notify_all()


async def _post(client: httpx2.AsyncClient, callback: Callback) -> int | None:
    try:
        response = await client.post(callback.url, content=callback.body, headers=dict(callback.headers))
    except httpx2.HTTPError as exc:
        logger.debug("the %s callback was not delivered: %s", callback.provider, type(exc).__name__)
        return None
    return response.status_code
