"""The Twilio family's status callbacks as its simulated members post them, signed as Twilio signs them.

Facts (twilio-python ``twilio/request_validator.py``; support article "Tracking the Status of an
Outbound Twilio Voice Call"; blog "introducing conference events", all as ``webhook.py`` cites
them): a call status callback is a form POST with ``CallSid``, ``AccountSid``, ``CallStatus``,
``From``, ``To``, ``Direction``, ``SequenceNumber`` (its order, from 0), ``Timestamp`` (RFC 2822)
and ``CallbackSource=call-progress-events``; a hold in a conference is a conference event with
``StatusCallbackEvent=participant-hold`` / ``participant-unhold`` and ``CallSid``. Twilio has no
callback for early media. The signature is ``base64(HMAC-SHA1(secret, url + sorted params))``
(``twilio_webhook``, the readers').

A member names itself, the account credential its callbacks carry as ``AccountSid`` and the
secret that signs them (``providers/<name>/callbacks.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from mcp_livecalls.providers import hooks
from mcp_livecalls.providers.families.twilio_simulated_records import compat_status, rfc2822
from mcp_livecalls.providers.families.twilio_webhook import sorted_form_text
from mcp_livecalls.simkit.callbacks import Change, Payload, SecretMaker

__all__ = ["CompatCallbacks"]

_EVENTS = {"queued": "initiated", "ringing": "ringing", "in_progress": "answered", "ended": "completed"}


class CompatCallbacks(SecretMaker):
    account_field: ClassVar[str] = "account_sid"
    """The account credential sent as ``AccountSid``."""
    signature_header: ClassVar[str]
    """The header a member's signature travels in."""

    def payload(self, change: Change, now: datetime) -> Payload | None:
        call = change.call
        form = {"CallSid": call.id, "AccountSid": self.account[self.account_field]}
        if change.state == "on_hold" or change.before == "on_hold":
            hold = change.state == "on_hold"
            event = "participant-hold" if hold else "participant-unhold"
            conference = call.conference_uuid or f"CF{call.id[2:]}"
            return Payload(
                {**form, "StatusCallbackEvent": event, "ConferenceSid": conference, "Hold": str(hold).lower()}
            )
        if change.state not in _EVENTS:
            return None
        return Payload(
            {
                **form,
                "CallStatus": compat_status(call, change.state),
                "From": call.from_number,
                "To": call.to_number,
                "Direction": "outbound-api" if call.direction == "outbound" else "inbound",
                "SequenceNumber": str(change.sequence),
                "Timestamp": rfc2822(change.at.timestamp()),
                "CallbackSource": "call-progress-events",
            }
        )

    def sign(self, url: str, payload: Payload, now: datetime, key: Any) -> dict[str, str]:
        signed = url + sorted_form_text(payload.params)
        return {self.signature_header: hooks.b64_hmac(key, signed, "sha1")}
