"""The MCP server's assembly: tools, resources and prompts over ``LiveCallsService``.

``create_server(settings)`` builds an ``MCPServer`` with no module-level state. The shared HTTP
client and the provider adapters live in a ``LiveCallsApp`` (``server.app``) that the server's
lifespan opens and closes; concurrent sessions of one server (several in-memory clients, or
streamable HTTP) share it, and so share its connection pool and limits.
"""

from __future__ import annotations

import hmac
import itertools
import logging
import re
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Any

from mcp.server import MCPServer
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.caching import CacheHint
from mcp.server.connection import Connection
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.subscriptions import ListenHandler
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    EmptyResult,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    UnsubscribeRequestParams,
)
from pydantic import AnyHttpUrl, SecretStr, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_livecalls import __version__
from mcp_livecalls.config import Settings
from mcp_livecalls.core.safety import clean_text
from mcp_livecalls.core.views import ScopeMissing, caller_view
from mcp_livecalls.errors import (
    TooManyWatches,
)
from mcp_livecalls.providers.registry import PROVIDERS, titles_offering
from mcp_livecalls.server.app import RESOURCE_NOT_FOUND, LiveCallsApp
from mcp_livecalls.server.board import board_apps
from mcp_livecalls.server.prompts import PROMPTS
from mcp_livecalls.server.resources import RESOURCES
from mcp_livecalls.server.schemas import StrictToolServer
from mcp_livecalls.server.tools import TOOLS
from mcp_livecalls.service.watch import SessionKey, Watcher, parse_call_uri

__all__ = ["RESOURCE_NOT_FOUND", "SharedTokenVerifier", "app_of", "create_server"]

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


_APPS: weakref.WeakKeyDictionary[MCPServer[Any], LiveCallsApp] = weakref.WeakKeyDictionary()


def app_of(server: MCPServer[Any]) -> LiveCallsApp | None:
    """The running state ``create_server`` built ``server`` around (the front door's ``/metrics``)."""
    return _APPS.get(server)


class SharedTokenVerifier:
    """Accepts exactly one bearer token (``LIVECALLS_HTTP_TOKEN``), compared in constant time."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token.get_secret_value().encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token):
            return AccessToken(token="shared", client_id="livecalls-http", scopes=[])  # noqa: S106 (a label)
        return None


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
        extensions=[board_apps(settings_.cache_ttl_s)],  # the call board, for hosts with Apps
        **auth,
    )
    _serve_live_updates(server, app)
    for register in (*TOOLS, *RESOURCES, *PROMPTS):
        register(server, app)
    _APPS[server] = app  # GET /metrics (web.metrics) reads this app's counters

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
