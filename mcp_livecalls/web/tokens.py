"""Token verification for sign-in: what an access token means for this resource, or nothing.

``OAuthVerifier`` checks a token: a JWT against the issuer's JWKS (asymmetric algorithms only;
``iss``, ``aud``, ``exp``/``nbf``), an opaque token by introspection (RFC 7662). The token itself
is never passed on upstream, logged, or kept beyond a short verification cache. Granted scopes
come from one claim, the first present of ``scope`` (RFC 9068; RFC 6749 §3.3: separated by
spaces, %x20, nothing else), ``scp`` (Okta: a list; Entra ID: a string) and ``permissions``
(Auth0 with RBAC): never a union, so a second claim cannot add to what the first grants.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeGuard
from urllib.parse import urlsplit

import anyio
import httpx2
import jwt
from mcp.server.auth.provider import AccessToken

from mcp_livecalls.config import OAuthSettings
from mcp_livecalls.errors import LiveCallsError
from mcp_livecalls.upstream.translate import translate_errors

__all__ = [
    "ALGORITHMS",
    "INTROSPECTION_CACHE_S",
    "JWKS_REFETCH_S",
    "JWKS_RETRY_S",
    "LEEWAY_S",
    "AuthServerError",
    "OAuthVerifier",
    "granted_scopes",
]

logger = logging.getLogger("mcp_livecalls.web.oauth")

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
            scopes=granted_scopes(claims),
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


def granted_scopes(claims: Mapping[str, Any]) -> list[str]:
    """The scopes one claim grants: the first present of ``scope``, ``scp``, ``permissions``.

    A string is split on plain spaces only (``livecalls:read\u00a0livecalls:pii`` is one unknown
    scope, not two); a list's strings are taken as they are.
    """
    for name in SCOPE_CLAIMS:
        value = claims.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            found = value.split(" ")
        elif isinstance(value, list):
            found = [item for item in value if isinstance(item, str)]
        else:
            found = []
        return list(dict.fromkeys(item for item in found if item))
    return []


SCOPE_CLAIMS = ("scope", "scp", "permissions")
"""Where authorization servers put granted scopes, in the order they are looked for."""
