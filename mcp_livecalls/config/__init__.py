"""Settings from the environment.

Credentials come only from environment variables (never command-line arguments, which any
user of the machine can read in ``ps``). A provider is enabled when its credentials are set;
a half-set provider is a ``ConfigError`` naming the missing variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from mcp_livecalls.config.oauth import OAuthSettings
from mcp_livecalls.config.values import (
    flag_var,
    list_var,
    number_var,
    public_url_var,
    redis_secrets,
    redis_url_var,
    region_var,
)
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.core.phone import DEFAULT_REGION
from mcp_livecalls.errors import ConfigError
from mcp_livecalls.providers.base import LiveCallsProvider
from mcp_livecalls.providers.registry import PROVIDERS
from mcp_livecalls.service.watch import DEFAULT_MAX_WATCHES, DEFAULT_MAX_WATCHES_PER_SESSION
from mcp_livecalls.upstream.policy import HttpPolicy

__all__ = [
    "DEFAULT_MAX_WATCHES",
    "DEFAULT_MAX_WATCHES_PER_SESSION",
    "OAuthSettings",
    "Settings",
]

MIN_POLL_INTERVAL_S = 0.5
"""Subscriptions never poll a provider more often than this."""


@dataclass(frozen=True)
class Settings:
    providers: Mapping[ProviderName, Any] = field(default_factory=dict)
    """Each configured provider's settings (its adapter's ``settings_type``), by name."""
    http: HttpPolicy = field(default_factory=HttpPolicy)
    cache_ttl_s: float = 1.0
    """How long an upstream answer may be served again (0 turns the cache off)."""
    mask_numbers: bool = False
    """Show only the last 4 digits of phone numbers in every output."""
    default_region: str = DEFAULT_REGION
    """ISO 3166 alpha-2 region for national and ambiguous number forms (``LIVECALLS_DEFAULT_REGION``)."""
    transcript_turns: int = 6
    """Transcript turns kept in a brief answer (older ones are counted, not shown)."""
    poll_interval_s: float = 2.0
    """How often a subscribed resource is polled upstream for changes."""
    reconcile_s: float = 30.0
    """While its provider pushes (webhooks healthy), how often a resource is re-polled (s)."""
    max_watches_per_session: int = DEFAULT_MAX_WATCHES_PER_SESSION
    """Resources one session (or one listen stream) may watch (``LIVECALLS_MAX_WATCHES_PER_SESSION``)."""
    max_watches: int = DEFAULT_MAX_WATCHES
    """Resources watched (polled) for all clients together (``LIVECALLS_MAX_WATCHES``)."""
    http_token: SecretStr | None = None
    public_url: str | None = None
    """The URL providers post webhooks to (``LIVECALLS_PUBLIC_URL``); their signatures cover it."""
    """Bearer token every streamable HTTP request must carry (``LIVECALLS_HTTP_TOKEN``)."""
    allowed_hosts: tuple[str, ...] = ()
    """Host headers accepted when serving HTTP on a non-loopback address (DNS-rebinding guard)."""
    allowed_origins: tuple[str, ...] = ()
    oauth: OAuthSettings | None = None
    """Sign-in with an OAuth 2.1 authorization server (``LIVECALLS_OAUTH_*``); excludes ``http_token``."""
    max_sessions: int = 200
    """Open streamable HTTP sessions at most (``LIVECALLS_MAX_SESSIONS``); more get 503."""
    max_sessions_per_caller: int = 20
    """Open sessions one caller may hold (``LIVECALLS_MAX_SESSIONS_PER_CALLER``); more get 429. The
    caller is the token's subject when a verifier names one, else the client's address."""
    session_idle_s: float = 300.0
    """An HTTP session with no request in flight for this long is closed (``LIVECALLS_SESSION_IDLE_S``)."""
    http_header_timeout_s: float = 10.0
    """A connection must deliver a complete request head this soon after opening (or after its
    previous answer) or it is closed (``LIVECALLS_HTTP_HEADER_TIMEOUT_S``)."""
    http_max_connections: int = 512
    """Open HTTP connections at most (``LIVECALLS_HTTP_MAX_CONNECTIONS``; never more than half the
    process's file-descriptor limit); more are answered 503 and closed at once."""
    http_max_connections_per_address: int = 128
    """Open HTTP connections from one client address at most
    (``LIVECALLS_HTTP_MAX_CONNECTIONS_PER_ADDRESS``); more are answered 503 and closed at once."""
    redis_url: SecretStr | None = None
    """Replicas share cache, pacing, memo, updates and pollers through this Redis (``LIVECALLS_REDIS_URL``);
    unset: everything stays in this process. A secret: it may carry a password."""
    redis_prefix: str = "livecalls:"
    """Namespace of every Redis key and channel (``LIVECALLS_REDIS_PREFIX``)."""
    fleet_secret: SecretStr | None = None
    """What makes replicas one fleet (``LIVECALLS_FLEET_SECRET``): the key that hashes Redis keys
    and signs cursors. Unset: derived from the providers' credentials (see ``fleet_secrets``)."""
    metrics_public: bool = False
    """Serve ``GET /metrics`` without the bearer token (``LIVECALLS_METRICS_PUBLIC=1``)."""

    def __post_init__(self) -> None:
        if self.oauth is not None and self.http_token is not None:
            raise ConfigError(
                "LIVECALLS_HTTP_TOKEN and LIVECALLS_OAUTH_ISSUER are both set: choose one way to sign in "
                "(the shared token for a simple deployment, OAuth for per-user access), and unset the other."
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        policy = HttpPolicy(
            connect_timeout_s=number_var(env, "LIVECALLS_CONNECT_TIMEOUT_S", HttpPolicy.connect_timeout_s),
            read_timeout_s=number_var(env, "LIVECALLS_READ_TIMEOUT_S", HttpPolicy.read_timeout_s),
            request_timeout_s=number_var(env, "LIVECALLS_REQUEST_TIMEOUT_S", HttpPolicy.request_timeout_s),
            tool_budget_s=number_var(env, "LIVECALLS_TOOL_BUDGET_S", HttpPolicy.tool_budget_s),
            retry_attempts=int(
                number_var(env, "LIVECALLS_RETRY_ATTEMPTS", HttpPolicy.retry_attempts, minimum=1)
            ),
            retry_after_cap_s=number_var(env, "LIVECALLS_RETRY_AFTER_CAP_S", HttpPolicy.retry_after_cap_s),
            max_response_bytes=int(
                number_var(env, "LIVECALLS_MAX_RESPONSE_BYTES", HttpPolicy.max_response_bytes, minimum=1024)
            ),
            max_concurrency=int(
                number_var(env, "LIVECALLS_MAX_CONCURRENCY", HttpPolicy.max_concurrency, minimum=1)
            ),
            background_share=number_var(
                env, "LIVECALLS_WATCH_SHARE", HttpPolicy.background_share, minimum=0.0, maximum=1.0
            ),
        )
        return cls(
            providers={
                cls.name: configured for cls in PROVIDERS if (configured := _provider(env, cls)) is not None
            },
            http=policy,
            cache_ttl_s=number_var(env, "LIVECALLS_CACHE_TTL_S", 1.0),
            mask_numbers=flag_var(env, "LIVECALLS_MASK_NUMBERS"),
            default_region=region_var(env, "LIVECALLS_DEFAULT_REGION"),
            transcript_turns=int(number_var(env, "LIVECALLS_TRANSCRIPT_TURNS", 6, minimum=1)),
            poll_interval_s=number_var(env, "LIVECALLS_POLL_INTERVAL_S", 2.0, minimum=MIN_POLL_INTERVAL_S),
            reconcile_s=number_var(env, "LIVECALLS_RECONCILE_S", 30.0, minimum=MIN_POLL_INTERVAL_S),
            max_watches_per_session=int(
                number_var(
                    env, "LIVECALLS_MAX_WATCHES_PER_SESSION", DEFAULT_MAX_WATCHES_PER_SESSION, minimum=1
                )
            ),
            max_watches=int(number_var(env, "LIVECALLS_MAX_WATCHES", DEFAULT_MAX_WATCHES, minimum=1)),
            http_token=SecretStr(token) if (token := env.get("LIVECALLS_HTTP_TOKEN", "").strip()) else None,
            public_url=public_url_var(env),
            allowed_hosts=list_var(env, "LIVECALLS_ALLOWED_HOSTS"),
            allowed_origins=list_var(env, "LIVECALLS_ALLOWED_ORIGINS"),
            oauth=OAuthSettings.from_env(env),
            max_sessions=int(number_var(env, "LIVECALLS_MAX_SESSIONS", 200, minimum=1)),
            max_sessions_per_caller=int(number_var(env, "LIVECALLS_MAX_SESSIONS_PER_CALLER", 20, minimum=1)),
            session_idle_s=number_var(env, "LIVECALLS_SESSION_IDLE_S", 300.0, minimum=1.0),
            http_header_timeout_s=number_var(env, "LIVECALLS_HTTP_HEADER_TIMEOUT_S", 10.0, minimum=0.1),
            http_max_connections=int(number_var(env, "LIVECALLS_HTTP_MAX_CONNECTIONS", 512, minimum=8)),
            http_max_connections_per_address=int(
                number_var(env, "LIVECALLS_HTTP_MAX_CONNECTIONS_PER_ADDRESS", 128, minimum=4)
            ),
            redis_url=redis_url_var(env, "LIVECALLS_REDIS_URL"),
            redis_prefix=env.get("LIVECALLS_REDIS_PREFIX", "").strip() or "livecalls:",
            fleet_secret=SecretStr(secret)
            if (secret := env.get("LIVECALLS_FLEET_SECRET", "").strip())
            else None,
            metrics_public=flag_var(env, "LIVECALLS_METRICS_PUBLIC"),
        )

    @property
    def configured(self) -> list[str]:
        return [cls.name.value for cls in PROVIDERS if cls.name in self.providers]

    def provider(self, name: ProviderName) -> Any | None:
        """The settings of provider ``name``, or ``None`` when it is not configured."""
        return self.providers.get(name)

    def secrets(self) -> list[str]:
        """Every credential value, for redaction."""
        values = self.provider_secrets()
        if self.fleet_secret is not None:
            values.append(self.fleet_secret.get_secret_value())
        if self.http_token is not None:
            values.append(self.http_token.get_secret_value())
        if self.oauth is not None and self.oauth.client_secret is not None:
            values.append(self.oauth.client_secret.get_secret_value())
        if self.redis_url is not None:
            values.extend(redis_secrets(self.redis_url.get_secret_value()))
        return values

    def provider_secrets(self) -> list[str]:
        """The configured providers' credential values."""
        return [
            value.get_secret_value()
            for provider in self.providers.values()
            for item in fields(provider)
            if isinstance(value := getattr(provider, item.name), SecretStr)
        ]

    def fleet_secrets(self) -> list[str]:
        """What identifies the deployment, for the keys of Redis entries and cursors:
        ``LIVECALLS_FLEET_SECRET`` when set, else the providers' credentials. Never the Redis URL
        or its password (one Redis spelled two ways, or a password rotated one replica at a time,
        is still one fleet) nor the HTTP token."""
        if self.fleet_secret is not None:
            return [self.fleet_secret.get_secret_value()]
        return self.provider_secrets()

    def redaction_pairs(self) -> list[tuple[str, str]]:
        """Credential pairs that travel joined (basic auth), for redaction."""
        return [
            pair
            for cls in PROVIDERS
            if (configured := self.providers.get(cls.name)) is not None
            for pair in cls.redaction_pairs(configured)
        ]

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _provider(env: Mapping[str, str], provider: type[LiveCallsProvider]) -> Any | None:
    """``provider``'s settings from ``env``, ``None`` when none of its secrets is set."""
    spec = provider.env
    secrets = [item for item in spec.settings if item.kind == "secret"]
    present = {item.var: env.get(item.var, "").strip() for item in secrets}
    if not any(present.values()):
        return None
    ways = spec.ways
    optional = {spec.var(name) for group in spec.alternatives for name in group}
    # The ways the alternative variables that are set point at (every way when none is set):
    # each of them must be complete, so a half-set alternative is refused too.
    chosen = [way for way in ways if any(present[var] for var in way if var in optional)] or list(ways)
    incomplete = [way for way in chosen if not all(present[var] for var in way)]
    if incomplete:
        missing = [[var for var in way if not present[var]] for way in incomplete]
        count = sum(len(group) for group in missing)
        have = [var for var, value in present.items() if value]
        if len(ways) == 1:
            advice = f"set all of {', '.join(present)}"
        else:
            advice = "set " + " or ".join(", ".join(way) for way in ways)
        raise ConfigError(
            f"{' or '.join(' and '.join(group) for group in missing)} {'is' if count == 1 else 'are'} "
            f"not set, but {', '.join(have)} {'is' if len(have) == 1 else 'are'}: {advice} to enable "
            "this provider, or none to disable it."
        )
    kwargs: dict[str, Any] = {}
    for item in spec.settings:
        raw = env.get(item.var, "").strip()
        if item.kind == "secret" and (raw or spec.var(item.field) not in optional):
            kwargs[item.field] = SecretStr(raw)
        elif raw and item.kind == "number":
            kwargs[item.field] = number_var(env, item.var, 0.0, minimum=item.minimum)
        elif raw:
            kwargs[item.field] = raw
    base_url = env.get(spec.base_url_var, "").strip()
    if base_url:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{spec.base_url_var} must start with http:// or https://.")
        if "@" in urlsplit(base_url).netloc:
            raise ConfigError(
                f"{spec.base_url_var} must not carry credentials; set them in their own variables."
            )
        kwargs["base_url"] = base_url.rstrip("/")
    return provider.settings_type(**kwargs)


def provider_env(
    provider: type[LiveCallsProvider], base_url: str, values: Mapping[str, str]
) -> dict[str, str]:
    """The environment that configures ``provider`` at ``base_url`` with settings ``values``
    (by field name), in the spec's order: what a person would type to point the server there."""
    env = {provider.env.base_url_var: base_url}
    env.update({item.var: values[item.field] for item in provider.env.settings if item.field in values})
    return env
