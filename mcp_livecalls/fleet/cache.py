"""The freshness cache and single flight, shared by every replica through Redis.

Within one replica, concurrent requests for a key still share one flight (``FreshnessCache``);
that flight then asks the fleet:

1. a fresh answer in Redis (stored for ``ttl_s`` after its request *started*): served;
2. otherwise ``SET lock NX PX`` elects one leader in the whole fleet, which asks upstream and
   stores the answer (the freshness entry, and a short-lived flight result under its lock token
   so that waiters get it even when ``ttl_s`` is 0);
3. everyone else waits for that answer (polling Redis briefly); when the leader failed (errors
   are never stored) or crashed, a waiter leads.

The lock lives as long as its holder can still take: the holder's own deadline (what is left of
its tool call's budget), never more than the tool budget. A waiter waits no longer than the lock
has left to live, nor past its own deadline. The holder gives its lock back when done, even while
its replica is in fallback (a lock left behind made others wait out its whole life for nothing).

Only normalized models are stored (pydantic JSON of ``LiveCall``, ``StreamDetails``,
``ProviderSlice``), under keyed hashes of the cache key — never a call id, credential or raw
provider body. When Redis fails, the flight falls back to asking upstream itself (the replica's
own cache and single flight keep working).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable, Hashable, Iterable
from functools import partial
from typing import Any, TypeVar

import anyio
from pydantic import TypeAdapter, ValidationError

from mcp_livecalls.core.models import LiveCall, StreamDetails
from mcp_livecalls.errors import LiveCallsError
from mcp_livecalls.fleet.core import Fleet, FleetUnavailable, as_bytes
from mcp_livecalls.providers.base import ProviderSlice
from mcp_livecalls.service.cache import FreshnessCache, _Entry, _Flight

__all__ = ["SharedFreshnessCache"]

_T = TypeVar("_T")

_SHAREABLE: dict[str, TypeAdapter[Any]] = {
    "LiveCall": TypeAdapter(LiveCall),
    "StreamDetails": TypeAdapter(StreamDetails),
    "ProviderSlice": TypeAdapter(ProviderSlice),
}
_FIRST_WAIT_S = 0.005
_MAX_WAIT_S = 0.05


def encode(value: object) -> bytes | None:
    """``<type>\\n<json>`` for a shareable normalized model, else ``None`` (kept local)."""
    name = type(value).__name__
    adapter = _SHAREABLE.get(name)
    if adapter is None:
        return None
    return name.encode() + b"\n" + adapter.dump_json(value)


def decode(raw: bytes | str) -> Any:
    """The model in ``raw``; ``None`` when it is not one this version knows (treated as a miss)."""
    name, _, body = as_bytes(raw).partition(b"\n")
    adapter = _SHAREABLE.get(name.decode("ascii", "replace"))
    if adapter is None:
        return None
    try:
        return adapter.validate_json(body)
    except ValidationError:
        return None


class SharedFreshnessCache(FreshnessCache):
    def __init__(
        self,
        ttl_s: float,
        fleet: Fleet,
        *,
        lock_ttl_s: float,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(ttl_s, **({"clock": clock} if clock is not None else {}))
        self.fleet = fleet
        self.lock_ttl_s = max(0.1, lock_ttl_s)
        """The longest a lock lives (the tool budget); a holder with less time left holds it less."""
        self.misses = 0
        self.lock_waits = 0
        """Flights that waited for another replica's leader."""

    async def _lead(self, key: Hashable, fetch: Callable[[], Awaitable[_T]]) -> _T:
        flight = _Flight()
        self._flights[key] = flight
        try:
            value, local_expiry = await self._fleet_get(key, fetch)
        except LiveCallsError as exc:
            flight.finished, flight.error = True, exc
            raise
        else:
            flight.finished, flight.value = True, value
            if local_expiry is not None and self.ttl_s > 0:
                self._store(key, _Entry(value, local_expiry))
            return value
        finally:
            del self._flights[key]
            flight.done.set()

    async def drop(self, keys: Iterable[Hashable]) -> None:
        """Remove the fleet's stored answers for ``keys`` (a pushed event said they changed);
        nothing when Redis is away (they expire within ``ttl_s``)."""
        names = [self.fleet.key("cache", self.fleet.hashed(repr(key))) for key in keys]
        if names:
            with contextlib.suppress(FleetUnavailable):
                await self.fleet.run(lambda r: r.delete(*names))

    async def _upstream(self, key: Hashable, fetch: Callable[[], Awaitable[_T]]) -> _T:
        self.count_flight(key)
        return await fetch()

    async def _fleet_get(self, key: Hashable, fetch: Callable[[], Awaitable[_T]]) -> tuple[_T, float | None]:
        """The answer, and until when this replica may serve it again by itself (``None``: not)."""
        started = self._clock()
        if not self.fleet.available:
            return await self._upstream(key, fetch), started + self.ttl_s
        digest = self.fleet.hashed(repr(key))
        value_key, lock_key = self.fleet.key("cache", digest), self.fleet.key("lock", digest)
        try:
            while True:
                raw = await self.fleet.run(lambda r: r.get(value_key))
                if raw is not None and (shared := decode(raw)) is not None:
                    self.hits += 1
                    return shared, None
                token = os.urandom(8).hex()
                hold_ms = int(self._time_left() * 1000)
                won = await self.fleet.run(partial(self._try_lock, lock_key, token, hold_ms))
                if won:
                    self.misses += 1
                    return await self._lead_fleet(key, fetch, value_key, lock_key, token), None
                answer = await self._wait_for_leader(value_key, lock_key)
                if answer is not None:
                    self.hits += 1
                    return answer, None
                # The leader failed or crashed, and nothing was stored: go round and lead.
        except FleetUnavailable:
            return await self._upstream(key, fetch), started + self.ttl_s

    def _time_left(self) -> float:
        """What a flight started now can still take: its caller's deadline, at most the tool budget."""
        left = anyio.current_effective_deadline() - anyio.current_time()
        return max(0.1, min(self.lock_ttl_s, left))

    async def _try_lock(self, lock_key: str, token: str, hold_ms: int, r: Any) -> bool:
        return bool(await r.set(lock_key, token, nx=True, px=max(100, hold_ms)))

    async def _lead_fleet(
        self, key: Hashable, fetch: Callable[[], Awaitable[_T]], value_key: str, lock_key: str, token: str
    ) -> _T:
        started_ms = self._clock()
        try:
            value = await self._upstream(key, fetch)
        except BaseException:
            # Errors are never stored: release the lock so a waiter asks for itself.
            with anyio.CancelScope(shield=True):
                with contextlib.suppress(FleetUnavailable):
                    await self.fleet.run(lambda r: r.delete(lock_key), even_if_down=True)
            raise
        payload = encode(value)
        if payload is not None:
            ttl_ms = int((self.ttl_s - (self._clock() - started_ms)) * 1000)
            flight_ms = int(self.lock_ttl_s * 1000)

            async def store(r: Any) -> object:
                async with r.pipeline(transaction=False) as pipe:
                    if ttl_ms > 0:
                        pipe.set(value_key, payload, px=ttl_ms)
                    pipe.set(self.fleet.key("flight", token), payload, px=flight_ms)
                    pipe.delete(lock_key)
                    return await pipe.execute()

            with contextlib.suppress(FleetUnavailable):  # the answer is still good for this caller
                await self.fleet.run(store, even_if_down=True)
        else:
            with contextlib.suppress(FleetUnavailable):
                await self.fleet.run(lambda r: r.delete(lock_key), even_if_down=True)
        return value

    async def _wait_for_leader(self, value_key: str, lock_key: str) -> Any:
        """The answer another replica's leader produced, or ``None`` when it produced none."""
        self.lock_waits += 1

        async def holder_of(r: Any) -> list[Any]:
            async with r.pipeline(transaction=False) as pipe:
                pipe.get(lock_key)
                pipe.pttl(lock_key)
                result: list[Any] = await pipe.execute()
                return result

        holder, lives_ms = await self.fleet.run(holder_of)
        if holder is None:
            return None  # released in between: go round
        flight_key = self.fleet.key("flight", as_bytes(holder).decode())
        # The holder cannot take longer than its lock lives (its own deadline): nor does its waiter.
        lives_s = lives_ms / 1000 if isinstance(lives_ms, int) and lives_ms > 0 else self.lock_ttl_s
        delay = _FIRST_WAIT_S
        with anyio.move_on_after(min(lives_s, self._time_left())):
            while True:

                async def look(r: Any) -> list[Any]:
                    async with r.pipeline(transaction=False) as pipe:
                        pipe.get(value_key)
                        pipe.get(flight_key)
                        pipe.get(lock_key)
                        result: list[Any] = await pipe.execute()
                        return result

                fresh, flown, lock = await self.fleet.run(look)
                for raw in (flown, fresh):
                    if raw is not None and (answer := decode(raw)) is not None:
                        return answer
                if lock is None or lock != holder:
                    return None  # the leader is gone without an answer
                await anyio.sleep(delay)
                delay = min(delay * 2, _MAX_WAIT_S)
        return None
