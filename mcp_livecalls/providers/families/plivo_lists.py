"""One listing of a Plivo-family provider: its UUID lists, read once, and the calls' details.

The family's lists answer UUIDs only (NOTES.md: "a summary needs one more request per call"), so
a call's details cost a request of its own. A ``DetailedListing`` reads the lists on the first
page asked and the details of only the UUIDs a page covers; the slice it gives can read on from
where it stopped (``ProviderSlice.more``) without reading the lists again, so a page across
providers asks for the few calls that can still make it, and more only when the merge needs them.
A call that ended between the list and its detail request is left out (it is no longer live); a
call whose details fail is left out with a note; every detail of a page failing is the provider
failing.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable

from mcp_livecalls.core.models import LiveCall
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import CallNotFound, ProviderError
from mcp_livecalls.providers.base import ProviderSlice, UpstreamPage, gather, scan

__all__ = ["DetailedListing"]

Listed = tuple[list[tuple[str, str]], list[str]]
"""``(uuid, "live" | "queued")`` for every listed call, in the lists' order, and notes on the lists."""


class DetailedListing:
    """The live calls of one listing: ``list_ids`` read once, ``detail(uuid, kind)`` per call."""

    def __init__(
        self,
        list_ids: Callable[[], Awaitable[Listed]],
        detail: Callable[[str, str], Awaitable[LiveCall]],
        *,
        query: ListQuery,
        local_filters: list[str],
    ) -> None:
        self._list_ids = list_ids
        self._detail = detail
        self._query = query
        self._local_filters = local_filters
        self._uuids: list[tuple[str, str]] | None = None
        self._notes: list[str] = []
        self._failed: list[tuple[str, ProviderError]] = []

    async def read(self, offset: int, limit: int) -> ProviderSlice:
        """Up to ``limit`` calls from ``offset``; the slice reads on from where it stopped."""
        failed_before = len(self._failed)
        found = await scan(
            self._fetch, query=self._query, local_filters=self._local_filters, offset=offset, limit=limit
        )
        notes = list(self._notes)
        if failed := self._failed[failed_before:]:
            shown = "; ".join(f"{uuid}: {error}" for uuid, error in failed[:3])
            more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
            notes.append(
                f"{len(failed)} listed call(s) left out, their details could not be read: {shown}{more}"
            )
        if notes:
            found = dataclasses.replace(found, notes=notes, total=None)
        if found.exhausted:
            return found
        return dataclasses.replace(found, more=functools.partial(self.read, found.scanned_to))

    async def _fetch(self, position: int, count: int) -> UpstreamPage:
        if self._uuids is None:
            self._uuids, list_notes = await self._list_ids()
            self._notes.extend(list_notes)
        uuids = self._uuids
        chunk = uuids[position : position + count]

        async def detail(uuid: str, kind: str) -> LiveCall | ProviderError | None:
            try:
                return await self._detail(uuid, kind)
            except CallNotFound:
                return None  # ended between the list and the detail request
            except ProviderError as exc:
                return exc  # this call's details only: the others still count

        results = await gather([functools.partial(detail, uuid, kind) for uuid, kind in chunk])
        errors = [
            (uuid, r) for (uuid, _), r in zip(chunk, results, strict=True) if isinstance(r, ProviderError)
        ]
        if errors and len(errors) == len(chunk):
            raise errors[0][1]  # every detail failed: the provider failed, not one call
        self._failed.extend(errors)
        calls = [r if isinstance(r, LiveCall) else None for r in results]
        return UpstreamPage(calls, exhausted=position + count >= len(uuids), total=len(uuids))
