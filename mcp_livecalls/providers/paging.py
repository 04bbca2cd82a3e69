"""Paging: from an upstream offset, a slice of calls that pass the filters (``scan``).

Upstream paging differs per provider (UUID list, offset/limit, 0-based pages, cursors); ``scan``
gives them one shape: from an upstream *offset*, collect up to ``limit`` calls that pass the
filters the provider could not apply itself, remembering for each call the upstream offset just
after it. The aggregator pages across providers with those offsets, so no call is skipped or
repeated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mcp_livecalls.core.models import LiveCall
from mcp_livecalls.core.query import ListQuery

__all__ = ["MAX_SCAN_PAGES", "Positioned", "ProviderSlice", "UpstreamPage", "scan"]

MAX_SCAN_PAGES = 10
"""Upstream pages one list call reads at most while filtering locally (bounds the work)."""


@dataclass(frozen=True)
class Positioned:
    call: LiveCall
    next_offset: int
    """The upstream offset just after this call: where the next page starts if it is the last taken."""


@dataclass(frozen=True)
class ProviderSlice:
    items: list[Positioned]
    exhausted: bool
    """True when nothing lies upstream beyond ``scanned_to``."""
    scanned_to: int
    """The upstream offset where scanning stopped: the next page starts here once every item is taken."""
    total: int | None = None
    local_filters: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What is partial about this slice (a part of the provider that failed, a list cut short), in
    plain words: the service puts the provider's name in front, once."""


@dataclass(frozen=True)
class UpstreamPage:
    calls: list[LiveCall | None]
    """One entry per upstream item; ``None`` for an item that vanished (ended between requests)."""
    exhausted: bool
    total: int | None = None


async def scan(
    fetch: Callable[[int, int], Awaitable[UpstreamPage]],
    *,
    query: ListQuery,
    local_filters: list[str],
    offset: int,
    limit: int,
) -> ProviderSlice:
    """Collect up to ``limit`` calls from upstream ``offset``, filtering locally as needed.

    Each call is normalized (``query.prepare``: numbers in E.164) before the local filters see it,
    so the ``number`` filter compares like with like whatever form the provider writes.
    """
    items: list[Positioned] = []
    position = offset
    total: int | None = None
    for _ in range(MAX_SCAN_PAGES):
        page = await fetch(position, limit)
        total = None if local_filters else page.total
        for index, raw in enumerate(page.calls):
            call = None if raw is None else query.prepare(raw)  # numbers in E.164 before filtering
            if call is not None and query.keeps(call, local_filters):
                items.append(Positioned(call, position + index + 1))
                if len(items) == limit:
                    rest_of_page = index + 1 < len(page.calls)
                    return ProviderSlice(
                        items,
                        exhausted=page.exhausted and not rest_of_page,
                        scanned_to=position + index + 1,
                        total=total,
                        local_filters=local_filters,
                    )
        position += len(page.calls)
        if page.exhausted or not page.calls:
            return ProviderSlice(
                items, exhausted=True, scanned_to=position, total=total, local_filters=local_filters
            )
    # The scan bound was reached before the page filled: the next page resumes where scanning stopped.
    return ProviderSlice(
        items, exhausted=False, scanned_to=position, total=total, local_filters=local_filters
    )
