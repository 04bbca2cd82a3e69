"""Coalescing and the freshness window: one upstream request for many askers, never stale."""

from __future__ import annotations

import anyio
import pytest

from mcp_livecalls.errors import ProviderUnavailable
from mcp_livecalls.service.cache import FreshnessCache

pytestmark = pytest.mark.anyio

WAIT_S = 30.0
"""Every wait here is bounded by this, far above what it takes (no time passes in these tests)."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_concurrent_askers_share_one_upstream_request() -> None:
    cache = FreshnessCache(ttl_s=0)
    release = anyio.Event()
    calls = 0

    async def fetch() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "answer"

    answers: list[str] = []

    async def ask() -> None:
        answers.append(await cache.get("k", fetch))

    with anyio.fail_after(WAIT_S):
        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(ask)
            await anyio.wait_all_tasks_blocked()
            release.set()

    assert (calls, answers) == (1, ["answer"] * 50)


async def test_an_answer_is_served_again_only_within_its_ttl() -> None:
    clock = FakeClock()
    cache = FreshnessCache(ttl_s=1.0, clock=clock)
    counter = iter(range(100))

    async def fetch() -> int:
        return next(counter)

    first = await cache.get("k", fetch)
    clock.now += 0.999
    again = await cache.get("k", fetch)
    clock.now += 0.001
    after_ttl = await cache.get("k", fetch)

    assert (first, again, after_ttl) == (0, 0, 1)


async def test_errors_are_shared_with_waiters_but_never_cached() -> None:
    cache = FreshnessCache(ttl_s=60)
    attempts = 0

    async def failing() -> str:
        nonlocal attempts
        attempts += 1
        raise ProviderUnavailable("zudu", "Zudu is unavailable right now (503).")

    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await cache.get("k", failing)

    assert attempts == 2


async def test_a_cancelled_request_does_not_strand_the_requests_waiting_on_it() -> None:
    cache = FreshnessCache(ttl_s=0)
    leader_started = anyio.Event()

    async def never() -> str:
        leader_started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def quick() -> str:
        return "fresh"

    result: list[str] = []
    with anyio.fail_after(WAIT_S):
        async with anyio.create_task_group() as group:
            leader_scope = anyio.CancelScope()

            async def leader() -> None:
                with leader_scope:
                    await cache.get("k", never)

            async def follower() -> None:
                result.append(await cache.get("k", quick))

            group.start_soon(leader)
            await leader_started.wait()
            group.start_soon(follower)
            await anyio.wait_all_tasks_blocked()
            leader_scope.cancel()

    assert result == ["fresh"]
