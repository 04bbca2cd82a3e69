"""The adapter classes, loaded from the catalog's names: ``providers/<name>/adapter.py`` each.

Everything that names "every provider" derives from ``mcp_livecalls.core.catalog`` (names and
titles) and from ``PROVIDERS`` here (what each adapter offers); a new provider is its folder and
one line of the catalog. A provider that pushes has ``providers/<name>/webhook.py`` too, ending
with ``READER = ...`` (a ``providers.hooks.WebhookReader``): ``READERS`` here, by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import import_module
from importlib.util import find_spec
from typing import Any

import httpx2

from mcp_livecalls.core.catalog import NAMES, join_words, names, title_of, titles
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.providers.base import LiveCallsProvider
from mcp_livecalls.providers.hooks import WebhookReader
from mcp_livecalls.upstream.pacing import Pacing, SharePacer
from mcp_livecalls.upstream.policy import HttpPolicy

__all__ = [
    "NAMES",
    "PROVIDERS",
    "READERS",
    "build_providers",
    "build_readers",
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


def _load_reader(name: str) -> type[WebhookReader] | None:
    """The folder's webhook reader, or ``None`` when the provider has none (it is always polled)."""
    where = f"mcp_livecalls.providers.{name}.webhook"
    if find_spec(where) is None:
        return None
    reader = getattr(import_module(where), "READER", None)
    if not (isinstance(reader, type) and issubclass(reader, WebhookReader) and reader.provider.value == name):
        raise ImportError(f"{where} must name its WebhookReader for {name!r} as READER")
    return reader


READERS: Mapping[ProviderName, type[WebhookReader]] = {
    ProviderName(name): reader for name in NAMES if (reader := _load_reader(name)) is not None
}
"""The webhook readers of the providers that push, by name (in the catalog's order)."""


def build_readers(configured: Mapping[ProviderName, Any]) -> dict[ProviderName, WebhookReader]:
    """One reader per configured provider that pushes and whose verification secret is known."""
    return {
        name: reader
        for name, cls in READERS.items()
        if (settings := configured.get(name)) is not None
        and (reader := cls.from_settings(settings)) is not None
    }


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
