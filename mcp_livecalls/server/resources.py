"""The resources and completions, one constructor each, registered from ``RESOURCES``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp_types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from mcp_livecalls.core.catalog import names
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.core.views import CallerView, caller_view
from mcp_livecalls.errors import InvalidArgument, LiveCallsError
from mcp_livecalls.service.paging import MAX_LIMIT

if TYPE_CHECKING:
    from mcp_livecalls.server.app import LiveCallsApp

__all__ = ["RESOURCES"]


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _provider_param(value: str) -> ProviderName:
    try:
        return ProviderName(value)
    except ValueError:
        raise InvalidArgument(f"Unknown provider {value!r}: use {names('or')}.") from None


def providers_resource(server: MCPServer[Any], app: LiveCallsApp) -> None:
    @server.resource(
        "livecalls://providers",
        name="providers",
        title="Configured providers",
        description="Which providers are configured, what each supports (tools, filters, fields), "
        "and whether its live updates are pushed (webhooks) or polled.",
        mime_type="application/json",
    )
    def providers_resource() -> str:
        return _json(app.pushed.describe(app.service.overview()).structured())


def active_calls_resource(server: MCPServer[Any], app: LiveCallsApp) -> None:
    @server.resource(
        "livecalls://calls/active",
        name="active-calls",
        title="Active calls",
        description=f"The first {MAX_LIMIT} live calls across every configured provider, newest first.",
        mime_type="application/json",
    )
    async def active_calls_resource() -> str:
        with app.resource_errors("livecalls://calls/active"):
            view = caller_view()
            page = await app.service.list_active_calls(ListQuery(), limit=MAX_LIMIT, view=view)
            return _json(app.shape_page(page, view).structured())


_Read = Callable[[str, ProviderName, CallerView], Awaitable[dict[str, Any]]]


def _call_template(
    server: MCPServer[Any], app: LiveCallsApp, suffix: str, about: tuple[str, str, str]
) -> None:
    """Register ``livecalls://calls/{provider}/{call_id}<suffix>`` (``about``: name, title,
    description), read with the caller's view read once; failures are the protocol's resource
    errors."""
    name, title, description = about

    async def read_call(call_id: str, provider: ProviderName, view: CallerView) -> dict[str, Any]:
        call = await app.service.get_live_call(call_id, provider, view=view)
        return app.shape_call(call, "brief", view).structured()

    async def read_stream(call_id: str, provider: ProviderName, view: CallerView) -> dict[str, Any]:
        details = await app.service.get_stream_details(call_id, provider, view=view)
        return app.shape_stream(details, "brief", view).structured()

    read: _Read = read_stream if suffix == "/stream" else read_call

    @server.resource(
        f"livecalls://calls/{{provider}}/{{call_id}}{suffix}",
        name=name,
        title=title,
        description=description,
        mime_type="application/json",
    )
    async def call_template(provider: str, call_id: str, ctx: Context[Any, Any]) -> str:
        uri = f"livecalls://calls/{provider}/{call_id}{suffix}"
        with app.resource_errors(uri, ctx.protocol_version):
            return _json(await read(call_id, _provider_param(provider), caller_view()))


def call_resource(server: MCPServer[Any], app: LiveCallsApp) -> None:
    about = ("live-call", "A live call", "One live call, as get_live_call with detail=brief.")
    _call_template(server, app, "", about)


def stream_resource(server: MCPServer[Any], app: LiveCallsApp) -> None:
    about = (
        "live-call-stream",
        "A live call's stream details",
        "Legs, bridge, recording and media detail of one live call, as get_stream_details.",
    )
    _call_template(server, app, "/stream", about)


def completions(server: MCPServer[Any], app: LiveCallsApp) -> None:
    @server.completion()  # type: ignore[no-untyped-call, untyped-decorator]  # the SDK leaves it untyped
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        """Complete provider names and live call ids for the templates and prompts."""
        prefix = argument.value or ""
        view = caller_view()
        if argument.name == "provider":
            values = [p.value for p in app.service.visible_to(view) if p.value.startswith(prefix)]
            return Completion(values=values, total=len(values), has_more=False)
        if argument.name != "call_id":
            return None
        chosen = (context.arguments or {}).get("provider") if context else None
        provider = ProviderName(chosen) if chosen in {p.value for p in ProviderName} else None
        try:
            page = await app.service.list_active_calls(
                ListQuery(), provider=provider, limit=MAX_LIMIT, view=view
            )
        except LiveCallsError:
            return Completion(values=[], total=0, has_more=False)
        ids = [call.call_id for call in page.calls if call.call_id.startswith(prefix)]
        return Completion(
            values=ids[:100], total=len(ids), has_more=len(ids) > 100 or page.next_cursor is not None
        )


RESOURCES: tuple[Callable[[MCPServer[Any], LiveCallsApp], None], ...] = (
    providers_resource,
    active_calls_resource,
    call_resource,
    stream_resource,
    completions,
)
"""Every resource (and template), then the completions for the templates' arguments."""
