"""Provider adapters behind one interface (``LiveCallsProvider``) and the registry that builds them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import httpx2

from mcp_livecalls.models import ProviderName
from mcp_livecalls.providers.base import LiveCallsProvider, ProviderSlice
from mcp_livecalls.providers.registry import PROVIDERS
from mcp_livecalls.query import ListQuery

if TYPE_CHECKING:
    from mcp_livecalls.config import Settings

__all__ = [
    "PROVIDERS",
    "ListQuery",
    "LiveCallsProvider",
    "ProviderSlice",
    "build_providers",
]


def build_providers(
    settings: Settings, client: httpx2.AsyncClient, now: Callable[[], datetime]
) -> dict[ProviderName, LiveCallsProvider]:
    """One adapter per configured provider, all sharing ``client`` and the settings' HTTP policy."""
    return {
        cls.name: cls.create(configured, client, settings.http, now)
        for cls in PROVIDERS
        if (configured := settings.providers.get(cls.name)) is not None
    }
