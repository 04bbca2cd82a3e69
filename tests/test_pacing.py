"""Pacing under a provider's published rate limit (Exotel: 200 requests per minute per account)."""

from __future__ import annotations

import httpx2
import pytest

from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.upstream.pacing import LOCAL_PACING, Pacer, Pacing, RequestPacer

pytestmark = pytest.mark.anyio


class FakeTime:
    """A clock that moves only when the pacer sleeps; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


async def test_a_minutes_allowance_goes_out_at_once_and_the_rest_at_the_refill_rate() -> None:
    fake = FakeTime()
    pacer = RequestPacer(120, clock=fake.clock, sleep=fake.sleep)

    for _ in range(120):
        await pacer.acquire()
    await pacer.acquire()
    await pacer.acquire()

    assert fake.sleeps == [0.5, 0.5]  # 120 a minute is one every half second


async def test_remaining_zero_pauses_until_the_providers_reset() -> None:
    fake = FakeTime()
    pacer = RequestPacer(200, clock=fake.clock, sleep=fake.sleep)

    pacer.observe(httpx2.Headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "7"}))
    await pacer.acquire()
    pacer.observe(httpx2.Headers({"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "30"}))
    await pacer.acquire()

    assert fake.sleeps == [7.0]


async def test_an_absurd_reset_never_pauses_for_more_than_a_minute() -> None:
    fake = FakeTime()
    pacer = RequestPacer(200, clock=fake.clock, sleep=fake.sleep)

    pacer.observe(httpx2.Headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "86400"}))
    await pacer.acquire()

    assert fake.sleeps == [60.0]


def test_exotel_is_paced_at_its_documented_limit_unless_configured_otherwise() -> None:
    env = {"EXOTEL_ACCOUNT_SID": "sid", "EXOTEL_API_KEY": "key", "EXOTEL_API_TOKEN": "token"}

    default = Settings.from_env(env).provider(ProviderName("exotel"))
    lowered = Settings.from_env({**env, "EXOTEL_REQUESTS_PER_MINUTE": "50"}).provider(ProviderName("exotel"))

    assert default is not None
    assert lowered is not None
    assert (default.requests_per_minute, lowered.requests_per_minute) == (200.0, 50.0)


def test_a_provider_is_built_with_its_own_pacer_or_the_one_its_pacing_shares() -> None:
    shared: list[tuple[RequestPacer, str]] = []

    def share(local: RequestPacer, account: str) -> Pacer:
        shared.append((local, account))
        return local

    pacing = Pacing(account="exotel:ACC-SECRET", share=share)
    paced = pacing.pacer(200, burst=None, background_share=0.5)

    assert LOCAL_PACING.pacer(None, burst=None, background_share=0.5) is None  # no published limit
    assert isinstance(LOCAL_PACING.pacer(300, burst=60, background_share=0.5), RequestPacer)
    assert shared == [(paced, "exotel:ACC-SECRET")]  # the fleet wraps the provider's own pacer
    assert isinstance(paced, RequestPacer)
    assert paced.capacity == 200
    assert "ACC-SECRET" not in repr(pacing)  # the account is a credential
