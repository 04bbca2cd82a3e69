"""Reading one setting from one environment variable: numbers, flags, lists, URLs, regions."""

from __future__ import annotations

import math
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from mcp_livecalls.core.phone import DEFAULT_REGION, is_region
from mcp_livecalls.errors import ConfigError

__all__ = [
    "check_url",
    "flag_var",
    "list_var",
    "number_var",
    "public_url_var",
    "redis_secrets",
    "redis_url_var",
    "region_var",
]


def check_url(var: str, value: str) -> None:
    """Refuses a URL that is not http(s) or carries credentials (naming ``var``, never the value)."""
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{var} must start with https:// (or http:// for a local test server).")
    if "@" in urlsplit(value).netloc:
        raise ConfigError(f"{var} must not carry credentials; set them in their own variables.")


_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def redis_url_var(env: Mapping[str, str], var: str) -> SecretStr | None:
    raw = env.get(var, "").strip()
    if not raw:
        return None
    if not raw.startswith(_REDIS_SCHEMES):
        # Never echo the value: it may carry a password.
        raise ConfigError(
            f"{var} must start with redis://, rediss:// or unix:// (e.g. redis://127.0.0.1:6379/0)."
        )
    return SecretStr(raw)


def redis_secrets(url: str) -> list[str]:
    """The password inside a Redis URL (as written and decoded) and the whole URL, for redaction
    only: the fleet's keys come from ``Settings.fleet_secrets``, never from how the URL is written."""
    password = urlsplit(url).password
    if not password:
        return []
    return list(dict.fromkeys([password, unquote(password), url]))


def number_var(
    env: Mapping[str, str],
    var: str,
    default: float,
    *,
    minimum: float = 0.0,
    maximum: float = math.inf,
) -> float:
    raw = env.get(var, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a number, got {raw!r}.") from None
    if math.isnan(value) or value < minimum:
        raise ConfigError(f"{var} must be at least {minimum:g}, got {raw!r}.")
    if value > maximum:
        raise ConfigError(f"{var} must be at most {maximum:g}, got {raw!r}.")
    return value


def region_var(env: Mapping[str, str], var: str) -> str:
    raw = env.get(var, "").strip()
    if not raw:
        return DEFAULT_REGION
    if not is_region(raw.upper()):
        raise ConfigError(
            f"{var} must be an ISO 3166 alpha-2 region code such as IN, US or GB; got {raw[:16]!r}."
        )
    return raw.upper()


def list_var(env: Mapping[str, str], var: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(var, "").split(",") if item.strip())


def flag_var(env: Mapping[str, str], var: str) -> bool:
    return env.get(var, "").strip().lower() in {"1", "true", "yes", "on"}


def public_url_var(env: Mapping[str, str]) -> str | None:
    url = env.get("LIVECALLS_PUBLIC_URL", "").strip().rstrip("/")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc or parts.query:
        raise ConfigError("LIVECALLS_PUBLIC_URL must be an http(s) URL without credentials or query.")
    return url
