"""Twilio's status callbacks as the simulated Twilio posts them, signed as Twilio signs them.

Facts (twilio-python ``twilio/request_validator.py``; support article "Tracking the Status of an
Outbound Twilio Voice Call"; blog "introducing conference events", all as ``webhook.py`` cites
them): a call status callback is a form POST with ``CallSid``, ``AccountSid``, ``CallStatus``,
``From``, ``To``, ``Direction``, ``SequenceNumber`` (its order, from 0), ``Timestamp`` (RFC 2822)
and ``CallbackSource=call-progress-events``; a hold in a conference is a conference event with
``StatusCallbackEvent=participant-hold`` / ``participant-unhold`` and ``CallSid``. Twilio has no
callback for early media. ``X-Twilio-Signature`` is ``twilio_signature`` (the reader's).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mcp_livecalls.providers.families.twilio_simulated_records import compat_status, rfc2822
from mcp_livecalls.providers.twilio.webhook import SIGNATURE_HEADER, twilio_signature
from mcp_livecalls.simkit.callbacks import Change, Payload, SecretMaker

__all__ = ["CALLBACKS", "TwilioCallbacks"]

_EVENTS = {"queued": "initiated", "ringing": "ringing", "in_progress": "answered", "ended": "completed"}


class TwilioCallbacks(SecretMaker):
    name = "twilio"
    verified_by = "auth_token"

    def payload(self, change: Change, now: datetime) -> Payload | None:
        call = change.call
        form = {"CallSid": call.id, "AccountSid": self.account["account_sid"]}
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
        return {SIGNATURE_HEADER: twilio_signature(key, url, payload.params)}


CALLBACKS = TwilioCallbacks
