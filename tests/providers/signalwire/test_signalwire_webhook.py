"""SignalWire's webhook reader against SignalWire's own validator as the oracle (``signalwire-sdk``
``signalwire.core.security.webhook_validator``), both ways, and a signed body SignalWire published
(PyPI ``signalwire`` 2.1.1 ``signalwire/tests/test_request_validator.py``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import TextResourceContents
from pydantic import SecretStr
from signalwire.core.security.webhook_validator import (
    validate_request,
    validate_webhook_signature,
    validate_webhook_signature_sha256,
)

from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import CallStatus, ProviderName
from mcp_livecalls.providers.hooks import WebhookRefused, parse_request
from mcp_livecalls.providers.signalwire.webhook import SignalWireWebhook, signalwire_json_signature
from mcp_livecalls.simulator import Simulator
from providers.kit import receiver

KEY = "PSK_signalwire0webhook0tests"
NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
SID = "a97d4e8a-6047-4e2b-be48-fb96b33b5642"
URL = "https://hooks.example/webhooks/signalwire"
FORM = [("CallSid", SID), ("CallStatus", "in-progress"), ("SequenceNumber", "3"), ("To", "+15550100")]
FORM_TYPE = {"content-type": "application/x-www-form-urlencoded"}
JSON_TYPE = {"content-type": "application/json"}


def _b64_sha1(key: str, text: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha1).digest()).decode()


def _request(url: str, headers: dict[str, str], body: str):  # type: ignore[no-untyped-def]
    return parse_request("POST", url, headers, body.encode())


@pytest.mark.parametrize("url", [URL, "https://hooks.example:443/webhooks/signalwire"])
def test_a_form_callback_signalwire_signs_is_read_as_an_applicable_status_with_or_without_the_port(
    url: str,
) -> None:
    signature = _b64_sha1(KEY, URL + "".join(name + value for name, value in sorted(FORM)))
    assert validate_request(KEY, signature, url, FORM)

    [event] = SignalWireWebhook(KEY).read(
        _request(url, {**FORM_TYPE, "X-SignalWire-Signature": signature}, urlencode(FORM)), NOW
    )

    assert (event.call_id, event.kind, event.status, event.sequence) == (
        SID,
        "apply",
        CallStatus.IN_PROGRESS,
        3,
    )


def test_repeated_parameters_are_signed_in_the_order_sent_as_the_sdk_validates_them() -> None:
    form = [
        ("CallSid", SID),
        ("StatusCallbackEvent", "participant-hold"),
        ("StatusCallbackEvent", "answered"),
    ]
    reader = SignalWireWebhook(KEY)
    ours = reader.form_signature(
        URL, {"CallSid": (SID,), "StatusCallbackEvent": ("participant-hold", "answered")}
    )

    assert validate_request(KEY, ours, URL, form)
    [event] = reader.read(_request(URL, {**FORM_TYPE, "X-SignalWire-Signature": ours}, urlencode(form)), NOW)
    assert event.status is CallStatus.ON_HOLD


def test_a_relay_json_body_signalwire_published_is_verified_over_the_raw_body() -> None:
    url = "https://81f2-2-45-18-191.ngrok-free.app/"
    key = "PSK_7TruNcSNTxp4zNrykMj4EPzF"
    signature = "b18500437ebb010220ddd770cbe6fd531ea0ba0d"
    body = (
        '{"call":{"call_id":"b5d63b2e-f75b-4dc8-b6d4-269b635f96c0","node_id":"fa3570ae-f8bd-42c2-83f4-9950d906c91b'
        '@us-west","segment_id":"b5d63b2e-f75b-4dc8-b6d4-269b635f96c0","call_state":"created","direction":"inbound",'
        '"type":"phone","from":"+12135877632","to":"+12089806814","from_number":"+12135877632","to_number":'
        '"+12089806814","project_id":"4b7ae78a-d02e-4889-a63b-08b156d5916e","space_id":'
        '"62615f44-2a34-4235-b38b-76b5a1de6ef8"},"vars":{}}'
    )
    assert validate_webhook_signature(key, signature, url, body)
    assert signalwire_json_signature(key, url, body.encode()) == signature

    [event] = SignalWireWebhook(key).read(
        _request(url, {**JSON_TYPE, "X-SignalWire-Signature": signature}, body), NOW
    )

    assert (event.call_id, event.provider_status) == ("b5d63b2e-f75b-4dc8-b6d4-269b635f96c0", "created")


def test_the_sha256_header_is_checked_when_sent() -> None:
    body = f'{{"CallSid": "{SID}", "CallStatus": "completed"}}'
    stronger = signalwire_json_signature(KEY, URL, body.encode(), "sha256")
    assert validate_webhook_signature_sha256(KEY, stronger, URL, body)
    headers = {**JSON_TYPE, "X-SignalWire-Sha256-Signature": stronger, "X-SignalWire-Signature": "x"}

    [event] = SignalWireWebhook(KEY).read(_request(URL, headers, body), NOW)
    assert event.status is CallStatus.ENDED

    with pytest.raises(WebhookRefused) as refused:
        SignalWireWebhook(KEY).read(_request(URL, headers, body.replace("completed", "in-progress")), NOW)
    assert refused.value.reason == "signature"


def test_the_twilio_header_is_an_alias() -> None:
    signature = _b64_sha1(KEY, URL + "".join(name + value for name, value in sorted(FORM)))

    [event] = SignalWireWebhook(KEY).read(
        _request(URL, {**FORM_TYPE, "X-Twilio-Signature": signature}, urlencode(FORM)), NOW
    )
    assert event.call_id == SID


@pytest.mark.parametrize(
    ("key", "body"),
    [("PSK_the_wrong_key", urlencode(FORM)), (KEY, urlencode(FORM).replace("in-progress", "completed"))],
    ids=["wrong key", "tampered body"],
)
def test_a_callback_not_signed_with_the_signing_key_is_refused(key: str, body: str) -> None:
    signature = _b64_sha1(key, URL + "".join(name + value for name, value in sorted(FORM)))
    assert validate_webhook_signature(KEY, signature, URL, body) is (key == KEY and body == urlencode(FORM))

    with pytest.raises(WebhookRefused) as refused:
        SignalWireWebhook(KEY).read(
            _request(URL, {**FORM_TYPE, "X-SignalWire-Signature": signature}, body), NOW
        )
    assert refused.value.reason == "signature"


def test_webhooks_are_off_without_a_signing_key_and_the_reader_never_shows_it() -> None:
    class _NoKey:
        signing_key = ""

    assert SignalWireWebhook.from_settings(_NoKey()) is None
    assert KEY not in repr(SignalWireWebhook(KEY))


@pytest.mark.anyio
async def test_a_signed_callback_through_the_receiver_makes_signalwire_pushed(
    settings: Settings, simulator: Simulator
) -> None:
    configured = settings.provider(ProviderName("signalwire"))
    assert configured is not None
    public = "https://hooks.example"
    served_settings = settings.with_changes(http_token=SecretStr("receiver-token-sw"), public_url=public)
    call = simulator.population.live("signalwire")[0]
    form = [("CallSid", call.id), ("CallStatus", "in-progress"), ("SequenceNumber", "1")]
    url = f"{public}/webhooks/signalwire"
    signature = _b64_sha1(configured.signing_key, url + "".join(name + value for name, value in sorted(form)))
    assert validate_request(configured.signing_key, signature, url, form)

    async with receiver(served_settings, simulator) as (served, http):
        posted = await http.post(
            f"{served}/webhooks/signalwire",
            content=urlencode(form),
            headers={**FORM_TYPE, "X-SignalWire-Signature": signature},
        )
        forged = await http.post(
            f"{served}/webhooks/signalwire",
            content=urlencode(form),
            headers={**FORM_TYPE, "X-SignalWire-Signature": signature[::-1]},
        )
        async with (
            httpx2.AsyncClient(headers={"Authorization": "Bearer receiver-token-sw"}) as authed,
            Client(streamable_http_client(f"{served}/mcp", http_client=authed)) as client,
        ):
            read = await client.read_resource("livecalls://providers")

    assert posted.status_code == 204
    assert forged.status_code >= 400
    contents = read.contents[0]
    assert isinstance(contents, TextResourceContents)
    listed = {p["name"]: p for p in json.loads(contents.text)["providers"]}
    assert (listed["signalwire"]["updates"], listed["signalwire"]["webhook"]) == (
        "pushed",
        "/webhooks/signalwire",
    )
