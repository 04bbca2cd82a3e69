"""The caller's view: which providers one caller may see and whether numbers show in full.

The front door (``mcp_livecalls.web.oauth``) sets the view from a verified token's scopes for the
length of a request (``viewing_as``); the service, the server and the rendering read it
(``caller_view``). Without sign-in every caller is ``EVERYONE``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.errors import InvalidArgument

__all__ = [
    "EVERYONE",
    "SCOPE_PII",
    "SCOPE_READ",
    "CallerView",
    "ScopeMissing",
    "caller_view",
    "provider_scope",
    "supported_scopes",
    "viewing_as",
]

_T = TypeVar("_T")

SCOPE_READ = "livecalls:read"
"""Required for everything: see live calls."""
SCOPE_PII = "livecalls:pii"
"""Full phone numbers and transcripts; without it numbers keep their last 4 digits."""
_PROVIDER_SCOPE = "livecalls:read:"


def provider_scope(provider: ProviderName) -> str:
    return f"{_PROVIDER_SCOPE}{provider.value}"


def supported_scopes() -> list[str]:
    """Every scope this server understands (its RFC 9728 ``scopes_supported``)."""
    return [SCOPE_READ, SCOPE_PII, *(provider_scope(p) for p in ProviderName)]


@dataclass(frozen=True)
class CallerView:
    """What one caller may see: which providers (``None``: every configured one) and PII."""

    providers: frozenset[ProviderName] | None = None
    pii: bool = True
    subject: str | None = None
    client_id: str | None = None

    @classmethod
    def from_scopes(
        cls, scopes: Iterable[str], *, subject: str | None = None, client_id: str | None = None
    ) -> CallerView:
        granted = set(scopes)
        named = {p for p in ProviderName if provider_scope(p) in granted}
        return cls(
            providers=frozenset(named) if named else None,
            pii=SCOPE_PII in granted,
            subject=subject,
            client_id=client_id,
        )

    def sees(self, provider: ProviderName) -> bool:
        return self.providers is None or provider in self.providers

    def visible(self, providers: dict[ProviderName, _T]) -> dict[ProviderName, _T]:
        """``providers`` as this caller may see them (the very same dict when unrestricted)."""
        if self.providers is None:
            return providers
        return {name: value for name, value in providers.items() if name in self.providers}

    def require(self, provider: ProviderName) -> None:
        """Refuse a provider this caller may not see, naming the scope it needs."""
        if not self.sees(provider):
            raise ScopeMissing.for_provider(provider)

    def check_number_filter(self, number: str) -> None:
        """Without ``livecalls:pii`` a caller sees 4 digits of a number, and may filter by no more
        (a full-number filter would tell whether a given person is on a call)."""
        if not self.pii and sum(ch.isdigit() for ch in number) > 4:
            raise ScopeMissing(
                SCOPE_PII,
                f"Without the scope {SCOPE_PII!r} numbers are shown by their last 4 digits, and number "
                "filters them by those 4 digits only: pass the last 4 digits.",
            )

    def cursor_binding(self) -> str | None:
        """What a list cursor is bound to besides its query: the providers, when restricted."""
        if self.providers is None:
            return None
        return ",".join(sorted(p.value for p in self.providers))


EVERYONE = CallerView()
"""stdio, the shared HTTP token, in-memory clients: every configured provider, numbers in full
(``LIVECALLS_MASK_NUMBERS`` still applies)."""

_CALLER: ContextVar[CallerView] = ContextVar("livecalls_caller", default=EVERYONE)


def caller_view() -> CallerView:
    """The view of the caller whose request is being served (``EVERYONE`` without sign-in)."""
    return _CALLER.get()


@contextmanager
def viewing_as(view: CallerView) -> Iterator[CallerView]:
    token = _CALLER.set(view)
    try:
        yield view
    finally:
        _CALLER.reset(token)


class ScopeMissing(InvalidArgument):
    """Something the caller's token does not cover; ``scope`` names what it would need."""

    def __init__(self, scope: str, message: str) -> None:
        self.scope = scope
        super().__init__(message)

    @classmethod
    def for_provider(cls, provider: ProviderName) -> ScopeMissing:
        scope = provider_scope(provider)
        return cls(
            scope,
            f"Your sign-in does not cover {provider.value} calls: that needs the scope {scope!r}. "
            "Omit provider to see the providers you may read, or sign in again with that scope.",
        )
