"""One page of ``list_active_calls`` across providers: the merge, newest first, and its cursor.

Each provider is read from its own position (an upstream offset); a page takes a prefix of each
provider's slice (a k-way merge by start time), so every position stays exact: nothing skipped or
repeated. A provider whose calls cost a request each is asked for a few and read on while the merge
still takes from it (``wanting``): a call after one the merge passed over can never make the page.
The cursor carries every provider's position, signed with the query it belongs to and,
for a provider-scoped caller, with the providers it may see (``CursorCodec``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime

from mcp_livecalls.core.models import ActiveCallsPage, LiveCall, ProviderFailure, ProviderName
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.core.views import CallerView
from mcp_livecalls.errors import InvalidArgument
from mcp_livecalls.providers.base import Positioned, ProviderSlice

__all__ = ["DONE", "MAX_LIMIT", "CursorCodec", "fingerprint", "merged_page", "wanting"]

MAX_LIMIT = 100
DONE = -1
"""The position of a provider that has nothing more to page."""
_MAX_OFFSET = 10_000_000
_OFFSET = re.compile(r"[0-9]{1,8}")
_EPOCH = datetime.min.replace(tzinfo=UTC)


def fingerprint(query: ListQuery, provider: ProviderName | None, view: CallerView) -> str:
    """What a cursor is bound to: the provider asked for, the filters, and a restricted view."""
    parts = [provider.value if provider else None, query.direction, query.agent_id, query.status]
    if query.number is not None:  # only then: cursors of queries without it stay valid across versions
        parts.append(query.number.strip())
    if (binding := view.cursor_binding()) is not None:
        parts.append(f"view:{binding}")  # a provider-scoped caller's cursor is theirs alone
    return json.dumps(parts, default=str)


def merged_page(
    slices: Mapping[ProviderName, ProviderSlice],
    failures: list[ProviderFailure],
    positions: Mapping[ProviderName, int],
    limit: int,
    next_cursor: Callable[[dict[ProviderName, int]], str],
) -> ActiveCallsPage:
    """The page the providers' ``slices`` make, newest first; ``next_cursor`` encodes where the
    next page starts, asked only while some provider has more."""
    taken = _merge_newest_first(slices, limit)
    next_positions = dict(positions)
    for name, provider_slice in slices.items():
        count = taken.get(name, 0)
        if count == len(provider_slice.items):
            next_positions[name] = DONE if provider_slice.exhausted else provider_slice.scanned_to
        elif count:
            next_positions[name] = provider_slice.items[count - 1].next_offset
    more_elsewhere = any(next_positions[name] != DONE for name in slices)
    # A failed provider keeps its position while others page on; on the last page it is
    # reported in ``failures`` instead of holding the cursor open forever.
    notes = [
        f"{name.value}: {', '.join(s.local_filters)} filtered locally (not supported upstream)"
        for name, s in slices.items()
        if s.local_filters
    ]
    notes += [f"{name.value}: {note}" for name, s in slices.items() for note in s.notes]
    totals = [s.total for s in slices.values()]
    total = (
        sum(t for t in totals if t is not None) if totals and None not in totals and not failures else None
    )
    return ActiveCallsPage(
        calls=_merged_calls(slices, taken),
        total=total,
        next_cursor=next_cursor(next_positions) if more_elsewhere else None,
        notes=notes,
        failures=failures,
    )


def wanting(
    slices: Mapping[ProviderName, ProviderSlice], limit: int, growing: Collection[ProviderName]
) -> tuple[list[ProviderName], int]:
    """Which of the ``growing`` providers (asked for a few calls, able to read on) the merge needs
    more calls from before it can go on, and how many calls it has taken by then; none when the
    page is decided by what the slices hold."""
    return _merge(slices, limit, growing)[1:]


def _merge_newest_first(slices: Mapping[ProviderName, ProviderSlice], limit: int) -> dict[ProviderName, int]:
    """How many items to take from the head of each provider's slice (a k-way merge by start time).

    Only prefixes are taken, so each provider's position stays exact: nothing skipped or repeated.
    """
    return _merge(slices, limit, ())[0]


def _merge(
    slices: Mapping[ProviderName, ProviderSlice], limit: int, growing: Collection[ProviderName]
) -> tuple[dict[ProviderName, int], list[ProviderName], int]:
    """The merge, stopped where a ``growing`` provider's slice is used up (its next call, still
    unread, could be the newest): the heads, those providers, and the calls taken."""
    heads = dict.fromkeys(slices, 0)
    taken = 0
    while taken < limit:
        short = [name for name in growing if heads[name] == len(slices[name].items)]
        if short:
            return heads, short, taken
        best: tuple[datetime, str, ProviderName] | None = None
        for name, provider_slice in slices.items():
            index = heads[name]
            if index < len(provider_slice.items):
                started = provider_slice.items[index].call.started_at or _EPOCH
                key = (started, name.value, name)
                if best is None or key[:2] > best[:2]:
                    best = key
        if best is None:
            break
        heads[best[2]] += 1
        taken += 1
    return heads, [], taken


def _merged_calls(
    slices: Mapping[ProviderName, ProviderSlice], taken: Mapping[ProviderName, int]
) -> list[LiveCall]:
    chosen: list[Positioned] = []
    for name, provider_slice in slices.items():
        chosen.extend(provider_slice.items[: taken.get(name, 0)])
    chosen.sort(key=lambda item: (item.call.started_at or _EPOCH, item.call.provider.value), reverse=True)
    return [item.call for item in chosen]


class CursorCodec:
    """Opaque, short, tamper-proof cursors: ``<offset per provider>.<tag>``.

    The tag is an HMAC over the offsets *and* the query they belong to, so a cursor with forged
    offsets, or one replayed with other filters, is refused before any upstream request. The key
    is derived from the configured credentials, so every replica of one deployment accepts the
    others' cursors and nobody without the credentials can mint one.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_secrets(cls, secrets: Sequence[str]) -> CursorCodec:
        if not secrets:
            return cls(os.urandom(32))
        material = "\0".join(["mcp-livecalls cursor v1", *sorted(secrets)])
        return cls(hashlib.sha256(material.encode()).digest())

    def _tag(self, fingerprint: str, offsets: str) -> str:
        return hmac.new(self._key, f"{fingerprint}|{offsets}".encode(), hashlib.sha256).hexdigest()[:12]

    def encode(self, positions: Mapping[ProviderName, int], fingerprint: str) -> str:
        """``x`` marks a provider that is done. Short on purpose: a model copies it back."""
        offsets = ".".join(
            "x" if positions[name] == DONE else str(positions[name])
            for name in ProviderName
            if name in positions
        )
        return f"{offsets}.{self._tag(fingerprint, offsets)}"

    def decode(self, cursor: str, fingerprint: str, targets: list[ProviderName]) -> dict[ProviderName, int]:
        invalid = InvalidArgument(
            "cursor is not valid for this query: pass back next_cursor from the previous page "
            "with the same provider and filters, or omit cursor to start over."
        )
        offsets, _, tag = cursor.rpartition(".")
        ordered = [name for name in ProviderName if name in targets]
        parts = offsets.split(".")
        if len(cursor) > 128 or len(parts) != len(ordered):
            raise invalid
        if not hmac.compare_digest(tag.encode(), self._tag(fingerprint, offsets).encode()):
            raise invalid
        positions: dict[ProviderName, int] = {}
        for name, part in zip(ordered, parts, strict=True):
            if part == "x":
                positions[name] = DONE
            elif _OFFSET.fullmatch(part) and int(part) <= _MAX_OFFSET:
                positions[name] = int(part)
            else:
                raise invalid
        return positions

    def start(
        self, cursor: str | None, fingerprint: str, targets: list[ProviderName]
    ) -> dict[ProviderName, int]:
        """Where each of ``targets`` is read from: the cursor's positions, or the start."""
        return self.decode(cursor, fingerprint, targets) if cursor else dict.fromkeys(targets, 0)
