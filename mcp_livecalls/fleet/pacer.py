"""One request budget per provider account for the whole fleet (Exotel: 200 requests/min).

A token bucket in Redis, updated atomically by a small Lua script on Redis's own clock: every
replica's request takes a token from the same bucket, so three replicas together stay under the
account's limit instead of each spending it. A provider's ``X-RateLimit-Remaining: 0`` pauses
the shared bucket too. While Redis is unreachable each replica paces itself with its local
``RequestPacer`` (the same limit, per replica) and rejoins the shared bucket when Redis returns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2

from mcp_livecalls.fleet.core import Fleet, FleetUnavailable
from mcp_livecalls.upstream.pacing import RequestPacer, is_background

__all__ = ["SharedPacer"]

_BUCKET = """
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local pause = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'paused')
local tokens = tonumber(b[1]) or cap
local ts = tonumber(b[2]) or now
local paused = tonumber(b[3]) or 0
if pause > 0 then paused = math.max(paused, now + pause) end
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
local wait = 0
if paused > now then
  wait = paused - now
elseif tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now, 'paused', paused)
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate) + 60000)
return wait
"""


class SharedPacer:
    """Drop-in for ``RequestPacer`` (``acquire``, ``observe``) over a bucket in Redis."""

    def __init__(
        self,
        local: RequestPacer,
        fleet: Fleet,
        *,
        account: str,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.local = local
        self.fleet = fleet
        self.capacity = local.capacity
        self.per_second = local.per_second
        self._key = fleet.key("pace", fleet.hashed(account))
        self._sleep = sleep
        self._pause_ms = 0
        self.delays = 0
        """Requests that had to wait for the fleet's budget."""
        self.delay_s = 0.0

    async def try_acquire(self) -> float:
        """Take a token from the fleet's bucket: 0 when taken, else seconds to wait first.

        Raises ``FleetUnavailable`` when Redis cannot be asked.
        """
        pause, self._pause_ms = self._pause_ms, 0

        async def take(r: Any) -> int:
            wait: int = await r.eval(
                _BUCKET, 1, self._key, repr(self.capacity), repr(self.per_second / 1000), pause
            )
            return wait

        return int(await self.fleet.run(take)) / 1000

    async def acquire(self) -> None:
        background = is_background()
        if background:
            # A poller's request first passes this replica's own pacer, which holds pollers to
            # their share of the rate (``HttpPolicy.background_share``) and behind any tool call
            # waiting here; then it takes a token from the fleet's budget like any request.
            await self.local.acquire()
        while True:
            try:
                wait = await self.try_acquire()
            except FleetUnavailable:
                if not background:
                    await self.local.acquire()
                return
            if wait <= 0:
                return
            self.delays += 1
            self.delay_s += wait
            await self._sleep(min(wait, RequestPacer.MAX_PAUSE_S))

    def observe(self, headers: httpx2.Headers) -> None:
        self.local.observe(headers)
        until = self.local._paused_until - self.local._clock()
        if until > 0:
            self._pause_ms = max(self._pause_ms, int(until * 1000))
