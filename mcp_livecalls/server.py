"""The MCP server: tools, resources and prompts over ``LiveCallsService``.

``create_server(settings)`` builds an ``MCPServer`` with no module-level state. The shared HTTP
client and the provider adapters live in a ``LiveCallsApp`` that the server's lifespan opens
and closes; concurrent sessions of one server (several in-memory clients, or streamable HTTP)
share it, and so share its connection pool and limits.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import httpx2
from mcp.server import MCPServer
from mcp.server.caching import CacheHint
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from mcp_livecalls import __version__
from mcp_livecalls.config import Settings
from mcp_livecalls.errors import InvalidArgument, LiveCallsError, ProviderError
from mcp_livecalls.http import Redactor
from mcp_livecalls.models import (
    ActiveCallsPage,
    CallStatus,
    Direction,
    LiveCall,
    ProviderName,
    StreamDetails,
)
from mcp_livecalls.providers import build_providers
from mcp_livecalls.providers.base import ListQuery
from mcp_livecalls.render import (
    Detail,
    prepare_call,
    prepare_page,
    prepare_stream,
    render_call,
    render_page,
    render_stream,
)
from mcp_livecalls.service import MAX_LIMIT, LiveCallsService

__all__ = ["LiveCallsApp", "create_server"]

logger = logging.getLogger(__name__)

INSTRUCTIONS = """\
Live phone calls at the configured telephony providers (Vobiz, Exotel, Zudu), as they happen.
list_active_calls answers "what calls are live right now?" (one line per call; page with cursor).
get_live_call answers for one call: status (queued, ringing, early_media, in_progress, on_hold,
ended, failed), parties, duration, agent, and for Zudu voice agents the recent transcript,
latency and cost. get_stream_details shows legs (muted, on hold, dropped), bridge, recording.
Omit provider to search every configured provider. Data is live: ask again for fresh state."""

_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)

CallId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        description="The provider's call id (Vobiz call_uuid, Exotel call_sid, Zudu id or call_id).",
    ),
]
ProviderArg = Annotated[
    ProviderName | None,
    Field(description="vobiz, exotel or zudu. Omit to ask every configured provider."),
]
DetailArg = Annotated[
    Literal["brief", "full"],
    Field(description="brief (default): recent transcript turns and events only; full: everything."),
]


class LiveCallsApp:
    """What the server needs while it runs: settings, one HTTP client, the service.

    ``running()`` is re-entrant: the first session opens the client, the last one closes it.
    """

    def __init__(self, settings: Settings, *, now: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.now = now or (lambda: datetime.now(UTC))
        self.redact = Redactor(settings.secrets())
        self._service: LiveCallsService | None = None
        self._client: httpx2.AsyncClient | None = None
        self._users = 0

    @property
    def service(self) -> LiveCallsService:
        if self._service is None:
            raise RuntimeError("the server is not running")
        return self._service

    @asynccontextmanager
    async def running(self) -> AsyncIterator[LiveCallsApp]:
        if self._users == 0:
            policy = self.settings.http
            self._client = httpx2.AsyncClient(
                timeout=policy.timeout(),
                limits=httpx2.Limits(
                    max_connections=policy.max_concurrency * 3, max_keepalive_connections=20
                ),
                follow_redirects=False,
                headers={"User-Agent": f"mcp-livecalls/{__version__}", "Accept": "application/json"},
            )
            providers = build_providers(self.settings, self._client, self.now)
            self._service = LiveCallsService(
                providers, tool_budget_s=policy.tool_budget_s, cache_ttl_s=self.settings.cache_ttl_s
            )
        self._users += 1
        try:
            yield self
        finally:
            self._users -= 1
            if self._users == 0:
                client, self._client, self._service = self._client, None, None
                if client is not None:
                    await client.aclose()

    @contextmanager
    def tool_errors(self, tool: str) -> Iterator[None]:
        """Turn the package's errors into MCP tool errors (``isError``) with a redacted message."""
        try:
            yield
        except LiveCallsError as exc:
            message = self.redact(str(exc))
            provider = exc.provider if isinstance(exc, ProviderError) else "-"
            logger.debug("%s failed (%s, %s): %s", tool, type(exc).__name__, provider, message)
            raise ToolError(message) from None

    @contextmanager
    def resource_errors(self) -> Iterator[None]:
        try:
            yield
        except LiveCallsError as exc:
            raise ResourceError(self.redact(str(exc))) from None


def _result(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _provider_param(value: str) -> ProviderName:
    try:
        return ProviderName(value)
    except ValueError:
        raise InvalidArgument(f"Unknown provider {value!r}: use vobiz, exotel or zudu.") from None


def create_server(
    settings: Settings | None = None, *, now: Callable[[], datetime] | None = None
) -> MCPServer[Any]:
    """Build the mcp-livecalls server. ``now`` replaces the wall clock (the simulator's, in tests)."""
    app = LiveCallsApp(settings if settings is not None else Settings.from_env(), now=now)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[LiveCallsApp]:
        async with app.running():
            yield app

    server: MCPServer[Any] = MCPServer(
        "mcp-livecalls",
        title="Live calls",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        cache_hints={"resources/read": CacheHint(ttl_ms=0)},
    )
    settings_ = app.settings

    def shape_call(call: LiveCall, detail: Detail) -> LiveCall:
        return prepare_call(
            call, detail=detail, mask=settings_.mask_numbers, turns=settings_.transcript_turns
        )

    def shape_stream(details: StreamDetails, detail: Detail) -> StreamDetails:
        return prepare_stream(
            details, detail=detail, mask=settings_.mask_numbers, turns=settings_.transcript_turns
        )

    @server.tool(title="Get a live call", annotations=_READ_ONLY)
    async def get_live_call(
        call_id: CallId, provider: ProviderArg = None, detail: DetailArg = "brief"
    ) -> Annotated[CallToolResult, LiveCall]:
        """The state of one call right now: status, parties, duration, agent, legs; for Zudu voice
        agents also the latest transcript turns, latency and cost. Without provider, every
        configured provider is asked and the one that knows the call answers."""
        with app.tool_errors("get_live_call"):
            call = shape_call(await app.service.get_live_call(call_id, provider), detail)
            return _result(render_call(call, detail=detail), call.structured())

    @server.tool(title="List active calls", annotations=_READ_ONLY)
    async def list_active_calls(
        provider: ProviderArg = None,
        direction: Annotated[Direction | None, Field(description="inbound or outbound.")] = None,
        agent_id: Annotated[
            str | None, Field(min_length=1, max_length=128, description="Only calls handled by this agent.")
        ] = None,
        status: Annotated[
            CallStatus | None, Field(description="Only calls in this state, e.g. on_hold.")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Calls per page (1-100).")] = 20,
        cursor: Annotated[
            str | None, Field(max_length=512, description="next_cursor of the previous page.")
        ] = None,
    ) -> Annotated[CallToolResult, ActiveCallsPage]:
        """Calls live right now, newest first, one line each, across every configured provider
        (or one). Filters a provider cannot apply upstream are applied here and said so."""
        with app.tool_errors("list_active_calls"):
            query = ListQuery(direction=direction, agent_id=agent_id, status=status)
            page = await app.service.list_active_calls(query, provider=provider, limit=limit, cursor=cursor)
            page = prepare_page(page, mask=settings_.mask_numbers)
            return _result(render_page(page), page.structured())

    @server.tool(title="Get stream details", annotations=_READ_ONLY)
    async def get_stream_details(
        call_id: CallId, provider: ProviderArg = None, detail: DetailArg = "brief"
    ) -> Annotated[CallToolResult, StreamDetails]:
        """The media side of a live call: each leg (connected, muted, on hold, dropped), the
        bridge, recording, media streams, telephony ids, latency and recent events, plus a plain
        statement of what the provider does not offer."""
        with app.tool_errors("get_stream_details"):
            details = shape_stream(await app.service.get_stream_details(call_id, provider), detail)
            return _result(render_stream(details, detail=detail), details.structured())

    @server.resource(
        "livecalls://providers",
        name="providers",
        title="Configured providers",
        description="Which providers are configured and what each supports (tools, filters, fields).",
        mime_type="application/json",
    )
    def providers_resource() -> str:
        return _json(app.service.overview().structured())

    @server.resource(
        "livecalls://calls/active",
        name="active-calls",
        title="Active calls",
        description=f"The first {MAX_LIMIT} live calls across every configured provider, newest first.",
        mime_type="application/json",
    )
    async def active_calls_resource() -> str:
        with app.resource_errors():
            page = await app.service.list_active_calls(ListQuery(), limit=MAX_LIMIT)
            return _json(prepare_page(page, mask=settings_.mask_numbers).structured())

    @server.resource(
        "livecalls://calls/{provider}/{call_id}",
        name="live-call",
        title="A live call",
        description="One live call, as get_live_call with detail=brief.",
        mime_type="application/json",
    )
    async def call_resource(provider: str, call_id: str) -> str:
        with app.resource_errors():
            call = await app.service.get_live_call(call_id, _provider_param(provider))
            return _json(shape_call(call, "brief").structured())

    @server.resource(
        "livecalls://calls/{provider}/{call_id}/stream",
        name="live-call-stream",
        title="A live call's stream details",
        description="Legs, bridge, recording and media detail of one live call, as get_stream_details.",
        mime_type="application/json",
    )
    async def stream_resource(provider: str, call_id: str) -> str:
        with app.resource_errors():
            details = await app.service.get_stream_details(call_id, _provider_param(provider))
            return _json(shape_stream(details, "brief").structured())

    return server
