"""The one error tree of mcp-livecalls.

Everything the package raises on purpose is a ``LiveCallsError``::

    LiveCallsError
    ├── ConfigError                 settings missing, half-set or malformed
    ├── InvalidArgument             a tool argument or cursor the server refuses before any request
    │   ├── AmbiguousCall           two providers know the same call id
    │   └── TooManyWatches          a subscription beyond a session's or the server's watch limit
    └── ProviderError               an upstream provider failed (carries ``provider``)
        ├── AuthError               401 / 403: credentials rejected
        ├── CallNotFound            404: the call is not live (it may have ended)
        ├── RateLimited             429: too many requests (carries ``retry_after``)
        ├── ProviderUnavailable     5xx, timeouts, connection errors, the tool's time budget spent
        └── BadResponse             a body that is not what the provider documents

Foreign exceptions (httpx2, pydantic, json) are translated into this tree in one place,
``mcp_livecalls.upstream.translate``; the server maps each class once to an MCP tool error. Messages are
written for a model or a person reading the tool result: they say what happened and what to
do, name the provider, and never carry a credential, a full URL or a traceback.
"""

from __future__ import annotations

import math

__all__ = [
    "AmbiguousCall",
    "AuthError",
    "BadResponse",
    "CallNotFound",
    "ConfigError",
    "InvalidArgument",
    "LiveCallsError",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "TooManyWatches",
]


class LiveCallsError(Exception):
    """Base of every error this package raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(LiveCallsError):
    """The environment does not describe a usable configuration."""


class InvalidArgument(LiveCallsError):
    """A tool argument (or cursor) was refused before any upstream request."""


class AmbiguousCall(InvalidArgument):
    """A call id without a provider matched calls at more than one provider."""

    def __init__(self, call_id: str, providers: list[str]) -> None:
        names = ", ".join(providers)
        super().__init__(
            f"Call id {call_id!r} is live at more than one provider ({names}); "
            f"call again with provider set to one of them."
        )
        self.providers = providers


class TooManyWatches(InvalidArgument):
    """A subscription would exceed a watch limit; ``limit`` and ``setting`` name it."""

    def __init__(self, message: str, *, limit: int, setting: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.setting = setting


class ProviderError(LiveCallsError):
    """An upstream provider failed; ``provider`` names it."""

    def __init__(self, provider: str, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.status_code = status_code


class AuthError(ProviderError):
    """The provider rejected the credentials (401) or the account lacks access (403)."""


class CallNotFound(ProviderError):
    """The provider does not know the call as live."""

    def __init__(self, provider: str, call_id: str, *, across: bool = False) -> None:
        who = f"No configured provider ({provider}) has" if across else f"{_title(provider)} has no"
        what = f"a live call {call_id!r}" if across else f"live call {call_id!r}"
        super().__init__(
            provider,
            f"{who} {what}: it is not live (it may have ended) or the id is wrong.",
            status_code=404,
        )
        self.call_id = call_id


class RateLimited(ProviderError):
    """The provider answered 429 and retries did not get through."""

    def __init__(self, provider: str, retry_after: float | None) -> None:
        wait = _retry_wait(retry_after)
        super().__init__(
            provider, f"{_title(provider)} is rate limiting requests (429).{wait}", status_code=429
        )
        self.retry_after = retry_after


def _retry_wait(retry_after: float | None) -> str:
    """``Retry after 30s.``; never ``infs`` or ``nans`` whatever a provider sent."""
    if retry_after is None or math.isnan(retry_after):
        return " Retry in a few seconds."
    if retry_after >= _DAY_S:
        return " Retry after more than a day (the provider's Retry-After)."
    return f" Retry after {max(0.0, retry_after):g}s."


_DAY_S = 86_400.0


class ProviderUnavailable(ProviderError):
    """The provider could not be reached, timed out, or answered 5xx."""


class BadResponse(ProviderError):
    """The provider answered with a body that does not match its documentation."""


TITLES: dict[str, str] = {}
"""How prose names each provider (``Retell AI``): filled by ``core.catalog``, which sits above
this module, when it is imported (before any provider can fail)."""


def _title(provider: str) -> str:
    return TITLES.get(provider) or provider[:1].upper() + provider[1:]
