"""One connection to the fleet's Redis, and what happens when it is not there.

Every shared piece (cache, pacer, memo, bus, poll leases) talks to Redis through ``Fleet.run``:
each operation is bounded by short socket timeouts and an overall deadline, and any failure
turns into ``FleetUnavailable``, which the caller answers with its local fallback. The first
failure logs one warning and marks the fleet *down*; while down, nothing waits on Redis at all
(every caller falls back at once) until ``retry_after_s`` has passed, when the next operation
tries again; the first success logs that the replica shares again. No Redis error ever reaches a
tool call, and the URL (which may carry a password) is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import anyio
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

__all__ = ["Fleet", "FleetUnavailable", "as_bytes"]

logger = logging.getLogger("mcp_livecalls.fleet")

_T = TypeVar("_T")

SOCKET_TIMEOUT_S = 0.5
"""A Redis that does not answer within this is treated as down (a tool call must not wait on it)."""
OP_DEADLINE_S = 1.0
RETRY_AFTER_S = 2.0
"""While Redis is down, each replica tries it again this often (one attempt, not a storm)."""
HEARTBEAT_S = 1.0
"""How often each replica publishes a heartbeat to its own listener (``bus``)."""
HEARD_WITHIN_S = 3.0
"""A listener that heard no heartbeat for this long is deaf: its replica polls alone, reconnects."""
MARK_TTL_S = 60
"""The fleet's mark on its Redis outlives the last heartbeat that renewed it by this."""

_MARK = """
local t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'none' and t ~= 'string' then redis.call('DEL', KEYS[1]) end
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return ARGV[1]
end
return v
"""


def as_bytes(raw: bytes | str) -> bytes:
    """A Redis reply as bytes (the client answers bytes; its type hints allow either)."""
    return raw.encode() if isinstance(raw, str) else raw


class FleetUnavailable(Exception):
    """Redis could not be used just now: the caller falls back to its local behaviour."""


class Fleet:
    """The replicas' shared Redis: namespaced keys, keyed hashing of call ids, failure state."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "livecalls:",
        secrets: Sequence[str] = (),
        socket_timeout_s: float = SOCKET_TIMEOUT_S,
        op_deadline_s: float = OP_DEADLINE_S,
        retry_after_s: float = RETRY_AFTER_S,
        heartbeat_s: float = HEARTBEAT_S,
        heard_within_s: float = HEARD_WITHIN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self.prefix = prefix
        self.replica_id = os.urandom(8).hex()
        self.socket_timeout_s = socket_timeout_s
        self.op_deadline_s = op_deadline_s
        self.retry_after_s = retry_after_s
        self.heartbeat_s = heartbeat_s
        self.heard_within_s = max(heard_within_s, heartbeat_s * 2)
        self._clock = clock
        # Keys derived from call ids are HMACs under a key every replica of one deployment shares
        # (``Settings.fleet_secrets``: LIVECALLS_FLEET_SECRET or the providers' credentials, never
        # the Redis URL), so Redis never holds a call id and nobody without the secret can tell
        # which call a key belongs to.
        material = "\0".join(["mcp-livecalls fleet v1", *sorted(secrets)])
        self._hash_key = hashlib.sha256(material.encode()).digest()
        self._redis: aioredis.Redis | None = None
        self.down = False
        self._retry_at = 0.0
        self.fallbacks = 0
        """How many times this replica fell back to local behaviour (one per outage)."""
        self.foreign = False
        """Whether this Redis carries another fleet's mark (its keys are unreadable here)."""

    # -- lifetime --------------------------------------------------------------------------

    def client(self, *, blocking: bool = False) -> aioredis.Redis:
        """A new client on the fleet URL (``blocking``: no read timeout, for a pub/sub reader)."""
        return aioredis.Redis.from_url(
            self._url,
            socket_timeout=None if blocking else self.socket_timeout_s,
            socket_connect_timeout=self.socket_timeout_s,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=10,
        )

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = self.client()
        return self._redis

    async def aclose(self) -> None:
        client, self._redis = self._redis, None
        if client is not None:
            with anyio.CancelScope(shield=True), anyio.move_on_after(self.op_deadline_s):
                await client.aclose()

    # -- keys ------------------------------------------------------------------------------

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def hashed(self, text: str) -> str:
        """A stable, keyed, short digest of ``text`` (a call id, a cache key, a URI)."""
        return hmac.new(self._hash_key, text.encode(), hashlib.sha256).hexdigest()[:32]

    @property
    def mark(self) -> str:
        """A keyed fingerprint of this fleet's secret: equal on every replica of one fleet."""
        return self.hashed("fleet mark")[:16]

    async def check_mark(self) -> None:
        """Mark the Redis as this fleet's (renewed by every heartbeat), or find another fleet's
        mark there and say so once, loudly: that fleet's cache, cursors, memo, pacing and leases
        are unreadable from here. Raises ``FleetUnavailable`` when Redis cannot be asked."""

        async def mark(r: aioredis.Redis) -> bytes | str:
            found: bytes | str = await r.eval(_MARK, 1, self.key("fleet"), self.mark, MARK_TTL_S)
            return found

        foreign = as_bytes(await self.run(mark)).decode("ascii", "replace") != self.mark
        if foreign and not self.foreign:
            logger.warning(
                "Another fleet with a different secret uses this Redis under the prefix %r: this "
                "replica cannot read its keys (cache, cursors, memo, pacing and poller leases are "
                "split from it). Give every replica the same LIVECALLS_FLEET_SECRET (or the same "
                "provider credentials), or this one another LIVECALLS_REDIS_PREFIX.",
                self.prefix,
            )
        self.foreign = foreign

    # -- failure state ---------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether to try Redis now: up, or down long enough that one more attempt is due."""
        return not self.down or self._clock() >= self._retry_at

    async def run(self, op: Callable[[aioredis.Redis], Awaitable[_T]], *, even_if_down: bool = False) -> _T:
        """``op`` against Redis within the deadline; any failure is ``FleetUnavailable``.

        ``even_if_down``: try although the replica is in fallback (giving back a lock it holds:
        left behind, it would keep the other replicas waiting for an answer that never comes).
        """
        if not (even_if_down or self.available):
            raise FleetUnavailable
        try:
            with anyio.fail_after(self.op_deadline_s):
                result = await op(self.redis)
        except (RedisError, OSError, TimeoutError) as exc:
            self.mark_down(exc)
            raise FleetUnavailable from None
        self.mark_up()
        return result

    def mark_down(self, exc: BaseException) -> None:
        self._retry_at = self._clock() + self.retry_after_s
        if not self.down:
            self.down = True
            self.fallbacks += 1
            logger.warning(
                "Redis is unreachable (%s): this replica serves from its local cache, pacer and bus "
                "until it answers again (retrying every %gs).",
                type(exc).__name__,
                self.retry_after_s,
            )

    def mark_up(self) -> None:
        if self.down:
            self.down = False
            logger.warning("Redis answers again: this replica shares cache, pacing and updates again.")
