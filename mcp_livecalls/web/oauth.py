"""Sign-in as the MCP authorization spec says: an OAuth 2.1 resource server, and per-caller views.

The pieces, outside in:

- ``OAuthGate`` (ASGI) fronts ``/mcp``: no token is a 401 whose ``WWW-Authenticate`` names the
  protected resource metadata (RFC 9728, served by the gate at
  ``/.well-known/oauth-protected-resource`` and ``…/mcp``) and the scopes to request
  (``LIVECALLS_OAUTH_SCOPES``, default ``livecalls:read``: real clients request exactly these,
  so a deployment whose policy grants ``livecalls:pii`` to some people names it here); a bad
  token a 401 ``invalid_token``; a token without ``livecalls:read`` a 403
  ``insufficient_scope`` naming the scopes (RFC 6750). A good one becomes the SDK's
  ``AuthenticatedUser`` (so sessions stay bound to the principal that opened them) and the
  caller's view (``mcp_livecalls.core.views.CallerView``).
- ``OAuthVerifier`` (``mcp_livecalls.web.tokens``) checks a token and reads its scopes.
- ``CallerView`` is what one caller may see: which providers (``livecalls:read:<provider>``
  scopes restrict them) and whether phone numbers and transcripts (``livecalls:pii``). It lives
  in a context variable the gate sets per request; stdio and the shared token see everything.
  The service (providers, cursors) and the output policy (``render.prepare_*``) read it.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import anyio
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.authentication import AuthCredentials
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.core.views import SCOPE_READ, CallerView, caller_view, supported_scopes, viewing_as
from mcp_livecalls.errors import LiveCallsError
from mcp_livecalls.web.tokens import (
    ALGORITHMS,
    JWKS_REFETCH_S,
    JWKS_RETRY_S,
    LEEWAY_S,
    AuthServerError,
    OAuthVerifier,
)

__all__ = [
    "ALGORITHMS",
    "JWKS_REFETCH_S",
    "JWKS_RETRY_S",
    "LEEWAY_S",
    "AuthServerError",
    "OAuthGate",
    "OAuthVerifier",
    "audit_tool_calls",
]

logger = logging.getLogger(__name__)
audit_logger = logging.getLogger("mcp_livecalls.audit")

# -- the gate --------------------------------------------------------------------------------

WELL_KNOWN = "/.well-known/oauth-protected-resource"


class OAuthGate:
    """The resource-server front of ``/mcp``, and the RFC 9728 metadata documents.

    After a good token: ``scope["user"]`` is the SDK's ``AuthenticatedUser`` (the session manager
    binds each session to it), ``scope["state"]["livecalls_caller"]`` the subject (per-caller
    session caps), and the caller view and the SDK's access-token context are set for the request.
    """

    REALM = "mcp-livecalls"

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: OAuthVerifier,
        mcp_path: str = "/mcp",
        also_gated: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.mcp_path = mcp_path
        self.also_gated = also_gated
        """Other exact paths that need a valid token too (``/metrics`` unless it is public)."""
        settings = verifier.settings
        self.metadata_url = str(build_resource_metadata_url(AnyHttpUrl(settings.audience)))
        self.metadata = ProtectedResourceMetadata(
            resource=AnyHttpUrl(settings.audience),
            authorization_servers=[AnyHttpUrl(settings.issuer)],
            scopes_supported=supported_scopes(),
            bearer_methods_supported=["header"],
            resource_name="mcp-livecalls",
        ).model_dump(mode="json", exclude_none=True)
        # The SDK's URL type may add a slash to a bare host; the document says what was configured.
        self.metadata["resource"] = settings.audience
        self.metadata["authorization_servers"] = [settings.issuer]
        self._metadata_paths = {WELL_KNOWN, urlsplit(self.metadata_url).path}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path.rstrip("/") in self._metadata_paths:
            await self._metadata_response(scope)(scope, receive, send)
            return
        if not (path == self.mcp_path or path.startswith(self.mcp_path + "/") or path in self.also_gated):
            await self.app(scope, receive, send)
            return
        answer = await self._authenticate(scope)
        if isinstance(answer, Response):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await answer(scope, receive, send)
            return
        user = AuthenticatedUser(answer)
        scope["user"] = user
        scope["auth"] = AuthCredentials(answer.scopes)
        state = scope.setdefault("state", {})
        state["livecalls_caller"] = answer.subject or f"client:{answer.client_id}"
        view = CallerView.from_scopes(answer.scopes, subject=answer.subject, client_id=answer.client_id)
        sdk_token = auth_context_var.set(user)
        try:
            with viewing_as(view):
                await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(sdk_token)

    async def _authenticate(self, scope: Scope) -> AccessToken | Response:
        sent = Headers(scope=scope).get("authorization")
        scheme, _, credential = (sent or "").partition(" ")
        if sent is None or scheme.lower() != "bearer" or not credential.strip():
            return self._refuse(
                401, None, "Sign in: send an OAuth access token as 'Authorization: Bearer <token>'."
            )
        try:
            token = await self.verifier.verify_token(credential.strip())
        except LiveCallsError as exc:
            logger.warning("could not verify a token: %s", exc)
            return JSONResponse(
                {
                    "error": "temporarily_unavailable",
                    "error_description": "The sign-in service could not be reached.",
                },
                status_code=503,
                headers={"Retry-After": "5"},
            )
        if token is None:
            return self._refuse(401, "invalid_token", "The access token is not valid for this server.")
        if SCOPE_READ not in token.scopes:
            return self._refuse(
                403, "insufficient_scope", f"The access token lacks the scope {SCOPE_READ!r}."
            )
        return token

    def challenge(self, error: str | None, description: str) -> str:
        params = [
            f'realm="{self.REALM}"',
            f'resource_metadata="{self.metadata_url}"',
            f'scope="{" ".join(self.verifier.settings.scopes)}"',
        ]
        if error is not None:
            params += [f'error="{error}"', f'error_description="{description}"']
        return "Bearer " + ", ".join(params)

    def _refuse(self, status: int, error: str | None, description: str) -> Response:
        body = {"error": error or "unauthorized", "error_description": description}
        return JSONResponse(
            body, status_code=status, headers={"WWW-Authenticate": self.challenge(error, description)}
        )

    def _metadata_response(self, scope: Scope) -> Response:
        cors = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, OPTIONS"}
        if scope.get("method") == "OPTIONS":
            return Response(status_code=204, headers=cors)
        if scope.get("method") not in ("GET", "HEAD"):
            return Response(status_code=405, headers={"Allow": "GET, OPTIONS"})
        return JSONResponse(self.metadata, headers={**cors, "Cache-Control": "public, max-age=3600"})


# -- the audit log ---------------------------------------------------------------------------


async def audit_tool_calls(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: one JSON line per tool call on the audit logger (stderr): who (subject,
    client id), which tool, which provider(s), and the outcome. Never the token or arguments."""
    if ctx.method != "tools/call":
        return await call_next(ctx)
    view = caller_view()
    params = ctx.params or {}
    arguments = params.get("arguments")
    named = arguments.get("provider") if isinstance(arguments, dict) else None
    if isinstance(named, str) and named in {p.value for p in ProviderName}:
        providers = [named]
    elif view.providers is not None:
        providers = sorted(p.value for p in view.providers)
    else:
        providers = ["*"]
    outcome = "error"
    try:
        result = await call_next(ctx)
        outcome = "error" if isinstance(result, dict) and result.get("isError") else "ok"
        return result
    except anyio.get_cancelled_exc_class():
        outcome = "cancelled"
        raise
    finally:
        tool = params.get("name")
        audit_logger.info(
            "audit %s",
            json.dumps(
                {
                    "event": "tool_call",
                    "subject": view.subject,
                    "client_id": view.client_id,
                    "tool": tool if isinstance(tool, str) else None,
                    "providers": providers,
                    "pii": view.pii,
                    "outcome": outcome,
                },
                separators=(",", ":"),
            ),
        )
