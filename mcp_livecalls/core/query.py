"""The query of ``list_active_calls``: filters every layer reads (service, watcher, adapters).

Number normalisation is the service's step (``LiveCallsService`` picks each provider's
``NumberStyle``); the query only carries that style to the adapter (``written_by``), because the
normalizing has to happen inside the adapter's scan: each call is put in E.164 (``prepare``)
before the local filters compare it and before it counts toward the page's positions, so it
cannot wait until the slice is back in the service.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mcp_livecalls.core.models import CallStatus, Direction, LiveCall
from mcp_livecalls.core.phone import DEFAULT_REGION, NumberFilter, NumberStyle

__all__ = ["FILTERS", "ListQuery"]

FILTERS = ("direction", "agent_id", "status", "number")


@dataclass(frozen=True)
class ListQuery:
    """Filters of ``list_active_calls``; ``None`` means no filter."""

    direction: Direction | None = None
    agent_id: str | None = None
    status: CallStatus | None = None
    number: str | None = None
    """A phone number in any written form, or its last 4+ digits (see ``NumberFilter``)."""
    style: NumberStyle | None = None
    """How the provider being asked writes numbers; not a filter. The service sets it per
    provider (``written_by``), and ``scan`` normalizes each call with it *before* the local
    filters run."""

    def written_by(self, style: NumberStyle) -> ListQuery:
        """This query as handed to a provider that writes numbers in ``style``."""
        return replace(self, style=style)

    def active(self) -> list[str]:
        return [name for name in FILTERS if getattr(self, name) is not None]

    def prepare(self, call: LiveCall) -> LiveCall:
        """``call`` with its numbers in E.164, as every output carries them."""
        return call if self.style is None else self.style.call(call)

    @functools.cached_property
    def number_filter(self) -> NumberFilter | None:
        """``number`` read once per query; ``InvalidArgument`` when it is not a number."""
        if self.number is None:
            return None
        region = self.style.region if self.style is not None else DEFAULT_REGION
        return NumberFilter.parse(self.number, region=region)

    def keeps(self, call: LiveCall, names: Sequence[str]) -> bool:
        """Whether ``call`` passes the filters in ``names`` (the ones applied locally)."""
        if "direction" in names and call.direction != self.direction:
            return False
        if "agent_id" in names and (call.agent is None or call.agent.id != self.agent_id):
            return False
        if "status" in names and call.status != self.status:
            return False
        number = self.number_filter
        return not ("number" in names and number is not None and not number.matches(call))
