"""The streamable HTTP front door: who may connect, how sessions are bounded, what a 401 says.

``http_app(server, settings, host=…)`` wraps the MCP server's Starlette app (MCP at ``/mcp``,
``/healthz``) with the deployment's safety rules: a bearer token beyond loopback, the SDK's
DNS-rebinding guard, bounded sessions, no answer for a cancelled request. Everything about the
HTTP transport lives here; ``mcp_livecalls.server.build`` knows only MCP.

Under abuse the front door holds: sessions are capped per caller and in all
(:class:`SessionGuard`), only the caller that opened a session may use or end it, a session is
initialized once; connections are capped and must deliver their request head within a few
seconds (:func:`guarded_http_protocol`); a flood of identical log lines becomes one line per
interval (:class:`mcp_livecalls.logs.RateLimitedLog`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import os
import resource
import socket
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

import h11
from mcp.server import MCPServer
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, REQUEST_CANCELLED
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types import INTERNAL_ERROR, INVALID_REQUEST
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from mcp_livecalls.config import Settings
from mcp_livecalls.errors import ConfigError
from mcp_livecalls.web.metrics import metrics_endpoint
from mcp_livecalls.web.oauth import OAuthGate, OAuthVerifier, audit_tool_calls

__all__ = [
    "CALLER_STATE_KEY",
    "LOOPBACK_HOSTS",
    "BearerGate",
    "SessionGuard",
    "SilenceCancelledAnswers",
    "http_app",
]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

CALLER_STATE_KEY = "livecalls_caller"
"""Whoever authenticates a request (an OAuth verifier) names its caller here, as a string subject,
in ``scope["state"]``; without it the caller is the client's address (shared token, loopback)."""

logger = logging.getLogger(__name__)


def http_app(
    server: MCPServer[Any],
    settings: Settings,
    *,
    host: str,
    stateless: bool = False,
    verifier: OAuthVerifier | None = None,
) -> Starlette:
    """The streamable HTTP app (MCP at ``/mcp``, ``/healthz``) with the deployment's safety rules.

    Binding anything but loopback requires a way to sign in: ``LIVECALLS_HTTP_TOKEN`` (one shared
    token) or ``LIVECALLS_OAUTH_*`` (an OAuth 2.1 resource server, ``mcp_livecalls.web.oauth``: each
    caller sees what its scopes allow, and every tool call is audited). An open server would hand
    anyone who can reach it the calls of every configured account. On loopback the SDK guards
    against DNS rebinding by itself; elsewhere ``LIVECALLS_ALLOWED_HOSTS`` / ``_ORIGINS`` turn the
    same Host/Origin checks on. With a token, a request without it gets a 401 that says how to
    authenticate (``WWW-Authenticate: Bearer``, with ``resource_metadata`` under OAuth).

    ``verifier`` replaces the OAuth token verifier built from the settings (tests pass one with
    their clock).

    ``stateless`` serves each request on its own (replicas behind a load balancer): there is no
    stream to send legacy ``notifications/resources/updated`` on, so ``resources/subscribe`` is
    neither advertised nor served; 2026-07-28 ``subscriptions/listen`` streams still work, each
    on the replica that holds it.
    """
    security = None
    if host not in LOOPBACK_HOSTS:
        if settings.http_token is None and settings.oauth is None:
            raise ConfigError(
                f"refusing to serve HTTP on {host} without LIVECALLS_HTTP_TOKEN: anyone who can reach it "
                "could read your calls. Set LIVECALLS_HTTP_TOKEN (clients send Authorization: Bearer "
                "<token>) or sign-in with LIVECALLS_OAUTH_ISSUER and LIVECALLS_OAUTH_AUDIENCE, or bind "
                "127.0.0.1."
            )
        if settings.allowed_hosts or settings.allowed_origins:
            security = TransportSecuritySettings(
                enable_dns_rebinding_protection=True,
                allowed_hosts=list(settings.allowed_hosts),
                allowed_origins=list(settings.allowed_origins),
            )
    if stateless:
        _withdraw_legacy_subscriptions(server)
    app = server.streamable_http_app(
        stateless_http=stateless,
        transport_security=security,
        host=host,
        session_idle_timeout=settings.session_idle_s,
        max_sessions=settings.max_sessions,
    )
    app.add_middleware(SilenceCancelledAnswers)
    if not stateless:  # sessions per caller, owner-only use and DELETE, one initialize (inside auth)
        app.add_middleware(SessionGuard, live=_live_sessions(server), settings=settings)
    if settings.http_token is not None:
        app.add_middleware(BearerGate, token=settings.http_token)
    if settings.oauth is not None:
        if audit_tool_calls not in server.middleware:
            server.middleware.append(audit_tool_calls)
        app.add_middleware(
            OAuthGate,
            verifier=verifier or OAuthVerifier(settings.oauth),
            also_gated=() if settings.metrics_public else ("/metrics",),  # same sign-in as /mcp
        )

    # -- GET /metrics (Prometheus text): behind the bearer token unless LIVECALLS_METRICS_PUBLIC=1.
    app.add_route("/metrics", metrics_endpoint(server, settings), methods=["GET"])
    # -- end /metrics
    return app


class SilenceCancelledAnswers:
    """A request the client cancelled gets no answer, as the protocol says.

    On the 2025-era streamable HTTP wire the SDK ends a cancelled request's SSE stream with a
    ``-32800 Request cancelled`` error for its id; the TypeScript SDK (after its own timeout
    cancelled the request) reports that as "Received a response for an unknown message ID".
    This drops that one event: the stream still ends, with nothing for the cancelled id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return

        async def filtered(message: Message) -> None:
            if message["type"] == "http.response.body" and _is_cancelled_answer(message.get("body", b"")):
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, filtered)


def _is_cancelled_answer(chunk: bytes) -> bool:
    """Whether an SSE chunk is exactly one event carrying a ``REQUEST_CANCELLED`` error."""
    if b"-32800" not in chunk:
        return False
    data = [
        line[5:].strip() for line in chunk.decode("utf-8", "replace").splitlines() if line.startswith("data:")
    ]
    try:
        payload = json.loads("".join(data)) if data else None
    except ValueError:
        return False
    if not isinstance(payload, dict):
        return False
    error = payload.get("error")
    return isinstance(error, dict) and error.get("code") == REQUEST_CANCELLED


def _withdraw_legacy_subscriptions(server: MCPServer[Any]) -> None:
    """Stop serving (and so advertising) ``resources/subscribe``: capabilities follow handlers."""
    handlers = server._lowlevel_server._request_handlers
    for method in ("resources/subscribe", "resources/unsubscribe"):
        handlers.pop(method, None)


class BearerGate:
    """Refuses ``/mcp`` requests without the shared bearer token: 401 with ``WWW-Authenticate``.

    RFC 6750: a request without credentials learns the scheme and realm; one with a wrong token
    also gets ``error="invalid_token"``. Nothing else (``/healthz``, lifespan) is gated. Once
    OAuth exists, ``resource_metadata`` (RFC 9728) is the one more parameter to pass.
    """

    REALM = "mcp-livecalls"

    def __init__(self, app: ASGIApp, *, token: SecretStr, resource_metadata: str | None = None) -> None:
        self.app = app
        self._token = token.get_secret_value().encode()
        self._resource_metadata = resource_metadata

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not str(scope.get("path", "")).startswith("/mcp"):
            await self.app(scope, receive, send)
            return
        sent = Headers(scope=scope).get("authorization")
        scheme, _, credential = (sent or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), self._token):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
        else:
            await self._refuse(scope, receive, send, token_sent=sent is not None)

    def challenge(self, *, token_sent: bool) -> str:
        params = [f'realm="{self.REALM}"']
        if token_sent:
            params += ['error="invalid_token"', 'error_description="The bearer token is not valid."']
        if self._resource_metadata is not None:
            params.append(f'resource_metadata="{self._resource_metadata}"')
        return "Bearer " + ", ".join(params)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, *, token_sent: bool) -> None:
        body = {
            "error": "invalid_token" if token_sent else "unauthorized",
            "error_description": "Send the server's LIVECALLS_HTTP_TOKEN as 'Authorization: Bearer <token>'.",
        }
        response = JSONResponse(
            body, status_code=401, headers={"WWW-Authenticate": self.challenge(token_sent=token_sent)}
        )
        await response(scope, receive, send)


def caller_of(scope: Scope) -> str:
    """Who is asking: the subject an authenticator named (``scope["state"]["livecalls_caller"]``),
    else the client's address. A subject never collides with an address (different prefixes)."""
    state = scope.get("state")
    if isinstance(state, dict):
        subject = state.get(CALLER_STATE_KEY)
        if isinstance(subject, str) and subject:
            return f"subject:{subject}"
    client = scope.get("client")
    return f"address:{client[0]}" if client else "address:unknown"


def _live_sessions(server: MCPServer[Any]) -> Callable[[], Collection[str]]:
    """The ids of the sessions the SDK's session manager holds open right now (it alone knows when
    one expires, crashes or is deleted)."""
    manager = server.session_manager
    return lambda: manager._server_instances.keys()


class SessionGuard:
    """The session rules the SDK leaves to the deployment, in front of its session manager.

    * One caller (:func:`caller_of`) holds at most ``max_sessions_per_caller`` open sessions
      (429); the server at most ``max_sessions`` (503). Both refusals carry a JSON-RPC error body
      and ``Retry-After``: one caller cannot take every session from the others.
    * A session is used, and ended with ``DELETE``, only by the caller that opened it; anyone
      else is answered as if it did not exist (404), as the SDK does for another OAuth credential
      (with one shared token the SDK sees every caller as the same one).
    * ``initialize`` on a session that exists is refused (400): a live session is not renegotiated.

    The SDK's session manager stays the judge of which sessions are alive (``live``); this guard
    only remembers who opened each one. Stateless and 2026-07-28 requests have no session and pass
    through. It must run inside whatever authenticates (which names the caller).
    """

    def __init__(self, app: ASGIApp, *, live: Callable[[], Collection[str]], settings: Settings) -> None:
        self.app = app
        self._live = live
        self._max_sessions = settings.max_sessions
        self._max_per_caller = settings.max_sessions_per_caller
        self._idle_s = settings.session_idle_s
        self._retry_after = str(max(1, math.ceil(min(settings.session_idle_s, 60.0))))
        self._owners: dict[str, str] = {}
        self._opening: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/mcp"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        version = headers.get(MCP_PROTOCOL_VERSION_HEADER)
        if version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            await self.app(scope, receive, send)  # 2026-07-28: one exchange, no session
            return
        session_id = headers.get(MCP_SESSION_ID_HEADER)
        if session_id is None:
            await self._open(caller_of(scope), scope, receive, send)
        else:
            await self._use(caller_of(scope), session_id, scope, receive, send)

    def sessions_of(self, caller: str) -> int:
        """Open sessions ``caller`` holds (those it is opening right now included)."""
        self._forget_ended()
        return sum(1 for owner in self._owners.values() if owner == caller) + self._opening[caller]

    async def _open(self, caller: str, scope: Scope, receive: Receive, send: Send) -> None:
        """A request without a session id: the SDK opens a session for it (kept if it succeeds)."""
        held = self.sessions_of(caller)
        if held >= self._max_per_caller:
            logger.warning(
                "Refusing a new HTTP session: caller %s already holds %d (LIVECALLS_MAX_SESSIONS_PER_CALLER)",
                caller[:80],
                held,
            )
            await self._refuse(
                429,
                f"Too many open sessions for this caller ({held}, the most one caller may hold). "
                f"End one (DELETE /mcp with its mcp-session-id) or let one go idle for "
                f"{self._idle_s:g} s, then retry.",
                scope,
                receive,
                send,
            )
            return
        total = max(len(self._live()), len(self._owners) + sum(self._opening.values()))
        if total >= self._max_sessions:
            logger.warning("Refusing a new HTTP session: %d are open (LIVECALLS_MAX_SESSIONS)", total)
            await self._refuse(
                503,
                f"The server holds as many sessions as it may ({self._max_sessions}); retry when some end.",
                scope,
                receive,
                send,
            )
            return

        opening = True  # counted in _opening until it owns a session (or fails)

        def done_opening() -> None:
            nonlocal opening
            if opening:
                opening = False
                self._opening[caller] -= 1
                if self._opening[caller] <= 0:
                    del self._opening[caller]

        async def record_owner(message: Message) -> None:
            if message["type"] == "http.response.start":
                opened = Headers(raw=message.get("headers", [])).get(MCP_SESSION_ID_HEADER)
                if message["status"] < 400 and opened is not None:
                    self._owners[opened] = caller
                done_opening()  # the SSE answer may stream on long after the session is counted
            await send(message)

        self._opening[caller] += 1
        try:
            await self.app(scope, receive, record_owner)
        finally:
            done_opening()

    async def _use(self, caller: str, session_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        owner = self._owners.get(session_id)
        if owner is not None and owner != caller:
            logger.warning(
                "Refusing %s for HTTP session %s: %s opened it, not %s",
                scope.get("method"),
                session_id[:64],
                owner[:80],
                caller[:80],
            )
            response = _jsonrpc_error(404, INVALID_REQUEST, "Session not found")
            await response(scope, receive, send)
            return
        if scope.get("method") == "POST":
            messages, body = await _read_body(receive, DEFAULT_MAX_REQUEST_BODY_SIZE)
            receive = _replaying(messages, receive)
            initialize = _initialize_request(body)
            if initialize is not None and session_id in self._live():
                response = _jsonrpc_error(
                    400,
                    INVALID_REQUEST,
                    "This session is already initialized; to start over, open a new session "
                    "(initialize without an mcp-session-id).",
                    request_id=initialize.get("id"),
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _forget_ended(self) -> None:
        live = self._live()
        for session_id in [sid for sid in self._owners if sid not in live]:
            del self._owners[session_id]

    async def _refuse(self, status: int, message: str, scope: Scope, receive: Receive, send: Send) -> None:
        code = INVALID_REQUEST if status == 429 else INTERNAL_ERROR
        response = _jsonrpc_error(status, code, message, headers={"Retry-After": self._retry_after})
        await response(scope, receive, send)


def _jsonrpc_error(
    status: int,
    code: int,
    message: str,
    *,
    request_id: str | int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An HTTP error whose body is a JSON-RPC error, as the SDK answers its own refusals."""
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _read_body(receive: Receive, limit: int) -> tuple[list[Message], bytes | None]:
    """Read a request body (the messages, to replay) and its bytes; ``None`` past ``limit`` bytes
    or on disconnect (the SDK then answers as it would have: 413, or nothing)."""
    messages: list[Message] = []
    body = bytearray()
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        body += message.get("body", b"")
        if len(body) > limit:
            return messages, None
        if not message.get("more_body", False):
            return messages, bytes(body)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then whatever comes next."""
    queued = list(messages)

    async def replay() -> Message:
        if queued:
            return queued.pop(0)
        return await receive()

    return replay


def _initialize_request(body: bytes | None) -> dict[str, Any] | None:
    """The ``initialize`` request in a JSON-RPC body (a batch included), if there is one."""
    if not body or b"initialize" not in body:
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    for message in payload if isinstance(payload, list) else [payload]:
        if isinstance(message, dict) and message.get("method") == "initialize" and "id" in message:
            return message
    return None


_BUSY_BODY = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": INTERNAL_ERROR,
            "message": "Too many open connections; retry shortly.",
        },
    }
).encode()
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n"
    b"connection: close\r\ncontent-length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)
_TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
_connections_log = logging.getLogger("mcp_livecalls.web.front.connections")


def connection_cap(requested: int, open_file_limit: int | None = None) -> int:
    """``requested``, but never more than half the process's file-descriptor limit: the rest is
    for upstream connections, the log and the listening socket, so the cap bites before accept()
    fails with "Too many open files"."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0] if open_file_limit is None else open_file_limit
    if soft == resource.RLIM_INFINITY or soft <= 0 or requested <= soft // 2:
        return requested
    logger.info(
        "at most %d HTTP connections (LIVECALLS_HTTP_MAX_CONNECTIONS is %d): half the open-file limit %d",
        max(1, soft // 2),
        requested,
        soft,
    )
    return max(1, soft // 2)


def guarded_http_protocol(
    *, header_timeout_s: float, max_connections: int, max_per_address: int | None = None
) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the guards it lacks.

    * A connection must deliver a complete request head within ``header_timeout_s`` of opening,
      or of its previous answer; otherwise it gets a 408 and is closed. (uvicorn has no
      header-read timeout: its keep-alive timer starts only after a first response and stops at
      the first byte, so a client that sends one byte at a time, or nothing, holds its socket for
      ever.)
    * Past ``max_connections`` open connections a new one is answered 503 (``Retry-After: 1``)
      and closed at once, before it costs more than a moment's descriptor. (uvicorn's
      ``limit_concurrency`` only answers 503 once a request head has arrived, so it keeps every
      slow socket open.)
    * One client address holds at most ``max_per_address`` of them (the same 503 past that), so
      one peer cannot take every connection from the others. Behind a reverse proxy every client
      has the proxy's address: the proxy then limits its clients.
    """
    per_address = max_connections if max_per_address is None else max_per_address
    open_from: Counter[str] = Counter()

    class GuardedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None
        _address: str | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = self.client[0] if self.client else "unknown"
            if len(self.connections) > max_connections or open_from[address] >= per_address:
                _connections_log.warning(
                    "Refusing an HTTP connection: %d are open, %d from its address "
                    "(LIVECALLS_HTTP_MAX_CONNECTIONS, _PER_ADDRESS)",
                    len(self.connections) - 1,
                    open_from[address],
                )
                self.transport.write(_BUSY)
                self.transport.close()
                return
            self._address = address
            open_from[address] += 1
            self._await_head()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._head_timer is not None and self.conn.their_state is not h11.IDLE:
                self._head_timer.cancel()  # the request head is in
                self._head_timer = None

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._await_head()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            if self._address is not None:
                open_from[self._address] -= 1
                if open_from[self._address] <= 0:
                    del open_from[self._address]
                self._address = None
            super().connection_lost(exc)

        def _await_head(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer = self.loop.call_later(header_timeout_s, self._head_too_slow)

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
                return
            _connections_log.warning(
                "Closed an HTTP connection that sent no complete request head within %g s "
                "(LIVECALLS_HTTP_HEADER_TIMEOUT_S)",
                header_timeout_s,
            )
            self.transport.write(_TOO_SLOW)
            self.transport.close()

    return GuardedH11Protocol


def listening_socket(host: str, port: int, *, backlog: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (``0``: a free port) and listening, for uvicorn.

    ``IPPROTO_TCP`` matters: asyncio sets ``TCP_NODELAY`` only on accepted sockets whose protocol
    says TCP (without it keep-alive answers wait ~40 ms for a delayed ACK).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How ``mcp-livecalls serve --transport http`` runs uvicorn: the guarded protocol, a short
    keep-alive, a bounded request head, and proxy headers only from proxies named in
    ``FORWARDED_ALLOW_IPS`` (uvicorn otherwise trusts ``X-Forwarded-For`` from 127.0.0.1, and a
    local caller could pose as any number of callers)."""
    return {
        "http": guarded_http_protocol(
            header_timeout_s=settings.http_header_timeout_s,
            max_connections=connection_cap(settings.http_max_connections),
            max_per_address=settings.http_max_connections_per_address,
        ),
        "timeout_keep_alive": 5,
        "h11_max_incomplete_event_size": 16 * 1024,
        "backlog": 256,
        "proxy_headers": bool(os.environ.get("FORWARDED_ALLOW_IPS", "").strip()),
        "lifespan": "on",
    }
