"""Zudu live calls (placeholder until its adapter lands)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx2

from mcp_livecalls.config import ZuduSettings
from mcp_livecalls.http import HttpPolicy
from mcp_livecalls.models import LiveCall, ProviderName, StreamDetails
from mcp_livecalls.providers.base import Capabilities, ListQuery, LiveCallsProvider, ProviderSlice


class ZuduProvider(LiveCallsProvider):
    name = ProviderName.ZUDU
    credential_vars = ()
    capabilities = Capabilities(upstream_filters=(), fields=())

    @classmethod
    def create(
        cls,
        settings: ZuduSettings,
        client: httpx2.AsyncClient,
        policy: HttpPolicy,
        now: Callable[[], datetime],
    ) -> ZuduProvider:
        raise NotImplementedError

    async def get_call(self, call_id: str) -> LiveCall:
        raise NotImplementedError

    async def list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        raise NotImplementedError

    async def get_stream(self, call_id: str) -> StreamDetails:
        raise NotImplementedError
