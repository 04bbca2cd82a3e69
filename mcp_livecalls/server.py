"""The MCP server: tools, resources and prompts over ``LiveCallsService``.

``create_server(settings)`` builds an ``MCPServer`` with no module-level state. The shared HTTP
client and the provider adapters live in a ``LiveCallsApp`` that the server's lifespan opens
and closes; concurrent sessions of one server (several in-memory clients, or streamable HTTP)
share it, and so share its connection pool and limits.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, cast

import anyio
import httpx2
from mcp.server import MCPServer
from mcp.server.auth.settings import AuthSettings
from mcp.server.caching import CacheHint
from mcp.server.connection import Connection
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    EmptyResult,
    PromptReference,
    ResourceTemplateReference,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    TextContent,
    ToolAnnotations,
    UnsubscribeRequestParams,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import AnyHttpUrl, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_livecalls import __version__
from mcp_livecalls.auth import ScopeMissing, caller_view
from mcp_livecalls.config import Settings
from mcp_livecalls.errors import (
    CallNotFound,
    InvalidArgument,
    LiveCallsError,
    ProviderError,
    TooManyWatches,
)
from mcp_livecalls.fleet.bus import RedisSubscriptionBus
from mcp_livecalls.fleet.cache import SharedFreshnessCache
from mcp_livecalls.fleet.core import Fleet
from mcp_livecalls.fleet.leases import PollLeases
from mcp_livecalls.fleet.memo import SharedHomes
from mcp_livecalls.fleet.metrics import register as register_metrics
from mcp_livecalls.fleet.pacer import SharedPacer
from mcp_livecalls.http import LOG_FILTER, Redactor, RequestPacer
from mcp_livecalls.http_server import SharedTokenVerifier
from mcp_livecalls.models import (
    ActiveCallsPage,
    CallStateWait,
    CallStatus,
    Direction,
    LiveCall,
    ProviderName,
    StreamDetails,
)
from mcp_livecalls.providers import build_providers
from mcp_livecalls.providers.base import MAX_CALL_ID_LENGTH, ListQuery, LiveCallsProvider
from mcp_livecalls.render import (
    Detail,
    prepare_call,
    prepare_page,
    prepare_stream,
    render_call,
    render_page,
    render_stream,
    render_wait,
)
from mcp_livecalls.safety import LONG_TEXT_CAP, clean_text
from mcp_livecalls.service import MAX_LIMIT, CursorCodec, LiveCallsService
from mcp_livecalls.tools import StrictToolServer
from mcp_livecalls.watch import SessionKey, Subscriptions, Watcher, parse_call_uri

__all__ = ["LiveCallsApp", "create_server"]

logger = logging.getLogger(__name__)

INSTRUCTIONS = """\
Live phone calls at the configured telephony providers (Vobiz, Exotel, Zudu), as they happen.
list_active_calls answers "what calls are live right now?" (one line per call; page with cursor).
get_live_call answers for one call: status (queued, ringing, early_media, in_progress, on_hold,
ended, failed, unknown), parties, duration, agent, and for Zudu voice agents the recent transcript,
latency and cost. get_stream_details shows legs (muted, on hold, dropped), bridge, recording.
wait_for_call_state waits for a state, e.g. in_progress before a transfer. Omit provider to search
every configured provider. An argument a tool does not list is refused, never ignored. Data is
live: ask again for fresh state."""

_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)

CallId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_CALL_ID_LENGTH,
        description="The provider's call id (Vobiz call_uuid, Exotel call_sid, Zudu id or call_id).",
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


class LiveCallsApp:
    """What the server needs while it runs: settings, one HTTP client, the service.

    ``running()`` is re-entrant: the first session opens the client, the last one closes it.
    ``sleep`` and ``clock`` (monotonic seconds) pace the pollers and ``wait_for_call_state``;
    tests pass fakes so that time moves only when they say so.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = anyio.current_time,
        fleet: Fleet | None = None,
        lease_clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self.now = now or (lambda: datetime.now(UTC))
        self.sleep = sleep
        self.clock = clock
        exotel = settings.exotel
        basic = [(exotel.api_key.get_secret_value(), exotel.api_token.get_secret_value())] if exotel else []
        self.redact = Redactor(settings.secrets(), pairs=basic)  # every output passes it (redacting())
        LOG_FILTER.register(self.redact)
        # -- fleet: with LIVECALLS_REDIS_URL, replicas share cache, pacing, memo, bus and pollers.
        if fleet is None and settings.redis_url is not None:
            url = settings.redis_url.get_secret_value()
            fleet = Fleet(url, prefix=settings.redis_prefix, secrets=settings.secrets())
        self.fleet = fleet
        self.bus: InMemorySubscriptionBus | RedisSubscriptionBus = (
            InMemorySubscriptionBus() if fleet is None else RedisSubscriptionBus(fleet, self._deliver_legacy)
        )
        leases = (
            None
            if fleet is None
            else PollLeases(fleet, interval_s=settings.poll_interval_s, clock=lease_clock)
        )
        self.watcher = Watcher(
            lambda: self.service,
            self._publish,
            interval_s=settings.poll_interval_s,
            sleep=sleep,
            leases=leases,
        )
        self.subscriptions = Subscriptions(
            self.watcher, max_per_session=settings.max_watches_per_session, max_total=settings.max_watches
        )
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
                providers,
                tool_budget_s=policy.tool_budget_s,
                cache_ttl_s=self.settings.cache_ttl_s,
                cursors=CursorCodec.from_secrets(self.settings.secrets()),
                default_region=self.settings.default_region,
                **self._fleet_parts(providers),
            )
        self._users += 1
        try:
            async with anyio.create_task_group() as pollers:
                if isinstance(self.bus, RedisSubscriptionBus):
                    pollers.start_soon(self.bus.run)  # one reader per app, whichever group runs it
                self.watcher.bind(pollers)
                try:
                    yield self
                finally:
                    self.watcher.unbind(pollers)
                    pollers.cancel_scope.cancel()
        finally:
            self._users -= 1
            if self._users == 0:
                client, self._client, self._service = self._client, None, None
                if client is not None:
                    await client.aclose()
                if self.fleet is not None:
                    await self.fleet.aclose()

    def _fleet_parts(self, providers: Mapping[ProviderName, LiveCallsProvider]) -> dict[str, Any]:
        """With a fleet: the shared cache and memo for the service, shared pacers for the adapters."""
        fleet = self.fleet
        if fleet is None:
            return {}
        for name, adapter in providers.items():
            local = adapter.http.pacer
            if isinstance(local, RequestPacer):
                exotel = self.settings.exotel
                is_exotel = exotel is not None and name is ProviderName.EXOTEL
                account = exotel.account_sid.get_secret_value() if exotel and is_exotel else ""
                adapter.http.pacer = SharedPacer(local, fleet, account=f"{name.value}:{account}")
        return {
            # A crashed leader's lock expires half way through the tool budget: a waiter then
            # still has the other half to ask upstream itself.
            "cache": SharedFreshnessCache(
                self.settings.cache_ttl_s, fleet, lock_ttl_s=self.settings.http.tool_budget_s / 2
            ),
            "homes": SharedHomes(fleet),
        }

    async def _deliver_legacy(self, uri: str) -> None:
        """An update another replica found: send it to this replica's legacy subscribers."""
        for deliver in self.subscriptions.deliverers(uri):
            await deliver(uri)

    async def _publish(self, uri: str) -> None:
        """Announce a change to modern listen streams (the bus) and legacy subscribers alike.

        A legacy send never raises, even to a client that has gone (the SDK drops it): sessions
        are forgotten when their connection ends (``Subscriptions.close``), not here.
        """
        await self.bus.publish(ResourceUpdated(uri=uri))
        for deliver in self.subscriptions.deliverers(uri):
            await deliver(uri)

    @contextmanager
    def tool_errors(self, tool: str) -> Iterator[None]:
        """Turn every failure into an MCP tool error (``isError``) whose text says what happened."""
        try:
            yield
        except LiveCallsError as exc:
            message = clean_text(self.redact(str(exc)), limit=LONG_TEXT_CAP)
            provider = exc.provider if isinstance(exc, ProviderError) else "-"
            logger.debug("%s failed (%s, %s): %s", tool, type(exc).__name__, provider, message)
            raise ToolError(message) from None
        except Exception as exc:  # noqa: BLE001 - the tool boundary: a bug still gets a clear answer
            raise ToolError(self._internal_error(tool, exc)) from None

    @contextmanager
    def resource_errors(self, uri: str, protocol_version: str | None = None) -> Iterator[None]:
        """Resource failures as the negotiated protocol spells them: a call that is not live is
        "resource not found" (-32002 before 2026-07-28, where that code is retired and
        ``INVALID_PARAMS`` is used), a bad id is ``INVALID_PARAMS``, the rest an error text."""
        try:
            yield
        except CallNotFound as exc:
            code = INVALID_PARAMS if protocol_version in MODERN_PROTOCOL_VERSIONS else RESOURCE_NOT_FOUND
            raise MCPError(code, self.redact(str(exc)), data={"uri": uri}) from None
        except InvalidArgument as exc:
            raise MCPError(INVALID_PARAMS, self.redact(str(exc)), data={"uri": uri}) from None
        except LiveCallsError as exc:
            raise ResourceError(clean_text(self.redact(str(exc)), limit=LONG_TEXT_CAP)) from None
        except Exception as exc:  # noqa: BLE001 - the resource boundary, as for tools
            raise ResourceError(self._internal_error(uri, exc)) from None

    async def redacting(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Server middleware: every result and error leaving the server, scrubbed in one place.

        Tool text and structured content, resource bodies, completions, prompts, error messages:
        whatever a handler answers passes ``self.redact`` before it reaches the transport.
        """
        try:
            result = await call_next(ctx)
        except MCPError as exc:
            raise MCPError(exc.code, self.redact(exc.message), self.redact.scrub(exc.data)) from None
        return cast(HandlerResult, self.redact.scrub(result)) if isinstance(result, dict) else result

    def _internal_error(self, where: str, exc: Exception) -> str:
        """Log the traceback (redacted) to stderr; tell the caller only the kind of failure."""
        trace = "".join(traceback.format_exception(exc))
        logger.error("%s hit an internal error:\n%s", where, self.redact(trace))
        return (
            f"mcp-livecalls hit an internal error ({type(exc).__name__}); try again, "
            "and report it if it persists."
        )


RESOURCE_NOT_FOUND = -32002
""""Resource not found" before protocol 2026-07-28. That version retired the code (never to be
reused), so ``mcp_types`` no longer defines it; 2026-07-28 answers ``INVALID_PARAMS`` instead."""


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
    settings: Settings | None = None,
    *,
    now: Callable[[], datetime] | None = None,
    app: LiveCallsApp | None = None,
) -> MCPServer[Any]:
    """Build the mcp-livecalls server.

    ``now`` replaces the wall clock (the simulator's, in tests); ``app`` lets a caller keep a
    handle on the running state (tests and benchmarks read its cache and watcher counters).
    """
    if app is None:
        app = LiveCallsApp(settings if settings is not None else Settings.from_env(), now=now)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[LiveCallsApp]:
        async with app.running():
            yield app

    settings_ = app.settings
    auth: dict[str, Any] = {}
    if settings_.http_token is not None:
        # One shared bearer token through the SDK's own auth hooks (constant-time comparison).
        auth = {
            "token_verifier": SharedTokenVerifier(settings_.http_token),
            "auth": AuthSettings(issuer_url=AnyHttpUrl("http://127.0.0.1"), resource_server_url=None),
        }
    server: MCPServer[Any] = StrictToolServer(
        "mcp-livecalls",
        title="Live calls",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        cache_hints={"resources/read": CacheHint(ttl_ms=0)},
        subscriptions=app.bus,
        middleware=[app.redacting, _plain_errors],
        **auth,
    )
    _serve_live_updates(server, app)
    register_metrics(server, app)  # GET /metrics (http_server) reads this app's counters

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
        """One call right now: status, parties, duration, agent, legs; for Zudu voice agents also
        recent transcript turns, latency and cost. Without provider, every configured provider
        is asked."""
        with app.tool_errors("get_live_call"):
            call = shape_call(await app.service.get_live_call(call_id, provider), detail)
            return _result(render_call(call, detail=detail), call.structured())

    @server.tool(title="List active calls", annotations=_READ_ONLY)
    async def list_active_calls(
        provider: ProviderArg = None,
        direction: Direction | None = None,
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
        """Calls live right now, newest first, one line each, across every configured provider
        (or one). Filters a provider cannot apply upstream are applied here and said so in notes."""
        with app.tool_errors("list_active_calls"):
            query = ListQuery(direction=direction, agent_id=agent_id, status=status, number=number)
            page = await app.service.list_active_calls(query, provider=provider, limit=limit, cursor=cursor)
            page = prepare_page(page, mask=settings_.mask_numbers)
            return _result(render_page(page), page.structured())

    @server.tool(title="Get stream details", annotations=_READ_ONLY)
    async def get_stream_details(
        call_id: CallId, provider: ProviderArg = None, detail: DetailArg = "brief"
    ) -> Annotated[CallToolResult, StreamDetails]:
        """The media side of a live call: legs (connected, muted, on hold, dropped), bridge,
        recording, media streams, telephony ids, latency, recent events, and what the provider
        does not offer."""
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
        with app.resource_errors("livecalls://calls/active"):
            page = await app.service.list_active_calls(ListQuery(), limit=MAX_LIMIT)
            return _json(prepare_page(page, mask=settings_.mask_numbers).structured())

    @server.resource(
        "livecalls://calls/{provider}/{call_id}",
        name="live-call",
        title="A live call",
        description="One live call, as get_live_call with detail=brief.",
        mime_type="application/json",
    )
    async def call_resource(provider: str, call_id: str, ctx: Context[Any, Any]) -> str:
        uri = f"livecalls://calls/{provider}/{call_id}"
        with app.resource_errors(uri, ctx.protocol_version):
            call = await app.service.get_live_call(call_id, _provider_param(provider))
            return _json(shape_call(call, "brief").structured())

    @server.resource(
        "livecalls://calls/{provider}/{call_id}/stream",
        name="live-call-stream",
        title="A live call's stream details",
        description="Legs, bridge, recording and media detail of one live call, as get_stream_details.",
        mime_type="application/json",
    )
    async def stream_resource(provider: str, call_id: str, ctx: Context[Any, Any]) -> str:
        uri = f"livecalls://calls/{provider}/{call_id}/stream"
        with app.resource_errors(uri, ctx.protocol_version):
            details = await app.service.get_stream_details(call_id, _provider_param(provider))
            return _json(shape_stream(details, "brief").structured())

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
            Field(gt=0, le=MAX_WAIT_S, description="Give up after this many seconds; longer: call again."),
        ] = 30,
    ) -> Annotated[CallToolResult, CallStateWait]:
        """Wait until a call reaches one of the until states (e.g. in_progress before a transfer),
        ends, or timeout_s passes, whichever comes first. Sends progress while it waits. At most
        55 s per call (clients time requests out at 60 s): a longer wait is a loop of calls."""
        with app.tool_errors("wait_for_call_state"):
            wait = await _wait_for_state(app, ctx, call_id, set(until), provider, timeout_s)
            if wait.call is not None:
                wait = wait.model_copy(update={"call": shape_call(wait.call, "brief")})
            return _result(render_wait(wait), wait.structured())

    @server.prompt(title="Supervisor overview")
    def supervisor_overview(hold_minutes: str = "3", long_call_minutes: str = "20") -> str:
        """A supervisor's summary of every live call: counts, long holds, calls without an agent."""
        return (
            "You are helping a contact-centre supervisor. Call list_active_calls (page with next_cursor "
            "until it is absent) and report briefly:\n"
            "1. How many calls are live, by provider, by status and by agent.\n"
            f"2. Calls on hold longer than {hold_minutes} minutes (status on_hold; duration_s).\n"
            "3. Calls in progress with no agent.\n"
            f"4. Unusually long calls (over {long_call_minutes} minutes).\n"
            "5. Providers listed under failures, if any, and what the note says.\n"
            "Name calls by provider and call_id. Do not invent numbers: say when a figure is unknown."
        )

    @server.prompt(title="Call health check")
    def call_health_check(call_id: str) -> str:
        """Check one live call: legs connected, muted or on hold, and (Zudu) whether latency is degraded."""
        return (
            f"Check the health of live call {call_id!r}. Call get_live_call with call_id={call_id!r}, then "
            "get_stream_details with the provider it answered with. Then say, in a few lines:\n"
            "- its status and how long it has lasted;\n"
            "- each leg: connected, connecting or disconnected (a dropped agent or customer leg), "
            "muted, on hold;\n"
            "- for Zudu voice agents: whether e2e latency p90 is above 1500 ms or LLM p90 above 1000 ms "
            "(degraded), and the last thing said;\n"
            "- what the provider does not offer (not_offered), so nothing is assumed.\n"
            "If the call is not live, say so and stop."
        )

    @server.completion()  # type: ignore[no-untyped-call, untyped-decorator]  # the SDK leaves it untyped
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        """Complete provider names and live call ids for the templates and prompts."""
        prefix = argument.value or ""
        if argument.name == "provider":
            values = [p.value for p in app.service.providers if p.value.startswith(prefix)]
            return Completion(values=values, total=len(values), has_more=False)
        if argument.name != "call_id":
            return None
        chosen = (context.arguments or {}).get("provider") if context else None
        provider = ProviderName(chosen) if chosen in {p.value for p in ProviderName} else None
        try:
            page = await app.service.list_active_calls(ListQuery(), provider=provider, limit=MAX_LIMIT)
        except LiveCallsError:
            return Completion(values=[], total=0, has_more=False)
        ids = [call.call_id for call in page.calls if call.call_id.startswith(prefix)]
        return Completion(
            values=ids[:100], total=len(ids), has_more=len(ids) > 100 or page.next_cursor is not None
        )

    @server.custom_route("/healthz", methods=["GET"])  # type: ignore[untyped-decorator]
    async def healthz(request: Request) -> Response:
        """Liveness for load balancers: which providers are configured, never their credentials."""
        return JSONResponse({"status": "ok", "version": __version__, "providers": settings_.configured})

    return server


_PYDANTIC_LINK = re.compile(r"\n?[ \t]*For further information visit https://errors\.pydantic\.dev/\S*")


async def _plain_errors(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Errors a person can read, without noise in the log.

    Argument validation errors lose pydantic's "For further information visit …" links (they
    cost tokens and help no assistant); a prompt asked for without a required argument is an
    ``INVALID_PARAMS`` error naming it, not an internal error logged with two tracebacks.
    """
    if ctx.method == "prompts/get":
        try:
            return await call_next(ctx)
        except ValueError as exc:  # the SDK's prompt rendering reports bad arguments this way
            message = clean_text(_prompt_refusal(exc), limit=_PROMPT_ERROR_CAP)  # it echoes the name
            logger.info("prompts/get refused: %s", message)
            raise MCPError(INVALID_PARAMS, message) from None
    result = await call_next(ctx)
    if ctx.method == "tools/call" and isinstance(result, dict) and result.get("isError"):
        for block in result.get("content") or []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                block["text"] = _PYDANTIC_LINK.sub("", block["text"])
    return result


_PROMPT_ERROR_CAP = 300


def _prompt_refusal(exc: ValueError) -> str:
    """The SDK's words for a refused prompt (unknown name, missing argument), plus, for an
    argument the prompt does not take, which one (the SDK says only "Error rendering prompt")."""
    root: BaseException = exc
    while root.__cause__ is not None:
        root = root.__cause__
    if isinstance(root, ValidationError):  # the prompt function's arguments, checked by pydantic
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg'].lower()}"
            for error in root.errors()[:3]
        )
        return f"{exc}: {problems} (prompts/list names each prompt's arguments)."
    return str(exc)


MAX_WAIT_S = 55
"""Under the 60 s request timeout of the common clients (the TypeScript SDK, and so Claude
Desktop, VS Code, the Inspector and mcp-remote, unless a caller opts into resetting it on
progress): a longer wait is a loop of calls."""
_WAITS = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)


async def _wait_for_state(
    app: LiveCallsApp,
    ctx: Context[Any, Any],
    call_id: str,
    until: set[CallStatus],
    provider: ProviderName | None,
    timeout_s: float,
) -> CallStateWait:
    """Poll the call (through the coalescing cache) until it matches, ends, or time runs out.

    Runs in the request's own task: when the client cancels the request (or its connection or
    listen stream goes), the SDK cancels this task and the polling stops with it; nothing else
    keeps polling for a request nobody waits for.
    """
    clock = app.clock
    started = clock()
    deadline = started + timeout_s
    # React quickly, but never poll a provider more often than the subscription floor allows.
    interval = max(min(app.settings.poll_interval_s, 1.0), 0.05)
    last: LiveCall | None = None
    while True:
        waited = round(clock() - started, 3)
        try:
            with anyio.fail_after(max(0.001, deadline - clock())):
                call = await app.service.get_live_call(call_id, provider)
        except TimeoutError:
            return CallStateWait(outcome="timeout", waited_s=waited, call=last)
        except CallNotFound:
            if last is None:
                raise
            return CallStateWait(outcome="ended", waited_s=waited, call=last)
        last, provider = call, call.provider  # later polls ask only the provider that answered
        if call.status in until:
            return CallStateWait(outcome="reached", waited_s=waited, call=call)
        if call.status in (CallStatus.ENDED, CallStatus.FAILED):
            return CallStateWait(outcome="ended", waited_s=waited, call=call)
        await ctx.report_progress(waited, timeout_s, app.redact(f"{call.call_id} is {call.status.value}"))
        remaining = deadline - clock()
        if remaining <= 0:
            return CallStateWait(outcome="timeout", waited_s=round(clock() - started, 3), call=call)
        await app.sleep(min(interval, remaining))


_SESSION_KEY = "mcp_livecalls.session"
"""Where a legacy connection keeps its ``SessionKey`` (in ``Connection.state``)."""
_LISTEN_IDS = itertools.count(1)
_CONNECTION_IDS = itertools.count(1)


def _connection(ctx: ServerRequestContext[Any, Any]) -> Connection:
    """The client's connection behind this request: one object for the connection's life.

    mcp 2.3 builds a new ``ServerSession`` for every request (``ServerRunner._make_context``),
    so the session is no identity; the ``Connection`` it wraps is (one per stdio or in-memory
    connection, one per streamable-HTTP session, carrying its ``mcp-session-id``), and its
    ``exit_stack`` unwinds when that connection or session ends (client gone, ``DELETE``, idle
    timeout, shutdown). The SDK does not expose it on the low-level context yet.
    """
    connection = getattr(ctx.session, "_connection", None)
    if not isinstance(connection, Connection):  # pragma: no cover - an SDK change; fail loudly
        raise MCPError(INTERNAL_ERROR, "mcp-livecalls cannot tell this client's session apart.")
    return connection


def _legacy_session(app: LiveCallsApp, connection: Connection) -> SessionKey:
    """The connection's session key, registered (with its end) on first use."""
    key: SessionKey | None = connection.state.get(_SESSION_KEY)
    if key is None:
        key = (
            f"http:{connection.session_id}"
            if connection.session_id is not None
            else f"connection:{next(_CONNECTION_IDS)}"
        )
        connection.state[_SESSION_KEY] = key
        app.subscriptions.open(key, connection.send_resource_updated)
        # The session ends with the connection: its watches go, and no send is tried first.
        connection.exit_stack.callback(app.subscriptions.close, key)
    return key


def _serve_live_updates(server: MCPServer[Any], app: LiveCallsApp) -> None:
    """Poll subscribed resources upstream, for both protocol generations the SDK speaks.

    2026-07-28 clients open ``subscriptions/listen`` streams: the SDK's ``ListenHandler`` delivers
    bus events to them, and this wrapper registers each stream as a session watching its URIs for
    as long as it is open (the SDK cancels it when the client closes it or disconnects). Older
    clients send ``resources/subscribe``; their subscriptions belong to their connection (see
    ``_connection``), so ``resources/unsubscribe`` and the connection's end release them, and are
    sent ``notifications/resources/updated`` on that connection's standalone channel.
    """
    listen = ListenHandler(app.bus)

    async def watching_listen(
        ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams
    ) -> Any:
        requested = params.notifications.resource_subscriptions or []
        for uri in requested:
            _require_view(uri)
        uris = list(dict.fromkeys(uri for uri in requested if Watcher.watchable(uri)))
        key: SessionKey = f"listen:{next(_LISTEN_IDS)}"
        app.subscriptions.open(key)
        try:
            with _watch_limits():  # all of them or none: a refused listen watches nothing
                app.subscriptions.subscribe_all(key, uris)
            return await listen(ctx, params)
        finally:
            app.subscriptions.close(key)

    async def subscribe(ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        uri = str(params.uri)
        if not Watcher.watchable(uri):
            raise MCPError(INVALID_PARAMS, f"{uri} is not a live-calls resource that can be watched.")
        _require_view(uri)
        connection = _connection(ctx)
        if not connection.has_standalone_channel:
            raise MCPError(INVALID_PARAMS, _NO_CHANNEL_FOR_UPDATES)
        with _watch_limits():
            app.subscriptions.subscribe(_legacy_session(app, connection), uri)
        return EmptyResult()

    async def unsubscribe(
        ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        key = _connection(ctx).state.get(_SESSION_KEY)
        if key is not None:
            app.subscriptions.unsubscribe(key, str(params.uri))
        return EmptyResult()

    # MCPServer has no public hook for these three methods; the low-level server does.
    lowlevel = server._lowlevel_server
    lowlevel.add_request_handler("subscriptions/listen", SubscriptionsListenRequestParams, watching_listen)
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)


@contextmanager
def _watch_limits() -> Iterator[None]:
    """A subscription beyond a watch limit is an ``INVALID_PARAMS`` error naming the limit."""
    try:
        yield
    except TooManyWatches as exc:
        raise MCPError(INVALID_PARAMS, str(exc), data={"limit": exc.limit, "setting": exc.setting}) from None


def _require_view(uri: str) -> None:
    """A subscription to a call at a provider outside the caller's scopes is refused, naming the
    scope it needs (``auth.caller_view``); reads of it are refused by the service the same way."""
    parsed = parse_call_uri(uri)
    if parsed is not None and not caller_view().sees(parsed[0]):
        raise MCPError(INVALID_PARAMS, str(ScopeMissing.for_provider(parsed[0])), data={"uri": uri})


_NO_CHANNEL_FOR_UPDATES = (
    "This server cannot deliver resource updates on this connection (stateless HTTP has no "
    "stream to send them on). Use a stateful deployment (mcp-livecalls serve --transport http "
    "without --stateless, or stdio), or protocol 2026-07-28 subscriptions/listen."
)
