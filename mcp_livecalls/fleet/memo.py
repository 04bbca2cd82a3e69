"""Which provider answered for a call id, so a lookup without ``provider`` asks one, not all.

``Homes`` (``mcp_livecalls.service.homes``) is the in-process memo. ``SharedHomes`` adds the
fleet: before a lookup the service ``load``s the call's home from Redis (a replica that never saw
the call asks one provider too), and after it ``sync``s what the lookup learned or forgot.
Keys are keyed hashes of the call id; values are provider names; entries expire after an hour.
"""

from __future__ import annotations

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.fleet.core import Fleet, FleetUnavailable, as_bytes
from mcp_livecalls.service.homes import MAX_HOMES, Homes

__all__ = ["SharedHomes"]

_HOME_TTL_S = 3600


class SharedHomes(Homes):
    def __init__(self, fleet: Fleet, limit: int = MAX_HOMES) -> None:
        super().__init__(limit)
        self.fleet = fleet
        self._told: dict[str, ProviderName | None] = {}
        """What the fleet was last told (or told us) per call id this replica looked up."""

    def _key(self, call_id: str) -> str:
        return self.fleet.key("home", self.fleet.hashed(call_id))

    async def load(self, call_id: str) -> None:
        if call_id in self._homes:
            return
        try:
            raw = await self.fleet.run(lambda r: r.get(self._key(call_id)))
        except FleetUnavailable:
            return
        try:
            provider = ProviderName(as_bytes(raw).decode()) if raw is not None else None
        except ValueError:
            provider = None
        if provider is not None:
            super().remember(call_id, provider)
        self._told[call_id] = provider

    async def sync(self, call_id: str) -> None:
        now = self._homes.get(call_id)
        if self._told.pop(call_id, "unknown") == now:
            return
        try:
            if now is None:
                await self.fleet.run(lambda r: r.delete(self._key(call_id)))
            else:
                await self.fleet.run(lambda r: r.set(self._key(call_id), now.value, ex=_HOME_TTL_S))
        except FleetUnavailable:
            return
