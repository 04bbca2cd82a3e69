"""Request coalescing plus a short freshness window, so polling assistants do not multiply load.

Many clients asking for the same call at once share one upstream request (single flight), and
an answer is served again for at most ``ttl_s`` after its request *started* — never later, so
"live" data is at most ``ttl_s`` old. Errors are shared with the requests that waited for them
but never cached. A cancelled request does not strand its waiters: one of them asks again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio

from mcp_livecalls.errors import LiveCallsError

__all__ = ["FreshnessCache"]

_T = TypeVar("_T")
_PRUNE_ABOVE = 4096


@dataclass
class _Flight:
    done: anyio.Event = field(default_factory=anyio.Event)
    finished: bool = False
    value: Any = None
    error: LiveCallsError | None = None


@dataclass(frozen=True)
class _Entry:
    value: Any
    expires_at: float


class FreshnessCache:
    def __init__(self, ttl_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = max(0.0, ttl_s)
        self._clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._flights: dict[Hashable, _Flight] = {}
        self.upstream_calls = 0
        """How many times ``fetch`` actually ran (the benchmarks read it)."""
        self.hits = 0
        """Answers served from a fresh entry or shared from another caller's flight (``/metrics``)."""
        self.flights: Counter[str] = Counter()
        """Upstream flights by resource kind (a key's second part: ``call``, ``stream``, ``list``)."""

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[_T]]) -> _T:
        while True:
            entry = self._entries.get(key)
            if entry is not None:
                if entry.expires_at > self._clock():
                    self.hits += 1
                    value: _T = entry.value
                    return value
                del self._entries[key]
            flight = self._flights.get(key)
            if flight is None:
                break
            await flight.done.wait()
            if flight.finished:
                if flight.error is not None:
                    raise flight.error
                self.hits += 1
                shared: _T = flight.value
                return shared
            # The request we waited on was cancelled: go round and ask ourselves.
        return await self._lead(key, fetch)

    async def _lead(self, key: Hashable, fetch: Callable[[], Awaitable[_T]]) -> _T:
        flight = _Flight()
        self._flights[key] = flight
        started = self._clock()
        self.count_flight(key)
        try:
            value = await fetch()
        except LiveCallsError as exc:
            flight.finished, flight.error = True, exc
            raise
        else:
            flight.finished, flight.value = True, value
            if self.ttl_s > 0:
                self._store(key, _Entry(value, started + self.ttl_s))
            return value
        finally:
            del self._flights[key]
            flight.done.set()

    def forget(self, stale: Callable[[Hashable], bool]) -> int:
        """Drop the stored answers whose key ``stale`` picks (a pushed event said they changed)."""
        keys = [key for key in self._entries if stale(key)]
        for key in keys:
            del self._entries[key]
        return len(keys)

    def patch(self, pick: Callable[[Hashable], bool], change: Callable[[Any], Any | None]) -> int:
        """Replace the stored answers whose key ``pick`` picks with ``change(answer)`` (a pushed
        event the provider signed), keeping their expiry; ``None`` drops the answer."""
        keys = [key for key in self._entries if pick(key)]
        for key in keys:
            entry = self._entries[key]
            value = change(entry.value)
            if value is None:
                del self._entries[key]
            else:
                self._entries[key] = _Entry(value, entry.expires_at)
        return len(keys)

    def count_flight(self, key: Hashable) -> None:
        self.upstream_calls += 1
        kind = key[1] if isinstance(key, tuple) and len(key) > 1 and isinstance(key[1], str) else "other"
        self.flights[kind] += 1

    def _store(self, key: Hashable, entry: _Entry) -> None:
        if len(self._entries) >= _PRUNE_ABOVE:
            now = self._clock()
            self._entries = {k: e for k, e in self._entries.items() if e.expires_at > now}
        self._entries[key] = entry
