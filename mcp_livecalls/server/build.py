"""The MCP server: tools, resources and prompts over ``LiveCallsService``.

``create_server(settings)`` builds an ``MCPServer`` with no module-level state. The shared HTTP
client and the provider adapters live in a ``LiveCallsApp`` that the server's lifespan opens
and closes; concurrent sessions of one server (several in-memory clients, or streamable HTTP)
share it, and so share its connection pool and limits.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import ssl
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import anyio
import httpx2
from mcp.server import MCPServer
from mcp.server.auth.settings import AuthSettings
from mcp.server.caching import CacheHint
from mcp.server.connection import Connection
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    EmptyResult,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    UnsubscribeRequestParams,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import AnyHttpUrl, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_livecalls import __version__
from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import (
    LiveCall,
    ProviderName,
    StreamDetails,
)
from mcp_livecalls.core.safety import LONG_TEXT_CAP, clean_text
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
from mcp_livecalls.fleet.pacer import SharedPacer
from mcp_livecalls.providers import build_providers
from mcp_livecalls.providers.base import LiveCallsProvider
from mcp_livecalls.providers.registry import PROVIDERS, titles_offering
from mcp_livecalls.server.prompts import PROMPTS
from mcp_livecalls.server.render import (
    Detail,
    prepare_call,
    prepare_stream,
)
from mcp_livecalls.server.resources import RESOURCES
from mcp_livecalls.server.schemas import StrictToolServer
from mcp_livecalls.server.tools import TOOLS
from mcp_livecalls.service.calls import CursorCodec, LiveCallsService
from mcp_livecalls.service.watch import SessionKey, Subscriptions, Watcher, parse_call_uri
from mcp_livecalls.upstream.client import LOG_FILTER, Redactor, RequestPacer
from mcp_livecalls.web.front import SharedTokenVerifier
from mcp_livecalls.web.metrics import register as register_metrics
from mcp_livecalls.web.oauth import ScopeMissing, caller_view

__all__ = ["LiveCallsApp", "create_server"]

logger = logging.getLogger(__name__)

INSTRUCTIONS = f"""\
Live phone calls at the configured telephony providers ({", ".join(cls.title() for cls in PROVIDERS)}), \
as they happen.
list_active_calls answers "what calls are live right now?" (one line per call; page with cursor).
get_live_call answers for one call: status (queued, ringing, early_media, in_progress, on_hold,
ended, failed, unknown), parties, duration, agent, and for {titles_offering("transcript")} voice agents \
the recent transcript,
latency and cost. get_stream_details shows legs (muted, on hold, dropped), bridge, recording.
wait_for_call_state waits for a state, e.g. in_progress before a transfer. Omit provider to search
every configured provider. An argument a tool does not list is refused, never ignored. Data is
live: ask again for fresh state."""


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process (httpx2's default): loading the CA bundle costs tens
    of milliseconds of CPU, which every server start would otherwise pay again."""
    return httpx2.create_ssl_context()


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
        self.redact = Redactor(
            settings.secrets(), pairs=settings.redaction_pairs()
        )  # every output passes it (redacting())
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

    def shape_call(self, call: LiveCall, detail: Detail) -> LiveCall:
        """``call`` as every output shows it: numbers masked if set, transcript cut for ``brief``."""
        settings = self.settings
        return prepare_call(call, detail=detail, mask=settings.mask_numbers, turns=settings.transcript_turns)

    def shape_stream(self, details: StreamDetails, detail: Detail) -> StreamDetails:
        settings = self.settings
        return prepare_stream(
            details, detail=detail, mask=settings.mask_numbers, turns=settings.transcript_turns
        )

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
                verify=_tls_context(),
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
                account = adapter.pacing_account(self.settings.providers[name])
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
    for register in (*TOOLS, *RESOURCES, *PROMPTS):
        register(server, app)
    register_metrics(server, app)  # GET /metrics (http_server) reads this app's counters

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
