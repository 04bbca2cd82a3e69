"""Twilio's webhook reader against twilio-python's ``RequestValidator`` as the oracle, both ways."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from twilio.request_validator import RequestValidator

from mcp_livecalls.core.models import CallStatus
from mcp_livecalls.providers.hooks import WebhookRefused, parse_request
from mcp_livecalls.providers.twilio.webhook import TwilioWebhook, twilio_signature

TOKEN = "twilio-auth-token-for-tests"
NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
SID = "CA" + "a1" * 16
FORM_TYPE = {"content-type": "application/x-www-form-urlencoded"}
BODY = f"CallSid={SID}&CallStatus=in-progress&SequenceNumber=2&To=%2B15550100&From=%2B15550199"
PARAMS = {
    "CallSid": SID,
    "CallStatus": "in-progress",
    "SequenceNumber": "2",
    "To": "+15550100",
    "From": "+15550199",
}


def _request(url: str, signature: str, body: str = BODY, headers: dict[str, str] = FORM_TYPE):  # type: ignore[no-untyped-def]
    return parse_request("POST", url, {**headers, "X-Twilio-Signature": signature}, body.encode())


@pytest.mark.parametrize(
    "url", ["https://hooks.example/webhooks/twilio", "https://hooks.example:443/webhooks/twilio"]
)
def test_a_callback_the_sdk_signs_is_read_as_an_applicable_status_with_or_without_the_port(url: str) -> None:
    signature = RequestValidator(TOKEN).compute_signature(url, PARAMS)

    other = url.replace(":443", "") if ":443" in url else url.replace("example/", "example:443/")
    [event] = TwilioWebhook(TOKEN).read(_request(other, signature), NOW)

    assert (event.call_id, event.kind, event.status, event.sequence) == (
        SID,
        "apply",
        CallStatus.IN_PROGRESS,
        2,
    )


def test_our_signature_of_repeated_parameters_is_what_the_sdk_validates() -> None:
    url = "https://hooks.example/webhooks/twilio?x=1"
    form = {"CallSid": (SID,), "StatusCallbackEvent": ("participant-hold", "participant-hold", "a")}

    signature = twilio_signature(TOKEN, url, form)

    assert (
        RequestValidator(TOKEN).compute_signature(url, {"CallSid": SID, "StatusCallbackEvent": "a"})
        != signature
    )
    validator_params = _MultiDict(form)
    assert RequestValidator(TOKEN).validate(url, validator_params, signature)


class _MultiDict(dict[str, str]):
    """A form with repeated names as twilio-python reads Flask's (``getall``)."""

    def __init__(self, form: dict[str, tuple[str, ...]]) -> None:
        super().__init__({name: values[0] for name, values in form.items()})
        self._form = form

    def getall(self, name: str) -> list[str]:
        return list(self._form[name])


def test_a_json_body_is_verified_by_its_body_sha256_as_the_sdk_does() -> None:
    body = f'{{"CallSid": "{SID}", "CallStatus": "completed"}}'
    url = f"https://hooks.example/webhooks/twilio?bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
    signature = RequestValidator(TOKEN).compute_signature(url, {})
    assert RequestValidator(TOKEN).validate(url, body, signature)

    [event] = TwilioWebhook(TOKEN).read(
        _request(url, signature, body, {"content-type": "application/json"}), NOW
    )
    assert event.status is CallStatus.ENDED

    tampered = body.replace("completed", "in-progress")
    with pytest.raises(WebhookRefused) as refused:
        TwilioWebhook(TOKEN).read(
            _request(url, signature, tampered, {"content-type": "application/json"}), NOW
        )
    assert refused.value.reason == "signature"


@pytest.mark.parametrize(
    ("token", "body", "signature_of"),
    [
        ("the-wrong-token", BODY, None),
        (TOKEN, BODY.replace("in-progress", "completed"), None),
        (TOKEN, BODY, ""),
    ],
    ids=["wrong secret", "tampered body", "no signature"],
)
def test_a_request_not_signed_with_the_token_is_refused(
    token: str, body: str, signature_of: str | None
) -> None:
    url = "https://hooks.example/webhooks/twilio"
    signature = (
        RequestValidator(token).compute_signature(url, PARAMS) if signature_of is None else signature_of
    )

    with pytest.raises(WebhookRefused) as refused:
        TwilioWebhook(TOKEN).read(_request(url, signature, body), NOW)

    assert refused.value.reason == "signature"


def test_a_participant_hold_event_puts_the_call_on_hold_and_a_replay_has_the_same_dedupe_key() -> None:
    url = "https://hooks.example/webhooks/twilio"
    params = {"CallSid": SID, "StatusCallbackEvent": "participant-hold", "Hold": "true"}
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    body = f"CallSid={SID}&StatusCallbackEvent=participant-hold&Hold=true"

    first = TwilioWebhook(TOKEN).read(_request(url, signature, body), NOW)
    again = TwilioWebhook(TOKEN).read(_request(url, signature, body), NOW)

    assert first[0].status is CallStatus.ON_HOLD
    assert first[0].dedupe_key == again[0].dedupe_key


def test_webhooks_are_off_without_an_auth_token_and_the_reader_never_shows_it() -> None:
    class _KeyOnly:
        auth_token = None

    assert TwilioWebhook.from_settings(_KeyOnly()) is None
    assert TOKEN not in repr(TwilioWebhook(TOKEN))
