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

from mcp_livecalls.errors import ConfigError
from mcp_livecalls.http import HttpPolicy
from mcp_livecalls.models import ProviderName
from mcp_livecalls.phone import DEFAULT_REGION, is_region
from mcp_livecalls.providers.base import LiveCallsProvider
from mcp_livecalls.providers.registry import PROVIDERS

__all__ = ["Settings"]

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
    http_token: SecretStr | None = None
    """Bearer token every streamable HTTP request must carry (``LIVECALLS_HTTP_TOKEN``)."""
    allowed_hosts: tuple[str, ...] = ()
    """Host headers accepted when serving HTTP on a non-loopback address (DNS-rebinding guard)."""
    allowed_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        policy = HttpPolicy(
            connect_timeout_s=_number(env, "LIVECALLS_CONNECT_TIMEOUT_S", HttpPolicy.connect_timeout_s),
            read_timeout_s=_number(env, "LIVECALLS_READ_TIMEOUT_S", HttpPolicy.read_timeout_s),
            request_timeout_s=_number(env, "LIVECALLS_REQUEST_TIMEOUT_S", HttpPolicy.request_timeout_s),
            tool_budget_s=_number(env, "LIVECALLS_TOOL_BUDGET_S", HttpPolicy.tool_budget_s),
            retry_attempts=int(
                _number(env, "LIVECALLS_RETRY_ATTEMPTS", HttpPolicy.retry_attempts, minimum=1)
            ),
            retry_after_cap_s=_number(env, "LIVECALLS_RETRY_AFTER_CAP_S", HttpPolicy.retry_after_cap_s),
            max_response_bytes=int(
                _number(env, "LIVECALLS_MAX_RESPONSE_BYTES", HttpPolicy.max_response_bytes, minimum=1024)
            ),
            max_concurrency=int(
                _number(env, "LIVECALLS_MAX_CONCURRENCY", HttpPolicy.max_concurrency, minimum=1)
            ),
        )
        return cls(
            providers={
                cls.name: configured for cls in PROVIDERS if (configured := _provider(env, cls)) is not None
            },
            http=policy,
            cache_ttl_s=_number(env, "LIVECALLS_CACHE_TTL_S", 1.0),
            mask_numbers=_flag(env, "LIVECALLS_MASK_NUMBERS"),
            default_region=_region(env, "LIVECALLS_DEFAULT_REGION"),
            transcript_turns=int(_number(env, "LIVECALLS_TRANSCRIPT_TURNS", 6, minimum=1)),
            poll_interval_s=_number(env, "LIVECALLS_POLL_INTERVAL_S", 2.0, minimum=MIN_POLL_INTERVAL_S),
            http_token=SecretStr(token) if (token := env.get("LIVECALLS_HTTP_TOKEN", "").strip()) else None,
            allowed_hosts=_list(env, "LIVECALLS_ALLOWED_HOSTS"),
            allowed_origins=_list(env, "LIVECALLS_ALLOWED_ORIGINS"),
        )

    @property
    def configured(self) -> list[str]:
        return [cls.name.value for cls in PROVIDERS if cls.name in self.providers]

    def provider(self, name: ProviderName) -> Any | None:
        """The settings of provider ``name``, or ``None`` when it is not configured."""
        return self.providers.get(name)

    def secrets(self) -> list[str]:
        """Every credential value, for redaction."""
        values: list[str] = []
        for provider in self.providers.values():
            for item in fields(provider):
                value = getattr(provider, item.name)
                if isinstance(value, SecretStr):
                    values.append(value.get_secret_value())
        if self.http_token is not None:
            values.append(self.http_token.get_secret_value())
        return values

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
    missing = [var for var, value in present.items() if not value]
    if missing:
        have = [var for var, value in present.items() if value]
        raise ConfigError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set, but "
            f"{', '.join(have)} {'is' if len(have) == 1 else 'are'}: set all of "
            f"{', '.join(present)} to enable this provider, or none to disable it."
        )
    kwargs: dict[str, Any] = {}
    for item in spec.settings:
        raw = env.get(item.var, "").strip()
        if item.kind == "secret":
            kwargs[item.field] = SecretStr(raw)
        elif raw and item.kind == "number":
            kwargs[item.field] = _number(env, item.var, 0.0, minimum=item.minimum)
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


def _number(env: Mapping[str, str], var: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(var, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a number, got {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{var} must be at least {minimum:g}, got {raw!r}.")
    return value


def _region(env: Mapping[str, str], var: str) -> str:
    raw = env.get(var, "").strip()
    if not raw:
        return DEFAULT_REGION
    if not is_region(raw.upper()):
        raise ConfigError(
            f"{var} must be an ISO 3166 alpha-2 region code such as IN, US or GB; got {raw[:16]!r}."
        )
    return raw.upper()


def _list(env: Mapping[str, str], var: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(var, "").split(",") if item.strip())


def _flag(env: Mapping[str, str], var: str) -> bool:
    return env.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
