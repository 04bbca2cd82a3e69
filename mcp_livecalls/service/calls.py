"""What the tools and resources do, independent of MCP: find calls across providers, page lists.

Every provider is asked concurrently. One provider failing never fails the others: a list page
carries what it has plus a short note per failed provider; a lookup without ``provider`` answers
from the provider that knows the call and reports an id two providers know as ambiguous.

One deadline per call: ``tool_budget_s`` (``LIVECALLS_TOOL_BUDGET_S``) bounds a whole lookup or
list page, across every provider, retry, pacer wait and fallback (the remembered provider first,
then everyone); each step gets what is left. A provider still silent at the deadline is reported
as not having answered in time, never as not knowing the call.

Phone numbers leave the service in E.164 whatever form the provider writes (``phone.NumberStyle``,
one per provider): lookups are normalized here, list pages inside ``scan`` through the query each
provider is handed, so that the local ``number`` filter compares normalized numbers.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Generic, TypeVar

import anyio

from mcp_livecalls.core.catalog import title_of
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
from mcp_livecalls.core.views import caller_view
from mcp_livecalls.errors import (
    AmbiguousCall,
    CallNotFound,
    InvalidArgument,
    LiveCallsError,
    ProviderError,
    ProviderUnavailable,
)
from mcp_livecalls.providers.base import LiveCallsProvider, Positioned, ProviderSlice, call_id_error
from mcp_livecalls.providers.tasks import gather
from mcp_livecalls.service.cache import FreshnessCache
from mcp_livecalls.service.homes import Homes
from mcp_livecalls.upstream.pacing import is_background

logger = logging.getLogger(__name__)

__all__ = ["MAX_LIMIT", "CursorCodec", "LiveCallsService"]

MAX_LIMIT = 100
_DONE = -1
_MAX_OFFSET = 10_000_000
_T = TypeVar("_T")


@dataclass(frozen=True)
class _Outcome(Generic[_T]):
    provider: ProviderName
    value: _T | None = None
    error: ProviderError | None = None
    late: bool = False
    """The provider did not answer before the call's deadline (``error`` says so)."""


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
    ) -> None:
        self._providers = dict(providers)
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
        """The providers the current caller may see (``auth.caller_view``): every configured one
        on stdio and with the shared token; those of its ``livecalls:read:<provider>`` scopes for
        an OAuth caller. Every lookup, list, cursor and overview goes through here."""
        return caller_view().visible(self._providers)

    # -- lookups ---------------------------------------------------------------------------

    async def get_live_call(self, call_id: str, provider: ProviderName | None = None) -> LiveCall:
        async def fetch(adapter: LiveCallsProvider) -> LiveCall:
            return self.number_styles[adapter.name].call(await adapter.get_call(call_id))

        return await self._homed(
            call_id,
            provider,
            lambda adapter: self.cache.get(_key(adapter.name, "call", call_id), lambda: fetch(adapter)),
            self._deadline(),
        )

    async def get_stream_details(self, call_id: str, provider: ProviderName | None = None) -> StreamDetails:
        async def fetch(adapter: LiveCallsProvider) -> StreamDetails:
            return self.number_styles[adapter.name].stream(await adapter.get_stream(call_id))

        return await self._homed(
            call_id,
            provider,
            lambda adapter: self.cache.get(_key(adapter.name, "stream", call_id), lambda: fetch(adapter)),
            self._deadline(),
        )

    async def _homed(
        self,
        call_id: str,
        provider: ProviderName | None,
        op: Callable[[LiveCallsProvider], Awaitable[_T]],
        deadline: float,
    ) -> _T:
        """``_find``, with the call's home loaded from (and told to) the fleet's shared memo."""
        if provider is not None:
            return await self._find(call_id, provider, op, deadline)
        await self._homes.load(call_id)
        try:
            return await self._find(call_id, provider, op, deadline)
        finally:
            with anyio.CancelScope(shield=True):
                await self._homes.sync(call_id)

    async def _find(
        self,
        call_id: str,
        provider: ProviderName | None,
        op: Callable[[LiveCallsProvider], Awaitable[_T]],
        deadline: float,
    ) -> _T:
        if provider is not None:
            adapter = self._adapter(provider)
            adapter.check_call_id(call_id)
            outcome = await self._ask(provider, op, deadline)
            if outcome.error is not None:
                raise outcome.error
            assert outcome.value is not None
            return outcome.value
        home = self._homes.get(call_id)
        if home is not None and home in self.providers:
            answered = await self._ask(home, op, deadline)
            if answered.value is not None:
                return answered.value
            if answered.late:
                # The whole budget went waiting for the provider that knows the call: say so.
                assert answered.error is not None
                raise answered.error
            # Gone there (ended) or failing: ask everyone with what is left, as on a first lookup.
            self._homes.pop(call_id, None)  # a concurrent lookup may have dropped it already
        candidates = [name for name, adapter in self.providers.items() if adapter.accepts_call_id(call_id)]
        if not candidates:
            if not self.providers:
                raise InvalidArgument("No provider is configured.")
            longest = max(adapter.max_call_id_length for adapter in self.providers.values())
            raise call_id_error(call_id, max_length=longest)  # no provider was named: name none
        outcomes = await self._ask_all(candidates, op, deadline)
        found = [o for o in outcomes if o.value is not None]
        if len(found) == 1:
            assert found[0].value is not None
            self._remember_home(call_id, found[0].provider)
            return found[0].value
        if len(found) > 1:
            raise AmbiguousCall(call_id, [o.provider.value for o in found])
        failed = [o for o in outcomes if o.error is not None and not isinstance(o.error, CallNotFound)]
        if not failed:
            raise CallNotFound(", ".join(c.value for c in candidates), call_id, across=len(candidates) > 1)
        if len(outcomes) == 1:
            assert failed[0].error is not None
            raise failed[0].error
        raise ProviderUnavailable(failed[0].provider.value, _unsettled(call_id, outcomes, self.tool_budget_s))

    def _remember_home(self, call_id: str, provider: ProviderName) -> None:
        self._homes.remember(call_id, provider)

    # -- lists -----------------------------------------------------------------------------

    async def list_active_calls(
        self,
        query: ListQuery,
        *,
        provider: ProviderName | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> ActiveCallsPage:
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgument(f"limit must be between 1 and {MAX_LIMIT}; got {limit}.")
        if query.number is not None:  # a bad number fails here, before any upstream request
            NumberFilter.parse(query.number, region=self.default_region)
            caller_view().check_number_filter(query.number)
        targets = [self._adapter(provider).name] if provider is not None else list(self.providers)
        fingerprint = _fingerprint(query, provider)
        positions = self.cursors.decode(cursor, fingerprint, targets) if cursor else dict.fromkeys(targets, 0)
        pending = [name for name in targets if positions.get(name, _DONE) != _DONE]

        async def one(adapter: LiveCallsProvider) -> ProviderSlice:
            offset = positions[adapter.name]
            # The provider's number style travels with the query: scan normalizes before filtering.
            asked = replace(query, style=self.number_styles[adapter.name])
            return await self.cache.get(
                _key(adapter.name, "list", asked, offset, limit),
                lambda: adapter.list_active(asked, offset, limit),
            )

        outcomes = await self._ask_all(pending, one, self._deadline())
        slices = {o.provider: o.value for o in outcomes if o.value is not None}
        failures = [
            ProviderFailure(provider=o.provider, reason=str(o.error)) for o in outcomes if o.error is not None
        ]
        taken = _merge_newest_first(slices, limit)

        next_positions = dict(positions)
        for name, provider_slice in slices.items():
            count = taken.get(name, 0)
            if count == len(provider_slice.items):
                next_positions[name] = _DONE if provider_slice.exhausted else provider_slice.scanned_to
            elif count:
                next_positions[name] = provider_slice.items[count - 1].next_offset
        calls = _merged_calls(slices, taken)
        more_elsewhere = any(next_positions[name] != _DONE for name in slices)
        # A failed provider keeps its position while others page on; on the last page it is
        # reported in ``failures`` instead of holding the cursor open forever.
        next_cursor = self.cursors.encode(next_positions, fingerprint) if more_elsewhere else None

        notes = [
            f"{name.value}: {', '.join(s.local_filters)} filtered locally (not supported upstream)"
            for name, s in slices.items()
            if s.local_filters
        ]
        notes += [f"{name.value}: {note}" for name, s in slices.items() for note in s.notes]
        totals = [s.total for s in slices.values()]
        total = (
            sum(t for t in totals if t is not None)
            if totals and None not in totals and not failures
            else None
        )
        return ActiveCallsPage(
            calls=calls, total=total, next_cursor=next_cursor, notes=notes, failures=failures
        )

    def overview(self) -> ProvidersOverview:
        infos: list[ProviderInfo] = []
        for name in ProviderName:
            adapter = self.providers.get(name)
            infos.append(adapter.info() if adapter else ProviderInfo(name=name, configured=False))
        return ProvidersOverview(providers=infos)

    # -- plumbing ----------------------------------------------------------------------------

    def _adapter(self, provider: ProviderName) -> LiveCallsProvider:
        caller_view().require(provider)  # a provider outside the caller's scopes: say which scope
        adapter = self.providers.get(provider)
        if adapter is None:
            configured = ", ".join(p.value for p in self.providers) or "none"
            raise InvalidArgument(
                f"Provider {provider.value!r} is not configured (configured: {configured}); "
                f"see the README for its environment variables."
            )
        return adapter

    def _deadline(self) -> float:
        """When the call that starts now must have its answer (``anyio.current_time`` seconds)."""
        return anyio.current_time() + self.tool_budget_s

    async def _ask(
        self, name: ProviderName, op: Callable[[LiveCallsProvider], Awaitable[_T]], deadline: float
    ) -> _Outcome[_T]:
        """Run ``op`` against one provider until ``deadline``; failures become an outcome."""
        adapter = self.providers[name]
        with anyio.CancelScope(deadline=deadline):
            try:
                return _Outcome(name, value=await op(adapter))
            except ProviderError as exc:
                return _Outcome(name, error=exc)
            except LiveCallsError:
                raise  # an argument refused before any request: the caller's, not the provider's
            except Exception as exc:
                # Logged whole through the redacting log filter; the caller sees the kind only.
                logger.error("the %s adapter failed", name.value, exc_info=exc)
                title = title_of(name.value)
                kind = type(exc).__name__
                said = f"{title} could not be asked: mcp-livecalls hit an internal error ({kind})."
                error = ProviderUnavailable(name.value, said)
                return _Outcome(name, error=error)
        # Only this scope's deadline gets here: a cancellation from outside propagates.
        title = title_of(name.value)
        error = ProviderUnavailable(
            name.value,
            f"{title} did not answer within {self.tool_budget_s:g}s (the time budget of one call, "
            f"LIVECALLS_TOOL_BUDGET_S); try again in a moment.",
        )
        return _Outcome(name, error=error, late=True)

    async def _ask_all(
        self,
        names: list[ProviderName],
        op: Callable[[LiveCallsProvider], Awaitable[_T]],
        deadline: float,
    ) -> list[_Outcome[_T]]:
        # The first error that is not an outcome (raised as itself, not in an exception group) wins.
        return await gather([functools.partial(self._ask, name, op, deadline) for name in names])


def _unsettled(call_id: str, outcomes: Sequence[_Outcome[_T]], budget_s: float) -> str:
    """Why a lookup across providers found nothing for sure: who did not answer (in time), and
    who answered that the call is not live there. Never "not found" for a provider that did not
    answer: the call may well be live there."""
    late = [o.provider.value for o in outcomes if o.late]
    failed = [
        o for o in outcomes if o.error is not None and not o.late and not isinstance(o.error, CallNotFound)
    ]
    absent = [o.provider.value for o in outcomes if isinstance(o.error, CallNotFound)]
    parts = (
        [f"{', '.join(late)} did not answer within {budget_s:g}s (LIVECALLS_TOOL_BUDGET_S)"] if late else []
    )
    parts += [f"{o.provider.value}: {o.error}" for o in failed]
    message = f"Call {call_id!r} could not be looked up at every provider: {'; '.join(parts)}."
    if absent:
        message += f" It is not live at {', '.join(absent)}."
    unsure = ", ".join([*late, *(o.provider.value for o in failed)])
    return f"{message} It may be live at {unsure}: try again, or set provider."


def _key(*parts: Hashable) -> Hashable:
    """A cache key; a poller's reads (background) are kept apart from tool calls', so a tool call
    never joins a request that waits at the back of a provider's pacer."""
    return (*parts, "background") if is_background() else parts


_EPOCH = datetime.min.replace(tzinfo=UTC)


def _merge_newest_first(slices: Mapping[ProviderName, ProviderSlice], limit: int) -> dict[ProviderName, int]:
    """How many items to take from the head of each provider's slice (a k-way merge by start time).

    Only prefixes are taken, so each provider's position stays exact: nothing skipped or repeated.
    """
    heads = dict.fromkeys(slices, 0)
    taken = 0
    while taken < limit:
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
    return heads


def _merged_calls(
    slices: Mapping[ProviderName, ProviderSlice], taken: Mapping[ProviderName, int]
) -> list[LiveCall]:
    chosen: list[Positioned] = []
    for name, provider_slice in slices.items():
        chosen.extend(provider_slice.items[: taken.get(name, 0)])
    chosen.sort(key=lambda item: (item.call.started_at or _EPOCH, item.call.provider.value), reverse=True)
    return [item.call for item in chosen]


def _fingerprint(query: ListQuery, provider: ProviderName | None) -> str:
    parts = [provider.value if provider else None, query.direction, query.agent_id, query.status]
    if query.number is not None:  # only then: cursors of queries without it stay valid across versions
        parts.append(query.number.strip())
    if (binding := caller_view().cursor_binding()) is not None:
        parts.append(f"view:{binding}")  # a provider-scoped caller's cursor is theirs alone
    return json.dumps(parts, default=str)


_OFFSET = re.compile(r"[0-9]{1,8}")


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
            "x" if positions[name] == _DONE else str(positions[name])
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
                positions[name] = _DONE
            elif _OFFSET.fullmatch(part) and int(part) <= _MAX_OFFSET:
                positions[name] = int(part)
            else:
                raise invalid
        return positions
