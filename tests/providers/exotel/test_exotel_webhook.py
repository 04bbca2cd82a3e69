"""Exotel's webhook reader: a secret path token and an optional source allow-list; its status applied."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from mcp_livecalls.core.models import CallStatus
from mcp_livecalls.providers.exotel.adapter import ExotelSettings
from mcp_livecalls.providers.exotel.webhook import ExotelWebhook
from mcp_livecalls.providers.hooks import WebhookRefused, parse_request

NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
TOKEN = "tok_" + "x7" * 12
SETTINGS = ExotelSettings(SecretStr("sid"), SecretStr("key"), SecretStr("token"), webhook_token=TOKEN)
BODY = b"CallSid=ex-1&Status=completed&DateUpdated=2026-12-07+20%3A00%3A00"


def _request(token: str | None, remote: str = "198.51.100.7"):  # type: ignore[no-untyped-def]
    headers = {"content-type": "application/x-www-form-urlencoded"}
    url = f"https://hooks.example/webhooks/exotel/{token}"
    return parse_request("POST", url, headers, BODY, remote=remote, path_token=token)


def test_a_callback_on_the_token_path_is_applied_with_its_status() -> None:
    reader = ExotelWebhook.from_settings(SETTINGS)
    assert reader is not None

    [event] = reader.read(_request(TOKEN), NOW)

    assert (event.call_id, event.kind, event.status, event.provider_status) == (
        "ex-1",
        "apply",
        CallStatus.ENDED,
        "completed",
    )
    assert reader.path() == f"/webhooks/exotel/{TOKEN}"


@pytest.mark.parametrize("token", [None, "", TOKEN[:-1], TOKEN + "x"])
def test_a_callback_without_the_token_is_refused(token: str | None) -> None:
    reader = ExotelWebhook.from_settings(SETTINGS)
    assert reader is not None

    with pytest.raises(WebhookRefused):
        reader.read(_request(token), NOW)


def test_the_allow_list_refuses_other_addresses() -> None:
    reader = ExotelWebhook.from_settings(replace(SETTINGS, webhook_sources="203.0.113.5, 198.51.100.7"))
    assert reader is not None

    assert len(reader.read(_request(TOKEN, "198.51.100.7"), NOW)) == 1
    with pytest.raises(WebhookRefused):
        reader.read(_request(TOKEN, "192.0.2.1"), NOW)


@pytest.mark.parametrize("token", ["", "short", "has/slash" + "x" * 30])
def test_webhooks_stay_off_without_a_long_url_safe_token(token: str) -> None:
    assert ExotelWebhook.from_settings(replace(SETTINGS, webhook_token=token)) is None


def test_neither_the_settings_nor_the_reader_show_the_token() -> None:
    assert TOKEN not in repr(SETTINGS)
    assert TOKEN not in repr(ExotelWebhook.from_settings(SETTINGS))
