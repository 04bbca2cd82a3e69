"""The aggregation rules, with in-memory adapters for what no single upstream can produce
(the same id at two providers, a provider failing while another answers, filter-heavy paging)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from mcp_livecalls.core.models import CallStatus, Direction, LiveCall, ProviderName, StreamDetails
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AmbiguousCall, CallNotFound, ProviderUnavailable
from mcp_livecalls.providers.base import Capabilities, LiveCallsProvider, ProviderSlice, UpstreamPage, scan
from mcp_livecalls.service.calls import LiveCallsService
from mcp_livecalls.upstream.client import ProviderHTTP

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class InMemoryProvider(LiveCallsProvider):
    """An adapter over a list of calls, paging upstream in pages of at most 5."""

    capabilities = Capabilities(upstream_filters=(), fields=("status",))
    credential_vars = ()

    def __init__(self, name: ProviderName, calls: list[LiveCall], *, failing: bool = False) -> None:
        self.name = name  # type: ignore[misc]  # one class plays every provider here
        self.calls = calls
        self.failing = failing
        self.requests = 0
        super().__init__(cast(ProviderHTTP, object()))  # never asked: these calls live in memory

    def _check(self) -> None:
        self.requests += 1
        if self.failing:
            raise ProviderUnavailable(
                self.name.value, f"{self.name.value.capitalize()} is unavailable (503)."
            )

    async def _get_call(self, call_id: str) -> LiveCall:
        self._check()
        for call in self.calls:
            if call.call_id == call_id:
                return call
        raise CallNotFound(self.name.value, call_id)

    async def _get_stream(self, call_id: str) -> StreamDetails:
        call = await self.get_call(call_id)
        return StreamDetails(provider=self.name, call_id=call.call_id)

    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        async def fetch(position: int, count: int) -> UpstreamPage:
            self._check()
            chunk = self.calls[position : position + min(count, 5)]
            return UpstreamPage(
                list(chunk), exhausted=position + len(chunk) >= len(self.calls), total=len(self.calls)
            )

        return await scan(
            fetch, query=query, local_filters=self.local_filters(query), offset=offset, limit=limit
        )


def _calls(provider: ProviderName, count: int, *, start_minute: int = 0) -> list[LiveCall]:
    statuses = [CallStatus.RINGING, CallStatus.IN_PROGRESS, CallStatus.ON_HOLD]
    return [
        LiveCall(
            provider=provider,
            call_id=f"{provider.value}-{i}",
            status=statuses[i % 3],
            direction=Direction.INBOUND if i % 2 else Direction.OUTBOUND,
            started_at=T0 - timedelta(minutes=start_minute + 2 * i),
        )
        for i in range(count)
    ]


def _service(*providers: InMemoryProvider) -> LiveCallsService:
    return LiveCallsService({p.name: p for p in providers}, tool_budget_s=5)


async def _page_all(service: LiveCallsService, query: ListQuery, limit: int) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    for _ in range(200):
        page = await service.list_active_calls(query, limit=limit, cursor=cursor)
        assert len(page.calls) <= limit
        seen += [(c.provider.value, c.call_id) for c in page.calls]
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("paging did not end")


async def test_an_id_known_at_two_providers_is_ambiguous_not_guessed() -> None:
    same = "shared-id"
    exotel = InMemoryProvider(
        ProviderName("exotel"),
        [LiveCall(provider=ProviderName("exotel"), call_id=same, status=CallStatus.RINGING)],
    )
    zudu = InMemoryProvider(
        ProviderName("zudu"),
        [LiveCall(provider=ProviderName("zudu"), call_id=same, status=CallStatus.IN_PROGRESS)],
    )

    with pytest.raises(AmbiguousCall, match=r"more than one provider \(exotel, zudu\)"):
        await _service(exotel, zudu).get_live_call(same)
    assert (await _service(exotel, zudu).get_live_call(same, ProviderName("zudu"))).provider is ProviderName(
        "zudu"
    )


async def test_a_call_found_at_one_provider_is_answered_even_when_another_fails() -> None:
    vobiz = InMemoryProvider(ProviderName("vobiz"), _calls(ProviderName("vobiz"), 3))
    exotel = InMemoryProvider(ProviderName("exotel"), [], failing=True)

    call = await _service(vobiz, exotel).get_live_call("vobiz-1")

    assert call.call_id == "vobiz-1"


class BrokenProvider(InMemoryProvider):
    """An adapter with a bug: what no upstream can make a correct adapter do."""

    async def _get_call(self, call_id: str) -> LiveCall:
        raise RuntimeError("a bug in this adapter")

    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        raise RuntimeError("a bug in this adapter")


async def test_a_bug_in_one_adapter_costs_only_its_own_part_of_a_lookup_and_a_list(
    caplog: pytest.LogCaptureFixture,
) -> None:
    vobiz = InMemoryProvider(ProviderName("vobiz"), _calls(ProviderName("vobiz"), 3))
    broken = BrokenProvider(ProviderName("exotel"), [])
    service = _service(vobiz, broken)

    call = await service.get_live_call("vobiz-1")
    page = await service.list_active_calls(ListQuery(), limit=10)

    assert call.call_id == "vobiz-1"
    assert [c.call_id for c in page.calls] == ["vobiz-0", "vobiz-1", "vobiz-2"]
    assert [(f.provider.value, f.reason) for f in page.failures] == [
        ("exotel", "Exotel could not be asked: mcp-livecalls hit an internal error (RuntimeError).")
    ]
    assert "a bug in this adapter" in caplog.text  # the traceback is logged for whoever runs it


async def test_a_call_found_nowhere_while_a_provider_failed_says_so() -> None:
    vobiz = InMemoryProvider(ProviderName("vobiz"), _calls(ProviderName("vobiz"), 3))
    exotel = InMemoryProvider(ProviderName("exotel"), [], failing=True)

    with pytest.raises(ProviderUnavailable, match="exotel: Exotel is unavailable"):
        await _service(vobiz, exotel).get_live_call("nowhere")


@pytest.mark.parametrize("limit", [1, 3, 7, 20])
async def test_merged_paging_returns_every_call_once_newest_first_within_each_provider(limit: int) -> None:
    providers = [
        InMemoryProvider(ProviderName("vobiz"), _calls(ProviderName("vobiz"), 11)),
        InMemoryProvider(ProviderName("exotel"), _calls(ProviderName("exotel"), 4, start_minute=1)),
        InMemoryProvider(ProviderName("zudu"), _calls(ProviderName("zudu"), 9, start_minute=3)),
    ]

    seen = await _page_all(_service(*providers), ListQuery(), limit)

    assert sorted(seen) == sorted((p.name.value, c.call_id) for p in providers for c in p.calls)


async def test_local_filters_page_through_long_runs_of_non_matching_calls() -> None:
    # 60 calls of which only every third is on hold: many upstream pages hold no match.
    vobiz = InMemoryProvider(ProviderName("vobiz"), _calls(ProviderName("vobiz"), 60))
    query = ListQuery(status=CallStatus.ON_HOLD)

    seen = await _page_all(_service(vobiz), query, limit=2)
    first = await _service(vobiz).list_active_calls(query, limit=2)

    assert seen == [("vobiz", c.call_id) for c in vobiz.calls if c.status is CallStatus.ON_HOLD]
    assert first.notes == ["vobiz: status filtered locally (not supported upstream)"]
    assert first.total is None  # upstream's total counts calls the filter drops


async def test_a_failing_provider_is_reported_and_does_not_hold_the_cursor_open() -> None:
    vobiz = InMemoryProvider(ProviderName("vobiz"), _calls(ProviderName("vobiz"), 5))
    zudu = InMemoryProvider(ProviderName("zudu"), [], failing=True)

    page = await _service(vobiz, zudu).list_active_calls(ListQuery(), limit=10)

    assert [c.call_id for c in page.calls] == [c.call_id for c in vobiz.calls]
    assert [(f.provider, f.reason) for f in page.failures] == [
        (ProviderName("zudu"), "Zudu is unavailable (503).")
    ]
    assert page.next_cursor is None
    assert page.total is None


async def test_a_lookup_without_provider_asks_only_the_provider_that_answered_before() -> None:
    vobiz = InMemoryProvider(ProviderName("vobiz"), _calls(ProviderName("vobiz"), 3))
    exotel = InMemoryProvider(ProviderName("exotel"), _calls(ProviderName("exotel"), 3))
    service = _service(vobiz, exotel)

    for _ in range(5):
        await service.get_live_call("exotel-2")

    assert (vobiz.requests, exotel.requests) == (1, 5)


async def test_a_call_gone_from_its_provider_is_looked_for_everywhere_again() -> None:
    vobiz = InMemoryProvider(ProviderName("vobiz"), _calls(ProviderName("vobiz"), 3))
    exotel = InMemoryProvider(ProviderName("exotel"), _calls(ProviderName("exotel"), 3))
    service = _service(vobiz, exotel)
    await service.get_live_call("exotel-2")
    exotel.calls = []

    with pytest.raises(CallNotFound, match=r"No configured provider \(vobiz, exotel\)"):
        await service.get_live_call("exotel-2")
    assert (vobiz.requests, exotel.requests) == (2, 3)


class DetailedProvider(InMemoryProvider):
    """Plays a provider whose listed calls cost a request each (the Plivo family); can fail from
    its second list read on."""

    request_per_listed_call = True
    fail_after_first_read = False

    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        if self.fail_after_first_read and self.requests:
            self.failing = True
        return await super()._list_active(query, offset, limit)


async def test_a_provider_whose_calls_cost_a_request_each_is_read_on_while_the_merge_takes_from_it() -> None:
    newest = DetailedProvider(ProviderName("vobiz"), _calls(ProviderName("vobiz"), 30))
    older = [
        InMemoryProvider(name, _calls(name, 10, start_minute=200))
        for name in (ProviderName("exotel"), ProviderName("zudu"))
    ]
    page = await _service(newest, *older).list_active_calls(ListQuery(), limit=20)
    assert [call.call_id for call in page.calls] == [f"vobiz-{i}" for i in range(20)]
    assert page.notes == []
    assert page.next_cursor is not None


async def test_a_provider_that_fails_to_read_on_keeps_the_calls_it_gave_and_the_page_says_so() -> None:
    newest = DetailedProvider(ProviderName("vobiz"), _calls(ProviderName("vobiz"), 30))
    newest.fail_after_first_read = True
    older = [
        InMemoryProvider(name, _calls(name, 10, start_minute=200))
        for name in (ProviderName("exotel"), ProviderName("zudu"))
    ]
    service = _service(newest, *older)
    page = await service.list_active_calls(ListQuery(), limit=20)
    first = [call.call_id for call in page.calls if call.provider is ProviderName("vobiz")]
    assert 0 < len(first) < 20
    assert len(page.calls) == 20  # the older providers fill the rest
    assert any("more calls could not be read" in note for note in page.notes)
    # Nothing skipped: the next page starts at vobiz's next call, once it answers again.
    newest.failing = newest.fail_after_first_read = False
    assert page.next_cursor is not None
    rest = await service.list_active_calls(ListQuery(), limit=20, cursor=page.next_cursor)
    assert rest.calls[0].call_id == f"vobiz-{len(first)}"
