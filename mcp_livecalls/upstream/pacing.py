"""Pacing: keeping each provider under its published request rate, tool calls first.

Two classes of requests share a provider's budget: tool calls (foreground) and subscription
pollers (background, marked by ``background_requests``). A provider's pacer is decided before its
adapter is built (``Pacing``): its own ``RequestPacer``, or, in a replica fleet, one shared
through Redis that wraps it (``fleet.pacer.SharedPacer``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

import anyio
import httpx2

__all__ = [
    "LOCAL_PACING",
    "Pacer",
    "Pacing",
    "RequestPacer",
    "SharePacer",
    "background_requests",
    "is_background",
]

_BACKGROUND: ContextVar[bool] = ContextVar("mcp_livecalls_background_request", default=False)
"""Set while a subscription poller reads upstream: its requests yield to tool calls."""


@contextmanager
def background_requests() -> Iterator[None]:
    """Mark every upstream request made inside as background work (a poller's, not a tool call's).

    Background requests wait behind every waiting tool-call request at a provider's pacer, may
    use at most ``HttpPolicy.background_share`` of its request rate, and hold at most that share
    of its concurrent request slots, so watches never starve a tool call.
    """
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


def is_background() -> bool:
    return _BACKGROUND.get()


class Pacer(Protocol):
    """What a provider's HTTP view needs from a pacer (``RequestPacer``, or the fleet's shared one)."""

    async def acquire(self) -> None: ...

    def observe(self, headers: httpx2.Headers) -> None: ...


class RequestPacer:
    """Keeps a provider under its published request rate instead of drawing 429s.

    A token bucket holding a minute's allowance, refilled continuously (Exotel documents 200
    requests per minute per account). When an answer says ``X-RateLimit-Remaining: 0``, requests
    wait for its ``X-RateLimit-Reset`` too. Waiting counts against the tool's time budget.

    Two classes of requests: tool calls (foreground) and subscription pollers (background, see
    ``background_requests``). A background request takes a token only when no waiting foreground
    request needs it, and draws from a second bucket holding ``background_share`` of the
    allowance, refilled at that share of the rate: together pollers use at most that share of
    the provider's budget, and the rest is always there for tool calls.
    """

    MAX_PAUSE_S = 60.0

    def __init__(
        self,
        per_minute: float,
        *,
        background_share: float = 0.5,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        # ``burst``: a bucket smaller than a minute's allowance, for a limit counted over a
        # shorter window (Plivo: 300 requests per 5 s).
        self.capacity = max(1.0, burst if burst is not None else per_minute)
        self._sleep = sleep
        self.per_second = max(1.0, per_minute) / 60.0
        self.tokens = self.capacity
        share = min(1.0, max(0.0, background_share))
        # At least one request a minute, so a watch is slowed, never stopped for good.
        self.background_capacity = max(1.0, self.capacity * share)
        self.background_per_second = max(1.0, max(1.0, per_minute) * share) / 60.0
        self.background_tokens = self.background_capacity
        self._clock = clock
        self._updated = clock()
        self._paused_until = 0.0
        self.waiting_foreground = 0

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.per_second)
        self.background_tokens = min(
            self.background_capacity, self.background_tokens + elapsed * self.background_per_second
        )
        self._updated = now

    async def acquire(self) -> None:
        """Wait for a token; a background request (``background_requests``) yields to tool calls."""
        if is_background():
            await self._acquire_background()
            return
        self.waiting_foreground += 1
        try:
            while True:
                now = self._clock()
                self._refill(now)
                wait = self._paused_until - now
                if wait <= 0 and self.tokens >= 1.0:
                    self.tokens -= 1.0
                    return
                await self._sleep(wait if wait > 0 else (1.0 - self.tokens) / self.per_second)
        finally:
            self.waiting_foreground -= 1

    async def _acquire_background(self) -> None:
        while True:
            now = self._clock()
            self._refill(now)
            wait = self._paused_until - now
            if wait <= 0:
                # Only a token no waiting tool call needs, and only within the background share.
                needed = 1.0 + self.waiting_foreground
                if self.tokens >= needed and self.background_tokens >= 1.0:
                    self.tokens -= 1.0
                    self.background_tokens -= 1.0
                    return
                wait = max(
                    (needed - self.tokens) / self.per_second,
                    (1.0 - self.background_tokens) / self.background_per_second,
                )
            await self._sleep(wait)

    def observe(self, headers: httpx2.Headers) -> None:
        """Honour the provider's own count: pause until its window resets when none are left."""
        remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
        if remaining is None or reset is None or remaining.strip() != "0":
            return
        try:
            value = float(reset)
        except ValueError:
            return
        # Either seconds until the reset or a Unix time; both are seen in the wild.
        seconds = value - time.time() if value > 1_000_000_000 else value
        if seconds > 0:
            self._paused_until = max(self._paused_until, self._clock() + min(seconds, self.MAX_PAUSE_S))


SharePacer = Callable[[RequestPacer, str], Pacer]
"""What a fleet makes of a provider's own pacer for one account (``fleet.pacer.SharedPacer``)."""


@dataclass(frozen=True)
class Pacing:
    """How one provider's requests are paced, settled before its adapter is built.

    ``account`` is the rate limit's account (``exotel:<sid>``: replicas of one account share
    it; a credential, so never in the repr); ``share``, given in a fleet, turns the provider's
    own pacer into the shared one.
    """

    account: str = field(default="", repr=False)
    share: SharePacer | None = None

    def pacer(
        self, per_minute: float | None, *, burst: float | None, background_share: float
    ) -> Pacer | None:
        """The pacer for a provider publishing ``per_minute`` (``None``: it publishes no limit)."""
        if not per_minute:
            return None
        local = RequestPacer(per_minute, background_share=background_share, burst=burst)
        return local if self.share is None else self.share(local, self.account)


LOCAL_PACING = Pacing()
"""Each provider paced by its own ``RequestPacer`` (one process, no fleet)."""
