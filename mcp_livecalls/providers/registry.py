"""The adapter classes, loaded from the catalog's names: ``providers/<name>/adapter.py`` each.

Everything that names "every provider" derives from ``mcp_livecalls.core.catalog`` (names and
titles) and from ``PROVIDERS`` here (what each adapter offers); a new provider is its folder and
one line of the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import import_module
from typing import Any

import httpx2

from mcp_livecalls.core.catalog import NAMES, join_words, names, title_of, titles
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.providers.base import LiveCallsProvider
from mcp_livecalls.upstream.pacing import Pacing, SharePacer
from mcp_livecalls.upstream.policy import HttpPolicy

__all__ = [
    "NAMES",
    "PROVIDERS",
    "build_providers",
    "names",
    "provider_class",
    "title_of",
    "titles",
    "titles_offering",
]


def _load(name: str) -> type[LiveCallsProvider]:
    module = import_module(f"mcp_livecalls.providers.{name}.adapter")
    adapter = getattr(module, "ADAPTER", None)
    if not (
        isinstance(adapter, type) and issubclass(adapter, LiveCallsProvider) and adapter.name.value == name
    ):
        raise ImportError(f"{module.__name__} must name its LiveCallsProvider for {name!r} as ADAPTER")
    return adapter


PROVIDERS: tuple[type[LiveCallsProvider], ...] = tuple(_load(name) for name in NAMES)
"""The adapter classes, in the catalog's order."""


def provider_class(name: str) -> type[LiveCallsProvider] | None:
    return next((cls for cls in PROVIDERS if cls.name.value == name), None)


def titles_offering(field: str) -> str:
    """``Zudu``: the titles of the providers whose calls carry ``field`` (their capabilities)."""
    return join_words([cls.title() for cls in PROVIDERS if field in cls.capabilities.fields], "and")


def build_providers(
    configured: Mapping[ProviderName, Any],
    policy: HttpPolicy,
    client: httpx2.AsyncClient,
    now: Callable[[], datetime],
    *,
    share_pacer: SharePacer | None = None,
) -> dict[ProviderName, LiveCallsProvider]:
    """One adapter per configured provider (``configured``: each one's settings), all sharing
    ``client`` and the HTTP ``policy``; with ``share_pacer`` (a fleet's) each provider's pacer is
    shared by every replica of its rate limit's account."""
    return {
        cls.name: cls.create(
            settings,
            client,
            policy,
            now,
            Pacing(account=f"{cls.name.value}:{cls.pacing_account(settings)}", share=share_pacer),
        )
        for cls in PROVIDERS
        if (settings := configured.get(cls.name)) is not None
    }
