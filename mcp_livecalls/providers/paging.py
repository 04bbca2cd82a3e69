"""Paging: from an upstream offset, a slice of calls that pass the filters (``scan``).

Upstream paging differs per provider (UUID list, offset/limit, 0-based pages, cursors); ``scan``
gives them one shape: from an upstream *offset*, collect up to ``limit`` calls that pass the
filters the provider could not apply itself, remembering for each call the upstream offset just
after it. The aggregator pages across providers with those offsets, so no call is skipped or
repeated. ``PageGuard`` is the one rule for when an upstream list's own paging must stop: a cursor
it gave before, a page that adds no call not listed already, or a bound on pages; each stop is
said once in ``notes`` (in plain words: the service puts the provider's name in front).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field

from mcp_livecalls.core.models import LiveCall
from mcp_livecalls.core.query import ListQuery

__all__ = ["MAX_SCAN_PAGES", "PageGuard", "Positioned", "ProviderSlice", "UpstreamPage", "scan"]

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
    more: Annotated[Callable[[int], Awaitable[ProviderSlice]] | None, Field(exclude=True)] = field(
        default=None, compare=False, repr=False
    )
    """Reads on from ``scanned_to``, up to the given number of calls, reusing what this slice read
    (a Plivo-family UUID list): the slice a ``list_active`` at ``scanned_to`` would give. ``None``
    when there is nothing more, or the slice came from the fleet's cache (never shared)."""

    def extended(self, later: ProviderSlice) -> ProviderSlice:
        """This slice followed by ``later``, the slice read on from ``scanned_to``."""
        return ProviderSlice(
            [*self.items, *later.items],
            exhausted=later.exhausted,
            scanned_to=later.scanned_to,
            total=later.total,
            local_filters=self.local_filters,
            notes=[*self.notes, *(note for note in later.notes if note not in self.notes)],
            more=later.more,
        )


@dataclass(frozen=True)
class UpstreamPage:
    calls: list[LiveCall | None]
    """One entry per upstream item; ``None`` for an item that vanished (ended between requests)."""
    exhausted: bool
    total: int | None = None


class PageGuard:
    """One upstream list read page by page, and when its paging stops.

    ``page()`` before each request (``False``, with a note, once ``max_pages`` were asked);
    ``follows(cursor)`` before following a next-page cursor (``False``, with a note, for one
    given before); ``fresh(ids)`` for each page's call ids (which are new; a page with ids none of
    which is new stops the list, with a note). ``list_name`` and ``calls`` word the notes (``the
    in-progress list``, ``in-progress calls``); the provider's name is never in them.
    """

    def __init__(self, *, max_pages: int, list_name: str = "the list", calls: str = "live calls") -> None:
        self.max_pages = max_pages
        self.list_name = list_name
        self.calls = calls
        self.notes: list[str] = []
        self.seen: set[str] = set()
        """The call ids listed so far."""
        self.stopped = False
        self._cursors: set[Hashable] = set()
        self._pages = 0

    def page(self) -> bool:
        """Whether another page may be asked; at the bound the list stops with a note."""
        if self.stopped:
            return False
        if self._pages >= self.max_pages:
            return self._stop(
                f"{self.list_name} was read to {self.max_pages} pages ({len(self.seen)} calls) and "
                f"stopped; more {self.calls} may exist"
            )
        self._pages += 1
        return True

    def follows(self, cursor: Hashable, *, known: bool = False) -> bool:
        """Whether to follow ``cursor``: not when it was given before (or ``known`` says it leads
        back to a page already read)."""
        if known or cursor in self._cursors:
            return self._stop(
                f"{self.list_name} gave a next-page cursor it had given before (a repeated cursor); "
                f"paging stopped there, so more {self.calls} may exist"
            )
        self._cursors.add(cursor)
        return True

    def fresh(self, ids: Sequence[str | None], *, known: bool = False) -> list[bool]:
        """For each id of a page, whether it is new (``None``, no id: left to the reader). A page
        with ids none of which is new, or one ``known`` to be a page read before (a first page
        again, in a later request), adds nothing: the list stops with a note."""
        new: list[bool] = []
        added: set[str] = set()
        for one in ids:
            new.append(one is None or (one not in self.seen and one not in added))
            if one is not None:
                added.add(one)
        named = [is_new for one, is_new in zip(ids, new, strict=True) if one is not None]
        if named and (known or not any(named)):
            self._stop(
                f"a page of {self.list_name} repeated calls already listed (it added nothing); "
                f"paging stopped there, so more {self.calls} may exist"
            )
            return [False] * len(ids)
        self.seen |= added
        return new

    def _stop(self, note: str) -> bool:
        self.stopped = True
        if note not in self.notes:
            self.notes.append(note)
        return False


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
