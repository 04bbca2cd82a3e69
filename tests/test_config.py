"""Settings from the environment: providers switch on with their credentials, clear messages otherwise."""

from __future__ import annotations

import pytest

from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.errors import ConfigError


def test_no_credentials_configures_no_provider() -> None:
    assert Settings.from_env({}).configured == []


def test_a_provider_is_enabled_when_its_credentials_are_set() -> None:
    settings = Settings.from_env(
        {"VOBIZ_AUTH_ID": "MA1", "VOBIZ_AUTH_TOKEN": "tok", "ZUDU_API_KEY": "sk_1", "ZUDU_API_SECRET": "s3"}
    )

    assert settings.configured == ["vobiz", "zudu"]
    vobiz = settings.provider(ProviderName("vobiz"))
    assert vobiz is not None
    assert vobiz.base_url == "https://api.vobiz.ai"


def test_half_set_credentials_name_the_missing_variable() -> None:
    with pytest.raises(
        ConfigError, match=r"^EXOTEL_API_TOKEN is not set, but EXOTEL_ACCOUNT_SID, EXOTEL_API_KEY are"
    ):
        Settings.from_env({"EXOTEL_ACCOUNT_SID": "sid", "EXOTEL_API_KEY": "key"})


def test_base_urls_are_configurable_for_self_hosted_deployments() -> None:
    settings = Settings.from_env(
        {"ZUDU_API_KEY": "sk_1", "ZUDU_API_SECRET": "s3", "ZUDU_BASE_URL": "http://localhost:8080/"}
    )

    zudu = settings.provider(ProviderName("zudu"))
    assert zudu is not None
    assert zudu.base_url == "http://localhost:8080"


def test_a_base_url_carrying_credentials_is_refused() -> None:
    with pytest.raises(ConfigError, match="must not carry credentials"):
        Settings.from_env(
            {"ZUDU_API_KEY": "k", "ZUDU_API_SECRET": "s", "ZUDU_BASE_URL": "https://k:s@api.zudu.ai"}
        )


def test_credentials_never_show_in_the_settings_repr() -> None:
    settings = Settings.from_env({"VOBIZ_AUTH_ID": "MA1", "VOBIZ_AUTH_TOKEN": "distinctive-token-81"})

    assert "distinctive-token-81" not in repr(settings)
    assert "distinctive-token-81" in settings.secrets()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LIVECALLS_TOOL_BUDGET_S": "soon"}, "LIVECALLS_TOOL_BUDGET_S must be a number"),
        ({"LIVECALLS_RETRY_ATTEMPTS": "0"}, "LIVECALLS_RETRY_ATTEMPTS must be at least 1"),
    ],
)
def test_malformed_limits_are_refused_with_the_variable_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_limits_and_masking_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {"LIVECALLS_TOOL_BUDGET_S": "4", "LIVECALLS_MASK_NUMBERS": "1", "LIVECALLS_CACHE_TTL_S": "0.5"}
    )

    assert (settings.http.tool_budget_s, settings.mask_numbers, settings.cache_ttl_s) == (4.0, True, 0.5)
