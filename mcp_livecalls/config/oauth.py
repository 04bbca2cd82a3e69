"""Sign-in settings (``LIVECALLS_OAUTH_*``): the OAuth 2.1 resource server's issuer, audience and keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from mcp_livecalls.config.values import check_url
from mcp_livecalls.core.views import SCOPE_READ, supported_scopes
from mcp_livecalls.errors import ConfigError

__all__ = ["OAuthSettings"]


@dataclass(frozen=True)
class OAuthSettings:
    """Sign-in as an OAuth 2.1 resource server (``LIVECALLS_OAUTH_*``; see ``mcp_livecalls.web.oauth``)."""

    issuer: str
    """The authorization server's issuer identifier, compared exactly with a token's ``iss``."""
    audience: str
    """This server's resource URL (RFC 8707), e.g. ``https://livecalls.example.com/mcp``."""
    jwks_url: str | None = None
    """Where the signing keys are; without it, ``jwks_uri`` from the issuer's metadata."""
    introspection_url: str | None = None
    """RFC 7662 endpoint for opaque (non-JWT) tokens; needs the client credentials below."""
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scopes: tuple[str, ...] = (SCOPE_READ,)
    """The scopes clients are told to request (the 401's ``scope``): real OAuth clients request
    exactly these, so a scope the authorization server's policy may grant (``livecalls:pii``)
    is reachable only when named here (``LIVECALLS_OAUTH_SCOPES``, space-separated)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OAuthSettings | None:
        names = {
            "issuer": "LIVECALLS_OAUTH_ISSUER",
            "audience": "LIVECALLS_OAUTH_AUDIENCE",
            "jwks_url": "LIVECALLS_OAUTH_JWKS_URL",
            "introspection_url": "LIVECALLS_OAUTH_INTROSPECTION_URL",
            "client_id": "LIVECALLS_OAUTH_CLIENT_ID",
            "client_secret": "LIVECALLS_OAUTH_CLIENT_SECRET",
            "scopes": "LIVECALLS_OAUTH_SCOPES",
        }
        raw = {name: env.get(var, "").strip() for name, var in names.items()}
        if not any(raw.values()):
            return None
        for name in ("issuer", "audience"):
            if not raw[name]:
                raise ConfigError(
                    f"{names[name]} is not set, but other LIVECALLS_OAUTH_* variables are: sign-in needs "
                    "LIVECALLS_OAUTH_ISSUER (the authorization server) and LIVECALLS_OAUTH_AUDIENCE "
                    "(this server's URL, e.g. https://livecalls.example.com/mcp)."
                )
        for name in ("issuer", "audience", "jwks_url", "introspection_url"):
            if raw[name]:
                check_url(names[name], raw[name])
        if raw["introspection_url"] and not (raw["client_id"] and raw["client_secret"]):
            raise ConfigError(
                "LIVECALLS_OAUTH_INTROSPECTION_URL needs LIVECALLS_OAUTH_CLIENT_ID and "
                "LIVECALLS_OAUTH_CLIENT_SECRET (the credentials this server introspects tokens with)."
            )
        return cls(
            issuer=raw["issuer"],
            audience=raw["audience"],
            jwks_url=raw["jwks_url"] or None,
            introspection_url=raw["introspection_url"] or None,
            client_id=raw["client_id"] or None,
            client_secret=SecretStr(raw["client_secret"]) if raw["client_secret"] else None,
            scopes=_requested_scopes(names["scopes"], raw["scopes"]),
        )


def _requested_scopes(var: str, value: str) -> tuple[str, ...]:
    if not value:
        return (SCOPE_READ,)
    scopes = tuple(dict.fromkeys(part for part in value.split() if part))
    known = supported_scopes()
    unknown = [scope for scope in scopes if scope not in known]
    if unknown:
        raise ConfigError(f"{var} names unknown scopes {', '.join(unknown)}; known: {', '.join(known)}.")
    if SCOPE_READ not in scopes:
        raise ConfigError(f"{var} must include {SCOPE_READ} (a token without it is refused).")
    return scopes
