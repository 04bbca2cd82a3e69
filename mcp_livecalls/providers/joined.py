"""Lists joined from parts: a provider whose live calls come as several lists read at once.

Twilio lists one status per request, Telnyx one connection per request: each reads its parts
concurrently (``join_lists``), joins them in the parts' order with each call once, and keeps the
other parts' calls when one fails (a note says which is missing). ``scan_joined`` then pages the
joined list by upstream offset, like any other provider's.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from mcp_livecalls.core.models import LiveCall
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import ProviderError
from mcp_livecalls.providers.paging import ProviderSlice, UpstreamPage, scan
from mcp_livecalls.providers.tasks import gather

__all__ = ["Listed", "join_lists", "scan_joined"]


@dataclass
class Listed:
    """One part's calls, read page by page, and what is partial about them."""

    calls: list[LiveCall] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def join_lists(
    parts: Sequence[str],
    read: Callable[[str], Awaitable[Listed]],
    *,
    missing: Callable[[str, ProviderError], str],
    keep: Callable[[LiveCall], bool] = lambda _call: True,
) -> tuple[list[LiveCall], list[str]]:
    """Every part read at once and joined in order, each call once (and only those ``keep``
    keeps), with the notes; a failed part is said by ``missing(part, error)``. When no part has a
    call to show, the first failure is the answer."""

    async def attempt(part: str) -> Listed | ProviderError:
        try:
            return await read(part)
        except ProviderError as exc:
            return exc

    lists = await gather([functools.partial(attempt, part) for part in parts])
    failures = [found for found in lists if isinstance(found, ProviderError)]
    if failures and all(isinstance(found, ProviderError) or not found.calls for found in lists):
        raise failures[0]
    calls: list[LiveCall] = []
    notes: list[str] = []
    seen: set[str] = set()
    for part, found in zip(parts, lists, strict=True):
        if isinstance(found, ProviderError):
            notes.append(missing(part, found))
            continue
        notes += found.notes
        for call in found.calls:
            if call.call_id not in seen and keep(call):
                seen.add(call.call_id)
                calls.append(call)
    return calls, notes


async def scan_joined(
    load: Callable[[], Awaitable[tuple[list[LiveCall], list[str]]]],
    *,
    query: ListQuery,
    local_filters: list[str],
    offset: int,
    limit: int,
) -> ProviderSlice:
    """``limit`` calls from ``offset`` of the list ``load`` joins (loaded once, when first asked);
    its notes make the total unknown (a part is missing or cut short)."""
    joined: list[LiveCall] | None = None
    notes: list[str] = []

    async def fetch(position: int, count: int) -> UpstreamPage:
        nonlocal joined
        if joined is None:
            joined, found_notes = await load()
            notes.extend(found_notes)
        chunk: list[LiveCall | None] = list(joined[position : position + count])
        return UpstreamPage(chunk, exhausted=position + count >= len(joined), total=len(joined))

    found = await scan(fetch, query=query, local_filters=local_filters, offset=offset, limit=limit)
    return dataclasses.replace(found, notes=notes, total=None) if notes else found
