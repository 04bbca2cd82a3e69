"""List pages of the Retell family's answers and their entries: reading each entry on its own,
skipping calls already listed, spotting a page that starts over, and the notes that say so."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from mcp_livecalls.core.models import LiveCall
from mcp_livecalls.providers.base import LiveCallsProvider, PageGuard, ProviderSlice

__all__ = [
    "FirstPages",
    "ListedPage",
    "noting_unreadable",
    "read_entries",
    "unreadable_note",
    "unseen_entries",
]

_MAX_KNOWN_IDS = 4096
"""How many filters' first pages one provider instance remembers."""
_MAX_NOTED_IDS = 3


@dataclass(frozen=True)
class ListedPage:
    """One answer of a member's list as read: its raw entries and what it says of the rest."""

    records: list[Any]
    more: bool
    """Whether upstream has items after this page."""
    total: int | None
    next_key: str | None = None
    """The key that asks for the items after this page (Retell's ``pagination_key``)."""


def read_entries(
    provider: LiveCallsProvider, records: list[Any], read: Callable[[Any], LiveCall | None]
) -> tuple[list[LiveCall | None], list[str]]:
    """``read`` of each list entry, and the names of the entries that could not be read.

    One unreadable entry costs that entry, not the page: its slot stays ``None`` so the offsets
    of the others hold. Several entries none of which can be read are not one odd entry but an
    answer that is not what the provider documents: ``BadResponse``, as a whole page is.
    """
    calls: list[LiveCall | None] = []
    failed: list[tuple[Any, TypeError | ValueError]] = []
    for record in records:
        if record is None:  # a slot already emptied (a call listed earlier in the scan)
            calls.append(None)
            continue
        try:
            calls.append(read(record))
        except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            calls.append(None)
            failed.append((record, exc))
    if len(failed) > 1 and len(failed) == sum(record is not None for record in records):
        raise provider.http.translated(failed[0][1])
    return calls, [_entry_name(provider, record) for record, _ in failed]


def unseen_entries(records: list[Any], guard: PageGuard, *, known: bool = False) -> list[Any]:
    """``records`` with each call already listed in this scan (by ``id``, else ``call_id``)
    replaced by ``None``, so its slot keeps the offsets. A page that adds nothing (or is ``known``:
    a first page again) stops ``guard``'s list with its note. A record without a readable id is
    kept as it is (``read_entries`` judges it)."""
    fresh = guard.fresh([_entry_id(record) for record in records], known=known)
    return [record if new else None for record, new in zip(records, fresh, strict=True)]


def _entry_id(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    return next((v for v in (record.get("id"), record.get("call_id")) if isinstance(v, str)), None)


class FirstPages:
    """The ids the first page of each filter's list answered (bounded), so a later page that
    starts over with them (a server ignoring ``page``, ``skip`` or the key) is seen even when the
    caller pages on in a later request."""

    def __init__(self) -> None:
        self._ids: OrderedDict[Any, tuple[str, ...]] = OrderedDict()

    def starts_over(self, slot: Any, first: bool, records: list[Any]) -> bool:
        """Remembers ``records`` when ``first``; else whether they are the first page again."""
        ids = tuple(i for i in map(_entry_id, records) if i is not None)
        if first:
            self._ids[slot] = ids
            self._ids.move_to_end(slot)
            while len(self._ids) > _MAX_KNOWN_IDS:
                self._ids.popitem(last=False)
            return False
        return bool(ids) and self._ids.get(slot) == ids


def _entry_name(provider: LiveCallsProvider, record: Any) -> str:
    """An unreadable entry's id if it has a printable one, else ``?``."""
    if isinstance(record, dict):
        for key in ("id", "call_id"):
            value = record.get(key)
            if isinstance(value, str) and provider.accepts_call_id(value):
                return value
    return "?"


def noting_unreadable(provider: LiveCallsProvider, found: ProviderSlice, names: list[str]) -> ProviderSlice:
    """``found`` with a note for the list entries left out because they could not be read."""
    if not names:
        return found
    return replace(found, notes=[*found.notes, unreadable_note(provider, names)])


def unreadable_note(provider: LiveCallsProvider, names: list[str]) -> str:
    """The slice's note for list entries left out because they could not be read."""
    count = len(names)
    shown = ", ".join(name for name in names[:_MAX_NOTED_IDS] if name != "?")
    more = f" (e.g. {shown})" if shown else ""
    entries = "entry" if count == 1 else "entries"
    return provider.http.redact(
        f"left out {count} list {entries} that could not be read{more}; the rest of the page stands"
    )
