"""The streamable HTTP front door: who may connect, how sessions are bounded, what a 401 says.

``http_app(server, settings, host=…)`` wraps the MCP server's Starlette app (MCP at ``/mcp``,
``/healthz``) with the deployment's safety rules: a bearer token beyond loopback, the SDK's
DNS-rebinding guard, bounded sessions, no answer for a cancelled request. Everything about the
HTTP transport lives here; ``mcp_livecalls.server`` knows only MCP.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from mcp.server import MCPServer
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http import REQUEST_CANCELLED
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_livecalls.config import Settings
from mcp_livecalls.errors import ConfigError
from mcp_livecalls.fleet.metrics import metrics_endpoint

__all__ = ["LOOPBACK_HOSTS", "BearerGate", "SharedTokenVerifier", "SilenceCancelledAnswers", "http_app"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


SESSION_IDLE_TIMEOUT_S = 600.0
"""An HTTP session nobody has used for this long (no request in flight, no open GET stream) is
closed, and its subscriptions with it (the SDK's default is 30 minutes)."""
MAX_SESSIONS = 1000
"""Open HTTP sessions at most (the SDK's default is 10,000); more get 503 until some end."""


def http_app(server: MCPServer[Any], settings: Settings, *, host: str, stateless: bool = False) -> Starlette:
    """The streamable HTTP app (MCP at ``/mcp``, ``/healthz``) with the deployment's safety rules.

    Binding anything but loopback requires ``LIVECALLS_HTTP_TOKEN``: an open server would hand
    anyone who can reach it the calls of every configured account. On loopback the SDK guards
    against DNS rebinding by itself; elsewhere ``LIVECALLS_ALLOWED_HOSTS`` / ``_ORIGINS`` turn the
    same Host/Origin checks on. With a token, a request without it gets a 401 that says how to
    authenticate (``WWW-Authenticate: Bearer``).

    ``stateless`` serves each request on its own (replicas behind a load balancer): there is no
    stream to send legacy ``notifications/resources/updated`` on, so ``resources/subscribe`` is
    neither advertised nor served; 2026-07-28 ``subscriptions/listen`` streams still work, each
    on the replica that holds it.
    """
    security = None
    if host not in LOOPBACK_HOSTS:
        if settings.http_token is None:
            raise ConfigError(
                f"refusing to serve HTTP on {host} without LIVECALLS_HTTP_TOKEN: anyone who can reach it "
                "could read your calls. Set LIVECALLS_HTTP_TOKEN (clients send Authorization: Bearer "
                "<token>), or bind 127.0.0.1."
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
        session_idle_timeout=SESSION_IDLE_TIMEOUT_S,
        max_sessions=MAX_SESSIONS,
    )
    app.add_middleware(SilenceCancelledAnswers)
    if settings.http_token is not None:
        app.add_middleware(BearerGate, token=settings.http_token)

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


class SharedTokenVerifier:
    """Accepts exactly one bearer token (``LIVECALLS_HTTP_TOKEN``), compared in constant time."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token.get_secret_value().encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token):
            return AccessToken(token="shared", client_id="livecalls-http", scopes=[])  # noqa: S106 (a label)
        return None
