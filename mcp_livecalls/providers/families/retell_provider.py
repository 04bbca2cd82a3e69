"""What the Retell family's adapters share as a class: the clock, the first pages seen, building
the adapter on a member's wire, and closing a list slice with its notes.

A member declares ``member`` (its ``FamilyMember``) and ``wire`` (its headers and the
secrets they carry); everything else it reads or asks differently stays in its own folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar, Self

from mcp_livecalls.providers.base import LiveCallsProvider, ProviderSlice
from mcp_livecalls.providers.families.retell import FamilyMember
from mcp_livecalls.providers.families.retell_lists import FirstPages, noting_unreadable
from mcp_livecalls.upstream.client import ProviderHTTP

__all__ = ["FamilyProvider"]


class FamilyProvider(LiveCallsProvider):
    """The base of a Retell-family member's adapter."""

    member: ClassVar[FamilyMember]
    """The member's reading specifics (cost, telephony keys, second id)."""

    def __init__(self, http: ProviderHTTP, *, now: Callable[[], datetime]) -> None:
        super().__init__(http)
        self._now = now
        self._first_pages = FirstPages()

    @classmethod
    def built(cls, settings: Any, http: ProviderHTTP, now: Callable[[], datetime]) -> Self:
        return cls(http, now=now)

    def _closing(self, found: ProviderSlice, notes: list[str], unreadable: list[str]) -> ProviderSlice:
        """``found`` with the notes the paging made first, then one for the unreadable entries."""
        found = noting_unreadable(self, found, unreadable)
        return replace(found, notes=[*notes, *found.notes]) if notes else found
