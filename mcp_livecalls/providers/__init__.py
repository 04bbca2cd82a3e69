"""Provider adapters behind one interface (``LiveCallsProvider``); ``registry`` is the one list.

This package's ``__init__`` imports nothing of its own at import time: ``mcp_livecalls.core.models``
reads the provider names from ``registry.NAMES`` to publish ``ProviderName``, and the adapters
import the models.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx2

    from mcp_livecalls.config import Settings
    from mcp_livecalls.core.models import ProviderName
    from mcp_livecalls.providers.base import LiveCallsProvider

__all__ = ["build_providers"]


def build_providers(
    settings: Settings, client: httpx2.AsyncClient, now: Callable[[], datetime]
) -> dict[ProviderName, LiveCallsProvider]:
    """One adapter per configured provider, all sharing ``client`` and the settings' HTTP policy."""
    from mcp_livecalls.providers.registry import PROVIDERS

    return {
        cls.name: cls.create(configured, client, settings.http, now)
        for cls in PROVIDERS
        if (configured := settings.providers.get(cls.name)) is not None
    }
