"""What the Retell family's adapters share as a class: the clock, the first pages seen, building
the adapter on a member's wire, and the list's frame (the guard, reading and filtering each
entry, closing the slice with its notes).

A member declares ``member`` (its ``FamilyMember``), ``wire`` (its headers and the secrets they
carry), ``_read_summary`` (one list entry as a call) and ``_fetch_records`` (the raw entries of one
window of its list, however it pages); everything else it reads or asks differently stays in its
own folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar, Self

from mcp_livecalls.core.models import CallStatus, LiveCall
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.providers.base import (
    MAX_SCAN_PAGES,
    LiveCallsProvider,
    PageGuard,
    ProviderSlice,
    UpstreamPage,
    scan,
)
from mcp_livecalls.providers.families.retell import FamilyMember, family_status
from mcp_livecalls.providers.families.retell_lists import FirstPages, noting_unreadable, read_entries
from mcp_livecalls.upstream.client import ProviderHTTP

__all__ = ["FamilyProvider", "FamilyRecords"]


@dataclass(frozen=True)
class FamilyRecords:
    """The raw entries of one window of a member's list (a call listed earlier: ``None``)."""

    records: list[Any]
    exhausted: bool
    """Whether upstream has nothing after this window."""
    total: int | None


class FamilyProvider(LiveCallsProvider):
    """The base of a Retell-family member's adapter."""

    member: ClassVar[FamilyMember]
    """The member's reading specifics (cost, telephony keys, second id)."""
    listed_words: ClassVar[frozenset[str]] = frozenset({"ONGOING", "REGISTERED"})
    """Known status words a list entry keeps (any other known word is not live)."""

    def __init__(self, http: ProviderHTTP, *, now: Callable[[], datetime]) -> None:
        super().__init__(http)
        self._now = now
        self._first_pages = FirstPages()

    @classmethod
    def built(cls, settings: Any, http: ProviderHTTP, now: Callable[[], datetime]) -> Self:
        return cls(http, now=now)

    def _read_summary(self, record: Any, now: datetime) -> LiveCall:
        """One list entry as a call (raises on garbage)."""
        raise NotImplementedError

    async def _fetch_records(
        self, query: ListQuery, guard: PageGuard, position: int, count: int
    ) -> FamilyRecords:
        """The entries from ``position`` on (at most ``count``), each call listed once (``guard``)."""
        raise NotImplementedError

    def _summary(self, record: Any, query: ListQuery, now: datetime) -> LiveCall | None:
        """A list entry, or ``None`` for one the upstream filters should have left out.

        A status word no document mentions stays in the list as ``unknown`` (the raw word kept):
        the member answered it to a query for live calls, and hiding it would under-report them.
        """
        call = self._read_summary(record, now)
        word = (call.provider_status or "").strip().upper()
        if word not in self.listed_words and family_status(word) is not CallStatus.UNKNOWN:
            return None
        if query.agent_id is not None and (call.agent is None or call.agent.id != query.agent_id):
            return None
        return call

    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        unreadable: list[str] = []
        guard = PageGuard(max_pages=MAX_SCAN_PAGES)

        async def fetch(position: int, count: int) -> UpstreamPage:
            window = await self._fetch_records(query, guard, position, count)
            now = self._now()
            calls, failed = read_entries(self, window.records, lambda r: self._summary(r, query, now))
            unreadable.extend(failed)
            return UpstreamPage(calls, exhausted=window.exhausted, total=window.total)

        found = await scan(
            fetch, query=query, local_filters=self.local_filters(query), offset=offset, limit=limit
        )
        return self._closing(found, guard.notes, unreadable)

    def _closing(self, found: ProviderSlice, notes: list[str], unreadable: list[str]) -> ProviderSlice:
        """``found`` with the notes the paging made first, then one for the unreadable entries."""
        found = noting_unreadable(self, found, unreadable)
        return replace(found, notes=[*notes, *found.notes]) if notes else found
