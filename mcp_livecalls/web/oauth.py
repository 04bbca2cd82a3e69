"""Sign-in as the MCP authorization spec says: an OAuth 2.1 resource server, and per-caller views.

The pieces, outside in:

- ``OAuthGate`` (ASGI) fronts ``/mcp``: no token is a 401 whose ``WWW-Authenticate`` names the
  protected resource metadata (RFC 9728, served by the gate at
  ``/.well-known/oauth-protected-resource`` and ``…/mcp``); a bad token a 401
  ``invalid_token``; a token without ``livecalls:read`` a 403 ``insufficient_scope`` naming the
  scope (RFC 6750). A good one becomes the SDK's ``AuthenticatedUser`` (so sessions stay bound
  to the principal that opened them) and the caller's view (``mcp_livecalls.core.views.CallerView``).
- ``OAuthVerifier`` checks a token: a JWT against the issuer's JWKS (asymmetric algorithms
  only; ``iss``, ``aud``, ``exp``/``nbf``), an opaque token by introspection (RFC 7662). The
  token itself is never passed on upstream, logged, or kept beyond a short verification cache.
- ``CallerView`` is what one caller may see: which providers (``livecalls:read:<provider>``
  scopes restrict them) and whether phone numbers and transcripts (``livecalls:pii``). It lives
  in a context variable the gate sets per request; stdio and the shared token see everything.
  The service (providers, cursors) and the output policy (``render.prepare_*``) read it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeGuard, TypeVar
from urllib.parse import urlsplit

import anyio
import httpx2
import jwt
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

from mcp_livecalls.config import OAuthSettings
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.core.views import (
    SCOPE_PII,
    SCOPE_READ,
    CallerView,
    caller_view,
    provider_scope,
    viewing_as,
)
from mcp_livecalls.errors import LiveCallsError
from mcp_livecalls.upstream.translate import translate_errors

__all__ = [
    "ALGORITHMS",
    "LEEWAY_S",
    "AuthServerError",
    "OAuthGate",
    "OAuthVerifier",
    "audit_tool_calls",
]

logger = logging.getLogger(__name__)
audit_logger = logging.getLogger("mcp_livecalls.audit")

ALGORITHMS = frozenset({"RS256", "ES256", "EdDSA"})
"""Signatures accepted on JWT access tokens: asymmetric only (never ``none``, never HS*)."""
LEEWAY_S = 30.0
"""Clock skew allowed on ``exp`` and ``nbf``."""
JWKS_REFETCH_S = 60.0
"""An unknown ``kid`` refetches the key set at most this often (key rotation, without letting
made-up key ids hammer the authorization server)."""
JWKS_RETRY_S = 5.0
"""After a failed fetch of the key set, the next request may try again this much later."""
INTROSPECTION_CACHE_S = 60.0
"""An introspection answer is reused for at most this long (and never past the token's ``exp``)."""
_INTROSPECTION_CACHE_SIZE = 10_000
_HTTP_TIMEOUT_S = 10.0
_AS = "authorization server"

_T = TypeVar("_T")


class AuthServerError(LiveCallsError):
    """The authorization server could not be asked or answered something unusable."""


# -- token verification ----------------------------------------------------------------------


HttpFactory = Callable[[], AbstractAsyncContextManager[httpx2.AsyncClient]]


def _default_http() -> AbstractAsyncContextManager[httpx2.AsyncClient]:
    return httpx2.AsyncClient(timeout=_HTTP_TIMEOUT_S, follow_redirects=False)


class OAuthVerifier:
    """A ``TokenVerifier`` (the SDK's protocol) for one authorization server and one resource.

    ``clock`` gives wall-clock seconds (``exp`` and ``nbf`` are compared with it); tests pass
    their own. ``http`` opens the client that fetches metadata, keys and introspection answers.
    """

    def __init__(
        self,
        settings: OAuthSettings,
        *,
        clock: Callable[[], float] = time.time,
        http: HttpFactory = _default_http,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._http = http
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_fetched_at: float | None = None
        self._fetch_failed = False
        self._jwks_url = settings.jwks_url
        self._lock = anyio.Lock()
        self._introspected: OrderedDict[str, tuple[float, AccessToken | None]] = OrderedDict()
        self.key_fetches = 0
        """How often the key set was fetched (tests watch the refetch limit)."""

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's meaning, or ``None`` when it is not valid for this resource right now.

        Raises ``AuthServerError`` when the authorization server cannot be asked.
        """
        header = _jws_header(token)
        if header is not None:
            return await self._verify_jwt(token, header)
        if self.settings.introspection_url is not None:
            return await self._introspect(token)
        return None

    # JWT ------------------------------------------------------------------------------------

    async def _verify_jwt(self, token: str, header: Mapping[str, Any]) -> AccessToken | None:
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            logger.info(
                "refused a token signed with %r (accepted: %s)", algorithm, ", ".join(sorted(ALGORITHMS))
            )
            return None
        kid = header.get("kid")
        key = await self._key(kid if isinstance(kid, str) else None)
        if key is None or key.algorithm_name != algorithm:
            return None  # no such key, or a key meant for another algorithm
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.PyJWTError as exc:
            logger.info("refused a token: %s", type(exc).__name__)
            return None
        return self._accept(claims, jwt_token=True)

    async def _key(self, kid: str | None) -> jwt.PyJWK | None:
        """The signing key ``kid`` names, fetching the key set when it may have changed.

        Raises ``AuthServerError`` while the key set cannot be fetched (a 503, not a 401: the
        token may well be good, and a client should not throw it away).
        """
        async with self._lock:
            key = self._lookup(kid)
            if key is None and self._may_fetch():
                await self._fetch_keys()
                key = self._lookup(kid)
            if key is None and self._fetch_failed:
                raise AuthServerError("The authorization server's signing keys could not be fetched.")
            return key

    def _may_fetch(self) -> bool:
        if self._keys_fetched_at is None:
            return True
        waited = self.clock() - self._keys_fetched_at
        return waited >= (JWKS_RETRY_S if self._fetch_failed else JWKS_REFETCH_S)

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _fetch_keys(self) -> None:
        self._keys_fetched_at = self.clock()
        self.key_fetches += 1
        self._fetch_failed = True
        if self._jwks_url is None:
            self._jwks_url = await self._discover_jwks_url()
        document = await self._get_json(self._jwks_url)
        self._fetch_failed = False
        keys: dict[str, jwt.PyJWK] = {}
        entries = document.get("keys") if isinstance(document, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or entry.get("kty") == "oct" or entry.get("use", "sig") != "sig":
                continue  # a symmetric key is never a public signing key
            try:
                key = jwt.PyJWK.from_dict(entry)
            except jwt.PyJWTError:
                continue  # a key type or curve this server does not use
            if key.algorithm_name not in ALGORITHMS:
                continue
            keys[str(entry.get("kid", ""))] = key
        self._keys = keys
        logger.debug("fetched %d signing keys from the authorization server", len(keys))

    async def _discover_jwks_url(self) -> str:
        issuer = self.settings.issuer.rstrip("/")
        parts = urlsplit(issuer)
        origin = f"{parts.scheme}://{parts.netloc}"
        candidates = [
            f"{origin}/.well-known/oauth-authorization-server{parts.path}",  # RFC 8414 §3.1
            f"{issuer}/.well-known/openid-configuration",  # OpenID Connect Discovery 1.0 §4
        ]
        if parts.path:  # Okta's custom authorization servers append rather than insert
            candidates.append(f"{issuer}/.well-known/oauth-authorization-server")
        for url in candidates:
            try:
                metadata = await self._get_json(url)
            except AuthServerError:
                continue
            if not isinstance(metadata, dict) or metadata.get("issuer") != self.settings.issuer:
                continue  # RFC 8414 §3.3: metadata for another issuer is not this issuer's
            jwks_uri = metadata.get("jwks_uri")
            if isinstance(jwks_uri, str) and jwks_uri.startswith(("https://", "http://")):
                return jwks_uri
        raise AuthServerError(
            "The authorization server's metadata names no jwks_uri for issuer "
            f"{self.settings.issuer}; set LIVECALLS_OAUTH_JWKS_URL."
        )

    async def _get_json(self, url: str) -> Any:
        with translate_errors(_AS):
            async with self._http() as client:
                response = await client.get(url, headers={"Accept": "application/json"})
            if response.status_code != 200:
                raise AuthServerError(f"The authorization server answered {response.status_code} for {url}.")
            return json.loads(response.content)

    # introspection --------------------------------------------------------------------------

    async def _introspect(self, token: str) -> AccessToken | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = self.clock()
        cached = self._introspected.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        settings = self.settings
        assert settings.introspection_url is not None
        assert settings.client_secret is not None
        with translate_errors(_AS):
            async with self._http() as client:
                response = await client.post(
                    settings.introspection_url,
                    data={"token": token, "token_type_hint": "access_token"},
                    auth=(settings.client_id or "", settings.client_secret.get_secret_value()),
                    headers={"Accept": "application/json"},
                )
            if response.status_code != 200:
                raise AuthServerError(f"Token introspection answered {response.status_code}.")
            answer = json.loads(response.content)
        accepted = (
            self._accept(answer, jwt_token=False)
            if isinstance(answer, dict) and answer.get("active") is True
            else None
        )
        until = now + INTROSPECTION_CACHE_S
        if accepted is not None and accepted.expires_at is not None:
            until = min(until, float(accepted.expires_at))
        self._introspected[digest] = (until, accepted)
        self._introspected.move_to_end(digest)
        while len(self._introspected) > _INTROSPECTION_CACHE_SIZE:
            self._introspected.popitem(last=False)
        return accepted

    # claims ---------------------------------------------------------------------------------

    def _accept(self, claims: Mapping[str, Any], *, jwt_token: bool) -> AccessToken | None:
        """The claims' ``AccessToken`` if issuer, audience and time window hold, else ``None``.

        A JWT must carry ``iss`` and ``exp``; an introspection answer may leave them out (the
        authorization server vouched for it), but what it says must hold too.
        """
        now = self.clock()
        issuer = claims.get("iss")
        if (jwt_token or issuer is not None) and issuer != self.settings.issuer:
            logger.info("refused a token from another issuer")
            return None
        if not _audience_matches(claims.get("aud"), self.settings.audience):
            logger.info("refused a token for another audience")
            return None
        expires = claims.get("exp")
        if not _is_number(expires):
            if jwt_token or expires is not None:
                return None
        elif now > float(expires) + LEEWAY_S:
            logger.info("refused an expired token")
            return None
        not_before = claims.get("nbf")
        if not_before is not None and (not _is_number(not_before) or now + LEEWAY_S < float(not_before)):
            logger.info("refused a token that is not valid yet")
            return None
        client_id = next(
            (str(claims[k]) for k in ("client_id", "azp", "cid", "appid") if isinstance(claims.get(k), str)),
            "unknown",
        )
        subject = claims.get("sub")
        return AccessToken(
            token="(verified)",  # noqa: S106 - the token itself is not kept
            client_id=client_id,
            scopes=_scopes(claims),
            expires_at=int(float(expires)) if _is_number(expires) else None,
            resource=self.settings.audience,
            subject=str(subject) if isinstance(subject, str) else None,
            claims={"iss": self.settings.issuer},
        )


def _jws_header(token: str) -> dict[str, Any] | None:
    """The header of a token shaped like a signed JWT, else ``None`` (an opaque token)."""
    if token.count(".") != 2:
        return None
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _audience_matches(audience: object, expected: str) -> bool:
    """RFC 8707 / RFC 9068: ``aud`` (a string or a list) names this resource; a trailing slash aside."""
    wanted = expected.rstrip("/")
    values = audience if isinstance(audience, list) else [audience]
    return any(isinstance(value, str) and value.rstrip("/") == wanted for value in values)


def _scopes(claims: Mapping[str, Any]) -> list[str]:
    """``scope`` (RFC 9068, space-separated), ``scp`` (Okta: a list; Entra ID: a string), or
    ``permissions`` (Auth0 with RBAC)."""
    found: list[str] = []
    for name in ("scope", "scp", "permissions"):
        value = claims.get(name)
        if isinstance(value, str):
            found += value.split()
        elif isinstance(value, list):
            found += [item for item in value if isinstance(item, str)]
    return list(dict.fromkeys(found))


# -- the gate --------------------------------------------------------------------------------

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def scopes_supported() -> list[str]:
    return [SCOPE_READ, SCOPE_PII, *(provider_scope(p) for p in ProviderName)]


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
            scopes_supported=scopes_supported(),
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
            f'scope="{SCOPE_READ}"',
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
