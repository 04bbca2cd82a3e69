"""Telnyx's webhook reader against telnyx-python's ``verify_webhook_signature`` as the oracle.

The SDK only verifies; requests are signed here with PyNaCl (the library the SDK verifies with),
so neither side of a test is this project's own code. The SDK reads the wall clock; its module's
``time`` is replaced by the test's clock, so both judge the window against the same instant.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from nacl.signing import SigningKey
from pydantic import SecretStr
from telnyx.lib import webhook_verification
from telnyx.lib.webhook_verification import WebhookVerificationError, verify_webhook_signature

from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import CallStatus, ProviderName
from mcp_livecalls.providers.hooks import WebhookRefused, parse_request
from mcp_livecalls.providers.telnyx.adapter import TelnyxSettings
from mcp_livecalls.providers.telnyx.webhook import TelnyxWebhook
from mcp_livecalls.simulator import Simulator
from providers.kit import receiver

NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
SIGNER = SigningKey(bytes(range(32)))
PUBLIC_KEY = base64.b64encode(bytes(SIGNER.verify_key)).decode()
OTHER_SIGNER = SigningKey(bytes(range(1, 33)))
CONTROL = "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg"
SHOWN = "v3-MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg"


def _body(event_type: str = "call.hangup", event_id: str = "0ccc7b54-4df3-4bcb-a65a-3da1ecc997d7") -> str:
    """A call event as the SDK's ``types/call_hangup_webhook_event.py`` shapes it."""
    payload = {
        "call_control_id": CONTROL,
        "call_leg_id": "2dc6fc34-f9e0-11ea-b68e-02420a0f7768",
        "call_session_id": "2dc1b3c8-f9e0-11ea-bc5a-02420a0f7768",
        "connection_id": "1293384261075731461",
        "from": "+35319605860",
        "to": "+13129457420",
        "state": event_type.removeprefix("call."),
    }
    data = {
        "id": event_id,
        "event_type": event_type,
        "occurred_at": "2026-12-07T19:59:58.000000Z",
        "payload": payload,
        "record_type": "event",
    }
    return json.dumps({"data": data, "meta": {"attempt": 1, "delivered_to": "https://hooks.example"}})


def _headers(body: str, at: datetime = NOW, signer: SigningKey = SIGNER) -> dict[str, str]:
    stamp = str(int(at.timestamp()))
    signature = signer.sign(f"{stamp}|{body}".encode()).signature
    return {
        "content-type": "application/json",
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": stamp,
    }


def _request(body: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return parse_request("POST", "https://hooks.example/webhooks/telnyx", headers, body.encode())


@pytest.fixture
def sdk_at(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The SDK's clock, set by the test (the SDK's module reads ``time.time()``)."""
    when = [NOW]
    monkeypatch.setattr(webhook_verification, "time", SimpleNamespace(time=lambda: when[0].timestamp()))
    return when


def _sdk_accepts(body: str, headers: dict[str, str]) -> bool:
    try:
        verify_webhook_signature(body, headers, PUBLIC_KEY)
    except WebhookVerificationError:
        return False
    return True


def test_a_webhook_the_sdk_accepts_is_read_as_an_applicable_status(sdk_at: list[datetime]) -> None:
    body = _body()
    headers = _headers(body)
    assert _sdk_accepts(body, headers)

    [event] = TelnyxWebhook.from_settings(_settings()).read(_request(body, headers), NOW)  # type: ignore[union-attr]

    assert (event.provider, event.call_id, event.kind, event.status, event.provider_status) == (
        ProviderName("telnyx"),
        SHOWN,
        "apply",
        CallStatus.ENDED,
        "call.hangup",
    )
    assert event.at == datetime(2026, 12, 7, 19, 59, 58, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("call.initiated", CallStatus.RINGING),
        ("call.answered", CallStatus.IN_PROGRESS),
        ("call.hold", CallStatus.ON_HOLD),
        ("call.unhold", CallStatus.IN_PROGRESS),
        ("call.dtmf.received", None),
    ],
)
def test_each_call_event_gives_the_status_it_means(event_type: str, status: CallStatus | None) -> None:
    body = _body(event_type)

    [event] = TelnyxWebhook.from_settings(_settings()).read(_request(body, _headers(body)), NOW)  # type: ignore[union-attr]

    assert (event.status, event.provider_status) == (status, event_type)


@pytest.mark.parametrize(
    "case", ["wrong key", "tampered body", "no signature", "no timestamp", "not base64", "short signature"]
)
def test_what_the_sdk_refuses_the_reader_refuses(case: str, sdk_at: list[datetime]) -> None:
    body = _body()
    headers = _headers(body, signer=OTHER_SIGNER if case == "wrong key" else SIGNER)
    if case == "tampered body":
        body = body.replace("call.hangup", "call.answered")
    elif case == "no signature":
        del headers["telnyx-signature-ed25519"]
    elif case == "no timestamp":
        del headers["telnyx-timestamp"]
    elif case == "not base64":
        headers["telnyx-signature-ed25519"] = "not*base64*at*all"
    elif case == "short signature":
        headers["telnyx-signature-ed25519"] = base64.b64encode(b"\0" * 63).decode()

    assert not _sdk_accepts(body, headers)
    with pytest.raises(WebhookRefused) as refused:
        TelnyxWebhook.from_settings(_settings()).read(_request(body, headers), NOW)  # type: ignore[union-attr]
    assert refused.value.reason == "signature"


@pytest.mark.parametrize(
    ("late", "accepted"), [(timedelta(seconds=299), True), (timedelta(seconds=301), False)]
)
def test_the_300_second_window_is_the_sdks_and_is_judged_on_the_injected_clock(
    late: timedelta, accepted: bool, sdk_at: list[datetime]
) -> None:
    body = _body()
    headers = _headers(body)
    reader = TelnyxWebhook.from_settings(_settings())
    assert reader is not None

    for when in (NOW + late, NOW - late):
        sdk_at[0] = when
        assert _sdk_accepts(body, headers) is accepted
        if accepted:
            assert len(reader.read(_request(body, headers), when)) == 1
        else:
            with pytest.raises(WebhookRefused):
                reader.read(_request(body, headers), when)


def test_a_retry_of_the_same_event_has_the_same_dedupe_key_and_another_event_another() -> None:
    reader = TelnyxWebhook.from_settings(_settings())
    assert reader is not None
    body, other = _body(), _body(event_id="5a1b2c3d-0000-4000-8000-000000000001")

    first = reader.read(_request(body, _headers(body)), NOW)
    retry = reader.read(_request(body, _headers(body, NOW + timedelta(seconds=5))), NOW)
    another = reader.read(_request(other, _headers(other)), NOW)

    assert first[0].dedupe_key == retry[0].dedupe_key != another[0].dedupe_key


def test_a_verified_event_about_no_call_gives_nothing_and_a_body_without_data_is_malformed() -> None:
    reader = TelnyxWebhook.from_settings(_settings())
    assert reader is not None
    no_call = json.dumps({"data": {"id": "e1", "event_type": "conference.created", "payload": {}}})
    no_data = json.dumps({"meta": {"attempt": 1}})

    assert reader.read(_request(no_call, _headers(no_call)), NOW) == []
    with pytest.raises(WebhookRefused) as refused:
        reader.read(_request(no_data, _headers(no_data)), NOW)
    assert refused.value.reason == "malformed"


@pytest.mark.parametrize("key", ["", "not a key", base64.b64encode(b"\1" * 31).decode()])
def test_without_a_valid_public_key_webhooks_stay_off(key: str) -> None:
    assert TelnyxWebhook.from_settings(_settings(key)) is None


def _settings(public_key: str = PUBLIC_KEY) -> TelnyxSettings:
    return TelnyxSettings(api_key=SecretStr("KEYwebhook-tests"), public_key=public_key)


@pytest.mark.anyio
async def test_a_signed_telnyx_webhook_is_taken_by_the_receiver_and_a_forged_one_refused(
    settings: Settings, simulator: Simulator
) -> None:
    now = simulator.clock.now()
    body = _body()

    async with receiver(settings, simulator, "telnyx", public_key=PUBLIC_KEY) as (url, http):
        signed = await http.post(f"{url}/webhooks/telnyx", content=body, headers=_headers(body, now))
        forged = await http.post(
            f"{url}/webhooks/telnyx", content=body, headers=_headers(body, now, OTHER_SIGNER)
        )

    assert (signed.status_code, forged.status_code, forged.content) == (204, 403, b"")
