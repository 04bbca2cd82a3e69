"""The shared webhook interface: how a request is read before any provider's reader sees it."""

from __future__ import annotations

import pytest

from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.providers.hooks import (
    WebhookReader,
    WebhookRefused,
    b64_hmac,
    hex_hmac,
    parse_request,
    same,
)
from mcp_livecalls.providers.registry import READERS, build_readers

FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}


def test_form_parameters_keep_every_value_of_a_repeated_name_and_header_names_are_lowercased() -> None:
    request = parse_request(
        "post",
        "https://hooks.example/webhooks/x",
        {"Content-Type": FORM["content-type"], "X-Sig": "s"},
        b"CallSid=CA1&StatusCallbackEvent=ringing&StatusCallbackEvent=answered&Empty=",
    )

    assert request.method == "POST"
    assert request.form["StatusCallbackEvent"] == ("ringing", "answered")
    assert request.param("CallSid") == "CA1"
    assert request.param("Empty") == ""
    assert request.header("x-sig") == request.header("X-SIG") == "s"
    assert request.json is None


def test_a_json_body_is_parsed_and_leaves_no_form_parameters() -> None:
    request = parse_request(
        "POST", "https://h/w", {"content-type": "application/json"}, b'{"event": "call_ended"}'
    )

    assert request.json == {"event": "call_ended"}
    assert request.form == {}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{not json"),
        ("application/json", b"[1, 2]"),
        ("application/x-www-form-urlencoded", b"a=1&&b"),
        ("application/x-www-form-urlencoded", b"\xff\xfe"),
    ],
)
def test_a_body_that_cannot_be_read_is_refused_as_malformed(content_type: str, body: bytes) -> None:
    with pytest.raises(WebhookRefused) as refused:
        parse_request("POST", "https://h/w", {"content-type": content_type}, body)

    assert refused.value.reason == "malformed"


def test_signatures_compare_equal_only_when_identical() -> None:
    signature = b64_hmac("secret", "message", "sha1")

    assert same(signature, signature)
    assert not same(signature, signature[:-2] + "AA")
    assert not same(signature, None)
    assert not same(hex_hmac("secret", "message"), hex_hmac("other", "message"))


def test_every_discovered_reader_belongs_to_a_registered_provider_and_needs_its_settings() -> None:
    assert all(name.value in NAMES and issubclass(cls, WebhookReader) for name, cls in READERS.items())
    assert all(cls.provider == name for name, cls in READERS.items())

    assert build_readers({}) == {}
