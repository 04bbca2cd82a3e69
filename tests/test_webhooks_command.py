"""``mcp-livecalls webhooks``: each configured provider's webhook URL and setting, tokens never shown."""

from __future__ import annotations

import pytest

from mcp_livecalls.cli import main, simulator_env
from mcp_livecalls.simulator import DEMO_CREDENTIALS

TOKEN = "tok_" + "z9" * 12


def test_the_command_prints_a_url_and_setting_per_pushing_provider_and_names_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = simulator_env("http://127.0.0.1:9", DEMO_CREDENTIALS)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("LIVECALLS_PUBLIC_URL", "https://hooks.example/")
    monkeypatch.setenv("EXOTEL_WEBHOOK_TOKEN", TOKEN)

    assert main(["webhooks"]) == 0

    out = capsys.readouterr().out
    assert "https://hooks.example/webhooks/twilio\n" in out
    assert "https://hooks.example/webhooks/exotel/<EXOTEL_WEBHOOK_TOKEN>" in out
    assert "webhooks/zudu" not in out  # Zudu is always polled
    assert TOKEN not in out
    secrets = [value for var, value in env.items() if var.endswith(("_TOKEN", "_KEY", "_SECRET"))]
    assert secrets
    assert all(secret not in out for secret in secrets)


def test_without_a_public_url_the_command_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LIVECALLS_PUBLIC_URL", raising=False)

    assert main(["webhooks"]) == 2
    assert "LIVECALLS_PUBLIC_URL" in capsys.readouterr().err
