"""One poller per watched resource in the whole fleet: a renewed lease in Redis.

Every replica with a subscriber to a URI runs a poller for it (``Watcher``), but before each
upstream read the poller asks ``lead``: the lease holder renews its lease and polls, the others
follow — they skip the read and ask again every half interval. A lease lasts 1.25 poll
intervals, so when the leader dies (or its last subscriber leaves and it resigns) another
replica with subscribers takes over within two poll intervals. When no replica has a subscriber
left, no poller runs anywhere. A poller that takes over announces its first reading (``Watcher``).
While Redis is unreachable every poller leads (each replica polls for its own subscribers, as
without a fleet). So does a replica whose update channel is not *confirmed* (``listening``: the
bus heard its own heartbeat in time): a deaf replica would never hear the leader's updates. Once
confirmed again, it reads each such resource once more before following (what changed before its
channel came back is in that reading; what changes after, it hears).

The lease's expiry is compared on one clock for the whole fleet: Redis's own (``TIME``), unless a
``clock`` is given (tests share a fake one between their replicas).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio

from mcp_livecalls.fleet.core import Fleet, FleetUnavailable

__all__ = ["PollLeases"]

_LEAD = """
local now = tonumber(ARGV[2])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local v = redis.call('GET', KEYS[1])
if v then
  local sep = string.find(v, '|', 1, true)
  if sep then
    local owner = string.sub(v, 1, sep - 1)
    local expires = tonumber(string.sub(v, sep + 1))
    if owner ~= ARGV[1] and expires ~= nil and expires > now then
      return 0
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. string.format('%.6f', now + tonumber(ARGV[3])), 'PX', ARGV[4])
return 1
"""

_RESIGN = """
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

LEASE_INTERVALS = 1.25
_GC_MIN_MS = 5000


class PollLeases:
    def __init__(
        self,
        fleet: Fleet,
        *,
        interval_s: float,
        clock: Callable[[], float] | None = None,
        listening: Callable[[], bool] | None = None,
    ) -> None:
        self.fleet = fleet
        self._listening = listening
        self.alone: set[str] = set()
        """The URIs this replica polls for its own subscribers while its channel is not confirmed."""
        self.interval_s = interval_s
        self.lease_s = interval_s * LEASE_INTERVALS
        self.follow_s = interval_s / 2
        """How often a follower asks whether the lease is free."""
        self._clock = clock
        self.leading: set[str] = set()
        """The URIs this replica polls for the fleet right now."""

    def _key(self, uri: str) -> str:
        return self.fleet.key("lease", self.fleet.hashed(uri))

    async def lead(self, uri: str) -> bool:
        """Whether this replica polls ``uri`` now (taking or renewing the lease)."""
        now = "" if self._clock is None else repr(self._clock())
        # Redis forgets a lease long after it expired (real time), whichever clock judges it.
        gc_ms = max(_GC_MIN_MS, int(self.lease_s * 4000))

        async def lead(r: Any) -> int:
            won: int = await r.eval(_LEAD, 1, self._key(uri), self.fleet.replica_id, now, self.lease_s, gc_ms)
            return won

        try:
            won = bool(await self.fleet.run(lead))
        except FleetUnavailable:
            won = True  # no fleet: poll for this replica's own subscribers
        if won:
            self.leading.add(uri)
        else:
            self.leading.discard(uri)
        return self._alone(uri) or won

    def _alone(self, uri: str) -> bool:
        """Whether to poll ``uri`` for this replica's own subscribers, whoever leads."""
        if self._listening is None:
            return False
        if not self._listening():
            self.alone.add(uri)
            return True
        if uri in self.alone:  # heard again: one more reading, then follow
            self.alone.discard(uri)
            return True
        return False

    async def resign(self, uri: str) -> None:
        """Give the lease up (the poller stops here): another replica may lead at once."""
        self.leading.discard(uri)
        self.alone.discard(uri)
        with anyio.CancelScope(shield=True):
            try:
                await self.fleet.run(lambda r: r.eval(_RESIGN, 1, self._key(uri), self.fleet.replica_id))
            except FleetUnavailable:
                return
