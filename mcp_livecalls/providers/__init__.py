"""Provider adapters behind one interface (``LiveCallsProvider``) and the registry that builds them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx2

from mcp_livecalls.config import Settings
from mcp_livecalls.models import ProviderName
from mcp_livecalls.providers.base import ListQuery, LiveCallsProvider, ProviderSlice
from mcp_livecalls.providers.exotel import ExotelProvider
from mcp_livecalls.providers.vobiz import VobizProvider
from mcp_livecalls.providers.zudu import ZuduProvider

__all__ = [
    "ExotelProvider",
    "ListQuery",
    "LiveCallsProvider",
    "ProviderSlice",
    "VobizProvider",
    "ZuduProvider",
    "build_providers",
]


def build_providers(
    settings: Settings, client: httpx2.AsyncClient, now: Callable[[], datetime]
) -> dict[ProviderName, LiveCallsProvider]:
    """One adapter per configured provider, all sharing ``client`` and the settings' HTTP policy."""
    providers: dict[ProviderName, LiveCallsProvider] = {}
    if settings.vobiz is not None:
        providers[ProviderName.VOBIZ] = VobizProvider.create(settings.vobiz, client, settings.http, now)
    if settings.exotel is not None:
        providers[ProviderName.EXOTEL] = ExotelProvider.create(settings.exotel, client, settings.http, now)
    if settings.zudu is not None:
        providers[ProviderName.ZUDU] = ZuduProvider.create(settings.zudu, client, settings.http, now)
    return providers
