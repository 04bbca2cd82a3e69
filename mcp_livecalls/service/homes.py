"""Which provider answered for a call id, so a lookup without ``provider`` asks one, not all.

``Homes`` is the in-process memo (bounded, least recently used first out); a fleet shares it
through Redis (``mcp_livecalls.fleet.memo.SharedHomes``).
"""

from __future__ import annotations

from collections import OrderedDict

from mcp_livecalls.core.models import ProviderName

__all__ = ["MAX_HOMES", "Homes"]

MAX_HOMES = 10_000


class Homes:
    def __init__(self, limit: int = MAX_HOMES) -> None:
        self._homes: OrderedDict[str, ProviderName] = OrderedDict()
        self._limit = limit

    def get(self, call_id: str) -> ProviderName | None:
        return self._homes.get(call_id)

    def pop(self, call_id: str, default: ProviderName | None = None) -> ProviderName | None:
        return self._homes.pop(call_id, default)

    def remember(self, call_id: str, provider: ProviderName) -> None:
        self._homes[call_id] = provider
        self._homes.move_to_end(call_id)
        while len(self._homes) > self._limit:
            self._homes.popitem(last=False)

    def __len__(self) -> int:
        return len(self._homes)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._homes

    async def load(self, call_id: str) -> None:
        """Learn ``call_id``'s home from the fleet (nothing to do in one process)."""

    async def sync(self, call_id: str) -> None:
        """Tell the fleet what a lookup learned about ``call_id`` (nothing to do in one process)."""
