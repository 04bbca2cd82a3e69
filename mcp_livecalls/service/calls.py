"""What the tools and resources do, independent of MCP: find calls across providers, page lists.

Every provider is asked concurrently (``service.fanout``). One provider failing never fails the
others: a list page carries what it has plus a short note per failed provider (the merge and the
cursor: ``service.paging``); a lookup without ``provider`` answers from the provider that knows
the call and reports an id two providers know as ambiguous.

One deadline per call: ``tool_budget_s`` (``LIVECALLS_TOOL_BUDGET_S``) bounds a whole lookup or
list page, across every provider, retry, pacer wait and fallback (the remembered provider first,
then everyone); each step gets what is left. A provider still silent at the deadline is reported
as not having answered in time, never as not knowing the call.

The caller's view (``core.views``: which providers, whether numbers show in full) is read once
per request, by whoever serves it (a tool passes ``view``; without it the service reads it once),
and handed down.

Phone numbers leave the service in E.164 whatever form the provider writes (``phone.NumberStyle``,
one per provider), a step the service takes for each provider it asks: a lookup's answer is
normalized here; a list query is handed to the provider with that provider's style
(``ListQuery.written_by``), because the adapter's scan must normalize each call *before* its local
``number`` filter compares it (and before it counts the call toward the page's positions).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import TypeVar

import anyio

from mcp_livecalls.core.models import (
    ActiveCallsPage,
    LiveCall,
    ProviderFailure,
    ProviderInfo,
    ProviderName,
    ProvidersOverview,
    StreamDetails,
)
from mcp_livecalls.core.phone import DEFAULT_REGION, NumberFilter, NumberStyle
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.core.views import CallerView, caller_view
from mcp_livecalls.errors import AmbiguousCall, CallNotFound, InvalidArgument, ProviderUnavailable
from mcp_livecalls.providers.base import LiveCallsProvider, ProviderSlice, call_id_error
from mcp_livecalls.service.cache import FreshnessCache
from mcp_livecalls.service.fanout import Op, Outcome, ask, ask_all, unsettled
from mcp_livecalls.service.homes import Homes
from mcp_livecalls.service.paging import DONE, MAX_LIMIT, CursorCodec, fingerprint, merged_page, wanting
from mcp_livecalls.upstream.pacing import is_background

__all__ = ["LiveCallsService"]

_T = TypeVar("_T")


class LiveCallsService:
    def __init__(
        self,
        providers: Mapping[ProviderName, LiveCallsProvider],
        *,
        tool_budget_s: float,
        cache_ttl_s: float = 0.0,
        cursors: CursorCodec | None = None,
        default_region: str = DEFAULT_REGION,
        cache: FreshnessCache | None = None,
        homes: Homes | None = None,
        held: Callable[[LiveCall], LiveCall] | None = None,
    ) -> None:
        self._providers = dict(providers)
        self._held = held
        """A call read from a provider whose readings cannot say on hold, as its webhooks last
        told (``PushedEvents.held``)."""
        self.default_region = default_region
        self.number_styles = {
            name: NumberStyle(default_region, type(adapter).bare_digits_international)
            for name, adapter in self._providers.items()
        }
        self.cursors = cursors or CursorCodec(os.urandom(32))
        self.tool_budget_s = tool_budget_s
        # ``cache`` and ``homes`` are shared by the fleet's replicas when Redis is configured.
        self.cache = cache if cache is not None else FreshnessCache(cache_ttl_s)
        # Which provider answered for a call id, so a lookup without provider asks one, not all.
        self._homes = homes if homes is not None else Homes()

    @property
    def providers(self) -> dict[ProviderName, LiveCallsProvider]:
        """The providers the current caller may see (``caller_view``): every configured one on
        stdio and with the shared token; those of its ``livecalls:read:<provider>`` scopes for an
        OAuth caller (the very same dict when unrestricted)."""
        return self.visible_to(caller_view())

    def visible_to(self, view: CallerView) -> dict[ProviderName, LiveCallsProvider]:
        """The providers ``view`` may see (the configured ones themselves when unrestricted)."""
        return view.visible(self._providers)

    # -- lookups ---------------------------------------------------------------------------

    async def get_live_call(
        self, call_id: str, provider: ProviderName | None = None, *, view: CallerView | None = None
    ) -> LiveCall:
        async def fetch(adapter: LiveCallsProvider) -> LiveCall:
            call = self.number_styles[adapter.name].call(await adapter.get_call(call_id))
            if self._held is not None and not adapter.capabilities.hold_read:
                return self._held(call)
            return call

        return await self._lookup(call_id, provider, "call", fetch, view)

    async def get_stream_details(
        self, call_id: str, provider: ProviderName | None = None, *, view: CallerView | None = None
    ) -> StreamDetails:
        async def fetch(adapter: LiveCallsProvider) -> StreamDetails:
            return self.number_styles[adapter.name].stream(await adapter.get_stream(call_id))

        return await self._lookup(call_id, provider, "stream", fetch, view)

    async def _lookup(
        self, call_id: str, provider: ProviderName | None, kind: str, fetch: Op[_T], view: CallerView | None
    ) -> _T:
        """``fetch`` the call's ``kind`` through the cache, at ``provider`` or wherever it is live,
        with the call's home loaded from (and told to) the fleet's shared memo."""

        def op(adapter: LiveCallsProvider) -> Awaitable[_T]:
            return self.cache.get(_key(adapter.name, kind, call_id), lambda: fetch(adapter))

        view = caller_view() if view is None else view
        deadline = self._deadline()
        if provider is not None:
            return await self._find_at(call_id, self._adapter(provider, view), op, deadline)
        await self._homes.load(call_id)
        try:
            return await self._find(call_id, self.visible_to(view), op, deadline)
        finally:
            with anyio.CancelScope(shield=True):
                await self._homes.sync(call_id)

    async def _find_at(self, call_id: str, adapter: LiveCallsProvider, op: Op[_T], deadline: float) -> _T:
        adapter.check_call_id(call_id)
        outcome = await ask(adapter, op, deadline, self.tool_budget_s)
        if outcome.error is not None:
            raise outcome.error
        assert outcome.value is not None
        return outcome.value

    async def _find(
        self, call_id: str, visible: Mapping[ProviderName, LiveCallsProvider], op: Op[_T], deadline: float
    ) -> _T:
        """The call at its remembered home, or else at every provider that accepts its id."""
        home = self._homes.get(call_id)
        if home is not None and home in visible:
            answered = await ask(visible[home], op, deadline, self.tool_budget_s)
            if answered.value is not None:
                return answered.value
            if answered.late:
                # The whole budget went waiting for the provider that knows the call: say so.
                assert answered.error is not None
                raise answered.error
            # Gone there (ended) or failing: ask everyone with what is left, as on a first lookup.
            self._homes.pop(call_id, None)  # a concurrent lookup may have dropped it already
        candidates = [name for name, adapter in visible.items() if adapter.accepts_call_id(call_id)]
        if not candidates:
            if not visible:
                raise InvalidArgument("No provider is configured.")
            longest = max(adapter.max_call_id_length for adapter in visible.values())
            raise call_id_error(call_id, max_length=longest)  # no provider was named: name none
        outcomes = await ask_all(visible, candidates, op, deadline, self.tool_budget_s)
        return self._settle(call_id, candidates, outcomes)

    def _settle(self, call_id: str, candidates: list[ProviderName], outcomes: list[Outcome[_T]]) -> _T:
        """The one answer among ``outcomes``, or the error that says why there is none."""
        found = [o for o in outcomes if o.value is not None]
        if len(found) == 1:
            assert found[0].value is not None
            self._homes.remember(call_id, found[0].provider)
            return found[0].value
        if len(found) > 1:
            raise AmbiguousCall(call_id, [o.provider.value for o in found])
        failed = [o for o in outcomes if o.error is not None and not isinstance(o.error, CallNotFound)]
        if not failed:
            raise CallNotFound(", ".join(c.value for c in candidates), call_id, across=len(candidates) > 1)
        if len(outcomes) == 1:
            assert failed[0].error is not None
            raise failed[0].error
        raise ProviderUnavailable(failed[0].provider.value, unsettled(call_id, outcomes, self.tool_budget_s))

    # -- lists -----------------------------------------------------------------------------

    async def list_active_calls(
        self,
        query: ListQuery,
        *,
        provider: ProviderName | None = None,
        limit: int = 20,
        cursor: str | None = None,
        view: CallerView | None = None,
    ) -> ActiveCallsPage:
        view = caller_view() if view is None else view
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgument(f"limit must be between 1 and {MAX_LIMIT}; got {limit}.")
        if query.number is not None:  # a bad number fails here, before any upstream request
            NumberFilter.parse(query.number, region=self.default_region)
            view.check_number_filter(query.number)
        visible = self.visible_to(view)
        targets = [self._adapter(provider, view).name] if provider is not None else list(visible)
        bound = fingerprint(query, provider, view)
        positions = self.cursors.start(cursor, bound, targets)
        pending = [name for name in targets if positions.get(name, DONE) != DONE]

        first = _first_ask(limit, len(pending))
        # Numbers normalized in the scan, in each provider's style.
        asked = {name: query.written_by(self.number_styles[name]) for name in pending}
        # Asked for a few calls first: whose calls cost a request each, with every filter upstream
        # (a local filter would make the scan read page after page of the few).
        growing = {
            name
            for name in pending
            if first < limit
            and visible[name].request_per_listed_call
            and not visible[name].local_filters(asked[name])
        }

        async def one(adapter: LiveCallsProvider) -> ProviderSlice:
            name, offset = adapter.name, positions[adapter.name]
            size = first if name in growing else limit
            return await self.cache.get(
                _key(name, "list", asked[name], offset, size),
                lambda: adapter.list_active(asked[name], offset, size),
            )

        deadline = self._deadline()
        outcomes = await ask_all(visible, pending, one, deadline, self.tool_budget_s)
        slices = {o.provider: o.value for o in outcomes if o.value is not None}
        failures = [
            ProviderFailure(provider=o.provider, reason=str(o.error)) for o in outcomes if o.error is not None
        ]
        await self._read_on(visible, slices, growing & set(slices), asked, limit, deadline)
        return merged_page(
            slices, failures, positions, limit, lambda moved: self.cursors.encode(moved, bound)
        )

    async def _read_on(
        self,
        visible: Mapping[ProviderName, LiveCallsProvider],
        slices: dict[ProviderName, ProviderSlice],
        growing: set[ProviderName],
        asked: Mapping[ProviderName, ListQuery],
        limit: int,
        deadline: float,
    ) -> None:
        """Read on at the ``growing`` providers while the merge needs their next calls, as many as
        could still make the page; one failing to read on keeps what it gave (with a note)."""
        growing -= {name for name in growing if slices[name].exhausted}
        for _ in range(len(ProviderName) + 1):  # each round fills the page or ends a provider's growth
            short, taken = wanting(slices, limit, growing)
            if not short:
                return

            more = functools.partial(self._more, slices=slices, asked=asked, count=limit - taken)
            for outcome in await ask_all(visible, short, more, deadline, self.tool_budget_s):
                held = slices[outcome.provider]
                if outcome.value is None:
                    growing.discard(outcome.provider)
                    note = f"more calls could not be read for this page: {outcome.error}"
                    slices[outcome.provider] = dataclasses.replace(held, notes=[*held.notes, note])
                    continue
                slices[outcome.provider] = held.extended(outcome.value)
                if outcome.value.exhausted:
                    growing.discard(outcome.provider)
        growing.clear()

    async def _more(
        self,
        adapter: LiveCallsProvider,
        *,
        slices: Mapping[ProviderName, ProviderSlice],
        asked: Mapping[ProviderName, ListQuery],
        count: int,
    ) -> ProviderSlice:
        """Up to ``count`` calls after ``adapter``'s slice: the slice a list from its ``scanned_to``
        gives (without ``more``, a slice from the fleet's cache, the provider reads its list again)."""
        name, held = adapter.name, slices[adapter.name]
        read_on = held.more

        def fetch() -> Awaitable[ProviderSlice]:
            if read_on is not None:
                return read_on(count)
            return adapter.list_active(asked[name], held.scanned_to, count)

        return await self.cache.get(_key(name, "list", asked[name], held.scanned_to, count), fetch)

    def overview(self, *, view: CallerView | None = None) -> ProvidersOverview:
        visible = self.visible_to(caller_view() if view is None else view)
        infos: list[ProviderInfo] = []
        for name in ProviderName:
            adapter = visible.get(name)
            infos.append(adapter.info() if adapter else ProviderInfo(name=name, configured=False))
        return ProvidersOverview(providers=infos)

    # -- plumbing ----------------------------------------------------------------------------

    def _adapter(self, provider: ProviderName, view: CallerView) -> LiveCallsProvider:
        view.require(provider)  # a provider outside the caller's scopes: say which scope
        visible = self.visible_to(view)
        adapter = visible.get(provider)
        if adapter is None:
            configured = ", ".join(p.value for p in visible) or "none"
            raise InvalidArgument(
                f"Provider {provider.value!r} is not configured (configured: {configured}); "
                f"see the README for its environment variables."
            )
        return adapter

    def _deadline(self) -> float:
        """When the call that starts now must have its answer (``anyio.current_time`` seconds)."""
        return anyio.current_time() + self.tool_budget_s


def _first_ask(limit: int, providers: int) -> int:
    """How many calls a page across ``providers`` first asks of one whose calls cost a request each:
    about twice its share of the page (a third read is rare), and the whole page when it is alone."""
    return limit if providers <= 1 else min(limit, -(-2 * limit // providers) + 1)


def _key(*parts: Hashable) -> Hashable:
    """A cache key; a poller's reads (background) are kept apart from tool calls', so a tool call
    never joins a request that waits at the back of a provider's pacer."""
    return (*parts, "background") if is_background() else parts
