"""The tools, one constructor each, registered from ``TOOLS`` (``create_server`` registers them).

Each tool call reads the caller's view (``caller_view``) once and hands it to the service and to
the output policy (``LiveCallsApp.shape_*``), so one request sees one view throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from mcp_livecalls.core.models import (
    ActiveCallsPage,
    CallStateWait,
    CallStatus,
    Direction,
    LiveCall,
    ProviderName,
    StreamDetails,
)
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.core.views import CallerView, caller_view
from mcp_livecalls.errors import CallNotFound
from mcp_livecalls.providers.base import MAX_CALL_ID_LENGTH
from mcp_livecalls.providers.registry import titles_offering
from mcp_livecalls.server.board import board_meta
from mcp_livecalls.server.render import render_call, render_page, render_stream, render_wait
from mcp_livecalls.service.paging import MAX_LIMIT
from mcp_livecalls.service.polling import poll_until_final
from mcp_livecalls.service.wakes import applied

if TYPE_CHECKING:
    from mcp_livecalls.server.app import LiveCallsApp

__all__ = ["DEFAULT_WAIT_S", "MAX_WAIT_S", "MIN_WAIT_S", "TOOLS"]

_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)

CallId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_CALL_ID_LENGTH,
        # The same words for any number of providers: each one's id is named in livecalls://providers.
        description="The provider's own call id, as list_active_calls shows it.",
    ),
]
ProviderArg = Annotated[
    ProviderName | None,
    Field(description="Omit to ask every configured provider."),
]
DetailArg = Annotated[
    Literal["brief", "full"],
    Field(description="brief: recent transcript turns and events only; full: everything."),
]

_VOICE_AGENTS = titles_offering("transcript")
"""The providers whose calls are voice agents (they keep a transcript)."""


def result(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def get_live_call(server: MCPServer[Any], app: LiveCallsApp) -> None:
    @server.tool(
        title="Get a live call",
        annotations=_READ_ONLY,
        description=(
            "One call right now: status, parties, duration, agent, legs (ids: get_stream_details);\n"
            f"        for {_VOICE_AGENTS} voice agents also recent transcript turns, latency and cost.\n"
            "        Without provider, every configured provider is asked."
        ),
    )
    async def get_live_call(
        call_id: CallId, provider: ProviderArg = None, detail: DetailArg = "brief"
    ) -> Annotated[CallToolResult, LiveCall]:
        with app.tool_errors("get_live_call"):
            view = caller_view()
            call = app.shape_call(await app.service.get_live_call(call_id, provider, view=view), detail, view)
            return result(render_call(call, detail=detail), call.structured())


def list_active_calls(server: MCPServer[Any], app: LiveCallsApp) -> None:
    @server.tool(title="List active calls", annotations=_READ_ONLY, meta=board_meta())
    async def list_active_calls(
        provider: ProviderArg = None,
        direction: Annotated[
            Direction | None, Field(description="Only inbound or only outbound calls.")
        ] = None,
        agent_id: Annotated[
            str | None, Field(min_length=1, max_length=128, description="Only calls handled by this agent.")
        ] = None,
        status: Annotated[CallStatus | None, Field(description="Only calls in this state.")] = None,
        number: Annotated[
            str | None,
            Field(max_length=64, description="A phone number in any form, or its last 4+ digits."),
        ] = None,
        limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Calls per page.")] = 20,
        cursor: Annotated[
            str | None, Field(max_length=512, description="next_cursor of the previous page.")
        ] = None,
    ) -> Annotated[CallToolResult, ActiveCallsPage]:
        """Calls live right now across every configured provider (or one). Under a heading
        "provider status direction:", one line a call, newest first: duration, call id, from→to,
        agent, rec(ording). Filters a provider cannot apply upstream are applied here and said so
        in notes."""
        with app.tool_errors("list_active_calls"):
            view = caller_view()
            query = ListQuery(direction=direction, agent_id=agent_id, status=status, number=number)
            page = await app.service.list_active_calls(
                query, provider=provider, limit=limit, cursor=cursor, view=view
            )
            page = app.shape_page(page, view)
            return result(render_page(page), page.structured())


def get_stream_details(server: MCPServer[Any], app: LiveCallsApp) -> None:
    @server.tool(title="Get stream details", annotations=_READ_ONLY)
    async def get_stream_details(
        call_id: CallId, provider: ProviderArg = None, detail: DetailArg = "brief"
    ) -> Annotated[CallToolResult, StreamDetails]:
        """The media side of a live call: legs (connected, muted, on hold, dropped), bridge,
        recording, media streams, telephony ids, latency, recent events, and what the provider
        does not offer."""
        with app.tool_errors("get_stream_details"):
            view = caller_view()
            details = await app.service.get_stream_details(call_id, provider, view=view)
            details = app.shape_stream(details, detail, view)
            return result(render_stream(details, detail=detail), details.structured())


def wait_for_call_state(server: MCPServer[Any], app: LiveCallsApp) -> None:
    @server.tool(title="Wait for a call state", annotations=_WAITS)
    async def wait_for_call_state(
        call_id: CallId,
        until: Annotated[
            list[CallStatus],
            Field(min_length=1, max_length=8, description="Return once the call is in one of these states."),
        ],
        ctx: Context[Any, Any],
        provider: ProviderArg = None,
        timeout_s: Annotated[
            float,
            Field(
                ge=MIN_WAIT_S,
                le=MAX_WAIT_S,
                description="Give up after this many seconds; longer: call again.",
            ),
        ] = DEFAULT_WAIT_S,
    ) -> Annotated[CallToolResult, CallStateWait]:
        """Wait until a call reaches one of the until states (e.g. in_progress before a transfer),
        ends, or timeout_s passes. Sends progress. Keep timeout_s under your client's request
        timeout (5 s in the OpenAI Agents SDK and ADK unless raised; 55 at most): wait longer
        in a loop of calls."""
        with app.tool_errors("wait_for_call_state"):
            view = caller_view()
            wait = await _wait_for_state(app, ctx, call_id, set(until), provider, timeout_s, view)
            if wait.call is not None:
                wait = wait.model_copy(update={"call": app.shape_call(wait.call, "brief", view)})
            return result(render_wait(wait), wait.structured())


TOOLS: tuple[Callable[[MCPServer[Any], LiveCallsApp], None], ...] = (
    get_live_call,
    list_active_calls,
    get_stream_details,
    wait_for_call_state,
)
"""Every tool, in the order ``tools/list`` shows them."""


MAX_WAIT_S = 55
"""Under the 60 s request timeout of the common clients (the TypeScript SDK, and so Claude
Desktop, VS Code, the Inspector and mcp-remote, unless a caller opts into resetting it on
progress): a longer wait is a loop of calls."""
DEFAULT_WAIT_S = 4
"""Under the 5 s request timeout of the OpenAI Agents SDK (``client_session_timeout_seconds``) and
Google ADK (``StdioConnectionParams.timeout``), so a wait works with their defaults; clients that
wait longer pass a longer ``timeout_s`` (the description says so)."""
MIN_WAIT_S = 0.1
"""An inclusive bound (``minimum``): Gemini's ``Schema`` has no ``exclusiveMinimum``."""
_WAITS = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)


async def _wait_for_state(
    app: LiveCallsApp,
    ctx: Context[Any, Any],
    call_id: str,
    until: set[CallStatus],
    provider: ProviderName | None,
    timeout_s: float,
    view: CallerView,
) -> CallStateWait:
    """Poll the call (through the coalescing cache) until it matches, ends, or time runs out.

    A pushed event about the call ends a pause at once (``LiveCallsApp.pushed``): an event the
    provider signed is the next reading itself, any other makes it now. While the provider
    pushes (and has not gone quiet since the wait began), the pauses are the reconcile interval
    (the events do the waking).

    Runs in the request's own task: when the client cancels the request (or its connection or
    listen stream goes), the SDK cancels this task and the polling stops with it; nothing else
    keeps polling for a request nobody waits for.
    """
    clock = app.clock
    started = clock()
    began = app.now()  # the provider's webhooks are expected from here (``PushedEvents.healthy``)
    deadline = started + timeout_s
    # React quickly, but never poll a provider more often than the subscription floor allows.
    interval = max(min(app.settings.poll_interval_s, 1.0), 0.05)
    last: LiveCall | None = None
    waited = 0.0

    async def read() -> LiveCall:
        nonlocal waited
        waited = round(clock() - started, 3)
        event = wake.take()
        pushed = applied(last, event) if event is not None and last is not None else None
        if pushed is not None:
            return pushed
        with anyio.fail_after(max(0.001, deadline - clock())):
            return await app.service.get_live_call(call_id, provider, view=view)

    async def seen(call: LiveCall) -> CallStateWait | None:
        nonlocal last, provider
        last, provider = call, call.provider  # later polls ask only the provider that answered
        return CallStateWait(outcome="reached", waited_s=waited, call=call) if call.status in until else None

    async def ended(call: LiveCall) -> CallStateWait:
        return CallStateWait(outcome="ended", waited_s=waited, call=call)

    async def gone(error: CallNotFound) -> CallStateWait:
        if last is None:
            raise error
        return CallStateWait(outcome="ended", waited_s=waited, call=last)

    async def pause() -> CallStateWait | None:
        assert last is not None  # pause follows a reading
        await ctx.report_progress(waited, timeout_s, app.redact(f"{last.call_id} is {last.status.value}"))
        remaining = deadline - clock()
        if remaining <= 0:
            return CallStateWait(outcome="timeout", waited_s=round(clock() - started, 3), call=last)
        every = (
            max(app.pushed.reconcile_s, interval) if app.pushed.healthy(last.provider, began) else interval
        )
        await wake.pause(app.sleep, min(every, remaining))
        return None

    with app.pushed.waiting(call_id) as wake:
        try:
            return await poll_until_final(read, seen=seen, ended=ended, gone=gone, pause=pause)
        except TimeoutError:
            return CallStateWait(outcome="timeout", waited_s=waited, call=last)
