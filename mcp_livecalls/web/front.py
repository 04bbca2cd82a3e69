"""The streamable HTTP front door: the app assembly (``http_app``), the one place that decides which
guards stand in front of MCP at ``/mcp``; ``mcp_livecalls.server.build`` knows only MCP.

The web layer, by role: ``guards`` (the shared bearer token's 401s, silenced answers to cancelled
requests), ``sessions`` (``SessionGuard``: sessions per caller and in all, owner-only use, one
initialize), ``listen`` (the listening socket and uvicorn's options: the h11 protocol with a
request-head deadline and connection caps), ``oauth`` (sign-in), ``metrics`` (``GET /metrics``).

Under abuse the front door holds: sessions are capped per caller and in all
(:class:`~mcp_livecalls.web.sessions.SessionGuard`), only the caller that opened a session may
use or end it, a session is initialized once; connections are capped and must deliver their
request head within a few seconds (:func:`~mcp_livecalls.web.listen.guarded_http_protocol`); a
flood of identical log lines becomes one line per interval (:class:`mcp_livecalls.logs.RateLimitedLog`).
"""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette

from mcp_livecalls.config import Settings
from mcp_livecalls.errors import ConfigError
from mcp_livecalls.providers.registry import build_readers
from mcp_livecalls.server.build import app_of
from mcp_livecalls.web.guards import BearerGate, SilenceCancelledAnswers
from mcp_livecalls.web.hooks import WebhookReceiver
from mcp_livecalls.web.metrics import metrics_endpoint
from mcp_livecalls.web.oauth import OAuthGate, OAuthVerifier, audit_tool_calls
from mcp_livecalls.web.sessions import SessionGuard, live_sessions

__all__ = ["LOOPBACK_HOSTS", "http_app"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


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
    security = _transport_security(host, settings)
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
        app.add_middleware(SessionGuard, live=live_sessions(server), settings=settings)
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
    _serve_webhooks(app, server, settings)
    return app


def _serve_webhooks(app: Starlette, server: MCPServer[Any], settings: Settings) -> None:
    """``POST /webhooks/<provider>`` when ``LIVECALLS_PUBLIC_URL`` is set, for each configured
    provider whose verification secret is known (outside ``/mcp`` and its sign-in)."""
    live = app_of(server)
    readers = build_readers(settings.providers)
    if settings.public_url is None or live is None or not readers:
        return
    receiver = WebhookReceiver(readers, lambda: live.pushed, settings.public_url, now=live.now)
    live.pushed.receiving = {name: reader.shown_path() for name, reader in readers.items()}
    app.add_route("/webhooks/{provider}", receiver.handle, methods=["POST"])
    app.add_route("/webhooks/{provider}/{token}", receiver.handle, methods=["POST"])


def _withdraw_legacy_subscriptions(server: MCPServer[Any]) -> None:
    """Stop serving (and so advertising) ``resources/subscribe``: capabilities follow handlers."""
    handlers = server._lowlevel_server._request_handlers
    for method in ("resources/subscribe", "resources/unsubscribe"):
        handlers.pop(method, None)


def _transport_security(host: str, settings: Settings) -> TransportSecuritySettings | None:
    """Beyond loopback: refuse to serve without a way to sign in, and turn the Host/Origin checks
    on when ``LIVECALLS_ALLOWED_HOSTS`` / ``_ORIGINS`` name some (on loopback the SDK guards
    against DNS rebinding by itself)."""
    if host in LOOPBACK_HOSTS:
        return None
    if settings.http_token is None and settings.oauth is None:
        raise ConfigError(
            f"refusing to serve HTTP on {host} without LIVECALLS_HTTP_TOKEN: anyone who can reach it "
            "could read your calls. Set LIVECALLS_HTTP_TOKEN (clients send Authorization: Bearer "
            "<token>) or sign-in with LIVECALLS_OAUTH_ISSUER and LIVECALLS_OAUTH_AUDIENCE, or bind "
            "127.0.0.1."
        )
    if not (settings.allowed_hosts or settings.allowed_origins):
        return None
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(settings.allowed_hosts),
        allowed_origins=list(settings.allowed_origins),
    )
