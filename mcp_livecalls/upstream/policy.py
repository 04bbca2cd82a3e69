"""The limits of every upstream request and the decision whether a failed one is tried again.

Retries are for idempotent reads only, on 429 (waiting out a ``Retry-After`` up to a cap), 502,
503, 504, timeouts and connection errors, with jittered exponential backoff (stamina, run by
``ProviderHTTP``). Each provider also has a ``RetryBudget``: requests earn retries and retries
spend them, so a provider that is down sees at most a small fraction of extra load instead of
``retry_attempts`` times it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx2

from mcp_livecalls.errors import ProviderUnavailable, RateLimited

__all__ = [
    "MAX_RETRY_AFTER_S",
    "HttpPolicy",
    "RetryBudget",
    "Retryable",
    "backoff_for",
    "retry_after",
]


@dataclass(frozen=True)
class HttpPolicy:
    """Limits for upstream requests. Every field has an environment variable (see config)."""

    connect_timeout_s: float = 3.0
    read_timeout_s: float = 8.0
    request_timeout_s: float = 10.0
    """The whole request, body included: a trickling upstream cannot hold a tool past this."""
    tool_budget_s: float = 15.0
    """A tool answers within this however many requests and retries it needs."""
    retry_attempts: int = 3
    """Attempts per request, the first included; only idempotent reads are retried."""
    retry_wait_initial_s: float = 0.2
    retry_wait_max_s: float = 2.0
    retry_after_cap_s: float = 5.0
    """A ``Retry-After`` longer than this is not waited out: the error goes to the caller."""
    retry_budget: float = 10.0
    """Retries a provider may have in hand (the bucket starts full); each retry spends one."""
    retry_budget_per_request: float = 0.2
    """Retries each request earns: in the long run at most this many retries per request."""
    max_response_bytes: int = 2_000_000
    max_concurrency: int = 20
    """Requests in flight per provider (a Vobiz page of 20 fetches 20 details at once)."""
    background_share: float = 0.5
    """The share of a provider's request rate (its pacer) and of its concurrent request slots
    that subscription pollers may use together; tool calls always have the rest, and go first."""

    def timeout(self) -> httpx2.Timeout:
        return httpx2.Timeout(
            connect=self.connect_timeout_s,
            read=self.read_timeout_s,
            write=self.read_timeout_s,
            pool=self.read_timeout_s,
        )


class RetryBudget:
    """A token bucket of retries for one provider.

    Every request deposits ``per_request`` tokens (up to ``capacity``); every retry withdraws one.
    It starts full, so a short burst of failures is retried; when a provider keeps failing the
    bucket empties and failures go to the caller at once, until requests have earned retries again.
    """

    def __init__(self, capacity: float, per_request: float) -> None:
        self.capacity = max(0.0, capacity)
        self.per_request = max(0.0, per_request)
        self.tokens = self.capacity

    def deposit(self) -> None:
        self.tokens = min(self.capacity, self.tokens + self.per_request)

    def withdraw(self) -> bool:
        """Spend one retry if there is one."""
        if self.tokens >= 1.0 - 1e-9:  # five deposits of 0.2 make a retry, float rounding or not
            self.tokens = max(0.0, self.tokens - 1.0)
            return True
        return False


class Retryable(ProviderUnavailable):
    """A failure worth another attempt (5xx gateway errors, connection errors, timeouts)."""


def backoff_for(exc: BaseException, policy: HttpPolicy) -> bool | float:
    """stamina's answer for ``exc``: ``False`` (give up), ``True`` (back off) or seconds to wait."""
    if isinstance(exc, RateLimited):
        if exc.retry_after is None:
            return True
        # A long Retry-After is the caller's to honour, not a reason to block the tool.
        return exc.retry_after if exc.retry_after <= policy.retry_after_cap_s else False
    return isinstance(exc, Retryable)


MAX_RETRY_AFTER_S = 86_400.0
"""A ``Retry-After`` is read as at most a day (``RateLimited`` then says "more than a day")."""


def retry_after(headers: httpx2.Headers) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delay or HTTP date); ``None`` without one."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds) or seconds < 0:
        return 0.0
    # "inf", "1e999" or a date centuries ahead: no wait anyone could honour; said as "over a day".
    return min(seconds, MAX_RETRY_AFTER_S)
